package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"clientele/shared/event"
	"clientele/shared/points"
	"clientele/shared/sweep"
)

// benchAccounts is how many accounts a benchmark's segment sweeps.
const benchAccounts = 1000

// benchSegment runs one whole-table segment of the nightly run at time at
// (pages of 500 items, one checkpoint per page) and returns the accounts
// it went through.
func benchSegment(b *testing.B, f *fixture, at time.Time) int {
	b.Helper()
	f.clock.Set(at)
	f.n.Config.Segments = 1
	f.n.Config.PageSize = 500
	if tr := f.trigger(b, at); !tr.Started {
		b.Fatalf("no run: %+v", tr)
	}
	m, ok := f.queue.pop()
	if !ok || !f.deliver(b, context.Background(), f.n, m) {
		b.Fatal("segment failed")
	}
	res, err := f.n.Summary(context.Background(), sweep.RunKey{Kind: SweepKind, Day: at.Format(time.DateOnly)})
	if err != nil || !res.Complete {
		b.Fatalf("%+v %v", res, err)
	}
	return res.Members + res.SkippedDone
}

// seedAccounts gives n accounts a 10-point lot earned at earned.
func (f *fixture) seedAccounts(b *testing.B, n int, earned time.Time) {
	b.Helper()
	for i := range n {
		id := fmt.Sprintf("b%05d", i)
		if _, _, err := f.store.Apply(context.Background(), id, func(a *points.Account) (points.Change, error) {
			e, err := a.Grant(points.Entry{ID: event.NewID(earned), MemberID: id, Kind: points.Bonus, Reason: "goodwill", Amount: 10,
				SourceID: "b:" + id, At: earned}, f.store.Policy)
			return points.Change{Entries: []points.Entry{e}}, err
		}, points.Write{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNightlySegmentIdle: one segment over accounts with nothing due
// (most nights for most members): read and checked, not written.
func BenchmarkNightlySegmentIdle(b *testing.B) {
	f := newFixture(b)
	f.seedAccounts(b, benchAccounts, day("2026-01-05", 9))
	var swept int
	b.ResetTimer()
	for i := range b.N {
		swept += benchSegment(b, f, day("2026-02-01", 1).AddDate(0, 0, i))
	}
	b.ReportMetric(float64(swept)/b.Elapsed().Seconds(), "accounts/s")
}

// BenchmarkNightlySegmentExpiring: one segment over accounts that each
// have a lot to expire: every account is written (one transaction: the
// account and its expire entry).
func BenchmarkNightlySegmentExpiring(b *testing.B) {
	var swept int
	var elapsed time.Duration
	for range b.N {
		b.StopTimer()
		f := newFixture(b)
		f.seedAccounts(b, benchAccounts, day("2024-01-05", 9)) // expires 2026-02-01
		b.StartTimer()
		start := time.Now()
		swept += benchSegment(b, f, day("2026-02-01", 1))
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(swept)/elapsed.Seconds(), "accounts/s")
}
