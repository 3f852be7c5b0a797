package survey_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"clientele/shared/survey"
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.6f, want %.6f ± %g", name, got, want, tol)
	}
}

// hist builds a tally from value → count.
func hist(counts map[int]int64, skipped int64) *survey.Tally {
	t := &survey.Tally{Skipped: skipped}
	for v, c := range counts {
		t.Counts[v] += c
		t.Answered += c
	}
	return t
}

func TestNPSScore(t *testing.T) {
	t.Parallel()
	// The example: n = 100, 50 promoters, 30 passives, 20
	// detractors. Var = 100²·(0.5 + 0.2 − 0.3²) = 6100 per answer, so the
	// margin is 1.96·√(6100/100) = 15.31.
	s := survey.NPSScore(hist(map[int]int64{10: 25, 9: 25, 8: 20, 7: 10, 6: 5, 3: 10, 0: 5}, 7), 30)
	if s.Status != survey.OK || s.N != 100 || s.Skipped != 7 {
		t.Fatalf("status %s n %d skipped %d", s.Status, s.N, s.Skipped)
	}
	if s.Counts["promoters"] != 50 || s.Counts["passives"] != 30 || s.Counts["detractors"] != 20 {
		t.Errorf("counts = %v", s.Counts)
	}
	near(t, "nps", s.Value, 30, 1e-9)
	near(t, "margin", s.MarginOfError, 15.3, 0.05)
	near(t, "variance", s.Variance, 6100, 1e-6)
	near(t, "low", s.Low, 30-s.MarginOfError, 1e-9)

	// Skipped answers never enter the denominator: the same answers with
	// no skips score the same.
	if s2 := survey.NPSScore(hist(map[int]int64{10: 25, 9: 25, 8: 20, 7: 10, 6: 5, 3: 10, 0: 5}, 0), 30); s2.Value != s.Value || s2.N != s.N {
		t.Errorf("skips changed the score: %v vs %v", s2.Value, s.Value)
	}

	// All promoters, exactly the minimum sample: 100 with no spread.
	all := survey.NPSScore(hist(map[int]int64{9: 10, 10: 20}, 0), 30)
	if all.Status != survey.OK || all.Value != 100 || all.MarginOfError != 0 {
		t.Errorf("all promoters: %+v", all)
	}
	// One fewer than the minimum: insufficient, and no number encoded.
	few := survey.NPSScore(hist(map[int]int64{9: 9, 10: 20}, 4), 30)
	if few.Status != survey.Insufficient || few.N != 29 {
		t.Errorf("29 answers: %+v", few)
	}
	b, _ := json.Marshal(few)
	if strings.Contains(string(b), `"value"`) || !strings.Contains(string(b), `"status":"insufficient"`) || !strings.Contains(string(b), `"skipped":4`) {
		t.Errorf("insufficient JSON = %s", b)
	}
	b, _ = json.Marshal(s)
	if !strings.Contains(string(b), `"value":30`) || !strings.Contains(string(b), `"margin_of_error":15.31`) {
		t.Errorf("OK JSON = %s", b)
	}
	// No responses at all: insufficient, n = 0, skips still counted.
	none := survey.NPSScore(hist(nil, 3), 30)
	if none.Status != survey.Insufficient || none.N != 0 || none.Skipped != 3 {
		t.Errorf("no answers: %+v", none)
	}
	// All detractors.
	if d := survey.NPSScore(hist(map[int]int64{0: 40}, 0), 30); d.Value != -100 {
		t.Errorf("all detractors = %v", d.Value)
	}
}

func TestCSATScoreWilson(t *testing.T) {
	t.Parallel()
	// Newcombe (1998), "Two-sided confidence intervals for the single
	// proportion: comparison of seven methods", Statistics in Medicine 17,
	// 857–872, illustrative examples for method 3 (Wilson score without
	// continuity correction): 81/263 → 0.2553–0.3662, 15/148 → 0.0624–0.1605,
	// 0/20 → 0–0.1611, 1/29 → 0.0061–0.1718.
	for _, c := range []struct {
		k, n   int64
		lo, hi float64
	}{{81, 263, 0.2553, 0.3662}, {15, 148, 0.0624, 0.1605}, {0, 20, 0, 0.1611}, {1, 29, 0.0061, 0.1718}} {
		lo, hi := survey.Wilson(c.k, c.n, survey.Z95)
		near(t, "wilson low", lo, c.lo, 5e-5)
		near(t, "wilson high", hi, c.hi, 5e-5)
	}
	// CSAT = share of 4–5: 24 of 30 satisfied = 80 %.
	s := survey.CSATScore(hist(map[int]int64{5: 14, 4: 10, 3: 3, 2: 2, 1: 1}, 5), 30)
	if s.Status != survey.OK || s.N != 30 || s.Counts["satisfied"] != 24 || s.Skipped != 5 {
		t.Fatalf("%+v", s)
	}
	near(t, "csat", s.Value, 80, 1e-9)
	lo, hi := survey.Wilson(24, 30, survey.Z95)
	near(t, "csat low", s.Low, 100*lo, 1e-9)
	near(t, "csat margin", s.MarginOfError, 50*(hi-lo), 1e-9)
	// Every answer satisfied: 100 %, and still an interval of non-zero
	// width (the Wald interval would claim 100 ± 0).
	all := survey.CSATScore(hist(map[int]int64{5: 30}, 0), 30)
	if all.Value != 100 || all.High != 100 || all.Low >= 100 || all.MarginOfError <= 0 {
		t.Errorf("all satisfied: %+v", all)
	}
}

func TestMeanScore(t *testing.T) {
	t.Parallel()
	// CES histogram: 7×10, 6×10, 5×5, 2×5 (n = 30). Mean = (70+60+25+10)/30
	// = 5.5; Σ(x−m)² = 10·2.25 + 10·0.25 + 5·0.25 + 5·12.25 = 87.5, so
	// s² = 87.5/29 = 3.01724; margin = t(0.975, 29)·√(s²/30) = 2.04523·0.31714.
	s := survey.MeanScore(survey.CES, hist(map[int]int64{7: 10, 6: 10, 5: 5, 2: 5}, 2), 30)
	if s.Status != survey.OK || s.N != 30 || s.Counts["7"] != 10 || s.Counts["1"] != 0 {
		t.Fatalf("%+v", s)
	}
	near(t, "ces", s.Value, 5.5, 1e-12)
	near(t, "variance", s.Variance, 87.5/29, 1e-12)
	near(t, "margin", s.MarginOfError, 2.045230*math.Sqrt(87.5/29/30), 1e-5)
	// A CES tally never reads NPS slots: 0 and 8–10 are outside 1–7.
	odd := hist(map[int]int64{7: 30}, 0)
	odd.Counts[9] = 100
	if m := survey.MeanScore(survey.CES, odd, 30); m.N != 30 || m.Value != 7 {
		t.Errorf("CES read outside its scale: %+v", m)
	}
}

func TestStudentT(t *testing.T) {
	t.Parallel()
	// Two-sided 5 % critical values from any t table.
	for df, want := range map[float64]float64{1: 12.706205, 10: 2.228139, 29: 2.045230, 1e6: 1.959966} {
		near(t, "t quantile", survey.StudentQuantile(0.975, df), want, 5e-6)
		near(t, "t p-value", survey.StudentTwoSided(want, df), 0.05, 1e-6)
	}
	near(t, "I_0.5(2,3)", survey.RegIncBeta(2, 3, 0.5), 0.6875, 1e-12)
	// The quantile inverts the p-value for every df and level.
	for _, df := range []float64{1, 2, 3, 7, 29, 99, 1000, 123456} {
		for _, p := range []float64{0.6, 0.9, 0.975, 0.995, 0.9995} {
			q := survey.StudentQuantile(p, df)
			near(t, "inverse", survey.StudentTwoSided(q, df), 2*(1-p), 1e-9)
		}
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	t.Run("welch, wikipedia example 1", func(t *testing.T) {
		t.Parallel()
		// Wikipedia, "Welch's t-test", Examples: A1 and A2 (15 values
		// each) give t = −2.46, ν ≈ 25.0, p = 0.021.
		a1 := []float64{27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4}
		a2 := []float64{27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4}
		mv := func(x []float64) (m, v float64) {
			for _, f := range x {
				m += f
			}
			m /= float64(len(x))
			for _, f := range x {
				v += (f - m) * (f - m)
			}
			return m, v / float64(len(x)-1)
		}
		m2, v2 := mv(a2)
		m1, v1 := mv(a1)
		tt, df, p := survey.WelchT(m2, v2, 15, m1, v1, 15)
		near(t, "t", tt, -2.46, 0.005)
		near(t, "df", df, 24.99, 0.01)
		near(t, "p", p, 0.021, 0.0005)
	})
	t.Run("welch, summary statistics", func(t *testing.T) {
		t.Parallel()
		// senseofstudy.com two-sample tests, example 4: n = 20, means
		// 100 and 95, s = 15 and 20 → t ≈ 0.895, df ≈ 35.2, not significant.
		tt, df, p := survey.WelchT(95, 400, 20, 100, 225, 20)
		near(t, "t", tt, 0.894, 0.001)
		near(t, "df", df, 35.2, 0.05)
		if p < 0.05 {
			t.Errorf("p = %v, want > 0.05", p)
		}
	})
	t.Run("two proportions", func(t *testing.T) {
		t.Parallel()
		// By hand: 40/100 vs 55/100, pooled p = 0.475;
		// SE = √(0.475·0.525·(1/100 + 1/100)) = 0.070622; z = 0.15/0.070622
		// = 2.1240; two-sided p = 0.0337.
		z, p := survey.TwoProportionZ(40, 100, 55, 100)
		near(t, "z", z, 2.1240, 5e-4)
		near(t, "p", p, 0.0337, 5e-4)
		a := survey.CSATScore(hist(map[int]int64{5: 40, 2: 60}, 0), 30)
		b := survey.CSATScore(hist(map[int]int64{4: 55, 3: 45}, 0), 30)
		c := survey.Compare(a, b)
		if c.Test != survey.TestCSAT || !c.Significant || math.Abs(c.Statistic-z) > 1e-12 || math.Abs(c.Difference-15) > 1e-9 {
			t.Errorf("compare csat: %+v", c)
		}
	})
	t.Run("nps", func(t *testing.T) {
		t.Parallel()
		// Period a: NPS 30 (Var 6100, n 100). Period b: 200 answers, 120
		// promoters, 20 detractors: NPS 50, Var = 100²·(0.7 − 0.25) = 4500.
		// z = 20/√(61 + 22.5) = 2.1886, p = 0.0286.
		a := survey.NPSScore(hist(map[int]int64{10: 50, 8: 30, 2: 20}, 0), 30)
		b := survey.NPSScore(hist(map[int]int64{9: 120, 7: 60, 5: 20}, 0), 30)
		c := survey.Compare(a, b)
		near(t, "z", c.Statistic, 20/math.Sqrt(61+22.5), 1e-9)
		near(t, "p", c.PValue, 0.0286, 5e-4)
		if c.Test != survey.TestNPS || !c.Significant {
			t.Errorf("%+v", c)
		}
		// Either side insufficient: no test.
		small := survey.NPSScore(hist(map[int]int64{10: 5}, 0), 30)
		if c := survey.Compare(a, small); c.Status != survey.Insufficient || c.Significant {
			t.Errorf("insufficient side: %+v", c)
		}
		// Identical all-promoter periods: no difference, p = 1.
		allA := survey.NPSScore(hist(map[int]int64{10: 40}, 0), 30)
		if c := survey.Compare(allA, allA); c.PValue != 1 || c.Significant {
			t.Errorf("same scores: %+v", c)
		}
	})
}

func TestBenjaminiHochberg(t *testing.T) {
	t.Parallel()
	// Benjamini & Hochberg (1995), JRSS B 57(1), 289–300, their worked
	// example: the 15 p-values of a study of myocardial infarction
	// treatments (Neuhaus et al. 1992). At
	// q = 0.05 the procedure rejects the four smallest (Bonferroni would
	// reject three).
	p := []float64{0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000}
	// Shuffle the order to show ranks, not positions, matter.
	perm := []int{7, 3, 14, 0, 9, 12, 1, 5, 11, 2, 13, 6, 10, 4, 8}
	q := make([]float64, len(p))
	for i, j := range perm {
		q[i] = p[j]
	}
	adj, rej := survey.BenjaminiHochberg(q, 0.05)
	rejected := 0
	for i, j := range perm {
		if rej[i] != (j < 4) {
			t.Errorf("p = %v rejected %v, want %v", q[i], rej[i], j < 4)
		}
		if rej[i] {
			rejected++
		}
		if adj[i] < q[i] || adj[i] > 1 {
			t.Errorf("adjusted %v for p %v", adj[i], q[i])
		}
	}
	if rejected != 4 {
		t.Errorf("rejected %d, want 4", rejected)
	}
	// Adjusted p-value of the 4th: min over j ≥ 4 of 15·p(j)/j = 15·0.0095/4.
	for i, j := range perm {
		if j == 3 {
			near(t, "adjusted p(4)", adj[i], 15*0.0095/4, 1e-12)
		}
	}

	// 50 stores with no real change: uncorrected, some look significant
	// by chance; corrected, none do.
	cs := make([]survey.Comparison, 50)
	for i := range cs {
		cs[i] = survey.Comparison{Status: survey.OK, PValue: float64(i+1) / 51, Significant: float64(i+1)/51 < survey.Alpha}
	}
	cs[0].PValue, cs[0].Significant = 0.01, true
	cs[1].PValue, cs[1].Significant = 0.03, true
	cs[2].Status = survey.Insufficient
	survey.Correct(cs)
	for i, c := range cs {
		if c.Significant {
			t.Errorf("store %d still significant after correction: %+v", i, c)
		}
	}
	if cs[0].Adjusted <= cs[0].PValue || cs[2].Adjusted != 0 {
		t.Errorf("adjusted: %v, insufficient %v", cs[0].Adjusted, cs[2].Adjusted)
	}
}

func TestPearsonAndDrivers(t *testing.T) {
	t.Parallel()
	// x = 1..5, y = 2,4,5,4,5: Σdxdy = 6, Σdx² = 10, Σdy² = 6, r = 6/√60.
	var s survey.DriverSums
	for i, y := range []int{2, 4, 5, 4, 5} {
		s.Add(i+1, y)
	}
	near(t, "r", survey.Pearson(s), 6/math.Sqrt(60), 1e-12)
	var half survey.DriverSums
	half.Add(1, 2)
	half.Add(2, 4)
	rest := survey.DriverSums{}
	rest.Add(3, 5)
	rest.Add(4, 4)
	rest.Add(5, 5)
	half.Merge(rest)
	if half != s {
		t.Errorf("merged sums %+v != %+v", half, s)
	}
	var flat survey.DriverSums
	flat.Add(3, 1)
	flat.Add(3, 9)
	if !math.IsNaN(survey.Pearson(flat)) {
		t.Error("no spread in x must give no correlation")
	}

	tl := hist(map[int]int64{4: 20, 2: 10}, 0)
	for range 20 {
		tl.Drivers.Add(4, 9)
	}
	for range 10 {
		tl.Drivers.Add(2, 3)
	}
	d := survey.DriverOf(survey.Delivery, survey.CSAT, tl, 30)
	if d.Status != survey.OK || d.N != 30 || d.Pairs != 30 || math.Abs(d.Mean-10.0/3) > 1e-12 || math.Abs(d.Correlation-1) > 1e-12 {
		t.Errorf("driver %+v", d)
	}
	if d := survey.DriverOf(survey.Delivery, survey.CSAT, tl, 31); d.Status != survey.Insufficient {
		t.Errorf("below the minimum: %+v", d)
	}
	b, _ := json.Marshal(survey.DriverOf("x", survey.CSAT, &survey.Tally{}, 1))
	if strings.Contains(string(b), "correlation") {
		t.Errorf("undefined correlation encoded: %s", b)
	}
}

func TestJSONWithoutFiniteNumbers(t *testing.T) {
	t.Parallel()
	// One CES answer with a minimum sample of 1: a mean with no margin.
	one := survey.MeanScore(survey.CES, hist(map[int]int64{6: 1}, 0), 1)
	b, err := json.Marshal(one)
	if err != nil || !strings.Contains(string(b), `"value":6`) || strings.Contains(string(b), "margin_of_error") {
		t.Errorf("single answer: %s %v", b, err)
	}
	// Two all-promoter periods against two all-detractor ones: no spread,
	// an infinite statistic, p = 0.
	a := survey.NPSScore(hist(map[int]int64{10: 40}, 0), 30)
	z := survey.NPSScore(hist(map[int]int64{0: 40}, 0), 30)
	c := survey.Compare(a, z)
	if !math.IsInf(c.Statistic, -1) || c.PValue != 0 || !c.Significant {
		t.Errorf("compare without spread: %+v", c)
	}
	b, err = json.Marshal(c)
	if err != nil || strings.Contains(string(b), "statistic") || !strings.Contains(string(b), `"p_value":0`) || !strings.Contains(string(b), `"difference":-200`) {
		t.Errorf("JSON %s %v", b, err)
	}
	b, err = json.Marshal(survey.Compare(a, survey.NPSScore(hist(map[int]int64{10: 3}, 0), 30)))
	if err != nil || strings.Contains(string(b), "p_value") || !strings.Contains(string(b), `"status":"insufficient"`) {
		t.Errorf("insufficient comparison JSON %s %v", b, err)
	}
}
