package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"clientele/shared/points"
	"clientele/shared/sweep"
)

// BenchmarkReconcileSegment: one segment over 1 000 accounts with two
// entries each (pages of 500 items, one checkpoint per page): each account
// is read by the scan and its ledger by one Query, then checked.
func BenchmarkReconcileSegment(b *testing.B) {
	s := newStore(b)
	const accounts = 1000
	for i := range accounts {
		id := fmt.Sprintf("b%05d", i)
		if _, _, err := s.Apply(context.Background(), id, grant(s, id, 100, t0), points.Write{}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Apply(context.Background(), id, spend(id, 30, t0), points.Write{}); err != nil {
			b.Fatal(err)
		}
	}
	var checked int
	b.ResetTimer()
	for i := range b.N {
		day := t0.AddDate(0, 0, 100+i)
		h, q := sweeper(s, s, Options{}, day, nil)
		h.Config.Segments, h.Config.PageSize = 1, 500
		if _, err := h.Handle(context.Background(), json.RawMessage(`{"job":"reconcile"}`)); err != nil {
			b.Fatal(err)
		}
		m, _ := q.pop()
		if !deliver(b, context.Background(), h, m) {
			b.Fatal("segment failed")
		}
		rep, err := h.Summary(context.Background(), sweep.RunKey{Kind: SweepKind, Day: day.Format(time.DateOnly)})
		if err != nil || !rep.Complete || rep.ViolationCount != 0 {
			b.Fatalf("%+v %v", rep, err)
		}
		checked += rep.MembersChecked
	}
	b.ReportMetric(float64(checked)/b.Elapsed().Seconds(), "accounts/s")
}
