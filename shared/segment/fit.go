package segment

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// FitStatus says whether a model's fitted parameters are used.
type FitStatus string

// Fit statuses.
const (
	// FitOK: the maximum-likelihood fit converged to plausible parameters,
	// which score the members.
	FitOK FitStatus = "ok"
	// FitFallback: the fit failed, was implausible or the sample too small;
	// members are scored by the documented fallback rule instead.
	FitFallback FitStatus = "fallback"
)

// Limits on what a fit may return and still be used: every parameter
// within [minParam, maxParam] (days and minor units), a finite
// log-likelihood, and for Gamma-Gamma q > 1 so the population mean spend
// exists.
const (
	minParam = 1e-4
	maxParam = 1e7
)

// acceptGradient is the largest ∞-norm of the mean log-likelihood's
// gradient (in log parameters) at which a fit counts as converged.
const acceptGradient = 1e-5

// MinFitSample is the smallest sample a model is fitted on (members for
// BG/NBD, repeat buyers for Gamma-Gamma); below it the fallback rule is used.
const MinFitSample = 30

// FitInfo is what the run stores about one model's fit.
type FitInfo struct {
	Status FitStatus `json:"status"`
	// Reason says why the fallback is used (empty when Status is ok).
	Reason string `json:"reason,omitempty"`
	// LogLikelihood is the total log-likelihood at the fitted parameters.
	LogLikelihood float64 `json:"log_likelihood"`
	// SampleSize is the number of members the model was fitted on.
	SampleSize int `json:"sample_size"`
	// StdErrLog are the standard errors of the logarithms of the
	// parameters (in the parameters' order) from the inverse observed
	// information; empty when the fit fell back or the information matrix
	// is not positive definite. The parameters of a fallback are zero.
	StdErrLog []float64 `json:"std_err_log,omitempty"`
	// Iterations and Evaluations are the optimiser's counts.
	Iterations  int `json:"iterations"`
	Evaluations int `json:"evaluations"`
}

// BGNBDFit is a fitted BG/NBD model.
type BGNBDFit struct {
	Params BGNBD   `json:"params"`
	Info   FitInfo `json:"info"`
}

// GammaGammaFit is a fitted Gamma-Gamma model.
type GammaGammaFit struct {
	Params GammaGamma `json:"params"`
	Info   FitInfo    `json:"info"`
	// FrequencySpendCorrelation is the Pearson correlation of purchase
	// days and mean spend over the repeat buyers it was fitted on. The
	// model assumes spend is independent of frequency (FHL 2005); a
	// magnitude above about 0.3 says the assumption is doubtful. It is
	// reported, not acted on.
	FrequencySpendCorrelation float64 `json:"frequency_spend_correlation"`
}

// Interval returns the approximate confidence interval of parameter i at
// z standard errors (e.g. 1.96 for 95 %), from the log-scale standard error.
func (fi FitInfo) Interval(value float64, i int, z float64) (lo, hi float64) {
	if i >= len(fi.StdErrLog) {
		return math.NaN(), math.NaN()
	}
	s := fi.StdErrLog[i]
	return value * math.Exp(-z*s), value * math.Exp(z*s)
}

// FitBGNBD fits BG/NBD by maximum likelihood on the observations (every
// sampled member with at least one purchase). The optimiser is gonum's
// BFGS on the mean negative log-likelihood in log-parameter space with the
// analytic gradient, started from r = 1, a = 1, b = 1 and α = the mean age.
func FitBGNBD(obs []Observation) BGNBDFit {
	var out BGNBDFit
	out.Info.SampleSize = len(obs)
	if len(obs) < MinFitSample {
		out.Info.Status, out.Info.Reason = FitFallback, fmt.Sprintf("sample of %d members is below %d", len(obs), MinFitSample)
		return out
	}
	var meanAge, repeaters float64
	for _, o := range obs {
		meanAge += float64(o.AgeDays)
		if o.Repeat > 0 {
			repeaters++
		}
	}
	meanAge /= float64(len(obs))
	if repeaters == 0 {
		out.Info.Status, out.Info.Reason = FitFallback, "no member in the sample has a repeat purchase"
		return out
	}
	n := float64(len(obs))
	f, g := bgnbdObjective(groupByRepeat(obs), n)
	// a second start (smaller r and α, the CDNOW-like corner) if the first fails
	for _, x0 := range [][]float64{{0, math.Log(max(meanAge, 1)), 0, 0}, {math.Log(0.25), math.Log(max(meanAge/10, 1)), 0, math.Log(2)}} {
		th, res, err := minimise(f, g, x0)
		out.Params = BGNBD{R: math.Exp(th[0]), Alpha: math.Exp(th[1]), A: math.Exp(th[2]), B: math.Exp(th[3])}
		out.Info.LogLikelihood = -f(th) * n
		fillInfo(&out.Info, res, err, th, g, n)
		if out.Info.Status == FitOK && math.Abs(out.Params.A-1) < 1e-6 {
			out.Info.Status, out.Info.Reason = FitFallback, "a = 1 makes the expected-purchases formula singular"
		}
		if out.Info.Status == FitOK {
			break
		}
	}
	if out.Info.Status == FitOK {
		if ok, why := plausibleBGNBD(out.Params, obs); !ok {
			out.Info.Status, out.Info.Reason = FitFallback, why
		}
	}
	if out.Info.Status != FitOK {
		out.Params = BGNBD{}
	}
	sanitise(&out.Info)
	return out
}

// FitGammaGamma fits Gamma-Gamma by maximum likelihood on the repeat
// buyers among the observations (Repeat ≥ 1 and a positive mean spend),
// with x = purchase days and m̄ = net spend per purchase day.
func FitGammaGamma(obs []Observation) GammaGammaFit {
	var out GammaGammaFit
	gs, m := groupSpend(obs)
	out.Info.SampleSize = m
	if m < MinFitSample {
		out.Info.Status, out.Info.Reason = FitFallback, fmt.Sprintf("%d repeat buyers with positive spend is below %d", m, MinFitSample)
		return out
	}
	var mean float64
	for _, grp := range gs {
		for _, mb := range grp.members {
			mean += mb.mbar
		}
	}
	mean /= float64(m)
	out.FrequencySpendCorrelation = correlation(gs)
	n := float64(m)
	f, g := ggObjective(gs, n)
	// starts: p = 1, q = 2 and γ matching the sample mean (γp/(q−1) =
	// mean); then p = 5, q = 5
	for _, x0 := range [][]float64{{0, math.Log(2), math.Log(mean)}, {math.Log(5), math.Log(5), math.Log(mean * 4 / 5)}} {
		th, res, err := minimise(f, g, x0)
		out.Params = GammaGamma{P: math.Exp(th[0]), Q: math.Exp(th[1]), Gamma: math.Exp(th[2])}
		out.Info.LogLikelihood = -f(th) * n
		fillInfo(&out.Info, res, err, th, g, n)
		if out.Info.Status == FitOK && out.Params.Q <= 1 {
			out.Info.Status, out.Info.Reason = FitFallback, fmt.Sprintf("q = %.4g ≤ 1: the population mean spend is infinite", out.Params.Q)
		}
		if out.Info.Status == FitOK {
			break
		}
	}
	if out.Info.Status != FitOK {
		out.Params = GammaGamma{}
	}
	sanitise(&out.Info)
	return out
}

// plausibleBGNBD checks a fit against the data it came from: the repeat
// purchases the model expects the sampled members to have made in their
// own observation windows, Σ E[X(T_i)], must be within 10 % (plus 1) of
// the repeat purchases they made, Σ x_i. A maximum-likelihood fit of a
// model that describes the data passes easily; parameters from a fit that
// went astray do not.
func plausibleBGNBD(p BGNBD, obs []Observation) (bool, string) {
	byAge := map[int32]float64{}
	var observed float64
	for _, o := range obs {
		byAge[o.AgeDays]++
		observed += float64(o.Repeat)
	}
	var expected float64
	for age, n := range byAge {
		expected += n * p.ExpectedPurchasesNew(float64(age))
	}
	if math.IsNaN(expected) || math.Abs(expected-observed) > 0.1*observed+1 {
		return false, fmt.Sprintf("implausible: the fit expects %.0f repeat purchases in the sample's windows, the sample made %.0f", expected, observed)
	}
	return true, ""
}

// sanitise keeps a fallback's FitInfo encodable as JSON (no NaN or ±Inf):
// a non-finite log-likelihood becomes 0 (the reason says why the fit was
// not used) and unknown standard errors are dropped.
func sanitise(info *FitInfo) {
	if math.IsNaN(info.LogLikelihood) || math.IsInf(info.LogLikelihood, 0) {
		info.LogLikelihood = 0
	}
	for _, s := range info.StdErrLog {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			info.StdErrLog = nil
			break
		}
	}
}

// correlation is Pearson's r of x and m̄ over the grouped repeat buyers
// (0 when either does not vary).
func correlation(gs []ggGroup) float64 {
	var n, sx, sm, sxx, smm, sxm float64
	for _, g := range gs {
		for _, mb := range g.members {
			n++
			sx += g.x
			sm += mb.mbar
			sxx += g.x * g.x
			smm += mb.mbar * mb.mbar
			sxm += g.x * mb.mbar
		}
	}
	vx, vm := sxx-sx*sx/n, smm-sm*sm/n
	if !(vx > 0 && vm > 0) {
		return 0
	}
	return (sxm - sx*sm/n) / math.Sqrt(vx*vm)
}

func minimise(f func([]float64) float64, g func(grad, x []float64), x0 []float64) ([]float64, *optimize.Result, error) {
	p := optimize.Problem{Func: f, Grad: g}
	settings := &optimize.Settings{GradientThreshold: 1e-7, MajorIterations: 500, FuncEvaluations: 5000}
	res, err := optimize.Minimize(p, x0, settings, &optimize.BFGS{})
	if res == nil {
		return x0, nil, err
	}
	return res.X, res, err
}

func fillInfo(info *FitInfo, res *optimize.Result, err error, th []float64, g func(grad, x []float64), n float64) {
	info.Status, info.Reason, info.StdErrLog = FitOK, "", nil
	if res != nil {
		info.Iterations, info.Evaluations = res.Stats.MajorIterations, res.Stats.FuncEvaluations
	}
	// A line search that cannot improve further at a point whose gradient
	// is already negligible has converged as far as float64 allows.
	grad := make([]float64, len(th))
	g(grad, th)
	stationary := floats.Norm(grad, math.Inf(1)) < acceptGradient
	switch {
	case res == nil || (err != nil && !stationary):
		info.Status, info.Reason = FitFallback, fmt.Sprintf("optimiser failed: %v", err)
		return
	case !stationary && res.Status != optimize.GradientThreshold:
		info.Status, info.Reason = FitFallback, "optimiser did not converge: "+res.Status.String()
		return
	case math.IsNaN(info.LogLikelihood) || math.IsInf(info.LogLikelihood, 0):
		info.Status, info.Reason = FitFallback, "log-likelihood is not finite"
		return
	}
	for i, t := range th {
		if v := math.Exp(t); !(v >= minParam && v <= maxParam) {
			info.Status, info.Reason = FitFallback, fmt.Sprintf("parameter %d = %.4g is outside [%g, %g]", i, v, minParam, maxParam)
			return
		}
	}
	info.StdErrLog = stdErrors(th, g, n)
}

// stdErrors inverts the observed information (n × the Jacobian of the mean
// gradient, by central differences) at the optimum.
func stdErrors(th []float64, g func(grad, x []float64), n float64) []float64 {
	d := len(th)
	jac := mat.NewDense(d, d, nil)
	fd.Jacobian(jac, g, th, &fd.JacobianSettings{Formula: fd.Central, Step: 1e-5})
	h := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			h.SetSym(i, j, n*(jac.At(i, j)+jac.At(j, i))/2)
		}
	}
	se := make([]float64, d)
	var ch mat.Cholesky
	if !ch.Factorize(h) {
		for i := range se {
			se[i] = math.NaN()
		}
		return se
	}
	var cov mat.SymDense
	if err := ch.InverseTo(&cov); err != nil {
		for i := range se {
			se[i] = math.NaN()
		}
		return se
	}
	for i := range se {
		se[i] = math.Sqrt(cov.At(i, i))
	}
	return se
}
