package main

import (
	"context"
	"encoding/json"
	"log/slog"

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

// withMetrics emits the run's metrics after every invocation that returns
// a result.
func withMetrics(handle func(context.Context, json.RawMessage) (Result, error), w *metrics.Writer, log *slog.Logger) func(context.Context, json.RawMessage) (Result, error) {
	return func(ctx context.Context, raw json.RawMessage) (Result, error) {
		r, err := handle(ctx, raw)
		if err == nil {
			if merr := w.Emit(map[string]any{"day": r.Day}, runMetrics(r)...); merr != nil {
				log.ErrorContext(ctx, "run metrics not emitted", "error", merr.Error())
			}
		}
		return r, err
	}
}
