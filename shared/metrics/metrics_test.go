package metrics

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestEmitWritesOneEMFRecordPerLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := New(&buf, "Clientele", map[string]string{"service": "points-reconcile", "stage": "prod"})
	w.now = func() time.Time { return time.UnixMilli(1700000000123) }
	if err := w.Emit(map[string]any{"run": "r1"},
		Metric{Name: "PointsLiability", Value: 12345, Unit: Count},
		Metric{Name: "InvariantViolations", Value: 0, Unit: Count},
		Metric{Name: "RunCompleted", Value: 1}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1: %q", len(lines), buf.String())
	}
	var record struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Service         string  `json:"service"`
		Stage           string  `json:"stage"`
		Run             string  `json:"run"`
		PointsLiability float64 `json:"PointsLiability"`
		Violations      float64 `json:"InvariantViolations"`
		RunCompleted    float64 `json:"RunCompleted"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &record); err != nil {
		t.Fatal(err)
	}
	if record.AWS.Timestamp != 1700000000123 {
		t.Errorf("timestamp %d", record.AWS.Timestamp)
	}
	if len(record.AWS.CloudWatchMetrics) != 1 {
		t.Fatalf("directives %+v", record.AWS.CloudWatchMetrics)
	}
	d := record.AWS.CloudWatchMetrics[0]
	if d.Namespace != "Clientele" || len(d.Dimensions) != 1 || strings.Join(d.Dimensions[0], ",") != "service,stage" {
		t.Errorf("directive %+v", d)
	}
	wantUnits := map[string]string{"PointsLiability": "Count", "InvariantViolations": "Count", "RunCompleted": "None"}
	if len(d.Metrics) != len(wantUnits) {
		t.Errorf("metrics %+v", d.Metrics)
	}
	for _, m := range d.Metrics {
		if wantUnits[m.Name] != m.Unit {
			t.Errorf("metric %s unit %q, want %q", m.Name, m.Unit, wantUnits[m.Name])
		}
	}
	if record.Service != "points-reconcile" || record.Stage != "prod" || record.Run != "r1" ||
		record.PointsLiability != 12345 || record.Violations != 0 || record.RunCompleted != 1 {
		t.Errorf("record %+v", record)
	}
}

func TestEmitRejectsMalformedRecords(t *testing.T) {
	t.Parallel()
	w := New(&bytes.Buffer{}, "Clientele", map[string]string{"service": "x"})
	for name, c := range map[string]struct {
		props   map[string]any
		metrics []Metric
	}{
		"no metric":           {},
		"unnamed":             {metrics: []Metric{{Value: 1}}},
		"NaN":                 {metrics: []Metric{{Name: "A", Value: math.NaN()}}},
		"infinite":            {metrics: []Metric{{Name: "A", Value: math.Inf(1)}}},
		"twice":               {metrics: []Metric{{Name: "A", Value: 1}, {Name: "A", Value: 2}}},
		"dimension collision": {metrics: []Metric{{Name: "service", Value: 1}}},
		"property collision":  {props: map[string]any{"service": "y"}, metrics: []Metric{{Name: "A", Value: 1}}},
		"metric vs property":  {props: map[string]any{"A": "y"}, metrics: []Metric{{Name: "A", Value: 1}}},
	} {
		if err := w.Emit(c.props, c.metrics...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestFromEnvTakesServiceAndStage(t *testing.T) {
	t.Setenv("CLIENTELE_SERVICE", "points-nightly")
	t.Setenv("CLIENTELE_STAGE", "Clientele-prod")
	var buf bytes.Buffer
	if err := FromEnv(&buf, "fallback").Emit(nil, Metric{Name: "RunCompleted", Value: 1}); err != nil {
		t.Fatal(err)
	}
	var record map[string]any
	if err := json.Unmarshal(buf.Bytes(), &record); err != nil {
		t.Fatal(err)
	}
	if record["service"] != "points-nightly" || record["stage"] != "Clientele-prod" {
		t.Errorf("record %v", record)
	}
}
