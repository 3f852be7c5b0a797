package points

import (
	"encoding/json"
	"time"
)

// StatsVersion is the schema version of Stats the ledger writes. Accounts
// stored before it (no "v" in their statistics) are upgraded when they are
// decoded (Stats.UnmarshalJSON).
const StatsVersion = 1

// StatsSlack is how long a purchase or a return may wait in the queue (SQS
// keeps a message at most 14 days) plus a day of margin: the purchase-day
// detail is kept this much longer than the policy lets purchases be
// back-dated or returned (Policy.StatsHorizon).
const StatsSlack = 15 * 24 * time.Hour

// StatsMonths is how many monthly buckets (Orders, Spend, Returned) the
// statistics keep; WindowSpend covers at most that many months.
const StatsMonths = 25

// Stats are the purchase statistics segmentation reads. The points worker
// keeps them in the same transaction as every purchase (Account.Earn) and
// return (Account.ReverseReturn) it applies, exactly once per order and per
// return.
//
// A purchase "counts" while at least one of its units is not returned.
// FirstPurchaseAt, LastPurchaseAt and PurchaseDays consider counting
// purchases only: a day whose purchases were all fully returned is no
// purchase day, and a fully returned last purchase no longer sets
// recency. Days are calendar days in the brand's time zone
// (Policy.Zone); monthly buckets are UTC months, as the tier's qualifying
// points.
//
// Bounded size: returns happen within the policy's return window and
// purchases are back-dated at most its back-dating window, so only the days
// within Policy.StatsHorizon of the present can still change. Those are
// kept one by one (Days); older days are folded into a count
// (FoldedDays) with their first and last purchase. A return processed
// later than that (outside every rule the ledger enforces on intake) still
// reduces NetSpend and the month's spend but no longer removes a purchase
// day.
type Stats struct {
	// V is the schema version (StatsVersion); 0 on accounts stored before
	// it, which decoding upgrades.
	V int `json:"v"`
	// FirstPurchaseAt and LastPurchaseAt are the first and the last
	// counting purchase (zero when there is none). The day is exact; when a
	// day's first or last purchase was fully returned while other purchases
	// of that day still count, the time of day may be the returned one's.
	FirstPurchaseAt time.Time `json:"first_purchase_at,omitzero"`
	LastPurchaseAt  time.Time `json:"last_purchase_at,omitzero"`
	// FirstOrderAt and LastOrderAt are the first and the last order ever,
	// returned or not.
	FirstOrderAt time.Time `json:"first_order_at,omitzero"`
	LastOrderAt  time.Time `json:"last_order_at,omitzero"`
	// LifetimeSpend is every purchase's amount (minor units), before
	// returns; NetSpend is the same net of returns (never below 0).
	LifetimeSpend int64 `json:"lifetime_spend,omitempty"`
	NetSpend      int64 `json:"net_spend,omitempty"`
	// PurchaseDays counts the distinct local days with at least one
	// counting purchase: FoldedDays plus the days in Days.
	PurchaseDays int32 `json:"purchase_days,omitempty"`
	// Orders and Spend (minor units, before returns) per UTC month
	// "2026-11", by the month of the purchase; Returned is what returns
	// took back from that month's purchases. StatsMonths months kept.
	Orders   map[string]int64 `json:"orders,omitempty"`
	Spend    map[string]int64 `json:"spend,omitempty"`
	Returned map[string]int64 `json:"returned,omitempty"`
	Currency string           `json:"currency,omitempty"`
	// TotalOrders counts every order ever.
	TotalOrders int64 `json:"total_orders"`
	// Days holds, per local day "2026-11-22" within the horizon, the
	// purchases of that day that still count.
	Days map[string]DayPurchases `json:"days,omitempty"`
	// FoldedDays counts the purchase days older than the horizon;
	// FoldedFirstAt and FoldedLastAt are their first and last purchase, and
	// FoldedThrough the latest folded day.
	FoldedDays    int32     `json:"folded_days,omitempty"`
	FoldedFirstAt time.Time `json:"folded_first_at,omitzero"`
	FoldedLastAt  time.Time `json:"folded_last_at,omitzero"`
	FoldedThrough string    `json:"folded_through,omitempty"`
	// Estimated is set on accounts upgraded from before StatsVersion: their
	// spends sum only the months still kept then, their returns until then
	// were not deducted, and their purchase days are the order count
	// bounded by the days between the first and last purchase (see
	// UnmarshalJSON). Exact from the upgrade on for what happens later.
	Estimated bool `json:"estimated,omitempty"`
}

// DayPurchases is one local day's counting purchases.
type DayPurchases struct {
	// Orders is how many of the day's purchases still count.
	Orders int32 `json:"n"`
	// First and Last are the day's first and last purchase.
	First time.Time `json:"f"`
	Last  time.Time `json:"l"`
}

// UnmarshalJSON decodes stored statistics and upgrades those written
// before StatsVersion: FirstPurchaseAt is the first order, LifetimeSpend
// and NetSpend sum the monthly spend still kept (up to StatsMonths months;
// earlier returns were not recorded), PurchaseDays is TotalOrders bounded
// by the days between the first and the last purchase, all of them folded
// (returns of those orders do not remove days), and Estimated is set.
func (s *Stats) UnmarshalJSON(b []byte) error {
	type plain Stats
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = Stats(p)
	if s.V == 0 {
		s.upgradeLegacy()
	}
	return nil
}

// upgradeLegacy fills the fields of StatsVersion 1 from a version-0 record.
func (s *Stats) upgradeLegacy() {
	s.V = StatsVersion
	if s.TotalOrders <= 0 || s.FirstOrderAt.IsZero() {
		return
	}
	s.LastOrderAt = s.LastPurchaseAt
	var spend int64
	for _, v := range s.Spend {
		spend, _ = addClamp(spend, v)
	}
	s.LifetimeSpend, s.NetSpend = spend, spend
	last := s.LastPurchaseAt
	if last.Before(s.FirstOrderAt) {
		last = s.FirstOrderAt
	}
	span := int64(last.Sub(s.FirstOrderAt)/(24*time.Hour)) + 1
	s.FoldedDays = int32(min(s.TotalOrders, span, 1<<30))
	s.FoldedFirstAt, s.FoldedLastAt = s.FirstOrderAt, last
	s.FoldedThrough = last.UTC().Format(time.DateOnly)
	s.Estimated = true
	s.settle()
}

// addClamp adds without passing MaxInt64 (ok=false when it clamped).
func addClamp(a, b int64) (int64, bool) {
	if s, ok := addInt(a, b); ok {
		return s, true
	}
	return 1<<63 - 1, false
}

// StatsHorizon is how long a purchase day can still change: the longer of
// the back-dating and return windows, plus StatsSlack.
func (p Policy) StatsHorizon() time.Duration {
	return max(p.BackdateWindow, p.ReturnWindow) + StatsSlack
}

// zone is the policy's time zone, UTC when unset.
func (p Policy) zone() *time.Location {
	if p.Zone == nil {
		return time.UTC
	}
	return p.Zone
}

// localDay is t's calendar day in the zone.
func localDay(t time.Time, zone *time.Location) string { return t.In(zone).Format(time.DateOnly) }

// WindowSpend is the spend net of returns of the purchases made in the
// trailing months UTC months ending with now's month (months is clamped to
// 0..StatsMonths), never below 0.
func (s Stats) WindowSpend(now time.Time, months int) int64 {
	months = min(max(months, 0), StatsMonths)
	if months == 0 {
		return 0
	}
	first := month(time.Date(now.UTC().Year(), now.UTC().Month()-time.Month(months-1), 1, 0, 0, 0, 0, time.UTC))
	last := month(now)
	var sum int64
	for m, v := range s.Spend {
		if m >= first && m <= last {
			sum, _ = addClamp(sum, v-min(v, s.Returned[m]))
		}
	}
	return sum
}

// recordPurchase adds a purchase of spend minor units made at `at` to the
// statistics (Earn has checked the sums fit). now is when it is applied.
func (s *Stats) recordPurchase(at time.Time, spend int64, p Policy, now time.Time) {
	s.V = StatsVersion
	at = at.UTC()
	s.LifetimeSpend, _ = addClamp(s.LifetimeSpend, spend)
	s.NetSpend, _ = addClamp(s.NetSpend, spend)
	if s.Days == nil {
		s.Days = map[string]DayPurchases{}
	}
	d := localDay(at, p.zone())
	day := s.Days[d]
	if day.Orders == 0 {
		day.First, day.Last = at, at
	} else {
		day.First, day.Last = minTime(day.First, at), maxTime(day.Last, at)
	}
	day.Orders++
	s.Days[d] = day
	s.fold(p, now)
	s.settle()
}

// recordReturn records that a return took refund minor units back from an
// order made at `at`; fullyReturned reports that it was the order's last
// counting unit.
func (s *Stats) recordReturn(at time.Time, refund int64, fullyReturned bool, p Policy, now time.Time) {
	s.V = StatsVersion
	if refund > 0 {
		s.NetSpend = max(0, s.NetSpend-refund)
		m := month(at)
		if _, kept := s.Spend[m]; kept {
			if s.Returned == nil {
				s.Returned = map[string]int64{}
			}
			s.Returned[m] = min(s.Spend[m], s.Returned[m]+refund)
		}
	}
	if fullyReturned {
		d := localDay(at, p.zone())
		if day, ok := s.Days[d]; ok {
			// A day no longer in Days was folded (or upgraded from before
			// StatsVersion): it keeps counting.
			if day.Orders--; day.Orders <= 0 {
				delete(s.Days, d)
			} else {
				s.Days[d] = day
			}
		}
	}
	s.fold(p, now)
	s.settle()
}

// fold moves the days older than the policy's horizon before now into
// FoldedDays.
func (s *Stats) fold(p Policy, now time.Time) {
	cutoff := localDay(now.Add(-p.StatsHorizon()), p.zone())
	for d, day := range s.Days {
		if d >= cutoff {
			continue
		}
		if day.Orders > 0 {
			s.FoldedDays++
			if s.FoldedFirstAt.IsZero() || day.First.Before(s.FoldedFirstAt) {
				s.FoldedFirstAt = day.First
			}
			s.FoldedLastAt = maxTime(s.FoldedLastAt, day.Last)
		}
		if d > s.FoldedThrough {
			s.FoldedThrough = d
		}
		delete(s.Days, d)
	}
}

// settle derives PurchaseDays, FirstPurchaseAt and LastPurchaseAt from the
// folded days and Days, and drops empty containers so that equal
// statistics compare equal.
func (s *Stats) settle() {
	days, first, last := s.FoldedDays, s.FoldedFirstAt, s.FoldedLastAt
	for _, d := range s.Days {
		days++
		if first.IsZero() || d.First.Before(first) {
			first = d.First
		}
		last = maxTime(last, d.Last)
	}
	s.PurchaseDays, s.FirstPurchaseAt, s.LastPurchaseAt = days, first, last
	if len(s.Days) == 0 {
		s.Days = nil
	}
	if len(s.Returned) == 0 {
		s.Returned = nil
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
