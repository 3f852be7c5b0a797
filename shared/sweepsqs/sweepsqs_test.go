package sweepsqs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"clientele/shared/fault"
	"clientele/shared/logging"
	"clientele/shared/sweep"
	"clientele/shared/sweepsqs"
)

// fakeBatchSQS accepts batches, failing each entry whose body's segment is
// in flaky the first flaky[segment] times it is sent.
type fakeBatchSQS struct {
	batches  [][]string
	received []sweep.Message
	flaky    map[int]int
	err      error
}

func (f *fakeBatchSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	out := &sqs.SendMessageBatchOutput{}
	var ids []string
	for _, e := range in.Entries {
		var m sweep.Message
		if err := json.Unmarshal([]byte(aws.ToString(e.MessageBody)), &m); err != nil {
			return nil, err
		}
		ids = append(ids, aws.ToString(e.Id))
		if f.flaky[m.Segment] > 0 {
			f.flaky[m.Segment]--
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), SenderFault: false})
			continue
		}
		f.received = append(f.received, m)
	}
	f.batches = append(f.batches, ids)
	return out, nil
}

func segmentMessages(n int) []sweep.Message {
	out := make([]sweep.Message, n)
	for i := range out {
		out[i] = sweep.Message{Kind: "segmentation", Day: "2026-12-01", Phase: 1, Segment: i, TotalSegments: n}
	}
	return out
}

func TestSegmentPublisherBatchesAndRetriesFailedEntries(t *testing.T) {
	t.Parallel()
	f := &fakeBatchSQS{flaky: map[int]int{3: 1, 17: 2}}
	p := &sweepsqs.SegmentPublisher{SQS: f, URL: "http://127.0.0.1:4100/000000000000/segmentation-segments"}
	if err := p.PublishSegments(context.Background(), segmentMessages(23)); err != nil {
		t.Fatal(err)
	}
	var segs []int
	for _, m := range f.received {
		segs = append(segs, m.Segment)
		if m.TotalSegments != 23 || m.Kind != "segmentation" || m.Phase != 1 {
			t.Errorf("message %+v", m)
		}
	}
	slices.Sort(segs)
	want := make([]int, 23)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(segs, want) {
		t.Errorf("received segments %v", segs)
	}
	for _, b := range f.batches {
		if len(b) > 10 {
			t.Errorf("batch of %d entries", len(b))
		}
	}
	// 3 batches, plus one retry in the first and two in the second.
	if len(f.batches) != 6 {
		t.Errorf("%d SendMessageBatch calls, want 6: %v", len(f.batches), f.batches)
	}
}

func TestSegmentPublisherGivesUp(t *testing.T) {
	t.Parallel()
	f := &fakeBatchSQS{flaky: map[int]int{1: 100}}
	p := &sweepsqs.SegmentPublisher{SQS: f, URL: "u", Attempts: 3}
	err := p.PublishSegments(context.Background(), segmentMessages(2))
	if !fault.Is(err, fault.Unavailable) || len(f.batches) != 3 {
		t.Errorf("persistent entry failure: %v after %d calls", err, len(f.batches))
	}
	down := &fakeBatchSQS{err: errors.New("connection refused")}
	p = &sweepsqs.SegmentPublisher{SQS: down, URL: "u"}
	if err := p.PublishSegments(context.Background(), segmentMessages(1)); !fault.Is(err, fault.Unavailable) {
		t.Errorf("queue down: %v", err)
	}
	if err := p.PublishSegments(context.Background(), nil); err != nil {
		t.Errorf("nothing to send: %v", err)
	}
}

type fakeSegmentHandler struct {
	handled []sweep.Message
	fail    map[int]bool
	invalid map[int]bool
}

func (f *fakeSegmentHandler) Handle(_ context.Context, m sweep.Message) (sweep.Outcome, error) {
	f.handled = append(f.handled, m)
	if f.fail[m.Segment] {
		return sweep.Outcome{}, fault.New(fault.Unavailable, "busy")
	}
	if f.invalid[m.Segment] {
		return sweep.Outcome{}, fault.New(fault.Invalid, "the run has another segment count")
	}
	return sweep.Outcome{Counted: true}, nil
}

func TestHandleSegmentsReportsOnlyFailures(t *testing.T) {
	t.Parallel()
	h := &fakeSegmentHandler{fail: map[int]bool{2: true}, invalid: map[int]bool{1: true}}
	var ev events.SQSEvent
	for i, body := range []string{
		`{"kind":"points-nightly","day":"2026-12-02","phase":1,"segment":0,"total_segments":3}`,
		`{"kind":"points-nightly","day":"2026-12-02","phase":1,"segment":2,"total_segments":3}`,
		`{"kind":"points-nightly","day":"2026-12-02","phase":1,"segment":9,"total_segments":3}`, // invalid: dropped
		`not json`,
		`{"kind":"points-nightly","day":"2026-12-02","phase":1,"segment":1,"total_segments":3}`,
	} {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("m%d", i), Body: body})
	}
	var logs bytes.Buffer
	resp := sweepsqs.HandleSegments(context.Background(), h, logging.New(&logs, "test"), ev)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m1" {
		t.Errorf("failures = %+v, want only m1", resp.BatchItemFailures)
	}
	var segs []int
	for _, m := range h.handled {
		segs = append(segs, m.Segment)
	}
	if !slices.Equal(segs, []int{0, 2, 1}) {
		t.Errorf("handled segments %v, want [0 2 1]", segs)
	}
	if n := strings.Count(logs.String(), "dropping a segment message that cannot succeed"); n != 1 {
		t.Errorf("%d hopeless messages logged, want 1:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "dropping a malformed segment message"); n != 2 {
		t.Errorf("%d malformed messages logged, want 2:\n%s", n, logs.String())
	}
}

func TestSQSEventTellsQueueFromSchedule(t *testing.T) {
	t.Parallel()
	ev, ok := sweepsqs.SQSEvent(json.RawMessage(`{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":"{}"}]}`))
	if !ok || len(ev.Records) != 1 || ev.Records[0].MessageId != "m1" {
		t.Fatalf("an SQS event: %v %+v", ok, ev)
	}
	for _, raw := range []string{`{"job":"nightly"}`, `null`, `{"Records":[]}`, `{"Records":[{"eventSource":"aws:s3"}]}`, `not json`} {
		if _, ok := sweepsqs.SQSEvent(json.RawMessage(raw)); ok {
			t.Errorf("%s taken for an SQS event", raw)
		}
	}
}
