// Package sweepsqs carries sweep segment messages over SQS: a publisher for
// the fan-out and the body of a segment worker. It lives apart from queue so
// that functions which only publish events do not link the sweep engine.
package sweepsqs

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"clientele/shared/fault"
	"clientele/shared/queue"
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

// SegmentHandler processes one segment message (sweep.Engine does).
type SegmentHandler interface {
	Handle(ctx context.Context, m sweep.Message) (sweep.Outcome, error)
}

// HandleSegments is a sweep worker's body: it decodes each record, hands
// it to h and reports the records that failed, so that only those are
// redelivered. A record that is not a valid segment message, or names a
// run that does not exist or disagrees with it (fault.Invalid or
// fault.NotFound from h), is logged and dropped: redelivering it cannot
// make it valid.
func HandleSegments(ctx context.Context, h SegmentHandler, log *slog.Logger, ev events.SQSEvent) events.SQSEventResponse {
	var b queue.Batch
	for _, rec := range ev.Records {
		m, err := sweep.DecodeMessage([]byte(rec.Body))
		if err != nil {
			log.ErrorContext(ctx, "dropping a malformed segment message", "message_id", rec.MessageId, "error", err.Error())
			continue
		}
		out, err := h.Handle(ctx, m)
		if fault.Is(err, fault.Invalid) || fault.Is(err, fault.NotFound) {
			log.ErrorContext(ctx, "dropping a segment message that cannot succeed", "message_id", rec.MessageId,
				"run", m.Key().ID(), "segment", m.Segment, "error", err.Error())
			continue
		}
		if err != nil {
			log.WarnContext(ctx, "segment failed; it will be redelivered", "run", m.Key().ID(), "phase", m.Phase,
				"segment", m.Segment, "error", err.Error())
			b.Fail(rec.MessageId)
			continue
		}
		log.InfoContext(ctx, "segment handled", "run", m.Key().ID(), "phase", m.Phase, "segment", m.Segment,
			"items", out.Items, "pages", out.Pages, "counted", out.Counted, "skipped", out.Skipped,
			"continued", out.Continued, "ended_phase", out.EndedPhase)
	}
	return b.Response()
}

// SQSEvent recognises an SQS event among a function's payloads (a
// "Records" array whose records come from aws:sqs): a sweep's function is
// invoked both by its schedule and by its segment queue.
func SQSEvent(raw json.RawMessage) (events.SQSEvent, bool) {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
	}
	if json.Unmarshal(raw, &probe) != nil || len(probe.Records) == 0 || probe.Records[0].EventSource != "aws:sqs" {
		return events.SQSEvent{}, false
	}
	var ev events.SQSEvent
	if json.Unmarshal(raw, &ev) != nil {
		return events.SQSEvent{}, false
	}
	return ev, true
}
