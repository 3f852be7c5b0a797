package segment_test

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"clientele/shared/segment"
)

func TestExactQuantilesAndTies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		values []float64
		want   []float64 // at ranks 0.2, 0.4, 0.6, 0.8
	}{
		{"ten distinct", []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}, []float64{2, 4, 6, 8}},
		// 6 of 10 are 1: the cuts at 0.2, 0.4 and 0.6 are all 1
		{"heavy ties", []float64{1, 1, 1, 1, 1, 1, 2, 2, 3, 9}, []float64{1, 1, 1, 2}},
		{"one value", []float64{42}, []float64{42, 42, 42, 42}},
		{"all equal", []float64{7, 7, 7, 7, 7}, []float64{7, 7, 7, 7}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := segment.NewSummary(100, 200)
			for _, v := range c.values {
				s.Add(v)
			}
			got, err := s.Quantiles([]float64{0.2, 0.4, 0.6, 0.8})
			if err != nil || !slices.Equal(got, c.want) || !s.Exact() || s.N() != uint64(len(c.values)) {
				t.Fatalf("quantiles %v (err %v, exact %v, n %d), want %v", got, err, s.Exact(), s.N(), c.want)
			}
		})
	}
	// ranks computed as 1 − shares land exactly on member counts
	ten := segment.NewSummary(100, 200)
	for v := 1; v <= 10; v++ {
		ten.Add(float64(v))
	}
	got, _ := ten.Quantiles([]float64{1 - 0.2, 1 - 0.2 - 0.3, 1 - 0.1 - 0.6, 0.7, 0.3})
	if want := []float64{8, 5, 3, 7, 3}; !slices.Equal(got, want) {
		t.Errorf("quantiles at share-derived ranks %v, want %v", got, want)
	}
	empty := segment.NewSummary(100, 200)
	if q, err := empty.Quantiles([]float64{0.5}); q != nil || err != nil {
		t.Errorf("empty summary quantiles = %v, %v; want nil", q, err)
	}
}

func TestSummaryMergeAndRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	values := make([]float64, 20000)
	for i := range values {
		values[i] = float64(rng.IntN(500))
	}
	for _, limit := range []int{1000, 0} { // exact throughout; sketch throughout
		whole := segment.NewSummary(limit, 400)
		parts := []*segment.Summary{segment.NewSummary(limit, 400), segment.NewSummary(limit, 400), segment.NewSummary(limit, 400)}
		for i, v := range values {
			whole.Add(v)
			parts[i%3].Add(v)
		}
		merged := segment.NewSummary(limit, 400)
		for _, p := range parts {
			b, err := p.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var back segment.Summary
			if err := back.UnmarshalBinary(b); err != nil {
				t.Fatalf("limit %d: %v", limit, err)
			}
			merged.Merge(&back)
		}
		if merged.N() != whole.N() || merged.Exact() != (limit > 0) {
			t.Fatalf("limit %d: merged n %d exact %v, want %d %v", limit, merged.N(), merged.Exact(), whole.N(), limit > 0)
		}
		ranks := []float64{0.1, 0.2, 0.4, 0.6, 0.8, 0.95}
		a, _ := whole.Quantiles(ranks)
		b, _ := merged.Quantiles(ranks)
		for i := range ranks {
			tol := 0.0
			if limit == 0 {
				tol = 10 // 2 % of the 500-value range: the sketch's rank error
			}
			if d := a[i] - b[i]; d > tol || d < -tol {
				t.Errorf("limit %d: rank %.2f whole %v merged %v", limit, ranks[i], a[i], b[i])
			}
		}
	}
	var bad segment.Summary
	if err := bad.UnmarshalBinary([]byte{9, 9, 9}); err == nil {
		t.Error("a malformed summary was accepted")
	}
}

func TestSummarySwitchesToSketchAndStaysBounded(t *testing.T) {
	t.Parallel()
	s := segment.NewSummary(1000, 200)
	var sizes []int
	for i := 1; i <= 400_000; i++ {
		s.Add(float64(i))
		if i == 1000 && !s.Exact() {
			t.Fatal("left exact mode at the limit")
		}
		if i == 1001 && s.Exact() {
			t.Fatal("still exact past the limit")
		}
		if i == 50_000 || i == 400_000 {
			sizes = append(sizes, s.SizeBytes())
		}
	}
	// 8× the members, not 8× the bytes: the sketch grows only with log(n)
	if sizes[1] > sizes[0]*3/2 {
		t.Errorf("summary grew from %d to %d bytes for 8× the values", sizes[0], sizes[1])
	}
	q, _ := s.Quantiles([]float64{0.5})
	if q[0] < 0.48*400_000 || q[0] > 0.52*400_000 {
		t.Errorf("median %v, want about 200000", q[0])
	}
	// an exact summary merged into a sketch keeps every count
	e := segment.NewSummary(1000, 200)
	for i := 0; i < 10; i++ {
		e.Add(1)
	}
	s.Merge(e)
	if s.N() != 400_010 {
		t.Errorf("n = %d after merge, want 400010", s.N())
	}
}

func TestSampleIsMergeableAndDeterministic(t *testing.T) {
	t.Parallel()
	ids := make([]string, 5000)
	for i := range ids {
		ids[i] = "m" + strconv.Itoa(i)
	}
	whole := segment.NewSample(300, 42)
	parts := []*segment.Sample{segment.NewSample(300, 42), segment.NewSample(300, 42), segment.NewSample(300, 42), segment.NewSample(300, 42)}
	for i, id := range ids {
		o := segment.Observation{Repeat: int32(i)}
		whole.Add(id, o)
		parts[(i*7)%4].Add(id, o)
	}
	merged := segment.NewSample(300, 42)
	for j := len(parts) - 1; j >= 0; j-- { // merge order must not matter
		b, _ := parts[j].MarshalBinary()
		var back segment.Sample
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		merged.Merge(&back)
	}
	if !slices.Equal(whole.Observations(), merged.Observations()) || whole.Len() != 300 {
		t.Fatal("merged sample differs from the sample of the whole")
	}
	// Uniform: the sampled indexes average about the population's mean,
	// and another seed draws another sample.
	var sum float64
	for _, o := range whole.Observations() {
		sum += float64(o.Repeat)
	}
	if mean := sum / 300; mean < 2500-300 || mean > 2500+300 {
		t.Errorf("mean sampled index %.0f, want about 2500", mean)
	}
	other := segment.NewSample(300, 43)
	for i, id := range ids {
		other.Add(id, segment.Observation{Repeat: int32(i)})
	}
	if slices.Equal(other.Observations(), whole.Observations()) {
		t.Error("seed does not change the sample")
	}
}

func TestSampleFractionBoundsSegmentsNotTheResult(t *testing.T) {
	t.Parallel()
	const n, k, segments = 40000, 500, 20
	fraction := 1.5 * k / n
	whole := segment.NewSample(k, 9)
	merged := segment.NewSample(k, 9)
	largest := 0
	for s := 0; s < segments; s++ {
		part := segment.NewSampleFraction(k, 9, fraction)
		for i := s; i < n; i += segments {
			id := "m" + strconv.Itoa(i)
			part.Add(id, segment.Observation{Repeat: int32(i)})
			if s == 0 {
				whole.Add(id, segment.Observation{Repeat: int32(i)})
			}
		}
		largest = max(largest, part.Len())
		b, _ := part.MarshalBinary()
		var back segment.Sample
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		merged.Merge(&back)
	}
	for i := 0; i < n; i++ {
		if i%segments != 0 {
			whole.Add("m"+strconv.Itoa(i), segment.Observation{Repeat: int32(i)})
		}
	}
	// each segment holds about 1.5·k/segments = 37.5, not k
	if largest > 70 {
		t.Errorf("a segment kept %d members, want about %d", largest, 3*k/2/segments)
	}
	if !slices.Equal(whole.Observations(), merged.Observations()) {
		t.Error("the bounded segments do not merge to the sample of the whole")
	}
	zero := segment.NewSampleFraction(10, 1, 0)
	zero.Add("x", segment.Observation{})
	if zero.Len() != 0 {
		t.Error("fraction 0 kept a member")
	}
}
