package feedback

import (
	"fmt"
	"math"
	"time"
	"unicode"
)

// SignatureSize is the number of MinHash values in a Signature.
const SignatureSize = 64

// Bands and rows split a signature for locality-sensitive hashing: two
// texts with Jaccard similarity s share at least one band key with
// probability 1 − (1 − s^Rows)^Bands (≈ 0.96 at s = 0.5, ≈ 0.12 at s = 0.2).
const (
	Bands = 16
	Rows  = SignatureSize / Bands
)

// Signature is a MinHash signature of a text's shingles: character bigrams
// of Chinese (no word segmentation needed: "鞋底开胶" yields 鞋底, 底开, 开胶)
// and whole words of other scripts.
type Signature [SignatureSize]uint64

// Shingles returns the distinct shingles of the normalised text: each run of
// Chinese characters gives its character bigrams (a lone character gives
// itself), each run of other letters and digits gives the word. Punctuation
// and spaces separate runs, so no shingle spans a sentence mark.
func Shingles(text string) map[string]struct{} {
	out := map[string]struct{}{}
	var run []rune
	han := false
	flush := func() {
		switch {
		case len(run) == 0:
		case han && len(run) > 1:
			for i := 0; i+2 <= len(run); i++ {
				out[string(run[i:i+2])] = struct{}{}
			}
		default:
			out[string(run)] = struct{}{}
		}
		run = run[:0]
	}
	for _, r := range Normalize(text) {
		isHan := unicode.Is(unicode.Han, r)
		switch {
		case isHan:
			if !han {
				flush()
			}
			han = true
			run = append(run, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if han {
				flush()
			}
			han = false
			run = append(run, r)
		default:
			flush()
		}
	}
	flush()
	return out
}

// NewSignature computes the MinHash signature of text. A text with no
// shingle (empty, or a single character) gets a signature of all ones,
// which is similar to nothing but itself.
func NewSignature(text string) Signature {
	var s Signature
	for i := range s {
		s[i] = math.MaxUint64
	}
	for g := range Shingles(text) {
		h1 := fnv64(g)
		h2 := mix64(h1) | 1
		for i := range s {
			if v := mix64(h1 + uint64(i)*h2); v < s[i] {
				s[i] = v
			}
		}
	}
	return s
}

// Similarity estimates the Jaccard similarity of the two texts' shingles.
func (s Signature) Similarity(o Signature) float64 {
	same := 0
	for i := range s {
		if s[i] == o[i] {
			same++
		}
	}
	return float64(same) / SignatureSize
}

// BandKeys returns one key per band; a store indexes cases by these keys to
// find candidates similar to a new text without comparing it to all.
func (s Signature) BandKeys() [Bands]uint64 {
	var keys [Bands]uint64
	for b := range keys {
		h := uint64(b) * 0x9E3779B97F4A7C15
		for _, v := range s[b*Rows : (b+1)*Rows] {
			h = mix64(h ^ v)
		}
		keys[b] = h
	}
	return keys
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix64 is the SplitMix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return x
}

// BurstRule decides when complaints about one key (a sku, or a store and
// category) open a cluster: the count in the current window must reach
// MinCount AND be unusual against the key's own trailing windows — at
// least MinRatio times their mean and with a Poisson tail probability
// below MaxPValue. The count threshold stops a quiet key's first two
// complaints from alarming; the baseline stops a flagship store's normal
// volume from alarming.
type BurstRule struct {
	MinCount int `json:"min_count"`
	// MinRatio is how many times the trailing mean the count must reach.
	MinRatio float64 `json:"min_ratio"`
	// MaxPValue is the largest P(X ≥ count) under a Poisson with the
	// trailing mean that still counts as unusual.
	MaxPValue float64 `json:"max_p_value"`
	// MinBaseline floors the trailing mean, so a key with no history is
	// compared with a small rate rather than with zero.
	MinBaseline float64 `json:"min_baseline"`
	// MinHistory is how many trailing windows a baseline needs; with fewer
	// the missing ones count as empty (a new sku has no complaints yet).
	MinHistory int `json:"min_history"`
}

// DefaultBurstRule opens at 5 complaints in a window that are at least 2×
// the trailing mean with a Poisson tail below 0.1 %.
func DefaultBurstRule() BurstRule {
	return BurstRule{MinCount: 5, MinRatio: 2, MaxPValue: 0.001, MinBaseline: 0.5, MinHistory: 7}
}

// BurstDecision is the outcome of BurstRule.Evaluate and why.
type BurstDecision struct {
	Open     bool    `json:"open"`
	Count    int     `json:"count"`
	Baseline float64 `json:"baseline"` // trailing mean per window (floored)
	Ratio    float64 `json:"ratio"`
	PValue   float64 `json:"p_value"`
	Reason   string  `json:"reason"`
}

// Evaluate decides on count, the current window's complaints, given the
// counts of the same key's trailing windows of equal length (oldest first,
// the current one excluded). For a key with weekly seasonality pass the
// same weekday of previous weeks.
func (r BurstRule) Evaluate(count int, trailing []int) BurstDecision {
	sum := 0
	for _, c := range trailing {
		sum += c
	}
	windows := max(len(trailing), r.MinHistory, 1)
	mean := max(float64(sum)/float64(windows), r.MinBaseline)
	d := BurstDecision{Count: count, Baseline: mean, Ratio: float64(count) / mean, PValue: poissonTail(count, mean)}
	switch {
	case count < r.MinCount:
		d.Reason = fmt.Sprintf("%d complaints, under the threshold of %d", count, r.MinCount)
	case d.Ratio < r.MinRatio:
		d.Reason = fmt.Sprintf("%d complaints is %.1f× the trailing mean of %.2f, under %.1f×", count, d.Ratio, mean, r.MinRatio)
	case d.PValue > r.MaxPValue:
		d.Reason = fmt.Sprintf("%d complaints against a trailing mean of %.2f is not unusual (Poisson p=%.2g > %.2g)", count, mean, d.PValue, r.MaxPValue)
	default:
		d.Open = true
		d.Reason = fmt.Sprintf("%d complaints, %.1f× the trailing mean of %.2f per window (Poisson p=%.2g)", count, d.Ratio, mean, d.PValue)
	}
	return d
}

// poissonTail is P(X ≥ k) for X ~ Poisson(lambda), summed in log space.
func poissonTail(k int, lambda float64) float64 {
	if k <= 0 {
		return 1
	}
	// P(X ≥ k) = 1 − Σ_{i<k} P(X = i); for large k relative to lambda sum
	// the upper tail directly to keep precision.
	if float64(k) > lambda {
		p := 0.0
		logP := -lambda + float64(k)*math.Log(lambda) - lgamma(k+1)
		term := math.Exp(logP)
		for i := k; term > 1e-300 && i < k+10000; i++ {
			p += term
			term *= lambda / float64(i+1)
			if term < p*1e-17 {
				break
			}
		}
		return math.Min(p, 1)
	}
	cdf := 0.0
	term := math.Exp(-lambda)
	for i := 0; i < k; i++ {
		cdf += term
		term *= lambda / float64(i+1)
	}
	return math.Max(0, 1-cdf)
}

func lgamma(n int) float64 {
	v, _ := math.Lgamma(float64(n))
	return v
}

// JoinThreshold is the least estimated similarity at which a complaint
// without a sku joins a cluster by its text. Two phrasings of one problem
// ("这双跑鞋穿了两周鞋底就开胶了" / "跑鞋鞋底开胶，才穿两周") score about 0.2–0.3;
// unrelated complaints under 0.1.
const JoinThreshold = 0.2

// ClusterCandidate is an open cluster a text might join, with the signature
// of the text that represents it.
type ClusterCandidate struct {
	ID        string
	Signature Signature
}

// BestMatch returns the candidate most similar to sig if its similarity
// reaches min; ties go to the earlier candidate.
func BestMatch(sig Signature, candidates []ClusterCandidate, min float64) (ClusterCandidate, float64, bool) {
	best, bestSim := -1, 0.0
	for i, c := range candidates {
		if s := sig.Similarity(c.Signature); s >= min && s > bestSim {
			best, bestSim = i, s
		}
	}
	if best < 0 {
		return ClusterCandidate{}, 0, false
	}
	return candidates[best], bestSim, true
}

// WindowCounts buckets event times into the window [end−window, end) and
// the n trailing windows of the same length before it, for
// BurstRule.Evaluate: it returns the current window's count and the
// trailing counts, oldest first. Times at or after end, or before the
// oldest window, are ignored.
func WindowCounts(times []time.Time, end time.Time, window time.Duration, n int) (current int, trailing []int) {
	trailing = make([]int, n)
	for _, t := range times {
		if !t.Before(end) {
			continue
		}
		k := int((end.Sub(t) - 1) / window) // 0: the current window
		switch {
		case k == 0:
			current++
		case k <= n:
			trailing[n-k]++
		}
	}
	return current, trailing
}

// ClusterKeys returns the keys whose volume a complaint counts towards: its
// sku, and its store with its category. Only complaints count; a case
// with neither a sku nor a store has no key and joins clusters by text.
func ClusterKeys(c *Case) []string {
	if c.Type != Complaint {
		return nil
	}
	var keys []string
	if c.SKU != "" {
		keys = append(keys, "sku#"+c.SKU)
	}
	if c.Store != "" && c.Category != "" {
		keys = append(keys, "store#"+c.Store+"#"+string(c.Category))
	}
	return keys
}
