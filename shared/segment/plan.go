package segment

import (
	"fmt"
	"math"
)

// quintileRanks are the ranks of the four cut points between quintiles.
var quintileRanks = []float64{0.2, 0.4, 0.6, 0.8}

// CutPoints are the run's cut points, read from the merged summaries of
// members with at least one purchase.
type CutPoints struct {
	// Recency, Frequency and Monetary hold the inclusive lower quantiles
	// at ranks 0.2, 0.4, 0.6 and 0.8 (see QuintileScore).
	Recency   [4]float64 `json:"recency"`
	Frequency [4]float64 `json:"frequency"`
	Monetary  [4]float64 `json:"monetary"`
	// TierHigh and TierMedium are the monetary quantiles at ranks
	// 1 − high_share and 1 − high_share − medium_share.
	TierHigh   float64 `json:"tier_high"`
	TierMedium float64 `json:"tier_medium"`
	// Buyers is the number of members the cuts were computed over.
	Buyers uint64 `json:"buyers"`
	// Exact reports whether every summary was exact (no sketch).
	Exact bool `json:"exact"`
}

// Cuts reads the cut points from a merged partial.
func Cuts(p *Partial, cfg Config) (CutPoints, error) {
	c := CutPoints{Buyers: p.Buyers, Exact: p.Recency.Exact() && p.Frequency.Exact() && p.Monetary.Exact()}
	if p.Recency.N() == 0 {
		return c, nil
	}
	for _, x := range []struct {
		s   *Summary
		dst *[4]float64
	}{{p.Recency, &c.Recency}, {p.Frequency, &c.Frequency}, {p.Monetary, &c.Monetary}} {
		qs, err := x.s.Quantiles(quintileRanks)
		if err != nil {
			return c, err
		}
		copy(x.dst[:], qs)
	}
	qs, err := p.Monetary.Quantiles([]float64{1 - cfg.HighShare, 1 - cfg.HighShare - cfg.MediumShare})
	if err != nil {
		return c, err
	}
	c.TierHigh, c.TierMedium = qs[0], qs[1]
	return c, nil
}

// QuintileScore is the 1–5 score of v against cuts for a measure where
// more is better (frequency, monetary): 1 + the number of cut points
// strictly below v. The tie rule: members with equal values always get
// equal scores, and a value equal to a cut point takes the lower score —
// each quintile is the half-open interval (c_{i−1}, c_i]. With many ties a
// quintile can hold more or fewer than 20 % of members, or be empty.
func QuintileScore(v float64, cuts *[4]float64) int8 {
	s := int8(1)
	for _, c := range cuts {
		if v > c {
			s++
		}
	}
	return s
}

// RecencyScore is the 1–5 score of days since the last purchase, where
// fewer is better: 5 − the number of cut points strictly below v. The
// same tie rule holds: equal recency, equal score; a recency equal to a
// cut point takes the more recent (higher) score.
func RecencyScore(days float64, cuts *[4]float64) int8 {
	return 6 - QuintileScore(days, cuts)
}

// Plan is everything phase 2 needs to score members, stored with the run:
// the configuration, the cut points and the fitted models.
type Plan struct {
	RunID    string        `json:"run_id"`
	Config   Config        `json:"config"`
	Cuts     CutPoints     `json:"cuts"`
	Purchase BGNBDFit      `json:"bgnbd"`
	Spend    GammaGammaFit `json:"gamma_gamma"`
	// FallbackMeanSpend is the mean net spend per purchase day over the
	// sample's buyers with positive spend: the expected order value of a
	// member without a usable own average when Gamma-Gamma fell back.
	FallbackMeanSpend float64 `json:"fallback_mean_spend"`
	Members           uint64  `json:"members"`
	NoConsent         uint64  `json:"no_consent"`
}

// NewPlan reads the cut points from the run's merged
// partial and fits both models on its sample.
func NewPlan(runID string, cfg Config, merged *Partial) (*Plan, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cuts, err := Cuts(merged, cfg)
	if err != nil {
		return nil, fmt.Errorf("segment: cut points: %w", err)
	}
	obs := merged.Sample.Observations()
	p := &Plan{RunID: runID, Config: cfg, Cuts: cuts, Members: merged.Members, NoConsent: merged.NoConsent}
	p.Purchase = FitBGNBD(obs)
	p.Spend = FitGammaGamma(obs)
	var sum float64
	var n int
	for _, o := range obs {
		if o.MeanSpend > 0 {
			sum += o.MeanSpend
			n++
		}
	}
	if n > 0 {
		p.FallbackMeanSpend = sum / float64(n)
	}
	if math.IsNaN(p.FallbackMeanSpend) {
		p.FallbackMeanSpend = 0
	}
	return p, nil
}
