package segment_test

import (
	"testing"

	"pgregory.net/rapid"

	"clientele/shared/segment"
)

// Scores are monotone in the value and equal for equal values, whatever
// the (sorted) cut points.
func TestScoresAreMonotone(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		cs := rapid.SliceOfN(rapid.IntRange(0, 50), 4, 4).Draw(t, "cuts")
		var cuts [4]float64
		for i, c := range cs {
			cuts[i] = float64(c)
		}
		for i := 1; i < 4; i++ {
			cuts[i] = max(cuts[i], cuts[i-1])
		}
		v := float64(rapid.IntRange(-5, 60).Draw(t, "v"))
		w := float64(rapid.IntRange(-5, 60).Draw(t, "w"))
		if v > w {
			v, w = w, v
		}
		fv, fw := segment.QuintileScore(v, &cuts), segment.QuintileScore(w, &cuts)
		rv, rw := segment.RecencyScore(v, &cuts), segment.RecencyScore(w, &cuts)
		if fv > fw || rv < rw || fv < 1 || fw > 5 || rw < 1 || rv > 5 {
			t.Fatalf("cuts %v: F(%v)=%d F(%v)=%d R(%v)=%d R(%v)=%d", cuts, v, fv, w, fw, v, rv, w, rw)
		}
		if v == w && (fv != fw || rv != rw) {
			t.Fatalf("equal values scored differently")
		}
	})
}

// Exact summaries merged from any partition give the cut points of the
// whole, and those are values of the data.
func TestExactMergeIsPartitionFree(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		vals := rapid.SliceOfN(rapid.IntRange(0, 30), 1, 300).Draw(t, "values")
		parts := rapid.IntRange(1, 5).Draw(t, "parts")
		whole := segment.NewSummary(1000, 200)
		ps := make([]*segment.Summary, parts)
		for i := range ps {
			ps[i] = segment.NewSummary(1000, 200)
		}
		seen := map[float64]bool{}
		for _, v := range vals {
			whole.Add(float64(v))
			ps[rapid.IntRange(0, parts-1).Draw(t, "part")].Add(float64(v))
			seen[float64(v)] = true
		}
		merged := segment.NewSummary(1000, 200)
		for _, p := range ps {
			merged.Merge(p)
		}
		ranks := []float64{0.2, 0.4, 0.6, 0.8, 1}
		a, _ := whole.Quantiles(ranks)
		b, _ := merged.Quantiles(ranks)
		for i := range a {
			if a[i] != b[i] || !seen[a[i]] {
				t.Fatalf("rank %v: whole %v merged %v", ranks[i], a[i], b[i])
			}
			if i > 0 && a[i] < a[i-1] {
				t.Fatalf("quantiles not monotone: %v", a)
			}
		}
	})
}

// Truncated or corrupted bytes are rejected with an error, never a panic.
func TestMalformedBytesAreRejected(t *testing.T) {
	t.Parallel()
	cfg := segment.DefaultConfig()
	cfg.ExactLimit = 0 // the monetary part is a KLL sketch
	p := segment.NewPartial(cfg)
	a := segment.AsOfTime(asOfTime)
	for i := 0; i < 2000; i++ {
		m := buyer("m"+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676)), 400, i%300, int32(1+i%7), int64(100+i))
		p.Add(&m, a)
	}
	good, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut < len(good); cut += 1 + cut/20 {
		var q segment.Partial
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("truncated to %d bytes: panic %v", cut, r)
				}
			}()
			if err := q.UnmarshalBinary(good[:cut]); err == nil {
				t.Fatalf("truncated to %d of %d bytes: accepted", cut, len(good))
			}
		}()
	}
	for _, at := range []int{0, 10, 30, len(good) / 2, len(good) - 5} {
		b := append([]byte(nil), good...)
		b[at] ^= 1
		var q segment.Partial
		if err := q.UnmarshalBinary(b); err == nil {
			t.Errorf("partial with bit %d flipped: accepted", at*8)
		}
	}
	// the sketch's own bytes, truncated and corrupted, reach the KLL parser
	sb, err := p.Monetary.MarshalBinary()
	if err != nil || p.Monetary.Exact() {
		t.Fatalf("monetary: exact %v, %v", p.Monetary.Exact(), err)
	}
	for cut := 0; cut <= len(sb); cut += 1 + cut/10 {
		for _, flip := range []int{-1, 8, 17, 20, 40, len(sb) / 2} {
			if cut == len(sb) && flip < 0 || flip >= cut {
				continue // the intact bytes, or a flip past the end
			}
			b := append([]byte(nil), sb[:cut]...)
			if flip >= 0 {
				b[flip] ^= 0x5a
			}
			var s segment.Summary
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("sketch cut to %d bytes, flip at %d: panic %v", cut, flip, r)
					}
				}()
				if err := s.UnmarshalBinary(b); err == nil {
					t.Fatalf("sketch cut to %d of %d bytes, flip at %d: accepted", cut, len(sb), flip)
				}
			}()
		}
	}
	var s segment.Summary
	if err := s.UnmarshalBinary(sb); err != nil || s.N() != p.Monetary.N() {
		t.Fatalf("intact sketch: %v (n %d)", err, s.N())
	}
}
