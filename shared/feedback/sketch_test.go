package feedback

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestDurationSketchQuantiles(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 9))
	var a, b DurationSketch
	var all []time.Duration
	for i := 0; i < 20000; i++ {
		// Log-normal response times around an hour, from seconds to weeks.
		d := time.Duration(math.Exp(rng.NormFloat64()*2+math.Log(3600)) * float64(time.Second))
		all = append(all, d)
		if i%2 == 0 {
			a.Add(d)
		} else {
			b.Add(d)
		}
	}
	// Stored and merged, as two stores' weekly aggregates would be.
	raw, _ := json.Marshal(a)
	var merged DurationSketch
	if err := json.Unmarshal(raw, &merged); err != nil {
		t.Fatal(err)
	}
	merged.Merge(b)
	slices.Sort(all)
	if merged.Count() != int64(len(all)) {
		t.Fatalf("count %d, want %d", merged.Count(), len(all))
	}
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99} {
		exact := all[int(math.Ceil(q*float64(len(all))))-1]
		got, ok := merged.Quantile(q)
		if !ok || math.Abs(got.Seconds()-exact.Seconds())/exact.Seconds() > 0.025 {
			t.Errorf("q%.2f: %s, exact %s", q, got, exact)
		}
	}
	if len(merged.Counts) > 400 {
		t.Errorf("%d buckets, want a small map", len(merged.Counts))
	}
}

func TestDurationSketchEdges(t *testing.T) {
	t.Parallel()
	var s DurationSketch
	if _, ok := s.Quantile(0.5); ok {
		t.Error("an empty sketch has no median")
	}
	s.Add(0)
	s.Add(-time.Minute)
	s.Add(10 * time.Minute)
	if m, ok := s.Quantile(0.5); !ok || m != 0 {
		t.Errorf("median of 0, 0, 10m: %s", m)
	}
	if m, _ := s.Quantile(1); math.Abs(m.Minutes()-10) > 0.25 {
		t.Errorf("max of 0, 0, 10m: %s", m)
	}
}
