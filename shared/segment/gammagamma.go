package segment

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// GammaGamma holds the parameters of the Gamma-Gamma model of spend per
// purchase (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves
// for Customer Base Analysis", Journal of Marketing Research 42(4):415–430;
// Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value"): a
// member's purchases are worth z ~ Gamma(P, ν) with ν ~ Gamma(Q, Gamma)
// across members, independent of the purchase process.
type GammaGamma struct {
	P     float64 `json:"p"`
	Q     float64 `json:"q"`
	Gamma float64 `json:"gamma"`
}

// LogLikelihood is the log-likelihood of a member whose x purchases
// average mbar (Fader & Hardie 2013, eq. 3 with z̄ = mbar):
//
//	ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m̄ + px ln x − (px+q) ln(γ + x m̄)
func (g GammaGamma) LogLikelihood(x, mbar float64) float64 {
	px := g.P * x
	l1, _ := math.Lgamma(px + g.Q)
	l2, _ := math.Lgamma(px)
	l3, _ := math.Lgamma(g.Q)
	return l1 - l2 - l3 + g.Q*math.Log(g.Gamma) + (px-1)*math.Log(mbar) + px*math.Log(x) - (px+g.Q)*math.Log(g.Gamma+x*mbar)
}

// MeanSpend is the population mean spend per purchase, γp/(q−1) (finite
// only for q > 1).
func (g GammaGamma) MeanSpend() float64 { return g.Gamma * g.P / (g.Q - 1) }

// ExpectedSpend is E[Z | x, m̄], a member's expected spend per purchase
// given x purchases averaging mbar (FHL 2005 "RFM and CLV", eq. 5):
// (γ + x m̄)·p / (px + q − 1), a weighted mean of the population mean and
// the member's own. With x = 0 it is the population mean.
func (g GammaGamma) ExpectedSpend(x, mbar float64) float64 {
	return (g.Gamma + x*mbar) * g.P / (g.P*x + g.Q - 1)
}

type ggGroup struct {
	x       float64
	lnx     float64
	members []ggMember
}

type ggMember struct{ mbar, lnm float64 }

// groupSpend groups repeat buyers with a positive mean spend by their
// number of purchases (Gamma-Gamma's x is purchase days, Repeat+1).
func groupSpend(obs []Observation) (gs []ggGroup, n int) {
	idx := map[int32]int{}
	for _, o := range obs {
		if o.Repeat < 1 || !(o.MeanSpend > 0) {
			continue
		}
		x := o.Repeat + 1
		i, ok := idx[x]
		if !ok {
			i = len(gs)
			idx[x] = i
			gs = append(gs, ggGroup{x: float64(x), lnx: math.Log(float64(x))})
		}
		gs[i].members = append(gs[i].members, ggMember{o.MeanSpend, math.Log(o.MeanSpend)})
		n++
	}
	return gs, n
}

// ggObjective is the mean negative log-likelihood in θ = (ln p, ln q, ln γ)
// and its gradient.
func ggObjective(gs []ggGroup, n float64) (func([]float64) float64, func(grad, th []float64)) {
	eval := func(th, grad []float64) float64 {
		p, q, gm := math.Exp(th[0]), math.Exp(th[1]), math.Exp(th[2])
		lgq, _ := math.Lgamma(q)
		psq := mathext.Digamma(q)
		lng := math.Log(gm)
		var ll, gp, gq, gg float64
		for _, grp := range gs {
			x := grp.x
			px := p * x
			m := float64(len(grp.members))
			l1, _ := math.Lgamma(px + q)
			l2, _ := math.Lgamma(px)
			ll += m * (l1 - l2 - lgq + q*lng + px*grp.lnx)
			var ps1, ps2 float64
			if grad != nil {
				ps1, ps2 = mathext.Digamma(px+q), mathext.Digamma(px)
				gp += m * x * (ps1 - ps2 + grp.lnx)
				gq += m * (ps1 - psq + lng)
				gg += m * q / gm
			}
			for _, mb := range grp.members {
				ld := math.Log(gm + x*mb.mbar)
				ll += (px-1)*mb.lnm - (px+q)*ld
				if grad != nil {
					gp += x * (mb.lnm - ld)
					gq -= ld
					gg -= (px + q) / (gm + x*mb.mbar)
				}
			}
		}
		if grad != nil {
			grad[0] = -gp * p / n
			grad[1] = -gq * q / n
			grad[2] = -gg * gm / n
		}
		return -ll / n
	}
	return func(th []float64) float64 { return eval(th, nil) }, func(grad, th []float64) { eval(th, grad) }
}
