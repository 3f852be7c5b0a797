package segment_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"clientele/shared/segment"
	"clientele/shared/segment/membergen"
)

// simulateCohort draws n members from known BG/NBD and Gamma-Gamma
// processes, each observed for a whole number of days T in [60, 720],
// with t_x rounded to the day as production data are.
func simulateCohort(seed uint64, n int, p segment.BGNBD, g segment.GammaGamma) []segment.Observation {
	rng := rand.New(rand.NewPCG(seed, 7))
	obs := make([]segment.Observation, n)
	for i := range obs {
		T := float64(60 + rng.IntN(661))
		x, tx, mean := membergen.Observation(rng, p, g, T)
		obs[i] = segment.Observation{Repeat: int32(x), SpanDays: int32(math.Round(tx)), AgeDays: int32(T), MeanSpend: mean}
	}
	return obs
}

// z99 is the two-sided 99 % normal quantile: each true parameter must lie
// in its 99 % confidence interval from the fit's standard errors.
const z99 = 2.576

func TestBGNBDRecoversKnownParameters(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		seed uint64
		p    segment.BGNBD
	}{
		{"retail", 1, segment.BGNBD{R: 0.8, Alpha: 50, A: 0.9, B: 1.4}},
		{"frequent, loyal", 2, segment.BGNBD{R: 2, Alpha: 40, A: 1.5, B: 6}},
		{"CDNOW-like in days", 3, segment.BGNBD{R: 0.243, Alpha: 4.414 * 7, A: 0.793, B: 2.426}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			obs := simulateCohort(c.seed, 5000, c.p, segment.GammaGamma{P: 3, Q: 4, Gamma: 50})
			fit := segment.FitBGNBD(obs)
			if fit.Info.Status != segment.FitOK {
				t.Fatalf("fit fell back: %s", fit.Info.Reason)
			}
			truth := []float64{c.p.R, c.p.Alpha, c.p.A, c.p.B}
			got := []float64{fit.Params.R, fit.Params.Alpha, fit.Params.A, fit.Params.B}
			for i, name := range []string{"r", "alpha", "a", "b"} {
				lo, hi := fit.Info.Interval(got[i], i, z99)
				t.Logf("%s: true %.4g, fitted %.4g, 99%% CI [%.4g, %.4g]", name, truth[i], got[i], lo, hi)
				if !(truth[i] >= lo && truth[i] <= hi) {
					t.Errorf("%s = %.4g, 99%% CI [%.4g, %.4g] misses the true %.4g", name, got[i], lo, hi, truth[i])
				}
			}
			// the fitted log-likelihood is the sum over the sample
			var ll float64
			for _, o := range obs {
				ll += fit.Params.LogLikelihood(float64(o.Repeat), float64(o.SpanDays), float64(o.AgeDays))
			}
			if math.Abs(ll-fit.Info.LogLikelihood) > 1e-6*math.Abs(ll) || fit.Info.SampleSize != len(obs) {
				t.Errorf("stored LL %.6f over %d, recomputed %.6f over %d", fit.Info.LogLikelihood, fit.Info.SampleSize, ll, len(obs))
			}
			// and it is a maximum: the true parameters score no higher
			var llTrue float64
			for _, o := range obs {
				llTrue += c.p.LogLikelihood(float64(o.Repeat), float64(o.SpanDays), float64(o.AgeDays))
			}
			if llTrue > fit.Info.LogLikelihood+1e-6 {
				t.Errorf("true parameters have LL %.4f > fitted %.4f", llTrue, fit.Info.LogLikelihood)
			}
		})
	}
}

func TestGammaGammaRecoversKnownParameters(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		seed uint64
		g    segment.GammaGamma
	}{
		{"retail, minor units", 4, segment.GammaGamma{P: 4, Q: 5, Gamma: 30000}},
		{"CDNOW", 5, segment.GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// frequent buyers so most of the cohort repeats
			obs := simulateCohort(c.seed, 6000, segment.BGNBD{R: 2, Alpha: 40, A: 1.5, B: 6}, c.g)
			fit := segment.FitGammaGamma(obs)
			if fit.Info.Status != segment.FitOK {
				t.Fatalf("fit fell back: %s", fit.Info.Reason)
			}
			repeaters := 0
			for _, o := range obs {
				if o.Repeat > 0 {
					repeaters++
				}
			}
			// simulated spend is independent of frequency
			if c := fit.FrequencySpendCorrelation; c > 0.1 || c < -0.1 {
				t.Errorf("frequency-spend correlation %.3f, want about 0", c)
			}
			if fit.Info.SampleSize != repeaters {
				t.Errorf("sample size %d, want the %d repeat buyers", fit.Info.SampleSize, repeaters)
			}
			truth := []float64{c.g.P, c.g.Q, c.g.Gamma}
			got := []float64{fit.Params.P, fit.Params.Q, fit.Params.Gamma}
			for i, name := range []string{"p", "q", "gamma"} {
				lo, hi := fit.Info.Interval(got[i], i, z99)
				t.Logf("%s: true %.4g, fitted %.4g, 99%% CI [%.4g, %.4g]", name, truth[i], got[i], lo, hi)
				if !(truth[i] >= lo && truth[i] <= hi) {
					t.Errorf("%s = %.4g, 99%% CI [%.4g, %.4g] misses the true %.4g", name, got[i], lo, hi, truth[i])
				}
			}
		})
	}
}

func TestFitFallsBackAndSaysWhy(t *testing.T) {
	t.Parallel()
	noRepeat := make([]segment.Observation, 100)
	for i := range noRepeat {
		noRepeat[i] = segment.Observation{AgeDays: int32(10 + i), MeanSpend: 100}
	}
	cases := []struct {
		name string
		obs  []segment.Observation
	}{
		{"empty", nil},
		{"too small", simulateCohort(1, 10, segment.BGNBD{R: 1, Alpha: 10, A: 1, B: 2}, segment.GammaGamma{P: 2, Q: 3, Gamma: 10})},
		{"no repeat purchases", noRepeat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			bg, gg := segment.FitBGNBD(c.obs), segment.FitGammaGamma(c.obs)
			if bg.Info.Status != segment.FitFallback || bg.Info.Reason == "" {
				t.Errorf("BG/NBD: %+v, want a fallback with a reason", bg.Info)
			}
			if gg.Info.Status != segment.FitFallback || gg.Info.Reason == "" {
				t.Errorf("Gamma-Gamma: %+v, want a fallback with a reason", gg.Info)
			}
		})
	}
}

// TestPredictionsAreCalibrated simulates members under known BG/NBD
// parameters past the end of their observation window: the mean p_alive
// matches the share actually alive at T, and the sum of E[Y(90) | x, t_x, T]
// matches the purchases actually made in the next 90 days.
func TestPredictionsAreCalibrated(t *testing.T) {
	t.Parallel()
	for _, p := range []segment.BGNBD{{R: 0.8, Alpha: 50, A: 0.9, B: 1.4}, {R: 2, Alpha: 40, A: 1.5, B: 6}} {
		rng := rand.New(rand.NewPCG(21, 22))
		const n = 20000
		var alive, pAlive, actual, predicted float64
		for i := 0; i < n; i++ {
			T := float64(30 + rng.IntN(691))
			times, dropped := membergen.History(rng, p, T+90)
			var x, tx, future float64
			for _, at := range times {
				if at <= T {
					x, tx = x+1, at
				} else {
					future++
				}
			}
			if dropped > T {
				alive++
			}
			pAlive += p.PAlive(x, tx, T)
			actual += future
			predicted += p.ExpectedPurchases(90, x, tx, T)
		}
		t.Logf("%+v: alive %.4f vs mean p_alive %.4f; next-90-day purchases %.0f vs predicted %.1f", p, alive/n, pAlive/n, actual, predicted)
		if d := alive/n - pAlive/n; d > 0.015 || d < -0.015 {
			t.Errorf("%+v: share alive %.4f, mean p_alive %.4f", p, alive/n, pAlive/n)
		}
		// a Poisson-like total: allow 4 standard deviations
		if d := actual - predicted; d*d > 16*predicted*3 {
			t.Errorf("%+v: %.0f purchases in the next 90 days, predicted %.1f", p, actual, predicted)
		}
	}
}
