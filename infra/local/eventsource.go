package local

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Polling parameters of the local event source mapping.
const (
	// longPoll is the wait of a receive that opens a batch; goaws gives up
	// early when the request is cancelled, so Close does not wait for it.
	longPoll = 20
	// windowPoll is the pause between receives while a batch window is open.
	windowPoll = 50 * time.Millisecond
	// deleteTimeout bounds deleting a processed batch, even during Close.
	deleteTimeout = 5 * time.Second
)

// eventSourceMapping plays Lambda's SQS event source mapping for one queue:
// it gathers batches (up to BatchSize within BatchWindow), invokes the
// consumer with an events.SQSEvent, and deletes the messages that succeeded.
// With ReportBatchItemFailures (always on) the response names the failed
// messages; a function error or timeout fails the whole batch. Failed
// messages stay in flight until their visibility timeout ends, and goaws
// redrives them to the dead-letter queue after maxReceiveCount receives.
type eventSourceMapping struct {
	queue       PlannedQueue
	queueURL    string
	fn          *lambdaFunction
	client      *sqs.Client
	log         *slog.Logger
	concurrency int
}

// run polls until ctx ends, invoking up to concurrency batches at once (one
// per process the function may run), then waits for them.
func (m *eventSourceMapping) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, m.concurrency)
	failures := 0
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		batch, err := m.gather(ctx)
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return
			}
			failures++
			if failures == 1 || failures%60 == 0 {
				m.log.Warn("receiving from queue failed", "queue", m.queue.Name, "err", err)
			}
			sleep(ctx, time.Second)
			continue
		}
		failures = 0
		if len(batch) == 0 {
			<-slots
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			m.process(ctx, batch)
		})
	}
}

// gather receives the first messages with a long poll, then more until the
// batch is full or the window has passed. Without a window it takes what a
// few immediate receives return.
func (m *eventSourceMapping) gather(ctx context.Context) ([]types.Message, error) {
	batch, err := m.receive(ctx, m.queue.BatchSize, longPoll)
	if err != nil || len(batch) == 0 {
		return nil, err
	}
	windowEnds := time.Now().Add(m.queue.BatchWindow)
	for len(batch) < m.queue.BatchSize && ctx.Err() == nil {
		more, err := m.receive(ctx, m.queue.BatchSize-len(batch), 0)
		if err != nil {
			break // process what was received; the next poll reports the error
		}
		batch = append(batch, more...)
		if len(more) > 0 {
			continue
		}
		remaining := time.Until(windowEnds)
		if remaining <= 0 {
			break
		}
		sleep(ctx, min(windowPoll, remaining))
	}
	return batch, nil
}

func (m *eventSourceMapping) receive(ctx context.Context, want int, wait int32) ([]types.Message, error) {
	out, err := m.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(m.queueURL),
		MaxNumberOfMessages:         int32(min(want, 10)),
		WaitTimeSeconds:             wait,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// process invokes the consumer with one batch and deletes what succeeded.
func (m *eventSourceMapping) process(ctx context.Context, batch []types.Message) {
	event := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(batch))}
	for _, msg := range batch {
		event.Records = append(event.Records, m.record(msg))
	}
	payload, err := json.Marshal(event)
	if err != nil {
		m.log.Error("encoding SQS event", "queue", m.queue.Name, "err", err)
		return
	}
	out, err := m.fn.Invoke(ctx, payload)
	if err != nil {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, errStackClosed) {
			m.log.Warn("batch failed; its messages return after the visibility timeout",
				"queue", m.queue.Name, "function", m.fn.name, "messages", len(batch), "err", err)
		}
		return
	}
	failed, ok := failedItems(out, batch)
	if !ok {
		m.log.Warn("batchItemFailures names a message not in the batch; the whole batch failed",
			"queue", m.queue.Name, "function", m.fn.name)
		return
	}
	if len(failed) > 0 {
		m.log.Info("partial batch failure; failed messages return after the visibility timeout",
			"queue", m.queue.Name, "failed", len(failed), "of", len(batch))
	}
	var done []types.Message
	for _, msg := range batch {
		if !failed[aws.ToString(msg.MessageId)] {
			done = append(done, msg)
		}
	}
	m.delete(done)
}

// failedItems reads an events.SQSEventResponse. ok is false when it names a
// message that is not in the batch (or names none), which Lambda treats as
// a failure of the whole batch; a null or empty response is a success.
func failedItems(response []byte, batch []types.Message) (failed map[string]bool, ok bool) {
	var resp events.SQSEventResponse
	if err := json.Unmarshal(response, &resp); err != nil {
		return nil, true // not a batch response: everything succeeded
	}
	inBatch := map[string]bool{}
	for _, msg := range batch {
		inBatch[aws.ToString(msg.MessageId)] = true
	}
	failed = map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		if !inBatch[f.ItemIdentifier] {
			return nil, false
		}
		failed[f.ItemIdentifier] = true
	}
	return failed, true
}

// delete removes processed messages, ten per request.
func (m *eventSourceMapping) delete(msgs []types.Message) {
	ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
	defer cancel()
	for start := 0; start < len(msgs); start += 10 {
		chunk := msgs[start:min(start+10, len(msgs))]
		entries := make([]types.DeleteMessageBatchRequestEntry, len(chunk))
		for i, msg := range chunk {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle}
		}
		out, err := m.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(m.queueURL), Entries: entries})
		if err != nil {
			m.log.Error("deleting processed messages", "queue", m.queue.Name, "err", err)
			continue
		}
		for _, f := range out.Failed {
			m.log.Warn("a processed message could not be deleted (its visibility timeout may have ended)",
				"queue", m.queue.Name, "code", aws.ToString(f.Code), "message", aws.ToString(f.Message))
		}
	}
}

// record shapes one message as the event source mapping does.
func (m *eventSourceMapping) record(msg types.Message) events.SQSMessage {
	id := aws.ToString(msg.MessageId)
	attributes := map[string]string{}
	for k, v := range msg.Attributes {
		attributes[k] = v
	}
	attributes["SenderId"] = localSenderID
	if sent, receives, ok := messageFacts(m.queue.Name, id); ok {
		attributes["SentTimestamp"] = strconv.FormatInt(sent.UnixMilli(), 10)
		attributes["ApproximateReceiveCount"] = strconv.Itoa(receives)
	}
	attrs := map[string]events.SQSMessageAttribute{}
	for name, v := range msg.MessageAttributes {
		attrs[name] = events.SQSMessageAttribute{
			StringValue:      v.StringValue,
			BinaryValue:      v.BinaryValue,
			StringListValues: nonNil(v.StringListValues),
			BinaryListValues: nonNil(v.BinaryListValues),
			DataType:         aws.ToString(v.DataType),
		}
	}
	return events.SQSMessage{
		MessageId:              id,
		ReceiptHandle:          aws.ToString(msg.ReceiptHandle),
		Body:                   aws.ToString(msg.Body),
		Md5OfBody:              aws.ToString(msg.MD5OfBody),
		Md5OfMessageAttributes: aws.ToString(msg.MD5OfMessageAttributes),
		Attributes:             attributes,
		MessageAttributes:      attrs,
		EventSourceARN:         queueARN(m.queue.Name),
		EventSource:            "aws:sqs",
		AWSRegion:              localRegion,
	}
}

// nonNil returns an empty slice for nil: Lambda sends [] for the list values.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
