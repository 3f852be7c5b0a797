package points

import (
	"fmt"
	"sort"
	"time"

	"clientele/shared/fault"
)

// EntryKind is the kind of a ledger entry.
type EntryKind string

// Entry kinds.
const (
	Earn    EntryKind = "earn"    // purchase points (pending during the return window)
	Bonus   EntryKind = "bonus"   // welcome, birthday, referral, survey, goodwill
	Redeem  EntryKind = "redeem"  // spent by the member
	Adjust  EntryKind = "adjust"  // staff correction, with a reason code
	Expire  EntryKind = "expire"  // a lot reached its expiry
	Reverse EntryKind = "reverse" // a return took purchase points back
)

// MaxPoints bounds every amount, balance and total the ledger keeps
// (about 10^15): far above any real programme, and low enough that sums of
// many of them cannot overflow an int64 unnoticed. An operation that would
// go past it is refused.
const MaxPoints int64 = 1 << 50

// LotUse records how much of one lot an entry created or consumed.
type LotUse struct {
	Lot    string `json:"lot"`
	Amount int64  `json:"amount"`
}

// Entry is one line of the append-only ledger. Amount is signed: credits
// are positive, debits negative.
type Entry struct {
	ID       string    `json:"id"`
	MemberID string    `json:"member_id"`
	Kind     EntryKind `json:"kind"`
	Amount   int64     `json:"amount"`
	// Reason is the bonus reason, the adjustment's reason code, the reward.
	Reason string `json:"reason,omitempty"`
	// Note is staff's free text on an adjustment.
	Note string `json:"note,omitempty"`
	// SourceID is what caused it: an order, return, event or request id.
	SourceID string `json:"source_id,omitempty"`
	OrderID  string `json:"order_id,omitempty"`
	// Lots lists the lot a credit created or the lots a debit consumed.
	Lots []LotUse `json:"lots,omitempty"`
	// Shortfall is what a reversal could not take (recorded as debt or
	// written off, per the reversal policy).
	Shortfall int64 `json:"shortfall,omitempty"`
	// DebtRepaid is the part of a credit that repaid debt instead of
	// creating spendable points.
	DebtRepaid int64     `json:"debt_repaid,omitempty"`
	Actor      string    `json:"actor,omitempty"`
	At         time.Time `json:"at"`
}

// Lot is a credit's spendable remainder with its expiry.
type Lot struct {
	ID        string    `json:"id"`
	Amount    int64     `json:"amount"`
	Remaining int64     `json:"remaining"`
	EarnedAt  time.Time `json:"earned_at"`
	// ExpiresAt is zero when the lot never expires.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// PendingUntil is non-zero while the lot waits out the return window.
	PendingUntil time.Time `json:"pending_until,omitzero"`
	OrderID      string    `json:"order_id,omitempty"`
	// Warned lists the expiry warnings already sent ("30d", "7d").
	Warned []string `json:"warned,omitempty"`
}

// Pending reports whether the lot is still in its return window.
func (l Lot) Pending() bool { return !l.PendingUntil.IsZero() }

// TierChange is one step in a member's tier history.
type TierChange struct {
	From   string    `json:"from"`
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// Account is a member's points: the balance cache, the open lots and the
// tier. Every change goes through its methods, which keep the invariants
// (Check).
type Account struct {
	MemberID       string `json:"member_id"`
	Available      int64  `json:"available"`
	Pending        int64  `json:"pending"`
	Debt           int64  `json:"debt"`
	LifetimeEarned int64  `json:"lifetime_earned"`
	Tier           string `json:"tier"`
	TierSince      time.Time
	// BelowSince is when qualifying points first fell below the tier's
	// threshold (zero while they are above).
	BelowSince  time.Time
	TierHistory []TierChange
	// Qualifying points per month "2026-11"; tiers use the last 12 months.
	Qualifying map[string]int64
	Lots       []Lot
	ReferredBy string
	// ReferralPaid is set once the referrer got the referral bonus.
	ReferralPaid bool
	Stats        Stats
	// NightlyDone is the last day ("2026-11-22") the nightly run finished.
	NightlyDone string
	CreatedAt   time.Time
	Version     int64
}

// NewAccount opens an account in the base tier.
func NewAccount(memberID string, p Policy, now time.Time) *Account {
	return &Account{MemberID: memberID, Tier: p.Tiers[0].Name, TierSince: now.UTC(), CreatedAt: now.UTC(),
		Qualifying: map[string]int64{}, Stats: Stats{V: StatsVersion, Orders: map[string]int64{}, Spend: map[string]int64{}}}
}

// Check verifies the invariants: available == Σ available lots, pending ==
// Σ pending lots, nothing negative or past MaxPoints, no empty or
// overdrawn lot.
func (a *Account) Check() error {
	var avail, pend int64
	for _, l := range a.Lots {
		if l.Remaining <= 0 || l.Remaining > l.Amount || l.Amount > MaxPoints {
			return fmt.Errorf("account %s: lot %s remaining %d of %d", a.MemberID, l.ID, l.Remaining, l.Amount)
		}
		var ok bool
		if l.Pending() {
			pend, ok = addInt(pend, l.Remaining)
		} else {
			avail, ok = addInt(avail, l.Remaining)
		}
		if !ok {
			return fmt.Errorf("account %s: its lots overflow", a.MemberID)
		}
	}
	if avail != a.Available || pend != a.Pending {
		return fmt.Errorf("account %s: available %d pending %d, lots hold %d and %d", a.MemberID, a.Available, a.Pending, avail, pend)
	}
	if !inPoints(a.Available) || !inPoints(a.Pending) || !inPoints(a.Debt) || !inPoints(a.LifetimeEarned) {
		return fmt.Errorf("account %s: a balance is negative or past the ledger's bound", a.MemberID)
	}
	if _, ok := addInt(a.Available, a.Pending); !ok || a.Available+a.Pending > MaxPoints {
		return fmt.Errorf("account %s: balance past the ledger's bound", a.MemberID)
	}
	return nil
}

// Net is what the ledger sums to: Σ entries == Available + Pending − Debt.
func (a *Account) Net() int64 { return a.Available + a.Pending - a.Debt }

func (a *Account) sortLots() {
	sort.SliceStable(a.Lots, func(i, j int) bool {
		li, lj := a.Lots[i], a.Lots[j]
		if li.ExpiresAt.IsZero() != lj.ExpiresAt.IsZero() {
			return !li.ExpiresAt.IsZero() // lots that expire come first
		}
		if !li.ExpiresAt.Equal(lj.ExpiresAt) {
			return li.ExpiresAt.Before(lj.ExpiresAt)
		}
		return li.ID < lj.ID
	})
}

func (a *Account) dropEmptyLots() {
	out := a.Lots[:0]
	for _, l := range a.Lots {
		if l.Remaining > 0 {
			out = append(out, l)
		}
	}
	a.Lots = out
}

// credit adds amount as a new lot (repaying debt first) and returns the
// entry. pendingUntil zero makes it available at once. A credit the
// balance cannot hold (past MaxPoints) is refused and changes nothing.
func (a *Account) credit(e Entry, expires, pendingUntil time.Time) (Entry, error) {
	if e.Amount <= 0 || e.Amount > MaxPoints {
		return Entry{}, tooLarge("amount")
	}
	repay := min(a.Debt, e.Amount)
	rest := e.Amount - repay
	if held, ok := sum(a.Available, a.Pending, rest); !ok || held > MaxPoints {
		return Entry{}, tooLarge("amount")
	}
	a.Debt -= repay
	e.DebtRepaid = repay
	if rest > 0 {
		l := Lot{ID: e.ID, Amount: rest, Remaining: rest, EarnedAt: e.At, ExpiresAt: expires, PendingUntil: pendingUntil, OrderID: e.OrderID}
		a.Lots = append(a.Lots, l)
		if l.Pending() {
			a.Pending += rest
		} else {
			a.Available += rest
		}
		e.Lots = []LotUse{{Lot: l.ID, Amount: rest}}
		a.sortLots()
	}
	return e, nil
}

// take consumes up to want points from lots accepted by the filter, soonest
// expiring first, and returns what it took (nothing when want ≤ 0).
func (a *Account) take(want int64, accept func(Lot) bool) (int64, []LotUse) {
	var took int64
	var uses []LotUse
	for i := range a.Lots {
		if took >= want {
			break
		}
		l := &a.Lots[i]
		if !accept(*l) || l.Remaining <= 0 {
			continue
		}
		n := min(l.Remaining, want-took)
		l.Remaining -= n
		if l.Pending() {
			a.Pending -= n
		} else {
			a.Available -= n
		}
		took += n
		uses = append(uses, LotUse{Lot: l.ID, Amount: n})
	}
	a.dropEmptyLots()
	return took, uses
}

// Expired reports whether the lot's expiry has passed at t (swept or not).
func (l Lot) Expired(t time.Time) bool { return !l.ExpiresAt.IsZero() && !t.Before(l.ExpiresAt) }

// spendableAt accepts the lots that may be spent at t: available and not
// past their expiry. A lot the nightly sweep has not reached yet is still
// expired.
func spendableAt(t time.Time) func(Lot) bool {
	return func(l Lot) bool { return !l.Pending() && !l.Expired(t) }
}

// Spendable is what may be spent at t: the available points of the lots
// not past their expiry.
func (a *Account) Spendable(t time.Time) int64 {
	var n int64
	for _, l := range a.Lots {
		if spendableAt(t)(l) {
			n += l.Remaining
		}
	}
	return n
}

// Spend debits amount from the points spendable at the entry's time
// (redemptions and negative adjustments): lots past their expiry are
// skipped, swept or not. More than is spendable is a Conflict naming the
// spendable amount; nothing changes then. An entry without a time is
// refused (Internal): it could not tell expired lots from live ones.
func (a *Account) Spend(e Entry) (Entry, error) {
	if e.Amount <= 0 {
		return Entry{}, fault.Field("amount", "must be a positive whole number")
	}
	if e.At.IsZero() {
		return Entry{}, fault.New(fault.Internal, "points: a debit needs its time to skip expired lots")
	}
	if spendable := a.Spendable(e.At); e.Amount > spendable {
		return Entry{}, &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("only %d points are available", spendable),
			Fields: []fault.FieldError{{Field: "amount", Reason: "exceeds the available points"}},
			Extra:  map[string]any{"available": spendable}}
	}
	took, uses := a.take(e.Amount, spendableAt(e.At))
	e.Amount, e.Lots = -took, uses
	return e, nil
}

// Grant credits a bonus or a positive adjustment, available at once. An
// amount past what the balance can hold is refused.
func (a *Account) Grant(e Entry, p Policy) (Entry, error) {
	if e.Amount <= 0 {
		return Entry{}, fault.Field("amount", "must be a positive whole number")
	}
	return a.credit(e, p.ExpiryFor(e.At), time.Time{})
}

// Mature makes pending lots whose return window ended available.
func (a *Account) Mature(now time.Time) int64 {
	var moved int64
	for i := range a.Lots {
		l := &a.Lots[i]
		if l.Pending() && !now.Before(l.PendingUntil) {
			l.PendingUntil = time.Time{}
			a.Pending -= l.Remaining
			a.Available += l.Remaining
			moved += l.Remaining
		}
	}
	return moved
}

// ExpireDue writes off every lot whose expiry has passed, one entry per lot.
// newID gives entry ids.
func (a *Account) ExpireDue(now time.Time, newID func() string) []Entry {
	var out []Entry
	for _, l := range append([]Lot(nil), a.Lots...) {
		if l.ExpiresAt.IsZero() || now.Before(l.ExpiresAt) {
			continue
		}
		took, uses := a.take(l.Remaining, func(x Lot) bool { return x.ID == l.ID })
		out = append(out, Entry{ID: newID(), MemberID: a.MemberID, Kind: Expire, Amount: -took, Lots: uses,
			SourceID: "lot:" + l.ID, OrderID: l.OrderID, At: now.UTC()})
	}
	return out
}

// Expiring lists lots (available or pending) that expire before until.
func (a *Account) Expiring(now, until time.Time) []Lot {
	var out []Lot
	for _, l := range a.Lots {
		if !l.ExpiresAt.IsZero() && !l.ExpiresAt.After(until) && l.ExpiresAt.After(now) {
			out = append(out, l)
		}
	}
	return out
}

// month keys monthly buckets.
func month(t time.Time) string { return t.UTC().Format("2006-01") }

// QualifyingPoints sums the qualifying points of the 12 months ending with
// now's month.
func (a *Account) QualifyingPoints(now time.Time) int64 {
	var sum int64
	first := time.Date(now.UTC().Year(), now.UTC().Month()-11, 1, 0, 0, 0, 0, time.UTC)
	for m, v := range a.Qualifying {
		t, err := time.Parse("2006-01", m)
		if err == nil && !t.Before(first) {
			sum += v
		}
	}
	return sum
}

// prune drops monthly buckets older than keep months.
func prune(m map[string]int64, now time.Time, keep int) {
	first := month(time.Date(now.UTC().Year(), now.UTC().Month()-time.Month(keep-1), 1, 0, 0, 0, 0, time.UTC))
	for k := range m {
		if k < first {
			delete(m, k)
		}
	}
}

// upgrade moves the member up as far as qualifying points allow.
func (a *Account) upgrade(p Policy, now time.Time) {
	q := a.QualifyingPoints(now)
	cur := p.TierIndex(a.Tier)
	best := cur
	for i := cur + 1; i < len(p.Tiers); i++ {
		if q >= p.Tiers[i].Threshold {
			best = i
		}
	}
	if best > cur {
		a.changeTier(p.Tiers[best].Name, now, "upgrade")
	}
	if q >= p.Tiers[p.TierIndex(a.Tier)].Threshold {
		a.BelowSince = time.Time{}
	}
}

func (a *Account) changeTier(to string, now time.Time, reason string) {
	a.TierHistory = append(a.TierHistory, TierChange{From: a.Tier, To: to, At: now.UTC(), Reason: reason})
	if len(a.TierHistory) > 20 {
		a.TierHistory = a.TierHistory[len(a.TierHistory)-20:]
	}
	a.Tier, a.TierSince, a.BelowSince = to, now.UTC(), time.Time{}
}

// EvaluateDowngrade steps the tier down once when qualifying points have
// stayed below its threshold for the grace period. It reports whether the
// tier changed.
func (a *Account) EvaluateDowngrade(p Policy, now time.Time) bool {
	cur := p.TierIndex(a.Tier)
	if cur == 0 || a.QualifyingPoints(now) >= p.Tiers[cur].Threshold {
		a.BelowSince = time.Time{}
		return false
	}
	if a.BelowSince.IsZero() {
		a.BelowSince = now.UTC()
		return false
	}
	if now.Sub(a.BelowSince) < p.DowngradeGrace {
		return false
	}
	a.changeTier(p.Tiers[cur-1].Name, now, "downgrade")
	if a.QualifyingPoints(now) < p.Tiers[cur-1].Threshold && cur-1 > 0 {
		a.BelowSince = now.UTC() // the next step waits another grace period
	}
	return true
}

// ToNextTier returns the next tier's name and the qualifying points still
// needed for it ("" at the top).
func (a *Account) ToNextTier(p Policy, now time.Time) (string, int64) {
	i := p.TierIndex(a.Tier)
	if i+1 >= len(p.Tiers) {
		return "", 0
	}
	return p.Tiers[i+1].Name, max(0, p.Tiers[i+1].Threshold-a.QualifyingPoints(now))
}

// ToKeepTier returns the qualifying points still needed to keep the tier.
func (a *Account) ToKeepTier(p Policy, now time.Time) int64 {
	return max(0, p.Tiers[p.TierIndex(a.Tier)].Threshold-a.QualifyingPoints(now))
}

// TierAt returns the tier the member held at t: the current tier from its
// last change on and, before each change in the tier history, the tier it
// changed from. (Before the oldest change the history keeps, the tier that
// change started from.)
func (a *Account) TierAt(t time.Time) string {
	tier := a.Tier
	for i := len(a.TierHistory) - 1; i >= 0; i-- {
		c := a.TierHistory[i]
		if !c.At.After(t) {
			break
		}
		tier = c.From
	}
	return tier
}
