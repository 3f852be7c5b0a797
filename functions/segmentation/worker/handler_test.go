package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/metrics"
	"clientele/shared/sweep"
)

type fakeRuns struct {
	started  bool
	run      sweep.Run
	checked  []sweep.RunKey
	handled  []sweep.Message
	failNext error
}

func (f *fakeRuns) Start(context.Context) (sweep.Run, bool, error) { return f.run, f.started, nil }
func (f *fakeRuns) Check(_ context.Context, k sweep.RunKey) (sweep.Run, error) {
	f.checked = append(f.checked, k)
	r := f.run
	r.Status, r.Missing = sweep.Failed, []int{3}
	return r, nil
}
func (f *fakeRuns) Handle(_ context.Context, m sweep.Message) (sweep.Outcome, error) {
	f.handled = append(f.handled, m)
	err := f.failNext
	f.failNext = nil
	return sweep.Outcome{}, err
}

type fakeEraser struct {
	erased []string
	err    error
}

func (f *fakeEraser) DeleteResult(_ context.Context, id string) error {
	if f.err != nil {
		return f.err
	}
	f.erased = append(f.erased, id)
	return nil
}

func TestScheduleStartsOrChecksTheDaysRun(t *testing.T) {
	t.Parallel()
	key := sweep.RunKey{Kind: "segmentation", Day: "2026-12-01"}
	runs := &fakeRuns{started: true, run: sweep.Run{Key: key, Status: sweep.Running}}
	h := &Handler{Engine: runs, Eraser: &fakeEraser{}, Log: quiet}
	out, err := h.Handle(context.Background(), json.RawMessage(`{"job":"nightly"}`))
	if res := out.(JobResult); err != nil || !res.Started || res.Run != "segmentation-2026-12-01" || len(runs.checked) != 0 {
		t.Fatalf("first trigger: %+v %v, checked %v", out, err, runs.checked)
	}
	// A later trigger of the same day starts nothing and checks the run's deadline.
	runs.started = false
	out, err = h.Handle(context.Background(), json.RawMessage(`{"job":"nightly"}`))
	if res := out.(JobResult); err != nil || res.Started || res.Status != "failed" || !slices.Equal(res.Missing, []int{3}) || len(runs.checked) != 1 {
		t.Fatalf("later trigger: %+v %v", out, err)
	}
	for _, bad := range []string{`{"job":"weekly"}`, `{"job":"nightly","x":1}`, `[]`, `"x"`} {
		if _, err := h.Handle(context.Background(), json.RawMessage(bad)); !fault.Is(err, fault.Invalid) {
			t.Errorf("payload %s: %v, want invalid", bad, err)
		}
	}
}

func TestQueueMessagesSplitIntoSegmentsAndErasures(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/sqs-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	runs := &fakeRuns{failNext: fault.New(fault.Unavailable, "busy")}
	eraser := &fakeEraser{}
	h := &Handler{Engine: runs, Eraser: eraser, Log: quiet}
	out, err := h.Handle(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(events.SQSEventResponse)
	// The first segment message fails (redelivered), the second succeeds,
	// the malformed one is dropped, the erasure applies.
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "seg-1" {
		t.Errorf("failures %+v, want only seg-1", resp.BatchItemFailures)
	}
	if len(runs.handled) != 2 || runs.handled[1].Segment != 3 || runs.handled[1].Phase != 2 {
		t.Errorf("segments handled: %+v", runs.handled)
	}
	if !slices.Equal(eraser.erased, []string{"m000000042"}) {
		t.Errorf("erased %v", eraser.erased)
	}
	// An erasure that cannot be applied now is redelivered.
	eraser.err = fault.New(fault.Unavailable, "busy")
	env, _ := event.New(event.TypeMemberErased, "members-api", time.Now(), event.MemberErased{MemberID: "m1", ErasedAt: time.Now()})
	body, _ := json.Marshal(env)
	resp = h.Messages(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "e1", Body: string(body)}}})
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "e1" {
		t.Errorf("failed erasure: %+v", resp)
	}
}

// meteredEraser deletes through a metered DynamoDB client: what it
// consumes is what the invocation reports.
type meteredEraser struct{ store *dynamo.SegmentationStore }

func (m meteredEraser) DeleteResult(ctx context.Context, id string) error {
	return m.store.DeleteResult(ctx, id)
}

// Each invocation emits the DynamoDB units it consumed, and only those.
func TestInvocationsReportTheUnitsTheyConsume(t *testing.T) {
	t.Parallel()
	meter := &dynamo.Meter{}
	client := dynamodb.New(db.Options(), meter.Attach)
	store := &dynamo.SegmentationStore{Client: client, Table: newSegmentationTable(t)}
	var out bytes.Buffer
	h := &Handler{Engine: &fakeRuns{}, Eraser: meteredEraser{store}, Log: quiet, Meter: meter, Metrics: metrics.New(&out, metrics.Namespace, nil)}
	env, _ := event.New(event.TypeMemberErased, "members-api", time.Now(), event.MemberErased{MemberID: "m1", ErasedAt: time.Now()})
	body, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "e1", Body: mustJSON(t, env)}}})
	for range 2 {
		if _, err := h.Handle(context.Background(), body); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one record per invocation, got %q", out.String())
	}
	for _, l := range lines {
		var rec struct {
			Read  float64 `json:"ReadUnits"`
			Write float64 `json:"WriteUnits"`
			Calls int     `json:"calls"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		// One DeleteItem of a missing item: one write unit, one call.
		if rec.Write != 1 || rec.Read != 0 || rec.Calls != 1 {
			t.Errorf("record %s: want 1 write unit in 1 call", l)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
