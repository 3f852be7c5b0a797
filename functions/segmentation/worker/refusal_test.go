package main

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"clientele/shared/dynamo"
	"clientele/shared/event"
)

// A refusal of profiling removes the member's result at once, with one
// member.segment_changed carrying no new labels — even when the refusal
// is delivered twice at once and again later — and leaves the other
// members' results alone.
func TestProfilingRefusalRemovesTheResultOnce(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 30, 18, 40, 0, 0, time.UTC)
	f, pop := newFixture(t, 200, start.Add(-time.Hour))
	f.run(t, start, 5, 0)
	before := f.stored(t)
	var victim string
	for i := range pop {
		if _, ok := before[pop[i].ID]; ok && pop[i].PurchaseDays > 0 {
			victim = pop[i].ID
			break
		}
	}
	if victim == "" {
		t.Fatal("no scored buyer in the population")
	}
	store := &dynamo.SegmentationStore{Client: db, Table: f.seg}
	p := &Processor{Config: f.cfg, Store: store, Publisher: f.events, Outbox: &dynamo.Outbox{Client: db, Table: f.seg},
		Log: quiet, Service: service, Now: func() time.Time { return start.Add(3 * time.Hour) }}
	h := &Handler{Engine: &fakeRuns{}, Eraser: store, Refusals: p, Log: quiet}
	env, err := event.New(event.TypeMemberProfilingRefused, "members-api", start.Add(3*time.Hour), event.MemberProfilingRefused{MemberID: victim, RefusedAt: start.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	body := mustJSON(t, env)
	batch := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "r1", Body: body}}}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp := h.Messages(context.Background(), batch); len(resp.BatchItemFailures) != 0 {
				t.Errorf("refusal failed: %+v", resp)
			}
		}()
	}
	wg.Wait()
	if resp := h.Messages(context.Background(), batch); len(resp.BatchItemFailures) != 0 {
		t.Errorf("redelivered refusal failed: %+v", resp)
	}
	after := f.stored(t)
	if _, ok := after[victim]; ok {
		t.Fatalf("%s's result is still stored", victim)
	}
	if len(after) != len(before)-1 {
		t.Errorf("%d results left of %d: only the refusing member's should go", len(after), len(before))
	}
	var changed []event.SegmentChanged
	for _, e := range f.events.evs {
		var d event.SegmentChanged
		if e.Type == event.TypeMemberSegmentChanged && json.Unmarshal(e.Data, &d) == nil && d.MemberID == victim {
			changed = append(changed, d)
		}
	}
	if len(changed) != 1 || changed[0].New != nil || changed[0].Old.RFMSegment != string(before[victim].RFMSegment) {
		t.Errorf("member.segment_changed for %s: %+v, want one with the old labels and no new ones", victim, changed)
	}
}
