package main

import (
	"context"

	"clientele/shared/metrics"
)

// runMetrics are the figures of a reconciliation CloudWatch keeps: whether
// it completed, the invariants it found broken (the stack alarms on both)
// and the programme's points liability.
func runMetrics(r Report) []metrics.Metric {
	completed := 0.0
	if r.Complete {
		completed = 1
	}
	return []metrics.Metric{
		{Name: metrics.RunCompleted, Value: completed, Unit: metrics.Count},
		{Name: metrics.MembersProcessed, Value: float64(r.MembersChecked), Unit: metrics.Count},
		{Name: metrics.InvariantViolations, Value: float64(r.ViolationCount), Unit: metrics.Count},
		{Name: metrics.PointsLiability, Value: float64(r.Liability.Outstanding), Unit: metrics.Count},
		{Name: metrics.PointsDebt, Value: float64(r.Liability.Debt), Unit: metrics.Count},
	}
}

// emit writes a run's metrics: once when its last segment finishes
// (complete), and when a check finds it failed (RunCompleted 0).
func (h *Handler) emit(ctx context.Context, r Report) {
	if h.Metrics == nil {
		return
	}
	if err := h.Metrics.Emit(nil, runMetrics(r)...); err != nil {
		h.Log.ErrorContext(ctx, "run metrics not emitted", "error", err.Error())
	}
}
