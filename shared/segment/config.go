package segment

import (
	"time"

	"clientele/shared/fault"
)

// Config holds a run's tunables. Its zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// ExactLimit is the number of distinct values a summary holds exactly
	// before it becomes a KLL sketch with parameter SketchK.
	ExactLimit int    `json:"exact_limit"`
	SketchK    uint16 `json:"sketch_k"`
	// SampleSize members (at most) are sampled for model fitting, keyed by
	// SampleSeed.
	SampleSize int    `json:"sample_size"`
	SampleSeed uint64 `json:"sample_seed"`
	// SampleFraction bounds what each segment keeps of the sample: only
	// members whose sample key lies in the lowest fraction of the key
	// space. Set it to min(1, 1.5 × sample_size / expected members) and a
	// segment stores about 1.5 × sample_size / segments members instead of
	// sample_size, while the merged sample stays the same (unless fewer
	// than sample_size members fall below the bound, then it is smaller).
	// 1 keeps every candidate.
	SampleFraction float64 `json:"sample_fraction"`
	// MonetaryBasis is what RFM's M and the value tier rank: lifetime net
	// spend (default) or net spend over the points worker's trailing window.
	MonetaryBasis MonetaryBasis `json:"monetary_basis"`
	// HighShare and MediumShare are the shares of buyers, by monetary
	// rank, in the high and medium value tiers; the rest are low.
	HighShare   float64 `json:"high_share"`
	MediumShare float64 `json:"medium_share"`
	// Lifecycle thresholds in days (see Stage).
	NewWithinDays        int32 `json:"new_within_days"`
	AtRiskAfterDays      int32 `json:"at_risk_after_days"`
	ChurnedAfterDays     int32 `json:"churned_after_days"`
	LoyalMinPurchaseDays int32 `json:"loyal_min_purchase_days"`
	// HorizonDays is the horizon of expected purchases (90), ValueDays
	// that of expected value (365).
	HorizonDays int32 `json:"horizon_days"`
	ValueDays   int32 `json:"value_days"`
}

// MonetaryBasis names the spend RFM's M ranks.
type MonetaryBasis string

// Monetary bases.
const (
	MonetaryNetSpend    MonetaryBasis = "net_spend"
	MonetaryWindowSpend MonetaryBasis = "window_spend"
)

// DefaultConfig is the configuration a brand starts with.
func DefaultConfig() Config {
	return Config{
		ExactLimit: DefaultExactLimit, SketchK: DefaultSketchK,
		SampleSize: 100_000, SampleSeed: 0x5eed, SampleFraction: 1, MonetaryBasis: MonetaryNetSpend,
		HighShare: 0.2, MediumShare: 0.3,
		NewWithinDays: 90, AtRiskAfterDays: 180, ChurnedAfterDays: 365, LoyalMinPurchaseDays: 4,
		HorizonDays: 90, ValueDays: 365,
	}
}

// Validate names the first invalid setting by its JSON name.
func (c Config) Validate() error {
	var fs fault.Fields
	if c.ExactLimit < 0 {
		fs.Add("exact_limit", "must not be negative")
	}
	if c.SketchK < 8 {
		fs.Add("sketch_k", "must be at least 8")
	}
	if c.SampleSize < 0 {
		fs.Add("sample_size", "must not be negative")
	}
	if !(c.SampleFraction > 0 && c.SampleFraction <= 1) {
		fs.Add("sample_fraction", "must be in (0, 1]")
	}
	if c.MonetaryBasis != MonetaryNetSpend && c.MonetaryBasis != MonetaryWindowSpend {
		fs.Add("monetary_basis", "must be net_spend or window_spend")
	}
	if !(c.HighShare > 0 && c.HighShare < 1) {
		fs.Add("high_share", "must be in (0, 1)")
	}
	if !(c.MediumShare >= 0 && c.HighShare+c.MediumShare < 1) {
		fs.Add("medium_share", "must be ≥ 0 with high_share + medium_share < 1")
	}
	if c.NewWithinDays < 0 {
		fs.Add("new_within_days", "must not be negative")
	}
	if c.AtRiskAfterDays <= 0 {
		fs.Add("at_risk_after_days", "must be positive")
	}
	if c.ChurnedAfterDays <= c.AtRiskAfterDays {
		fs.Add("churned_after_days", "must exceed at_risk_after_days")
	}
	if c.LoyalMinPurchaseDays < 2 {
		fs.Add("loyal_min_purchase_days", "must be at least 2")
	}
	if c.HorizonDays <= 0 {
		fs.Add("horizon_days", "must be positive")
	}
	if c.ValueDays <= 0 {
		fs.Add("value_days", "must be positive")
	}
	return fs.Err()
}

// AsOf is the day a run scores as of: a calendar day in the brand's time
// zone. Recency, tenure and ages are whole days before it.
type AsOf struct {
	Day int32          // civil day number (days since 1970-01-01)
	Loc *time.Location // the brand's time zone
}

// AsOfTime returns the as-of day of t in t's location (set it with
// t.In(brandZone)).
func AsOfTime(t time.Time) AsOf {
	return AsOf{Day: civilDay(t, t.Location()), Loc: t.Location()}
}

// Facts reduces m to whole days before the as-of day.
func (a AsOf) Facts(m *Member) Facts { return FactsOf(m, a.Day, a.Loc) }
