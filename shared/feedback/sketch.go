package feedback

import (
	"math"
	"slices"
	"time"
)

// sketchGamma is the ratio between consecutive buckets of a DurationSketch:
// a quantile is reported within ±(γ−1)/(γ+1) ≈ 2.4 % of a true value.
const sketchGamma = 1.05

var logGamma = math.Log(sketchGamma)

// DurationSketch is a mergeable quantile sketch of durations (times to first
// response, to resolution) in the manner of DDSketch: logarithmic buckets of
// whole seconds, so reports keep one small map per aggregate (store, week,
// category) updated as cases change and compute medians and 90th
// percentiles without scanning cases. A year spans about 360 buckets.
type DurationSketch struct {
	// Counts maps a bucket index to its count.
	Counts map[int]int64 `json:"counts,omitempty"`
	// Zero counts durations under one second.
	Zero int64 `json:"zero,omitempty"`
}

func sketchBucket(d time.Duration) int {
	return int(math.Ceil(math.Log(d.Seconds()) / logGamma))
}

// Add records one duration; negative durations count as zero.
func (s *DurationSketch) Add(d time.Duration) {
	if d < time.Second {
		s.Zero++
		return
	}
	if s.Counts == nil {
		s.Counts = map[int]int64{}
	}
	s.Counts[sketchBucket(d)]++
}

// Merge adds o's counts into s (sketches of two stores give the sketch of both).
func (s *DurationSketch) Merge(o DurationSketch) {
	s.Zero += o.Zero
	for k, v := range o.Counts {
		if s.Counts == nil {
			s.Counts = map[int]int64{}
		}
		s.Counts[k] += v
	}
}

// Count is the number of durations recorded.
func (s DurationSketch) Count() int64 {
	n := s.Zero
	for _, v := range s.Counts {
		n += v
	}
	return n
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) by the nearest-rank rule, to
// within about 2.4 %; false when the sketch is empty.
func (s DurationSketch) Quantile(q float64) (time.Duration, bool) {
	n := s.Count()
	if n == 0 {
		return 0, false
	}
	q = math.Min(math.Max(q, 0), 1)
	rank := int64(math.Ceil(q * float64(n))) // 1-based
	rank = max(rank, 1)
	if rank <= s.Zero {
		return 0, true
	}
	seen := s.Zero
	keys := make([]int, 0, len(s.Counts))
	for k := range s.Counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		seen += s.Counts[k]
		if seen >= rank {
			// The bucket covers (γ^(k−1), γ^k]; its midpoint in relative terms.
			secs := 2 * math.Pow(sketchGamma, float64(k)) / (sketchGamma + 1)
			return time.Duration(secs * float64(time.Second)), true
		}
	}
	return 0, false // not reached: rank ≤ n
}
