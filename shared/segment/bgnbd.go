package segment

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// BGNBD holds the parameters of the beta-geometric/negative-binomial
// distribution model of repeat buying (Fader, Hardie & Lee 2005, "Counting
// Your Customers the Easy Way: An Alternative to the Pareto/NBD Model",
// Marketing Science 24(2):275–284): while alive a member buys as a Poisson
// process with rate λ ~ Gamma(R, Alpha); after each purchase they drop out
// with probability p ~ Beta(A, B). Time is in days.
type BGNBD struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
}

// bgnbdGroup is the part of the log-likelihood that depends only on x, the
// number of repeat purchases: the sample is grouped by x so the gamma
// functions are evaluated once per distinct x, not once per member.
type bgnbdGroup struct {
	x       float64
	members []spanAge
}

type spanAge struct{ tx, T float64 }

func groupByRepeat(obs []Observation) []bgnbdGroup {
	idx := map[int32]int{}
	var gs []bgnbdGroup
	for _, o := range obs {
		i, ok := idx[o.Repeat]
		if !ok {
			i = len(gs)
			idx[o.Repeat] = i
			gs = append(gs, bgnbdGroup{x: float64(o.Repeat)})
		}
		gs[i].members = append(gs[i].members, spanAge{float64(o.SpanDays), float64(o.AgeDays)})
	}
	return gs
}

// LogLikelihood is the BG/NBD log-likelihood of one member with x repeat
// purchases, the last at t_x, observed for T since the first purchase
// (FHL 2005, eq. 6), computed in log space:
//
//	ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
//	     + ln[ (α+T)^−(r+x) + 1{x>0} · a/(b+x−1) · (α+t_x)^−(r+x) ]
func (p BGNBD) LogLikelihood(x, tx, T float64) float64 {
	lgrx, _ := math.Lgamma(p.R + x)
	lgr, _ := math.Lgamma(p.R)
	return lgrx - lgr + p.R*math.Log(p.Alpha) + lbetaRatio(p.A, p.B, x) + bgnbdTail(p, x, tx, T)
}

// lbetaRatio is ln B(a, b+x) − ln B(a, b) = ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x).
func lbetaRatio(a, b, x float64) float64 {
	l1, _ := math.Lgamma(a + b)
	l2, _ := math.Lgamma(b + x)
	l3, _ := math.Lgamma(b)
	l4, _ := math.Lgamma(a + b + x)
	return l1 + l2 - l3 - l4
}

func bgnbdTail(p BGNBD, x, tx, T float64) float64 {
	c := -(p.R + x) * math.Log(p.Alpha+T)
	if x == 0 {
		return c
	}
	d := math.Log(p.A) - math.Log(p.B+x-1) - (p.R+x)*math.Log(p.Alpha+tx)
	return logAddExp(c, d)
}

func logAddExp(u, v float64) float64 {
	if u < v {
		u, v = v, u
	}
	return u + math.Log1p(math.Exp(v-u))
}

// bgnbdObjective returns the mean negative log-likelihood over the groups
// and its gradient with respect to θ = (ln r, ln α, ln a, ln b).
func bgnbdObjective(gs []bgnbdGroup, n float64) (f func([]float64) float64, g func(grad, th []float64)) {
	eval := func(th []float64, grad []float64) float64 {
		r, al, a, b := math.Exp(th[0]), math.Exp(th[1]), math.Exp(th[2]), math.Exp(th[3])
		lgr, _ := math.Lgamma(r)
		lgb, _ := math.Lgamma(b)
		lgab, _ := math.Lgamma(a + b)
		psr, psb, psab := mathext.Digamma(r), mathext.Digamma(b), mathext.Digamma(a+b)
		lnAl, lnA := math.Log(al), math.Log(a)
		var ll, gr, gal, ga, gb float64
		for _, grp := range gs {
			x := grp.x
			m := float64(len(grp.members))
			lgrx, _ := math.Lgamma(r + x)
			lgbx, _ := math.Lgamma(b + x)
			lgabx, _ := math.Lgamma(a + b + x)
			ll += m * (lgrx - lgr + r*lnAl + lgab + lgbx - lgb - lgabx)
			var psrx, psbx, psabx float64
			if grad != nil {
				psrx, psbx, psabx = mathext.Digamma(r+x), mathext.Digamma(b+x), mathext.Digamma(a+b+x)
				gr += m * (psrx - psr + lnAl)
				gal += m * r / al
				ga += m * (psab - psabx)
				gb += m * (psab + psbx - psb - psabx)
			}
			rx := r + x
			var lnK float64
			if x > 0 {
				lnK = lnA - math.Log(b+x-1)
			}
			for _, st := range grp.members {
				lT := math.Log(al + st.T)
				c := -rx * lT
				if x == 0 {
					ll += c
					if grad != nil {
						gr -= lT
						gal -= rx / (al + st.T)
					}
					continue
				}
				lt := math.Log(al + st.tx)
				d := lnK - rx*lt
				var w, tail float64 // w: share of the t_x term
				if d > c {
					e := math.Exp(c - d)
					tail = d + math.Log1p(e)
					w = 1 / (1 + e)
				} else {
					e := math.Exp(d - c)
					tail = c + math.Log1p(e)
					w = e / (1 + e)
				}
				ll += tail
				if grad != nil {
					gr -= (1-w)*lT + w*lt
					gal -= (1-w)*rx/(al+st.T) + w*rx/(al+st.tx)
					ga += w / a
					gb -= w / (b + x - 1)
				}
			}
		}
		if grad != nil {
			// chain rule to log parameters, negated and averaged
			grad[0] = -gr * r / n
			grad[1] = -gal * al / n
			grad[2] = -ga * a / n
			grad[3] = -gb * b / n
		}
		return -ll / n
	}
	return func(th []float64) float64 { return eval(th, nil) },
		func(grad, th []float64) { eval(th, grad) }
}

// PAlive is the probability that a member with x repeat purchases, the last
// at t_x, observed for T, is still alive (FHL 2005, eq. 11):
//
//	P(alive) = 1 / (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
//
// A member with no repeat purchase is alive with probability 1 under
// BG/NBD: the model lets members drop out only right after a purchase.
func (p BGNBD) PAlive(x, tx, T float64) float64 {
	if x == 0 {
		return 1
	}
	return 1 / (1 + math.Exp(math.Log(p.A)-math.Log(p.B+x-1)+(p.R+x)*(math.Log(p.Alpha+T)-math.Log(p.Alpha+tx))))
}

// ExpectedPurchases is E[Y(t) | x, t_x, T], the expected number of
// purchases in the next t days (FHL 2005, eq. 10):
//
//	(a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
//	/ (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
//
// The Gaussian hypergeometric function is summed as its power series after
// Euler's transformation (see expectedAlive).
func (p BGNBD) ExpectedPurchases(t, x, tx, T float64) float64 {
	return p.expectedAlive(t, x, T) * p.PAlive(x, tx, T)
}

// expectedAlive is the bracketed numerator of eq. 10: expected purchases in
// the next t days given the member is alive. With z = t/(α+T+t), Euler's
// transformation ₂F₁(A, B; C; z) = (1−z)^(C−A−B) ₂F₁(C−A, C−B; C; z)
// turns ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; z) into
//
//	(1−z)^(a−1) · ₂F₁(a+b−1−r, a−1; a+b+x−1; z)
//
// whose first two parameters do not grow with x: the series converges
// faster the more purchases a member made (instead of needing thousands
// of terms and overflowing past ~1 000 purchase days).
func (p BGNBD) expectedAlive(t, x, T float64) float64 {
	a := p.A
	if math.Abs(a-1) < 1e-9 { // removable singularity at a = 1
		a = 1 + 1e-9
	}
	z := t / (p.Alpha + T + t)
	hyp := hyp2f1(a+p.B-1-p.R, a-1, a+p.B+x-1, z)
	pow := math.Exp((a - 1) * math.Log1p(-z))
	return (a + p.B + x - 1) / (a - 1) * (1 - pow*hyp)
}

// ExpectedPurchasesNew is E[X(t)], the expected number of purchases in the
// first t days after a member's first purchase (FHL 2005, eq. 9).
func (p BGNBD) ExpectedPurchasesNew(t float64) float64 {
	return p.expectedAlive(t, 0, 0)
}

// hyp2f1 is ₂F₁(a, b; c; z) for c > 0 and 0 ≤ z < 1 by direct summation
// of the power series. Once n exceeds −a and −b every further term has
// the same sign, so the sum stops there when the terms are shrinking and
// below 1e-15 of it (a terminating series stops at its zero term). Other
// arguments, or a series that has not converged after 100,000 terms, go to
// mathext.Hypergeo (Cephes' hyp2f1).
func hyp2f1(a, b, c, z float64) float64 {
	if !(c > 0 && z >= 0 && z < 1) {
		return mathext.Hypergeo(a, b, c, z)
	}
	settled := math.Max(0, math.Max(-a, -b))
	sum, term := 1.0, 1.0
	for n := 0.0; n < 100_000; n++ {
		ratio := (a + n) * (b + n) / ((c + n) * (n + 1)) * z
		term *= ratio
		sum += term
		if term == 0 || (n >= settled && math.Abs(ratio) < 1 && math.Abs(term) <= 1e-15*math.Abs(sum)) {
			return sum
		}
	}
	return mathext.Hypergeo(a, b, c, z)
}
