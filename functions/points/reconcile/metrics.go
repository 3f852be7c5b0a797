package main

import (
	"context"
	"encoding/json"
	"log/slog"

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

// withMetrics emits the run's metrics after every invocation that returns
// a report.
func withMetrics(handle func(context.Context, json.RawMessage) (Report, error), w *metrics.Writer, log *slog.Logger) func(context.Context, json.RawMessage) (Report, error) {
	return func(ctx context.Context, raw json.RawMessage) (Report, error) {
		r, err := handle(ctx, raw)
		if err == nil {
			if merr := w.Emit(nil, runMetrics(r)...); merr != nil {
				log.ErrorContext(ctx, "run metrics not emitted", "error", merr.Error())
			}
		}
		return r, err
	}
}
