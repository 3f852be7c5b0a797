package main

import (
	"context"

	"clientele/shared/metrics"
)

// runMetrics are the figures of a nightly run CloudWatch keeps (the stack
// alarms when no run completes in a day).
func runMetrics(r Result) []metrics.Metric {
	completed := 0.0
	if r.Complete {
		completed = 1
	}
	return []metrics.Metric{
		{Name: metrics.RunCompleted, Value: completed, Unit: metrics.Count},
		{Name: metrics.MembersProcessed, Value: float64(r.Members), Unit: metrics.Count},
		{Name: metrics.FailedItems, Value: float64(r.Failed), Unit: metrics.Count},
		{Name: metrics.PointsExpired, Value: float64(r.ExpiredPoints), Unit: metrics.Count},
	}
}

// emit writes a run's metrics: once when its last segment finishes
// (complete), and when a check finds it failed (RunCompleted 0).
func (n *Nightly) emit(ctx context.Context, r Result) {
	if n.Metrics == nil {
		return
	}
	if err := n.Metrics.Emit(map[string]any{"day": r.Day}, runMetrics(r)...); err != nil {
		n.Log.ErrorContext(ctx, "run metrics not emitted", "error", err.Error())
	}
}
