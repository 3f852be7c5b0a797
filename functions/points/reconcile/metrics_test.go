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
	w := metrics.New(&buf, metrics.Namespace, map[string]string{"service": "points-reconcile"})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	report := Report{MembersChecked: 12, ViolationCount: 3, Liability: Liability{Available: 700, Pending: 50, Debt: 20, Outstanding: 750}, Complete: true}
	handle := withMetrics(func(context.Context, json.RawMessage) (Report, error) { return report, nil }, w, log)
	if _, err := handle(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var record map[string]any
	if err := json.Unmarshal(buf.Bytes(), &record); err != nil {
		t.Fatalf("%v: %q", err, buf.String())
	}
	for name, want := range map[string]float64{metrics.RunCompleted: 1, metrics.MembersProcessed: 12, metrics.InvariantViolations: 3, metrics.PointsLiability: 750, metrics.PointsDebt: 20} {
		if record[name] != want {
			t.Errorf("%s = %v, want %v", name, record[name], want)
		}
	}
}
