package pointse2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"clientele/infra/topology"
	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/points"
	"clientele/shared/sweep"
)

// TestNightlyAndReconcileRunOnTheSweepEngine fires the points-nightly and
// points-reconcile schedules through the local stack: each starts the day's
// run (the brand's day, Asia/Shanghai in the topology), its segment
// messages go through the points-*-sweep queues to the same function
// binary, and the run succeeds; the nightly run expired the lots that were
// due. A second firing starts nothing.
func TestNightlyAndReconcileRunOnTheSweepEngine(t *testing.T) {
	ctx := context.Background()
	s := store()
	zone, err := topology.Clientele().Location()
	if err != nil {
		t.Fatal(err)
	}
	earned := time.Now().AddDate(-3, 0, 0) // expired long ago (24 months, month end)
	var ids []string
	for i := range 6 {
		id := fmt.Sprintf("01SWEEPE2E%016d", i)
		if _, _, err := s.Apply(ctx, id, func(a *points.Account) (points.Change, error) {
			e, err := a.Grant(points.Entry{ID: event.NewID(earned), MemberID: id, Kind: points.Bonus, Reason: "goodwill",
				Amount: 10, SourceID: "sweep-e2e:" + id, At: earned}, s.Policy)
			return points.Change{Entries: []points.Entry{e}}, err
		}, points.Write{}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	runs := &dynamo.SweepStore{Client: s.Client, Table: topology.PointsTable}
	for _, kind := range []string{"points-nightly", "points-reconcile"} {
		key := sweep.RunKey{Kind: kind, Day: sweep.Day(time.Now(), zone)}
		if err := stack.FireSchedule(ctx, kind); err != nil {
			t.Fatalf("firing %s: %v", kind, err)
		}
		var run sweep.Run
		for deadline := time.Now().Add(90 * time.Second); ; {
			run, err = runs.Run(ctx, key)
			if err == nil && run.Status != sweep.Running {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: run %s not finished: %+v %v", kind, key.ID(), run, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if run.Status != sweep.Succeeded || len(run.Done[0]) != run.TotalSegments || run.Zone != "Asia/Shanghai" {
			t.Fatalf("%s: %+v", kind, run)
		}
		// A second firing the same day starts nothing.
		if err := stack.FireSchedule(ctx, kind); err != nil {
			t.Fatal(err)
		}
		if again, err := runs.Run(ctx, key); err != nil || !again.StartedAt.Equal(run.StartedAt) || again.Status != sweep.Succeeded {
			t.Errorf("%s: a second firing changed the run: %+v %v", kind, again, err)
		}
	}
	for _, id := range ids {
		a, err := s.Account(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Available != 0 || a.NightlyDone != sweep.Day(time.Now(), zone) {
			t.Errorf("%s: available %d, nightly done %q", id, a.Available, a.NightlyDone)
		}
	}
}
