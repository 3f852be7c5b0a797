// Package membergen generates member purchase statistics deterministically
// from the BG/NBD and Gamma-Gamma processes, for tests, benchmarks and
// `make seed`: member i of a seed is the same whatever the count, so
// populations can be generated in parallel chunks.
package membergen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"clientele/shared/segment"
)

// Config describes a generated population. Zero fields take the defaults
// of Default.
type Config struct {
	Seed uint64
	// AsOf is the end of the observed history.
	AsOf time.Time
	// HistoryDays is how far back registrations go.
	HistoryDays int
	// BuyerShare is the share of members who ever make a first purchase.
	BuyerShare float64
	// FirstPurchaseMeanDays is the mean delay from registration to the
	// first purchase (exponential).
	FirstPurchaseMeanDays float64
	// ConsentShare is the share of members with profiling consent.
	ConsentShare float64
	// ReturnShare is the probability that a purchase is returned in full.
	ReturnShare float64
	// WindowDays is the trailing window of WindowSpend.
	WindowDays int
	// Purchase and Spend are the true model parameters (days, minor units).
	Purchase segment.BGNBD
	Spend    segment.GammaGamma
}

// Default is a plausible retail population: 3 years of registrations,
// 70 % buyers, purchases every ~2 months while alive, ~40 % dropping out
// after each purchase, ~¥300 per purchase.
func Default(seed uint64, asOf time.Time) Config {
	return Config{
		Seed: seed, AsOf: asOf, HistoryDays: 3 * 365, BuyerShare: 0.7, FirstPurchaseMeanDays: 30,
		ConsentShare: 0.92, ReturnShare: 0.05, WindowDays: 365,
		Purchase: segment.BGNBD{R: 0.8, Alpha: 50, A: 0.9, B: 1.4},
		Spend:    segment.GammaGamma{P: 4, Q: 5, Gamma: 30000},
	}
}

// Member returns member i of the population.
func (c Config) Member(i int) segment.Member {
	rng := rand.New(rand.NewPCG(c.Seed, uint64(i)))
	m := segment.Member{ID: fmt.Sprintf("m%09d", i), ProfilingConsent: rng.Float64() < c.ConsentShare}
	asOf := c.AsOf
	regAgo := rng.Float64() * float64(c.HistoryDays)
	m.RegisteredAt = asOf.Add(-time.Duration(regAgo * float64(24*time.Hour)))
	if rng.Float64() >= c.BuyerShare {
		return m
	}
	delay := rng.ExpFloat64() * c.FirstPurchaseMeanDays
	if delay >= regAgo {
		return m
	}
	T := regAgo - delay // days from first purchase to as-of
	times := PurchaseTimes(rng, c.Purchase, T)
	first := m.RegisteredAt.Add(time.Duration(delay * float64(24*time.Hour)))
	nu := gamma(rng, c.Spend.Q, c.Spend.Gamma)
	loc := asOf.Location()
	days := map[[3]int]bool{}
	windowStart := asOf.AddDate(0, 0, -c.WindowDays)
	for _, t := range append([]float64{0}, times...) {
		// Tills record purchases to the millisecond (and segmentation
		// reads them so: dynamo.EncodeFacts).
		at := first.Add(time.Duration(t * float64(24*time.Hour))).Truncate(time.Millisecond)
		value := int64(math.Round(gamma(rng, c.Spend.P, nu)))
		value = max(value, 1)
		m.LifetimeSpend += value
		if rng.Float64() < c.ReturnShare {
			continue // returned in full: no net spend, not a purchase day
		}
		m.NetSpend += value
		if !at.Before(windowStart) {
			m.WindowSpend += value
		}
		y, mo, d := at.In(loc).Date()
		days[[3]int{y, int(mo), d}] = true
		if m.FirstPurchaseAt.IsZero() || at.Before(m.FirstPurchaseAt) {
			m.FirstPurchaseAt = at
		}
		if at.After(m.LastPurchaseAt) {
			m.LastPurchaseAt = at
		}
	}
	m.PurchaseDays = int32(len(days))
	return m
}

// Members returns members [from, to) of the population.
func (c Config) Members(from, to int) []segment.Member {
	out := make([]segment.Member, 0, max(to-from, 0))
	for i := from; i < to; i++ {
		out = append(out, c.Member(i))
	}
	return out
}

// PurchaseTimes simulates BG/NBD's repeat purchases of one member over
// (0, T] days after the first purchase (see History).
func PurchaseTimes(rng *rand.Rand, p segment.BGNBD, T float64) []float64 {
	times, _ := History(rng, p, T)
	return times
}

// History simulates one member under BG/NBD over (0, horizon] days after
// the first purchase: λ ~ Gamma(r, α), p ~ Beta(a, b); exponential gaps at
// rate λ; after each repeat purchase the member drops out with probability
// p. It returns the purchase times and the time the member dropped out
// (+Inf if they are still alive at the horizon): a member is alive at t
// exactly when droppedAt > t.
func History(rng *rand.Rand, p segment.BGNBD, horizon float64) (times []float64, droppedAt float64) {
	lambda := gamma(rng, p.R, p.Alpha)
	drop := distuv.Beta{Alpha: p.A, Beta: p.B, Src: rng}.Rand()
	t := 0.0
	for {
		t += rng.ExpFloat64() / lambda
		if t > horizon {
			return times, math.Inf(1)
		}
		times = append(times, t)
		if rng.Float64() < drop {
			return times, t
		}
	}
}

// Observation simulates one member of a BG/NBD + Gamma-Gamma cohort
// observed for T days after the first purchase, in continuous time: the
// repeat count, the time of the last purchase and the mean spend over all
// purchases (for parameter-recovery tests).
func Observation(rng *rand.Rand, p segment.BGNBD, g segment.GammaGamma, T float64) (x int, tx, meanSpend float64) {
	times := PurchaseTimes(rng, p, T)
	if len(times) > 0 {
		tx = times[len(times)-1]
	}
	nu := gamma(rng, g.Q, g.Gamma)
	var sum float64
	for i := 0; i <= len(times); i++ {
		sum += gamma(rng, g.P, nu)
	}
	return len(times), tx, sum / float64(len(times)+1)
}

// gamma draws from Gamma(shape, rate).
func gamma(rng *rand.Rand, shape, rate float64) float64 {
	return distuv.Gamma{Alpha: shape, Beta: rate, Src: rng}.Rand()
}
