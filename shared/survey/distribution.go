package survey

import "math"

// NormalTwoSided is the two-sided p-value of a standard normal statistic:
// P(|Z| ≥ |z|) = erfc(|z|/√2).
func NormalTwoSided(z float64) float64 {
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}

// StudentTwoSided is the two-sided p-value of Student's t with df degrees
// of freedom: P(|T| ≥ |t|) = I_{df/(df+t²)}(df/2, 1/2), I the regularized
// incomplete beta function.
func StudentTwoSided(t, df float64) float64 {
	if math.IsInf(t, 0) {
		return 0
	}
	return RegIncBeta(df/2, 0.5, df/(df+t*t))
}

// StudentQuantile returns the p-quantile (p in (0.5, 1)) of Student's t
// with df degrees of freedom: Newton's method on StudentTwoSided from the
// normal quantile, safeguarded by bisection inside a bracket.
func StudentQuantile(p, df float64) float64 {
	target := 2 * (1 - p)
	lo, hi := 0.0, 1.0
	for StudentTwoSided(hi, df) > target {
		lo, hi = hi, hi*2
	}
	lg1, _ := math.Lgamma((df + 1) / 2)
	lg2, _ := math.Lgamma(df / 2)
	logNorm := lg1 - lg2 - 0.5*math.Log(df*math.Pi)
	t := math.Min(math.Max(math.Sqrt2*math.Erfinv(2*p-1), lo), hi)
	for range 100 {
		f := StudentTwoSided(t, df) - target
		if f == 0 {
			return t
		}
		if f > 0 {
			lo = t
		} else {
			hi = t
		}
		// d/dt of the two-sided p-value is −2·density(t).
		density := math.Exp(logNorm - (df+1)/2*math.Log1p(t*t/df))
		next := t + f/(2*density)
		if !(next > lo && next < hi) {
			next = (lo + hi) / 2
		}
		if math.Abs(next-t) < 1e-12*math.Max(1, t) {
			return next
		}
		t = next
	}
	return t
}

// RegIncBeta is the regularized incomplete beta function I_x(a, b),
// evaluated by its continued fraction with the modified Lentz method
// (Press et al., Numerical Recipes, 3rd ed., §6.4).
func RegIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaFraction(a, b, x) / a
	}
	return 1 - front*betaFraction(b, a, 1-x)/b
}

func betaFraction(a, b, x float64) float64 {
	const tiny = 1e-300
	const eps = 1e-15
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}
