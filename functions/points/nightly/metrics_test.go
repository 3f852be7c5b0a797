package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"

	"clientele/shared/metrics"
)

func TestNightlyRunMetrics(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := metrics.New(&buf, metrics.Namespace, map[string]string{"service": "points-nightly"})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	result := Result{Day: "2026-12-01", Members: 40, Failed: 2, ExpiredPoints: 900, Complete: true}
	handle := withMetrics(func(context.Context, json.RawMessage) (Result, error) { return result, nil }, w, log)
	if _, err := handle(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var record map[string]any
	if err := json.Unmarshal(buf.Bytes(), &record); err != nil {
		t.Fatalf("%v: %q", err, buf.String())
	}
	for name, want := range map[string]float64{metrics.RunCompleted: 1, metrics.MembersProcessed: 40, metrics.FailedItems: 2, metrics.PointsExpired: 900} {
		if record[name] != want {
			t.Errorf("%s = %v, want %v", name, record[name], want)
		}
	}
	buf.Reset()
	result.Complete = false
	handle(context.Background(), nil)
	if err := json.Unmarshal(buf.Bytes(), &record); err != nil || record[metrics.RunCompleted] != 0.0 {
		t.Errorf("an unfinished run: %v (%v)", record[metrics.RunCompleted], err)
	}
	buf.Reset()
	failing := withMetrics(func(context.Context, json.RawMessage) (Result, error) { return Result{}, errors.New("boom") }, w, log)
	if _, err := failing(context.Background(), nil); err == nil || buf.Len() != 0 {
		t.Errorf("a failed invocation emitted %q", buf.String())
	}
}
