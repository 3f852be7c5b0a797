package segment

import (
	"math"
)

// Tier is a value tier by monetary rank.
type Tier string

// Value tiers.
const (
	TierHigh   Tier = "high"
	TierMedium Tier = "medium"
	TierLow    Tier = "low"
)

// Stage is a lifecycle stage. The first matching rule decides, in order:
// potential (registered, never bought); churned (last purchase more than
// churned_after_days ago); at_risk (more than at_risk_after_days ago); new
// (first purchase within new_within_days); loyal (at least
// loyal_min_purchase_days purchase days); otherwise active.
type Stage string

// Lifecycle stages.
const (
	StagePotential Stage = "potential"
	StageNew       Stage = "new"
	StageActive    Stage = "active"
	StageLoyal     Stage = "loyal"
	StageAtRisk    Stage = "at_risk"
	StageChurned   Stage = "churned"
)

// Model names the source of a member's model outputs.
type Model string

// Model sources.
const (
	ModelNone       Model = ""            // no purchase: nothing to predict
	ModelBGNBD      Model = "bgnbd"       // fitted BG/NBD
	ModelGammaGamma Model = "gamma_gamma" // fitted Gamma-Gamma
	ModelFallback   Model = "fallback"    // the documented rule (see Scorer)
)

// Reasons are the values and cut points that decided a member's result.
type Reasons struct {
	RecencyDays  int32 `json:"recency_days"`
	PurchaseDays int32 `json:"purchase_days"`
	// Monetary is RFM's M, MonetaryBasis which spend it is.
	Monetary      int64         `json:"monetary"`
	MonetaryBasis MonetaryBasis `json:"monetary_basis"`
	TenureDays    int32         `json:"tenure_days"`
	// AgeDays and SpanDays are BG/NBD's T and t_x.
	AgeDays  int32 `json:"age_days"`
	SpanDays int32 `json:"span_days"`
	// The run's cut points (omitted for members without purchases).
	RecencyCuts   *[4]float64 `json:"recency_cuts,omitempty"`
	FrequencyCuts *[4]float64 `json:"frequency_cuts,omitempty"`
	MonetaryCuts  *[4]float64 `json:"monetary_cuts,omitempty"`
	// TierHigh and TierMedium are the monetary values a member must
	// exceed for the high and medium tiers.
	TierHigh   float64 `json:"tier_high"`
	TierMedium float64 `json:"tier_medium"`
	// LifecycleRule is the rule that set the stage and LifecycleThreshold
	// its threshold in days (or purchase days for loyal).
	LifecycleRule      string `json:"lifecycle_rule"`
	LifecycleThreshold int32  `json:"lifecycle_threshold,omitempty"`
	// PurchaseModel and SpendModel name where p_alive / expected purchases
	// and expected order value came from.
	PurchaseModel Model `json:"purchase_model,omitempty"`
	SpendModel    Model `json:"spend_model,omitempty"`
}

// Result is one member's segmentation.
type Result struct {
	RunID          string  `json:"run_id"`
	MemberID       string  `json:"member_id"`
	RScore         int8    `json:"r_score"`
	FScore         int8    `json:"f_score"`
	MScore         int8    `json:"m_score"`
	RFMSegment     Segment `json:"rfm_segment"`
	ValueTier      Tier    `json:"value_tier"`
	LifecycleStage Stage   `json:"lifecycle_stage"`
	// PAlive, ChurnRisk, ExpectedPurchases90d, ExpectedOrderValue and
	// CLV12m are 0 for members without purchases (Reasons.PurchaseModel
	// is then empty).
	PAlive               float64 `json:"p_alive"`
	ChurnRisk            float64 `json:"churn_risk"`
	ExpectedPurchases90d float64 `json:"expected_purchases_90d"`
	ExpectedOrderValue   float64 `json:"expected_order_value"`
	CLV12m               float64 `json:"clv_12m"`
	Reasons              Reasons `json:"reasons"`
}

// SameLabels reports whether r and o agree on segment, tier and stage —
// a difference is what publishes member.segment_changed.
func (r *Result) SameLabels(o *Result) bool {
	return r.RFMSegment == o.RFMSegment && r.ValueTier == o.ValueTier && r.LifecycleStage == o.LifecycleStage
}

// Lifecycle rule names (constants, so scoring allocates nothing).
const (
	RuleNeverBought = "purchase_days = 0"
	RuleChurned     = "recency_days > churned_after_days"
	RuleAtRisk      = "recency_days > at_risk_after_days"
	RuleNew         = "age_days <= new_within_days"
	RuleLoyal       = "purchase_days >= loyal_min_purchase_days"
	RuleActive      = "otherwise"
)

// Scorer scores members against a plan. It holds the per-run constants;
// it is safe for concurrent use.
//
// Model outputs, for a member with x = purchase days − 1, t_x, T in days:
//   - fitted BG/NBD: p_alive = PAlive(x, t_x, T); expected purchases in
//     horizon_days and value_days from eq. 10.
//   - BG/NBD fallback: p_alive = max(0, 1 − recency_days /
//     churned_after_days); expected purchases in t days = p_alive ×
//     purchase_days / max(age_days, 30) × t (the member's own rate).
//   - fitted Gamma-Gamma: expected order value = (γ + n m̄) p / (p n + q − 1)
//     with n = purchase days and m̄ = net spend / n (the population mean
//     when m̄ ≤ 0).
//   - Gamma-Gamma fallback: the member's own m̄ if positive, else the
//     sample's mean.
//   - clv_12m = expected purchases in value_days × expected order value,
//     undiscounted (one year ahead; a brand's discount rate changes it by
//     a few percent at most and is left to the reader).
type Scorer struct {
	plan       *Plan
	bgOK, ggOK bool
	bg         BGNBD
	gg         GammaGamma
	ggMean     float64
	horizon    float64
	value      float64
	tierHigh   float64
	tierMedium float64
}

// NewScorer prepares the per-run constants of plan.
func NewScorer(plan *Plan) *Scorer {
	s := &Scorer{
		plan: plan, bgOK: plan.Purchase.Info.Status == FitOK, ggOK: plan.Spend.Info.Status == FitOK,
		bg: plan.Purchase.Params, gg: plan.Spend.Params,
		horizon: float64(plan.Config.HorizonDays), value: float64(plan.Config.ValueDays),
		tierHigh: plan.Cuts.TierHigh, tierMedium: plan.Cuts.TierMedium,
	}
	if s.ggOK {
		s.ggMean = s.gg.MeanSpend()
	}
	return s
}

// Score scores m; ok is false when the member refused profiling and must
// get no result (and any previous result must be removed).
func (s *Scorer) Score(m *Member, asOf AsOf) (r Result, ok bool) {
	if !m.ProfilingConsent {
		return Result{}, false
	}
	s.ScoreFacts(m.ID, asOf.Facts(m), &r)
	return r, true
}

// ScoreFacts scores a consenting member's facts into r.
func (s *Scorer) ScoreFacts(id string, f Facts, r *Result) {
	cfg := &s.plan.Config
	cuts := &s.plan.Cuts
	monetary := f.Monetary(cfg.MonetaryBasis)
	*r = Result{RunID: s.plan.RunID, MemberID: id, ValueTier: TierLow, Reasons: Reasons{
		RecencyDays: f.RecencyDays, PurchaseDays: f.PurchaseDays, Monetary: monetary, MonetaryBasis: cfg.MonetaryBasis, TenureDays: f.TenureDays,
		AgeDays: f.AgeDays, SpanDays: f.SpanDays, TierHigh: s.tierHigh, TierMedium: s.tierMedium,
	}}
	if !f.Purchased {
		r.LifecycleStage, r.Reasons.LifecycleRule = StagePotential, RuleNeverBought
		return
	}
	r.Reasons.RecencyCuts, r.Reasons.FrequencyCuts, r.Reasons.MonetaryCuts = &cuts.Recency, &cuts.Frequency, &cuts.Monetary
	r.RScore = RecencyScore(float64(f.RecencyDays), &cuts.Recency)
	r.FScore = QuintileScore(float64(f.PurchaseDays), &cuts.Frequency)
	r.MScore = QuintileScore(float64(monetary), &cuts.Monetary)
	r.RFMSegment = segmentTable[r.RScore-1][r.FScore-1][r.MScore-1]
	switch mv := float64(monetary); {
	case mv > s.tierHigh:
		r.ValueTier = TierHigh
	case mv > s.tierMedium:
		r.ValueTier = TierMedium
	}
	switch {
	case f.RecencyDays > cfg.ChurnedAfterDays:
		r.LifecycleStage, r.Reasons.LifecycleRule, r.Reasons.LifecycleThreshold = StageChurned, RuleChurned, cfg.ChurnedAfterDays
	case f.RecencyDays > cfg.AtRiskAfterDays:
		r.LifecycleStage, r.Reasons.LifecycleRule, r.Reasons.LifecycleThreshold = StageAtRisk, RuleAtRisk, cfg.AtRiskAfterDays
	case f.AgeDays <= cfg.NewWithinDays:
		r.LifecycleStage, r.Reasons.LifecycleRule, r.Reasons.LifecycleThreshold = StageNew, RuleNew, cfg.NewWithinDays
	case f.PurchaseDays >= cfg.LoyalMinPurchaseDays:
		r.LifecycleStage, r.Reasons.LifecycleRule, r.Reasons.LifecycleThreshold = StageLoyal, RuleLoyal, cfg.LoyalMinPurchaseDays
	default:
		r.LifecycleStage, r.Reasons.LifecycleRule = StageActive, RuleActive
	}

	x, tx, T := float64(f.Repeat()), float64(f.SpanDays), float64(f.AgeDays)
	var perValue float64 // expected purchases over value_days
	if s.bgOK {
		r.Reasons.PurchaseModel = ModelBGNBD
		r.PAlive = s.bg.PAlive(x, tx, T)
		r.ExpectedPurchases90d = s.bg.expectedAlive(s.horizon, x, T) * r.PAlive
		perValue = s.bg.expectedAlive(s.value, x, T) * r.PAlive
	} else {
		r.Reasons.PurchaseModel = ModelFallback
		r.PAlive = math.Max(0, 1-float64(f.RecencyDays)/float64(cfg.ChurnedAfterDays))
		rate := float64(f.PurchaseDays) / math.Max(T, 30)
		r.ExpectedPurchases90d = r.PAlive * rate * s.horizon
		perValue = r.PAlive * rate * s.value
	}
	r.ChurnRisk = 1 - r.PAlive
	mbar := f.MeanSpend()
	if s.ggOK {
		r.Reasons.SpendModel = ModelGammaGamma
		if mbar > 0 {
			r.ExpectedOrderValue = s.gg.ExpectedSpend(float64(f.PurchaseDays), mbar)
		} else {
			r.ExpectedOrderValue = s.ggMean
		}
	} else {
		r.Reasons.SpendModel = ModelFallback
		if mbar > 0 {
			r.ExpectedOrderValue = mbar
		} else {
			r.ExpectedOrderValue = s.plan.FallbackMeanSpend
		}
	}
	r.CLV12m = perValue * r.ExpectedOrderValue
}
