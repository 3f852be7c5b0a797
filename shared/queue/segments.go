package queue

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"clientele/shared/fault"
	"clientele/shared/sweep"
)

// BatchSender is the part of the SQS client SegmentPublisher uses.
type BatchSender interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// SegmentPublisher sends a sweep's segment messages to its workers' queue,
// ten per SendMessageBatch call, retrying the entries SQS reports failed.
// It implements sweep.Publisher.
type SegmentPublisher struct {
	SQS BatchSender
	URL string
	// Attempts bounds the sends of one entry (default 5).
	Attempts int
}

var _ sweep.Publisher = (*SegmentPublisher)(nil)

// PublishSegments implements sweep.Publisher.
func (p *SegmentPublisher) PublishSegments(ctx context.Context, msgs []sweep.Message) error {
	attempts := p.Attempts
	if attempts < 1 {
		attempts = 5
	}
	for start := 0; start < len(msgs); start += 10 {
		batch := msgs[start:min(start+10, len(msgs))]
		entries := make([]types.SendMessageBatchRequestEntry, len(batch))
		for i, m := range batch {
			body, err := json.Marshal(m)
			if err != nil {
				return fault.Wrap(fault.Internal, err, "marshal segment message")
			}
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
		}
		for try := 1; len(entries) > 0; try++ {
			out, err := p.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(p.URL), Entries: entries})
			if err != nil {
				return fault.Wrap(fault.Unavailable, err, "send segment messages")
			}
			failed := map[string]bool{}
			for _, f := range out.Failed {
				failed[aws.ToString(f.Id)] = true
			}
			var again []types.SendMessageBatchRequestEntry
			for _, e := range entries {
				if failed[aws.ToString(e.Id)] {
					again = append(again, e)
				}
			}
			entries = again
			if len(entries) > 0 && try >= attempts {
				return fault.New(fault.Unavailable, "%d segment messages not accepted after %d attempts", len(entries), attempts)
			}
			if len(entries) > 0 {
				t := time.NewTimer(time.Duration(try) * 20 * time.Millisecond)
				select {
				case <-ctx.Done():
					t.Stop()
					return fault.Wrap(fault.Unavailable, ctx.Err(), "send segment messages")
				case <-t.C:
				}
			}
		}
	}
	return nil
}
