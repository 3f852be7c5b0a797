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

func TestNightlyRunMetrics(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	n := &Nightly{Metrics: metrics.New(&buf, metrics.Namespace, map[string]string{"service": "points-nightly"}),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	result := Result{Day: "2026-12-01", Members: 40, Failed: 2, ExpiredPoints: 900, Complete: true}
	n.emit(context.Background(), result)
	var record map[string]any
	if err := json.Unmarshal(buf.Bytes(), &record); err != nil {
		t.Fatalf("%v: %q", err, buf.String())
	}
	for name, want := range map[string]float64{metrics.RunCompleted: 1, metrics.MembersProcessed: 40, metrics.FailedItems: 2, metrics.PointsExpired: 900} {
		if record[name] != want {
			t.Errorf("%s = %v, want %v", name, record[name], want)
		}
	}
	if record["day"] != "2026-12-01" {
		t.Errorf("day = %v", record["day"])
	}
	buf.Reset()
	result.Complete = false
	n.emit(context.Background(), result)
	if err := json.Unmarshal(buf.Bytes(), &record); err != nil || record[metrics.RunCompleted] != 0.0 {
		t.Errorf("an unfinished run: %v (%v)", record[metrics.RunCompleted], err)
	}
	buf.Reset()
	(&Nightly{}).emit(context.Background(), result) // no writer: nothing, no panic
}
