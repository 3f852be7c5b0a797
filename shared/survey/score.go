package survey

import (
	"encoding/json"
	"math"
	"math/big"
	"slices"
	"strconv"
)

// Z95 is the two-sided 95 % normal quantile.
const Z95 = 1.959963984540054

// Alpha is the significance level of comparisons (and the false discovery
// rate of Benjamini–Hochberg).
const Alpha = 0.05

// Metric names a score.
type Metric string

// Metrics. NPS is on −100..100, CSAT in percent, CES and rating are means
// on their own scales.
const (
	MetricNPS    Metric = "nps"
	MetricCSAT   Metric = "csat"
	MetricCES    Metric = "ces"
	MetricRating Metric = "rating"
)

// MetricOf returns the metric of a scale kind.
func MetricOf(k Kind) (Metric, bool) {
	switch k {
	case NPS:
		return MetricNPS, true
	case CSAT:
		return MetricCSAT, true
	case CES:
		return MetricCES, true
	case Rating:
		return MetricRating, true
	}
	return "", false
}

// Status of a score.
type Status string

// Statuses.
const (
	OK Status = "ok"
	// Insufficient means fewer answers than the survey's minimum sample:
	// no number is shown.
	Insufficient Status = "insufficient"
)

// Score is one metric over a set of answers. Value, MarginOfError, Low and
// High mean nothing (and are not encoded) when Status is Insufficient.
type Score struct {
	Metric Metric `json:"metric"`
	Status Status `json:"status"`
	// N is the answers scored; skipped answers are counted apart and are
	// never part of N.
	N         int64 `json:"n"`
	Skipped   int64 `json:"skipped"`
	MinSample int   `json:"min_sample"`
	// Counts are the counts behind the score: promoters, passives and
	// detractors; satisfied and not satisfied; or the histogram "1".."7".
	Counts map[string]int64 `json:"counts"`
	Value  float64          `json:"-"`
	// MarginOfError is the half-width of the 95 % interval [Low, High].
	MarginOfError float64 `json:"-"`
	Low, High     float64 `json:"-"`
	// Interval names how the interval was computed.
	Interval string `json:"interval"`
	// Variance is the per-answer variance behind the margin of error
	// (in the metric's units squared), used by comparisons.
	Variance float64 `json:"-"`
}

// MarshalJSON encodes the numbers only when the score is OK.
func (s Score) MarshalJSON() ([]byte, error) {
	type plain Score
	out := struct {
		plain
		Value         *float64 `json:"value,omitempty"`
		MarginOfError *float64 `json:"margin_of_error,omitempty"`
		Low           *float64 `json:"ci_low,omitempty"`
		High          *float64 `json:"ci_high,omitempty"`
	}{plain: plain(s)}
	if s.Status == OK {
		out.Value, out.MarginOfError, out.Low, out.High = rounded(s.Value, 2), rounded(s.MarginOfError, 2), rounded(s.Low, 2), rounded(s.High, 2)
	}
	return json.Marshal(out)
}

// rounded returns f rounded to the digits, or nil when f is not finite
// (e.g. the margin of a mean over a single answer), which JSON cannot hold.
func rounded(f float64, digits int) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	p := math.Pow10(digits)
	v := math.Round(f*p) / p
	return &v
}

// ScoreOf scores a tally of answers to a question of kind k.
func ScoreOf(k Kind, t *Tally, minSample int) (Score, bool) {
	switch k {
	case NPS:
		return NPSScore(t, minSample), true
	case CSAT:
		return CSATScore(t, minSample), true
	case CES, Rating:
		return MeanScore(k, t, minSample), true
	}
	return Score{}, false
}

func status(n int64, minSample int) Status {
	if n < int64(minSample) || n == 0 {
		return Insufficient
	}
	return OK
}

// NPSScore is the Net Promoter Score: % promoters (9–10) − % detractors
// (0–6) of the answers, on −100..100. Its margin of error is
// Z95·√(Var/n) with the per-answer variance of the score variable
// (+100 promoter, 0 passive, −100 detractor):
// Var = 100²·(p + q − (p − q)²), p and q the promoter and detractor shares.
// n = 100 with 50 promoters and 20 detractors gives 30 ± 15.3.
func NPSScore(t *Tally, minSample int) Score {
	var pro, pas, det int64
	for v := 0; v <= 10; v++ {
		switch {
		case v >= 9:
			pro += t.Counts[v]
		case v >= 7:
			pas += t.Counts[v]
		default:
			det += t.Counts[v]
		}
	}
	n := pro + pas + det
	s := Score{Metric: MetricNPS, N: n, Skipped: t.Skipped, MinSample: minSample, Status: status(n, minSample),
		Counts:   map[string]int64{"promoters": pro, "passives": pas, "detractors": det},
		Interval: "wald (multinomial variance of promoters − detractors)"}
	if n == 0 {
		return s
	}
	p, q := float64(pro)/float64(n), float64(det)/float64(n)
	s.Value = 100 * (p - q)
	s.Variance = 100 * 100 * (p + q - (p-q)*(p-q))
	s.MarginOfError = Z95 * math.Sqrt(s.Variance/float64(n))
	s.Low, s.High = max(s.Value-s.MarginOfError, -100), min(s.Value+s.MarginOfError, 100)
	return s
}

// CSATScore is the share of answers 4–5 on the 1–5 scale, in percent, with
// a Wilson score interval: unlike the Wald interval it keeps its coverage
// near 0 % and 100 % (where CSAT often sits) and never has zero width when
// every answer agrees (Brown, Cai & DasGupta 2001).
func CSATScore(t *Tally, minSample int) Score {
	var sat, n int64
	for v := 1; v <= 5; v++ {
		n += t.Counts[v]
		if v >= 4 {
			sat += t.Counts[v]
		}
	}
	s := Score{Metric: MetricCSAT, N: n, Skipped: t.Skipped, MinSample: minSample, Status: status(n, minSample),
		Counts:   map[string]int64{"satisfied": sat, "not_satisfied": n - sat},
		Interval: "wilson score"}
	if n == 0 {
		return s
	}
	p := float64(sat) / float64(n)
	s.Value = 100 * p
	s.Variance = 100 * 100 * p * (1 - p)
	lo, hi := Wilson(sat, n, Z95)
	s.Low, s.High = 100*lo, 100*hi
	s.MarginOfError = (s.High - s.Low) / 2
	return s
}

// Wilson returns the Wilson score interval for k successes in n trials
// (Wilson 1927): (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n).
func Wilson(k, n int64, z float64) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	centre := p + z2/(2*nf)
	half := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	d := 1 + z2/nf
	return max((centre-half)/d, 0), min((centre+half)/d, 1)
}

// MeanScore is the mean answer of a CES (1–7) or rating (1–5) question with
// a t interval: mean ± t(0.975, n−1)·s/√n, s² the sample variance computed
// from the histogram.
func MeanScore(k Kind, t *Tally, minSample int) Score {
	m, _ := MetricOf(k)
	lo, hi, _ := k.Scale()
	var n, sum int64
	counts := map[string]int64{}
	for v := lo; v <= hi; v++ {
		c := t.Counts[v]
		counts[strconv.Itoa(v)] = c
		n += c
		sum += c * int64(v)
	}
	s := Score{Metric: m, N: n, Skipped: t.Skipped, MinSample: minSample, Status: status(n, minSample),
		Counts: counts, Interval: "student t on the sample variance"}
	if n == 0 {
		return s
	}
	mean := float64(sum) / float64(n)
	s.Value = mean
	if n > 1 {
		var ss float64
		for v := lo; v <= hi; v++ {
			d := float64(v) - mean
			ss += float64(t.Counts[v]) * d * d
		}
		s.Variance = ss / float64(n-1)
		s.MarginOfError = StudentQuantile(0.975, float64(n-1)) * math.Sqrt(s.Variance/float64(n))
	} else {
		s.MarginOfError = math.Inf(1)
	}
	s.Low, s.High = max(mean-s.MarginOfError, float64(lo)), min(mean+s.MarginOfError, float64(hi))
	return s
}

// Comparison is the test of a change between two scores (two periods or
// two stores).
type Comparison struct {
	Metric Metric `json:"metric"`
	// Status is Insufficient when either side is.
	Status Status `json:"status"`
	// Test names the test used.
	Test string `json:"test"`
	// Difference is b − a in the metric's units.
	Difference float64 `json:"-"`
	Statistic  float64 `json:"-"`
	// DF is the degrees of freedom of a t test (0 for z tests).
	DF     float64 `json:"df,omitempty"`
	PValue float64 `json:"-"`
	// Significant is PValue < Alpha, or after a multiple-comparison
	// correction the adjusted decision.
	Significant bool `json:"significant"`
	// Adjusted is the Benjamini–Hochberg adjusted p-value when the
	// comparison was one of many.
	Adjusted float64 `json:"-"`
}

// MarshalJSON omits a statistic that is not finite (two samples without
// spread and different values: the p-value is 0).
func (c Comparison) MarshalJSON() ([]byte, error) {
	type plain Comparison
	out := struct {
		plain
		Statistic  *float64 `json:"statistic,omitempty"`
		Difference *float64 `json:"difference,omitempty"`
		PValue     *float64 `json:"p_value,omitempty"`
		Adjusted   *float64 `json:"p_adjusted,omitempty"`
	}{plain: plain(c)}
	if c.Status == OK {
		out.Statistic, out.Difference, out.PValue = rounded(c.Statistic, 4), rounded(c.Difference, 2), rounded(c.PValue, 6)
		if c.Adjusted != 0 {
			out.Adjusted = rounded(c.Adjusted, 6)
		}
	}
	return json.Marshal(out)
}

// Tests, as named in comparisons.
const (
	TestNPS  = "two-sample z-test on NPS (variance of promoters − detractors)"
	TestCSAT = "two-proportion z-test (pooled)"
	TestMean = "Welch's t-test"
)

// Compare tests whether score b differs from score a (same metric), e.g.
// this period against the previous one or one store against another.
// NPS: z = (b − a)/√(Var_a/n_a + Var_b/n_b) with the NPS variance above.
// CSAT: two-proportion z with the pooled proportion. CES and rating:
// Welch's t with Welch–Satterthwaite degrees of freedom. Two-sided.
func Compare(a, b Score) Comparison {
	c := Comparison{Metric: a.Metric, Status: OK, Difference: b.Value - a.Value, PValue: 1}
	switch a.Metric {
	case MetricNPS:
		c.Test = TestNPS
	case MetricCSAT:
		c.Test = TestCSAT
	default:
		c.Test = TestMean
	}
	if a.Status != OK || b.Status != OK || a.Metric != b.Metric {
		c.Status = Insufficient
		return c
	}
	switch a.Metric {
	case MetricNPS:
		c.Statistic, c.PValue = zTest(c.Difference, a.Variance/float64(a.N)+b.Variance/float64(b.N))
	case MetricCSAT:
		c.Statistic, c.PValue = TwoProportionZ(a.Counts["satisfied"], a.N, b.Counts["satisfied"], b.N)
	default:
		c.Statistic, c.DF, c.PValue = WelchT(a.Value, a.Variance, a.N, b.Value, b.Variance, b.N)
	}
	c.Significant = c.PValue < Alpha
	return c
}

func zTest(diff, variance float64) (z, p float64) {
	if variance == 0 {
		if diff == 0 {
			return 0, 1
		}
		return math.Copysign(math.Inf(1), diff), 0
	}
	z = diff / math.Sqrt(variance)
	return z, NormalTwoSided(z)
}

// TwoProportionZ is the pooled two-proportion z-test of k2/n2 against
// k1/n1: z = (p̂₂ − p̂₁)/√(p̄(1−p̄)(1/n₁ + 1/n₂)), two-sided p.
func TwoProportionZ(k1, n1, k2, n2 int64) (z, p float64) {
	p1, p2 := float64(k1)/float64(n1), float64(k2)/float64(n2)
	pool := float64(k1+k2) / float64(n1+n2)
	return zTest(100*(p2-p1), 100*100*pool*(1-pool)*(1/float64(n1)+1/float64(n2)))
}

// WelchT is Welch's unequal-variance t-test of mean m2 against m1 (v the
// sample variances, n the sizes): t = (m₂ − m₁)/√(v₁/n₁ + v₂/n₂), with
// Welch–Satterthwaite degrees of freedom; two-sided p.
func WelchT(m1, v1 float64, n1 int64, m2, v2 float64, n2 int64) (t, df, p float64) {
	a, b := v1/float64(n1), v2/float64(n2)
	se2 := a + b
	if se2 == 0 {
		z, p := zTest(m2-m1, 0)
		return z, 0, p
	}
	t = (m2 - m1) / math.Sqrt(se2)
	df = se2 * se2 / (a*a/float64(n1-1) + b*b/float64(n2-1))
	return t, df, StudentTwoSided(t, df)
}

// BenjaminiHochberg returns the Benjamini–Hochberg (1995) adjusted p-values
// of p and which hypotheses are rejected at false discovery rate q: sort
// p ascending, reject the k smallest for the largest k with
// p₍ₖ₎ ≤ k·q/m. Adjusted p₍ᵢ₎ = min over j ≥ i of m·p₍ⱼ₎/j, capped at 1.
func BenjaminiHochberg(p []float64, q float64) (adjusted []float64, reject []bool) {
	m := len(p)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		switch {
		case p[i] < p[j]:
			return -1
		case p[i] > p[j]:
			return 1
		}
		return 0
	})
	adjusted = make([]float64, m)
	reject = make([]bool, m)
	running := 1.0
	for r := m - 1; r >= 0; r-- {
		i := order[r]
		running = min(running, p[i]*float64(m)/float64(r+1))
		adjusted[i] = running
	}
	for i := range p {
		reject[i] = adjusted[i] <= q
	}
	return adjusted, reject
}

// Correct applies Benjamini–Hochberg at Alpha to comparisons made at once
// (e.g. every store against its previous period): each OK comparison gets
// its adjusted p-value and Significant is recomputed from it.
func Correct(cs []Comparison) {
	var idx []int
	var ps []float64
	for i, c := range cs {
		if c.Status == OK {
			idx = append(idx, i)
			ps = append(ps, c.PValue)
		}
	}
	adj, rej := BenjaminiHochberg(ps, Alpha)
	for j, i := range idx {
		cs[i].Adjusted = adj[j]
		cs[i].Significant = rej[j]
	}
}

// Driver is one dimension's place among what moves the NPS: its mean on
// its own scale and the Pearson correlation of its answers with the same
// responses' NPS answers.
type Driver struct {
	Dimension string `json:"dimension"`
	Kind      Kind   `json:"kind"`
	Status    Status `json:"status"`
	// N is the answers to the dimension's questions; Mean is over them.
	N    int64   `json:"n"`
	Mean float64 `json:"-"`
	// Pairs is the responses that answered both; Correlation is over them
	// and is NaN (encoded as absent) when either side does not vary.
	Pairs       int64   `json:"pairs"`
	Correlation float64 `json:"-"`
}

// MarshalJSON omits an undefined correlation.
func (d Driver) MarshalJSON() ([]byte, error) {
	type plain Driver
	out := struct {
		plain
		Correlation *float64 `json:"correlation,omitempty"`
		Mean        *float64 `json:"mean,omitempty"`
	}{plain: plain(d)}
	if d.Status == OK {
		out.Correlation = rounded(d.Correlation, 3)
	}
	out.Mean = rounded(d.Mean, 3)
	return json.Marshal(out)
}

// DriverOf computes a dimension's driver from its merged tally (histogram
// and driver sums of every question of the dimension, one scale). Status
// is Insufficient when fewer than minSample responses answered both.
func DriverOf(dimension string, k Kind, t *Tally, minSample int) Driver {
	d := Driver{Dimension: dimension, Kind: k, Pairs: t.Drivers.N, Correlation: Pearson(t.Drivers)}
	var sum int64
	for v, c := range t.Counts {
		d.N += c
		sum += c * int64(v)
	}
	if d.N > 0 {
		d.Mean = float64(sum) / float64(d.N)
	}
	d.Status = status(d.Pairs, minSample)
	return d
}

// Pearson is the correlation of the sums' pairs:
// r = (nΣxy − ΣxΣy)/√((nΣx² − (Σx)²)(nΣy² − (Σy)²)), with the numerator and
// the factors computed exactly in integers. NaN when a side has no spread.
func Pearson(s DriverSums) float64 {
	if s.N < 2 {
		return math.NaN()
	}
	n := big.NewInt(s.N)
	cross := func(xy, x, y int64) *big.Int {
		a := new(big.Int).Mul(n, big.NewInt(xy))
		return a.Sub(a, new(big.Int).Mul(big.NewInt(x), big.NewInt(y)))
	}
	num := cross(s.XY, s.X, s.Y)
	vx, vy := cross(s.XX, s.X, s.X), cross(s.YY, s.Y, s.Y)
	if vx.Sign() == 0 || vy.Sign() == 0 {
		return math.NaN()
	}
	f := func(b *big.Int) float64 { v, _ := new(big.Float).SetInt(b).Float64(); return v }
	r := f(num) / (math.Sqrt(f(vx)) * math.Sqrt(f(vy)))
	return max(-1, min(1, r))
}
