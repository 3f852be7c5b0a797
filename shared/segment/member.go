package segment

import (
	"fmt"
	"time"

	"clientele/shared/fault"
)

// Member is what segmentation reads about one member: the purchase
// statistics the points worker keeps, the registration date and the
// profiling consent. Amounts are in minor units of the brand's currency.
type Member struct {
	ID           string    `json:"member_id"`
	RegisteredAt time.Time `json:"registered_at"`
	// FirstPurchaseAt and LastPurchaseAt are zero when the member never bought.
	FirstPurchaseAt time.Time `json:"first_purchase_at,omitzero"`
	LastPurchaseAt  time.Time `json:"last_purchase_at,omitzero"`
	// PurchaseDays counts the distinct calendar days with at least one
	// purchase that was not fully returned (the frequency of RFM; BG/NBD's
	// x is PurchaseDays − 1 repeat purchases).
	PurchaseDays int32 `json:"purchase_days"`
	// NetSpend is the lifetime spend net of returns (RFM's monetary value).
	NetSpend int64 `json:"net_spend"`
	// LifetimeSpend is the lifetime spend before returns.
	LifetimeSpend int64 `json:"lifetime_spend"`
	// WindowSpend is the spend net of returns over the trailing window the
	// points worker keeps (its length is the worker's, e.g. 12 months).
	WindowSpend int64 `json:"window_spend"`
	// ProfilingConsent is false when the member refused the profiling
	// purpose: such a member is neither summarised, sampled nor scored.
	ProfilingConsent bool `json:"profiling_consent"`
}

// Purchased reports whether the member has at least one purchase.
func (m *Member) Purchased() bool { return m.PurchaseDays > 0 && !m.FirstPurchaseAt.IsZero() }

// Validate checks the statistics are coherent; it names the offending field
// by its JSON name. Segmentation skips (and the sweep reports) members that
// fail it rather than scoring nonsense.
func (m *Member) Validate(asOf time.Time) error {
	switch {
	case m.ID == "":
		return fault.Field("member_id", "is required")
	case m.PurchaseDays < 0:
		return fault.Field("purchase_days", "must not be negative")
	case m.PurchaseDays > 0 && (m.FirstPurchaseAt.IsZero() || m.LastPurchaseAt.IsZero()):
		return fault.Field("first_purchase_at", "is required when purchase_days > 0")
	case m.PurchaseDays == 0 && (!m.FirstPurchaseAt.IsZero() || !m.LastPurchaseAt.IsZero()):
		return fault.Field("purchase_days", "is 0 but purchase dates are set")
	case m.PurchaseDays > 0 && m.LastPurchaseAt.Before(m.FirstPurchaseAt):
		return fault.Field("last_purchase_at", "is before first_purchase_at")
	case m.PurchaseDays > 0 && m.LastPurchaseAt.After(asOf):
		return fault.Field("last_purchase_at", "is after the run's as-of time")
	case m.LifetimeSpend < 0:
		return fault.Field("lifetime_spend", "must not be negative")
	case m.NetSpend > m.LifetimeSpend:
		return fault.Field("net_spend", "exceeds lifetime_spend")
	}
	if m.PurchaseDays > 0 {
		span := civilDay(m.LastPurchaseAt, asOf.Location()) - civilDay(m.FirstPurchaseAt, asOf.Location()) + 1
		if int64(m.PurchaseDays) > int64(span) {
			return fault.Field("purchase_days", fmt.Sprintf("%d distinct days do not fit between first and last purchase (%d days)", m.PurchaseDays, span))
		}
	}
	return nil
}

// civilDay is the number of the calendar day of t in loc, counted from
// 1970-01-01: "days since" are differences of calendar days in the brand's
// time zone, not of 24-hour periods.
func civilDay(t time.Time, loc *time.Location) int32 {
	if loc == nil {
		loc = time.UTC
	}
	y, mo, d := t.In(loc).Date()
	return int32(daysFromCivil(int64(y), int64(mo), int64(d)))
}

// daysFromCivil is Howard Hinnant's days_from_civil: the proleptic
// Gregorian date y-m-d as days since 1970-01-01.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// Facts are a member's statistics reduced to whole days relative to the
// run's as-of day: what every rule and model reads.
type Facts struct {
	Purchased bool
	// RecencyDays is days since the last purchase (RFM's R).
	RecencyDays int32
	// PurchaseDays is RFM's F.
	PurchaseDays int32
	// NetSpend is lifetime net spend and WindowSpend net spend over the
	// trailing window; RFM's M is one of them (Config.MonetaryBasis).
	NetSpend    int64
	WindowSpend int64
	// TenureDays is days since registration.
	TenureDays int32
	// AgeDays is days since the first purchase (BG/NBD's T).
	AgeDays int32
	// SpanDays is days between first and last purchase (BG/NBD's t_x).
	SpanDays int32
}

// Repeat is BG/NBD's x: purchases after the first.
func (f Facts) Repeat() int32 {
	if f.PurchaseDays < 1 {
		return 0
	}
	return f.PurchaseDays - 1
}

// MeanSpend is the average net spend per purchase day (Gamma-Gamma's m̄).
func (f Facts) MeanSpend() float64 {
	if f.PurchaseDays < 1 {
		return 0
	}
	return float64(f.NetSpend) / float64(f.PurchaseDays)
}

// Monetary is RFM's M under basis: the window spend for
// MonetaryWindowSpend, else lifetime net spend.
func (f Facts) Monetary(basis MonetaryBasis) int64 {
	if basis == MonetaryWindowSpend {
		return f.WindowSpend
	}
	return f.NetSpend
}

// FactsOf reduces m to whole days before asOfDay, the civil day number of
// the run's as-of date in loc.
func FactsOf(m *Member, asOfDay int32, loc *time.Location) Facts {
	f := Facts{PurchaseDays: m.PurchaseDays, NetSpend: m.NetSpend, WindowSpend: m.WindowSpend}
	if !m.RegisteredAt.IsZero() {
		f.TenureDays = max(0, asOfDay-civilDay(m.RegisteredAt, loc))
	}
	if !m.Purchased() {
		f.PurchaseDays = 0
		return f
	}
	f.Purchased = true
	first, last := civilDay(m.FirstPurchaseAt, loc), civilDay(m.LastPurchaseAt, loc)
	f.RecencyDays = max(0, asOfDay-last)
	f.AgeDays = max(0, asOfDay-first)
	f.SpanDays = max(0, last-first)
	return f
}
