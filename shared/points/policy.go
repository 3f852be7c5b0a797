// Package points is the loyalty ledger's domain: whole-number points, an
// append-only ledger of entries, lots that expire, pending points during the
// return window, earning rules and tiers. It imports no AWS package; the
// store (shared/dynamo) persists an Account and its changes in one
// transaction.
package points

import (
	"encoding/json"
	"fmt"
	"time"
)

// Rounding of a lot's expiry date.
type Rounding string

// Roundings.
const (
	NoRounding Rounding = "none"
	MonthEnd   Rounding = "month_end"
	YearEnd    Rounding = "year_end"
)

// ReversalPolicy says what happens when a return reverses more points than
// the member still has.
type ReversalPolicy string

// Reversal policies. Neither is silent: the entry records the shortfall.
const (
	// Debt keeps the shortfall as debt that later credits repay first.
	Debt ReversalPolicy = "debt"
	// Forfeit takes what is there and writes the shortfall off.
	Forfeit ReversalPolicy = "forfeit"
)

// Tier is a membership level reached by qualifying points over a rolling
// 12 months.
type Tier struct {
	Name string `json:"name"`
	// Threshold is the qualifying points needed to reach and keep the tier.
	Threshold int64 `json:"threshold"`
	// MultiplierPct multiplies purchase points (100 = ×1).
	MultiplierPct int64 `json:"multiplier_pct"`
}

// Campaign multiplies points on a category (or every category when empty)
// between two instants.
type Campaign struct {
	Name          string    `json:"name"`
	Category      string    `json:"category,omitempty"`
	MultiplierPct int64     `json:"multiplier_pct"`
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
}

// Policy is a brand's loyalty programme.
type Policy struct {
	// PointsPerUnit is the points earned per whole currency unit (100 minor
	// units) of a line's amount, before multipliers.
	PointsPerUnit int64 `json:"points_per_unit"`
	// Currencies lists accepted ISO 4217 codes.
	Currencies []string `json:"currencies"`
	// ExpiryMonths after earning (0 = never expire), then rounded.
	ExpiryMonths int      `json:"expiry_months"`
	ExpiryRound  Rounding `json:"expiry_round"`
	// ReturnWindow keeps purchase points pending before they can be spent.
	ReturnWindow time.Duration `json:"return_window"`
	// BackdateWindow is how far in the past a purchase's purchased_at may
	// lie when it is posted (backdate_window_hours; default 90 days): a
	// till that was offline, a marketplace settling late. Older purchases
	// are refused. The future is bounded by ClockSkew.
	BackdateWindow time.Duration `json:"backdate_window"`
	// MaxPointsPerOrder caps what one order earns (0 = no cap).
	MaxPointsPerOrder int64          `json:"max_points_per_order"`
	Tiers             []Tier         `json:"tiers"`
	DowngradeGrace    time.Duration  `json:"downgrade_grace"`
	Campaigns         []Campaign     `json:"campaigns,omitempty"`
	Reversal          ReversalPolicy `json:"reversal"`
	WelcomeBonus      int64          `json:"welcome_bonus"`
	ReferralBonus     int64          `json:"referral_bonus"`
	BirthdayBonus     int64          `json:"birthday_bonus"`
	// MaxBonus bounds bonuses other domains may request in one message.
	MaxBonus int64 `json:"max_bonus"`
	// Zone is the brand's time zone (the topology's, CLIENTELE_TIME_ZONE):
	// it decides the calendar day of a purchase in the statistics. Nil is
	// UTC. Not part of the policy's JSON.
	Zone *time.Location `json:"-"`
}

// DefaultPolicy is a typical programme: 1 point per unit, points expire at
// the end of the month 24 months after earning, 14-day return window.
func DefaultPolicy() Policy {
	return Policy{
		PointsPerUnit:  1,
		Currencies:     []string{"CNY", "HKD", "USD", "EUR", "GBP", "JPY", "SGD"},
		ExpiryMonths:   24,
		ExpiryRound:    MonthEnd,
		ReturnWindow:   14 * 24 * time.Hour,
		BackdateWindow: 90 * 24 * time.Hour,
		Tiers: []Tier{
			{Name: "member", Threshold: 0, MultiplierPct: 100},
			{Name: "silver", Threshold: 1000, MultiplierPct: 110},
			{Name: "gold", Threshold: 5000, MultiplierPct: 125},
			{Name: "platinum", Threshold: 20000, MultiplierPct: 150},
		},
		DowngradeGrace: 30 * 24 * time.Hour,
		Reversal:       Debt,
		WelcomeBonus:   100,
		ReferralBonus:  200,
		BirthdayBonus:  200,
		MaxBonus:       10000,
	}
}

// ClockSkew is how far a purchase's purchased_at may lie in the future of
// the clock that checks it (a till's clock running ahead). The back-dating
// window gets the same tolerance.
const ClockSkew = 5 * time.Minute

// ParsePolicy reads a policy from JSON (durations as Go duration strings
// are not JSON; return_window, backdate_window and downgrade_grace are
// given in hours as return_window_hours, backdate_window_hours and
// downgrade_grace_hours), filling unset fields from
// DefaultPolicy, and validates it.
func ParsePolicy(raw string) (Policy, error) {
	p := DefaultPolicy()
	if raw == "" {
		return p, nil
	}
	var in struct {
		Policy
		ReturnWindowHours   *int64 `json:"return_window_hours"`
		BackdateWindowHours *int64 `json:"backdate_window_hours"`
		DowngradeGraceHours *int64 `json:"downgrade_grace_hours"`
	}
	in.Policy = p
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return Policy{}, fmt.Errorf("points policy: %w", err)
	}
	p = in.Policy
	if in.ReturnWindowHours != nil {
		p.ReturnWindow = time.Duration(*in.ReturnWindowHours) * time.Hour
	}
	if in.BackdateWindowHours != nil {
		p.BackdateWindow = time.Duration(*in.BackdateWindowHours) * time.Hour
	}
	if in.DowngradeGraceHours != nil {
		p.DowngradeGrace = time.Duration(*in.DowngradeGraceHours) * time.Hour
	}
	return p, p.Validate()
}

// Validate checks the policy's consistency.
func (p Policy) Validate() error {
	if p.PointsPerUnit < 0 || p.ExpiryMonths < 0 || p.ReturnWindow < 0 || p.BackdateWindow < 0 || p.MaxPointsPerOrder < 0 {
		return fmt.Errorf("points policy: negative setting")
	}
	if len(p.Tiers) == 0 || p.Tiers[0].Threshold != 0 {
		return fmt.Errorf("points policy: the first tier must have threshold 0")
	}
	for i := 1; i < len(p.Tiers); i++ {
		if p.Tiers[i].Threshold <= p.Tiers[i-1].Threshold {
			return fmt.Errorf("points policy: tier thresholds must increase")
		}
	}
	for _, t := range p.Tiers {
		if t.MultiplierPct < 0 || t.Name == "" {
			return fmt.Errorf("points policy: tier %q invalid", t.Name)
		}
	}
	switch p.ExpiryRound {
	case NoRounding, MonthEnd, YearEnd, "":
	default:
		return fmt.Errorf("points policy: unknown expiry rounding %q", p.ExpiryRound)
	}
	switch p.Reversal {
	case Debt, Forfeit:
	default:
		return fmt.Errorf("points policy: unknown reversal policy %q", p.Reversal)
	}
	return nil
}

// ExpiryFor returns when points earned at t expire (zero: never). Expiry is
// the end of the day (UTC) it falls on, rounded up to month or year end.
func (p Policy) ExpiryFor(t time.Time) time.Time {
	if p.ExpiryMonths == 0 {
		return time.Time{}
	}
	t = t.UTC()
	d := time.Date(t.Year(), t.Month()+time.Month(p.ExpiryMonths), t.Day(), 0, 0, 0, 0, time.UTC)
	switch p.ExpiryRound {
	case MonthEnd:
		d = time.Date(d.Year(), d.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	case YearEnd:
		d = time.Date(d.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
	default:
		d = d.AddDate(0, 0, 1)
	}
	return d // exclusive: points are usable until just before this instant
}

// TierIndex returns the index of a tier by name (0 when unknown).
func (p Policy) TierIndex(name string) int {
	for i, t := range p.Tiers {
		if t.Name == name {
			return i
		}
	}
	return 0
}

// AcceptsCurrency reports whether the currency is accepted.
func (p Policy) AcceptsCurrency(c string) bool {
	for _, x := range p.Currencies {
		if x == c {
			return true
		}
	}
	return false
}
