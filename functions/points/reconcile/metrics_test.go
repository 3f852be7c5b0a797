package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"clientele/shared/metrics"
)

func TestReconcileRunMetrics(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	h := &Handler{Metrics: metrics.New(&buf, metrics.Namespace, map[string]string{"service": "points-reconcile"}),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	report := Report{MembersChecked: 12, ViolationCount: 3, Liability: Liability{Available: 700, Pending: 50, Debt: 20, Outstanding: 750}, Complete: true}
	h.emit(context.Background(), report)
	var record map[string]any
	if err := json.Unmarshal(buf.Bytes(), &record); err != nil {
		t.Fatalf("%v: %q", err, buf.String())
	}
	for name, want := range map[string]float64{metrics.RunCompleted: 1, metrics.MembersProcessed: 12, metrics.InvariantViolations: 3, metrics.PointsLiability: 750, metrics.PointsDebt: 20} {
		if record[name] != want {
			t.Errorf("%s = %v, want %v", name, record[name], want)
		}
	}
	buf.Reset()
	h.emit(context.Background(), Report{})
	if err := json.Unmarshal(buf.Bytes(), &record); err != nil || record[metrics.RunCompleted] != 0.0 {
		t.Errorf("a failed run: %v (%v)", record[metrics.RunCompleted], err)
	}
}
