package segment

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// cdnow are the BG/NBD parameters FHL 2005 report for the CDNOW sample
// (time in weeks), and cdnowGG the Gamma-Gamma ones of "RFM and CLV".
var (
	cdnow   = BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	cdnowGG = GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.10g, want %.10g (tol %g)", name, got, want, tol)
	}
}

func TestBGNBDLogLikelihoodByHand(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		p        BGNBD
		x, tx, T float64
		// L written out from FHL 2005 eq. 6 with the gamma and beta
		// functions evaluated by hand.
		L float64
	}{
		// Γ(1)·1/Γ(1) · B(1,1)/B(1,1) · (1+1)^−1
		{"x=0 unit params", BGNBD{1, 1, 1, 1}, 0, 0, 1, 0.5},
		// Γ(2)/Γ(1) · B(1,2)/B(1,1) · [3^−2 + 1/1 · 2^−2] = 1 · 1/2 · 13/36
		{"x=1 unit params", BGNBD{1, 1, 1, 1}, 1, 1, 2, 13.0 / 72},
		// Γ(4)·3²/Γ(2) = 54; B(2,5)/B(2,3) = (1/30)/(1/12) = 0.4;
		// bracket 9^−4 + 2/4 · 7^−4
		{"x=2", BGNBD{2, 3, 2, 3}, 2, 4, 6, 54 * 0.4 * (1.0/6561 + 0.5/2401)},
		// x = 0 ignores t_x: Γ(2)·3²/Γ(2) · 1 · 9^−2 = 1/9
		{"x=0 r=2", BGNBD{2, 3, 2, 3}, 0, 0, 6, 1.0 / 9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			near(t, "ln L", c.p.LogLikelihood(c.x, c.tx, c.T), math.Log(c.L), 1e-12)
		})
	}
}

func TestBGNBDObjectiveMatchesLogLikelihoodAndGradient(t *testing.T) {
	t.Parallel()
	obs := []Observation{{0, 0, 10, 0}, {0, 0, 40, 0}, {1, 5, 40, 0}, {3, 30, 35, 0}, {3, 12, 90, 0}, {7, 80, 81, 0}}
	p := BGNBD{R: 0.6, Alpha: 12, A: 0.8, B: 2.2}
	th := []float64{math.Log(p.R), math.Log(p.Alpha), math.Log(p.A), math.Log(p.B)}
	f, g := bgnbdObjective(groupByRepeat(obs), float64(len(obs)))
	var want float64
	for _, o := range obs {
		want += p.LogLikelihood(float64(o.Repeat), float64(o.SpanDays), float64(o.AgeDays))
	}
	near(t, "mean NLL", f(th), -want/float64(len(obs)), 1e-12)
	grad := make([]float64, 4)
	g(grad, th)
	num := fd.Gradient(nil, f, th, &fd.Settings{Formula: fd.Central})
	for i := range grad {
		near(t, "gradient", grad[i], num[i], 1e-6)
	}
}

func TestGammaGammaLogLikelihoodByHand(t *testing.T) {
	t.Parallel()
	// x = 1, p = 1, q = 2, γ = 1: the marginal density of one purchase
	// value z is ∫ ν e^−νz · ν e^−ν dν = 2/(1+z)³, so at z = 1 it is 1/4.
	near(t, "ln f(1)", GammaGamma{1, 2, 1}.LogLikelihood(1, 1), math.Log(0.25), 1e-12)
	// x = 2, p = 1, q = 1, γ = 2: the mean of two Exp(ν) values is
	// Gamma(2, 2ν): f(m̄|ν) = 4ν² m̄ e^−2νm̄, ν ~ Exp(2):
	// ∫ 4ν² m̄ e^−2νm̄ · 2e^−2ν dν = 8 m̄ · 2/(2m̄+2)³; at m̄ = 3: 48/512.
	near(t, "ln f(3)", GammaGamma{1, 1, 2}.LogLikelihood(2, 3), math.Log(48.0/512), 1e-12)
}

func TestGammaGammaObjectiveGradient(t *testing.T) {
	t.Parallel()
	obs := []Observation{{1, 3, 9, 20}, {1, 2, 9, 35}, {4, 20, 30, 12.5}, {2, 5, 6, 80}, {0, 0, 4, 50}}
	gs, n := groupSpend(obs)
	if n != 4 {
		t.Fatalf("repeat buyers = %d, want 4 (x = 0 is excluded)", n)
	}
	g := GammaGamma{P: 2.5, Q: 3.1, Gamma: 40}
	th := []float64{math.Log(g.P), math.Log(g.Q), math.Log(g.Gamma)}
	f, grad := ggObjective(gs, float64(n))
	var want float64
	for _, o := range obs[:4] {
		want += g.LogLikelihood(float64(o.Repeat+1), o.MeanSpend)
	}
	near(t, "mean NLL", f(th), -want/4, 1e-12)
	got := make([]float64, 3)
	grad(got, th)
	num := fd.Gradient(nil, f, th, &fd.Settings{Formula: fd.Central})
	for i := range got {
		near(t, "gradient", got[i], num[i], 1e-6)
	}
}

func TestPAliveClosedForms(t *testing.T) {
	t.Parallel()
	for _, p := range []BGNBD{cdnow, {1, 1, 1, 1}, {0.5, 30, 2, 5}} {
		// No repeat purchase: the model lets no one drop out yet.
		near(t, "P(alive | x=0)", p.PAlive(0, 0, 100), 1, 0)
		// Last purchase at the end of the window: the ratio is 1, so
		// P = 1/(1 + a/(b+x−1)) = (b+x−1)/(a+b+x−1).
		for _, x := range []float64{1, 2, 5} {
			near(t, "P(alive | t_x = T)", p.PAlive(x, 20, 20), (p.B+x-1)/(p.A+p.B+x-1), 1e-12)
		}
		// Longer silence, lower P(alive).
		if !(p.PAlive(3, 10, 50) < p.PAlive(3, 40, 50)) {
			t.Errorf("%+v: P(alive) does not fall with time since the last purchase", p)
		}
	}
}

// expectedNewByIntegral is E[X(t)] integrated directly from the model:
// given λ and p, E[X(t)] = (1 − e^−λpt)/p (FHL 2005 eq. 7); over
// λ ~ Gamma(r, α), E[e^−λpt] = (α/(α+pt))^r; the remaining integral over
// p ~ Beta(a, b) is done by Gauss–Legendre quadrature. No hypergeometric
// function is involved, so it checks eq. 9 independently.
func expectedNewByIntegral(p BGNBD, t float64) float64 {
	beta := distuv.Beta{Alpha: p.A, Beta: p.B}
	f := func(q float64) float64 {
		if q == 0 {
			return 0
		}
		return (1 - math.Pow(p.Alpha/(p.Alpha+q*t), p.R)) / q * beta.Prob(q)
	}
	// split at 0.5 and use many nodes: the Beta density has an integrable
	// singularity at 0 when a < 1
	return quad.Fixed(f, 0, 1e-6, 200, nil, 0) + quad.Fixed(f, 1e-6, 0.5, 2000, nil, 0) + quad.Fixed(f, 0.5, 1, 500, nil, 0)
}

func TestExpectedPurchasesNewAgainstIntegral(t *testing.T) {
	t.Parallel()
	for _, p := range []BGNBD{{2, 30, 3, 5}, {0.7, 50, 1.6, 3}, {1.2, 10, 2.5, 1.5}} {
		for _, horizon := range []float64{30, 90, 365} {
			near(t, "E[X(t)]", p.ExpectedPurchasesNew(horizon), expectedNewByIntegral(p, horizon), 1e-5)
		}
	}
	// a < 1 (as for CDNOW) is handled by the same formula.
	near(t, "CDNOW E[X(39)]", cdnow.ExpectedPurchasesNew(39), expectedNewByIntegral(cdnow, 39), 2e-3)
}

func TestExpectedPurchasesClosedForms(t *testing.T) {
	t.Parallel()
	p := BGNBD{R: 0.9, Alpha: 40, A: 1.7, B: 3.2}
	// A member with x = 0 observed for T = 0 is a brand-new customer.
	near(t, "E[Y|0,0,0]", p.ExpectedPurchases(90, 0, 0, 0), p.ExpectedPurchasesNew(90), 1e-12)
	// Conditional expectation = P(alive) × expectation if alive.
	e := p.ExpectedPurchases(90, 3, 50, 200)
	near(t, "E[Y] = P(alive)·E[Y|alive]", e, p.PAlive(3, 50, 200)*p.expectedAlive(90, 3, 200), 1e-12)
	// Zero horizon, zero purchases.
	near(t, "E[Y(0)]", p.ExpectedPurchases(0, 3, 50, 200), 0, 1e-12)
	// More horizon, more purchases; longer silence, fewer.
	if !(p.ExpectedPurchases(30, 3, 50, 200) < p.ExpectedPurchases(90, 3, 50, 200)) {
		t.Error("E[Y(t)] does not grow with t")
	}
	if !(p.ExpectedPurchases(90, 3, 20, 200) < p.ExpectedPurchases(90, 3, 190, 200)) {
		t.Error("E[Y(t)] does not fall with silence")
	}
}

func TestCDNOWPublishedValues(t *testing.T) {
	t.Parallel()
	// FHL 2005, section 5: a customer with x = 2, t_x = 30.43, T = 38.86
	// (weeks) is expected to make 1.226 purchases in the next 39 weeks.
	near(t, "E[Y(39) | 2, 30.43, 38.86]", cdnow.ExpectedPurchases(39, 2, 30.43, 38.86), 1.226, 1e-3)
	// "RFM and CLV": the population mean spend is γp/(q−1).
	near(t, "E[Z]", cdnowGG.MeanSpend(), 15.44*6.25/2.74, 1e-12)
	// Gamma-Gamma's conditional mean is a weighted mean of the population
	// mean and the member's own average, weight px/(px+q−1) on the latter.
	x, m := 4.0, 20.0
	w := cdnowGG.P * x / (cdnowGG.P*x + cdnowGG.Q - 1)
	near(t, "E[Z | x, m̄]", cdnowGG.ExpectedSpend(x, m), w*m+(1-w)*cdnowGG.MeanSpend(), 1e-12)
	near(t, "E[Z | 0]", cdnowGG.ExpectedSpend(0, 0), cdnowGG.MeanSpend(), 1e-12)
}

func TestHyp2f1MatchesCephes(t *testing.T) {
	t.Parallel()
	for _, a := range []float64{-0.7, 0.2, 0.8, 3.5, 21} {
		for _, b := range []float64{-0.2, 0.5, 2.4, 30} {
			for _, c := range []float64{0.7, 3, 50} {
				for _, z := range []float64{0, 0.1, 0.5, 0.8, 0.95} {
					want := mathext.Hypergeo(a, b, c, z)
					near(t, "2F1", hyp2f1(a, b, c, z), want, 1e-9)
				}
			}
		}
	}
}

func TestPlausibilityCheck(t *testing.T) {
	t.Parallel()
	// 200 members observed 100 days, each with 2 repeat purchases
	obs := make([]Observation, 200)
	for i := range obs {
		obs[i] = Observation{Repeat: 2, SpanDays: 80, AgeDays: 100}
	}
	// choose λ so that E[X(100)] ≈ 2 when no one drops out (b huge)
	fits := BGNBD{R: 100, Alpha: 5000, A: 0.01, B: 1000}
	if e := fits.ExpectedPurchasesNew(100); math.Abs(e-2) > 0.05 {
		t.Fatalf("setup: E[X(100)] = %v", e)
	}
	if ok, why := plausibleBGNBD(fits, obs); !ok {
		t.Errorf("a model that fits was rejected: %s", why)
	}
	wrong := BGNBD{R: 100, Alpha: 500, A: 0.01, B: 1000} // ten times the rate
	if ok, why := plausibleBGNBD(wrong, obs); ok || why == "" {
		t.Error("a model expecting ten times the purchases was accepted")
	}
}

// expectedAliveEq10 is eq. 10's bracket as printed, without Euler's
// transformation, with Cephes' ₂F₁: the reference for moderate x.
func expectedAliveEq10(p BGNBD, t, x, T float64) float64 {
	z := t / (p.Alpha + T + t)
	hyp := mathext.Hypergeo(p.R+x, p.B+x, p.A+p.B+x-1, z)
	return (p.A + p.B + x - 1) / (p.A - 1) * (1 - math.Pow(1-z, p.R+x)*hyp)
}

func TestExpectedAliveMatchesEq10AndScalesToHeavyBuyers(t *testing.T) {
	t.Parallel()
	for _, p := range []BGNBD{cdnow, {0.8, 50, 0.9, 1.4}, {2, 40, 1.5, 6}} {
		for _, x := range []float64{0, 1, 3, 12, 40} {
			for _, T := range []float64{x + 1, 2*x + 30, 700} {
				for _, horizon := range []float64{39, 90, 365} {
					near(t, "E[Y|alive]", p.expectedAlive(horizon, x, T), expectedAliveEq10(p, horizon, x, T), 1e-9)
				}
			}
		}
		// a member who bought on 2 000 of the last 2 010 days: the printed
		// form overflows (₂F₁ ≈ 10^400); the transformed one gives at most
		// the posterior rate (r+x)/(α+T) times the horizon
		x, T := 2000.0, 2010.0
		e := p.ExpectedPurchases(365, x, T-1, T)
		if math.IsNaN(e) || e <= 0 || e > (p.R+x)/(p.Alpha+T)*365 {
			t.Errorf("%+v: E[Y(365)] for a daily buyer = %v, want in (0, %.1f]", p, e, (p.R+x)/(p.Alpha+T)*365)
		}
	}
}

func TestFrequencySpendCorrelation(t *testing.T) {
	t.Parallel()
	var obs []Observation
	for i := 0; i < 50; i++ {
		x := int32(1 + i%5)
		obs = append(obs, Observation{Repeat: x, MeanSpend: 100 * float64(x+1)}) // spend rises with frequency
	}
	gs, _ := groupSpend(obs)
	near(t, "r", correlation(gs), 1, 1e-12)
	for i := range obs {
		obs[i].MeanSpend = 1000 - obs[i].MeanSpend
	}
	gs, _ = groupSpend(obs)
	near(t, "r", correlation(gs), -1, 1e-12)
}
