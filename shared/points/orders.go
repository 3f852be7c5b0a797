package points

import (
	"fmt"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"

	"clientele/shared/fault"
	"clientele/shared/ident"
)

// PurchaseLine is one line of a purchase as a POS or shop sends it.
type PurchaseLine struct {
	// LineID identifies the line within the order (defaults to the SKU).
	LineID   string `json:"line_id,omitempty"`
	SKU      string `json:"sku"`
	Category string `json:"category,omitempty"`
	Quantity int64  `json:"quantity"`
	// Amount is what the member paid for the line, in minor units.
	Amount int64 `json:"amount"`
}

// Purchase is the body of POST /v1/purchases.
type Purchase struct {
	OrderID  string         `json:"order_id"`
	MemberID string         `json:"member_id"`
	Store    string         `json:"store,omitempty"`
	Channel  string         `json:"channel"`
	Currency string         `json:"currency"`
	At       time.Time      `json:"purchased_at,omitzero"`
	Lines    []PurchaseLine `json:"lines"`
}

// ReturnLine names a purchased line and how many units came back.
type ReturnLine struct {
	LineID   string `json:"line_id"`
	Quantity int64  `json:"quantity"`
}

// Return is the body of POST /v1/returns.
type Return struct {
	ReturnID string       `json:"return_id"`
	OrderID  string       `json:"order_id"`
	MemberID string       `json:"member_id"`
	At       time.Time    `json:"returned_at,omitzero"`
	Lines    []ReturnLine `json:"lines"`
}

// OrderLine is a purchased line with what it earned and what returns took.
type OrderLine struct {
	LineID      string `json:"line_id"`
	SKU         string `json:"sku"`
	Category    string `json:"category,omitempty"`
	Quantity    int64  `json:"quantity"`
	Amount      int64  `json:"amount"`
	Earned      int64  `json:"earned"`
	ReturnedQty int64  `json:"returned_qty"`
	Reversed    int64  `json:"reversed"`
}

// Order is a processed purchase: the record returns are checked against.
type Order struct {
	ID       string      `json:"order_id"`
	MemberID string      `json:"member_id"`
	Store    string      `json:"store,omitempty"`
	Channel  string      `json:"channel"`
	Currency string      `json:"currency"`
	At       time.Time   `json:"purchased_at"`
	Lines    []OrderLine `json:"lines"`
	Earned   int64       `json:"earned"`
	// Returns lists processed return ids.
	Returns []string `json:"returns,omitempty"`
	Version int64    `json:"version"`
}

// Bounds of every number a purchase or a return carries. Intake refuses
// anything outside them, and the ledger's arithmetic refuses to go past
// MaxPoints rather than wrap.
const (
	// MaxLines is the most lines a purchase or a return may have.
	MaxLines = 100
	// MaxLineQuantity is the most units one line may count.
	MaxLineQuantity = 100_000
	// MaxLineAmount is the most one line may cost, in minor units
	// (one billion currency units).
	MaxLineAmount = 100_000_000_000
)

// sourceID is the id rule (ident) for order and return ids.
var sourceID = regexp.MustCompile(ident.Pattern)

var channels = map[string]bool{"store": true, "online": true, "app": true, "social": true}

// ValidatePurchase checks a purchase before it is queued, against now:
// purchased_at (now when absent) lies within the policy's BackdateWindow
// before now and at most ClockSkew after it.
func ValidatePurchase(in *Purchase, p Policy, now time.Time) error {
	var fs fault.Fields
	if !sourceID.MatchString(in.OrderID) {
		fs.Add("order_id", ident.Rule)
	}
	if in.MemberID == "" {
		fs.Add("member_id", "is required")
	} else if !ident.Valid(in.MemberID) {
		fs.Add("member_id", ident.Rule)
	}
	if !channels[in.Channel] {
		fs.Add("channel", "must be store, online, app or social")
	}
	if in.Channel == "store" && in.Store == "" {
		fs.Add("store", "is required for store purchases")
	} else if utf8.RuneCountInString(in.Store) > 64 {
		fs.Add("store", "at most 64 characters")
	}
	if !p.AcceptsCurrency(in.Currency) {
		fs.Add("currency", "unknown or unaccepted currency")
	}
	switch {
	case in.At.IsZero():
		in.At = now.UTC()
	case in.At.After(now.Add(ClockSkew)):
		fs.Add("purchased_at", "must not be in the future")
	case in.At.Before(now.Add(-p.BackdateWindow - ClockSkew)):
		fs.Add("purchased_at", fmt.Sprintf("must be within the programme's back-dating window (%d days)", p.BackdateWindow/(24*time.Hour)))
	}
	if len(in.Lines) == 0 || len(in.Lines) > MaxLines {
		fs.Add("lines", fmt.Sprintf("must have 1 to %d lines", MaxLines))
	}
	seen := map[string]bool{}
	for i := range in.Lines {
		l := &in.Lines[i]
		at := func(f string) string { return fmt.Sprintf("lines[%d].%s", i, f) }
		if l.LineID == "" {
			l.LineID = l.SKU
		}
		if l.SKU == "" || utf8.RuneCountInString(l.SKU) > 64 {
			fs.Add(at("sku"), "is required (at most 64 characters)")
		}
		if utf8.RuneCountInString(l.Category) > 64 {
			fs.Add(at("category"), "at most 64 characters")
		}
		if utf8.RuneCountInString(l.LineID) > 64 {
			fs.Add(at("line_id"), "at most 64 characters")
		}
		if l.Quantity <= 0 || l.Quantity > MaxLineQuantity {
			fs.Add(at("quantity"), fmt.Sprintf("must be a whole number from 1 to %d", MaxLineQuantity))
		}
		if l.Amount <= 0 || l.Amount > MaxLineAmount {
			fs.Add(at("amount"), fmt.Sprintf("must be a positive amount in minor units, at most %d", int64(MaxLineAmount)))
		}
		if l.LineID != "" && seen[l.LineID] {
			fs.Add(at("line_id"), "duplicate line")
		}
		seen[l.LineID] = true
	}
	if len(fs) == 0 && !earnable(*in, p) {
		fs.Add("lines", "would earn more points than the ledger can hold")
	}
	return fs.Err()
}

// earnable reports whether Earn can count a purchase's points at the
// programme's highest tier multiplier, so that a purchase intake accepts
// cannot overflow in the worker whatever tier the member holds then.
func earnable(in Purchase, p Policy) bool {
	var top Tier
	for _, t := range p.Tiers {
		if t.MultiplierPct > top.MultiplierPct {
			top = t
		}
	}
	_, ok := linePoints(in, top, p)
	return ok
}

// ValidateReturn checks a return's shape before it is queued.
func ValidateReturn(in *Return, now time.Time) error {
	var fs fault.Fields
	if !sourceID.MatchString(in.ReturnID) {
		fs.Add("return_id", ident.Rule)
	}
	if !sourceID.MatchString(in.OrderID) {
		fs.Add("order_id", ident.Rule)
	}
	if in.MemberID != "" && !ident.Valid(in.MemberID) {
		fs.Add("member_id", ident.Rule)
	}
	if in.At.IsZero() {
		in.At = now.UTC()
	}
	returnLines(*in, &fs)
	return fs.Err()
}

// returnLines checks a return's lines on their own: 1 to MaxLines lines,
// each naming a line and 1 to MaxLineQuantity units.
func returnLines(in Return, fs *fault.Fields) {
	if len(in.Lines) == 0 || len(in.Lines) > MaxLines {
		fs.Add("lines", fmt.Sprintf("must have 1 to %d lines", MaxLines))
	}
	for i, l := range in.Lines {
		if l.LineID == "" || utf8.RuneCountInString(l.LineID) > 64 {
			fs.Add(fmt.Sprintf("lines[%d].line_id", i), "is required (at most 64 characters)")
		}
		if l.Quantity <= 0 || l.Quantity > MaxLineQuantity {
			fs.Add(fmt.Sprintf("lines[%d].quantity", i), fmt.Sprintf("must be a whole number from 1 to %d", MaxLineQuantity))
		}
	}
}

// CheckReturnAgainst checks a return against its order: well-formed lines
// (as ValidateReturn), known lines, no more units than were bought and not
// yet returned. Its arithmetic cannot overflow: it compares what a line
// asks for with what is left of it.
func CheckReturnAgainst(in Return, o Order) error {
	var fs fault.Fields
	if in.MemberID != "" && in.MemberID != o.MemberID {
		fs.Add("member_id", "the order belongs to another member")
	}
	returnLines(in, &fs)
	if len(fs) > 0 {
		return fs.Err()
	}
	want := map[string]int64{}
	for i, l := range in.Lines {
		ol, ok := o.line(l.LineID)
		if !ok {
			fs.Add(fmt.Sprintf("lines[%d].line_id", i), "the order has no such line")
			continue
		}
		left, ok := subInt(ol.Quantity, ol.ReturnedQty)
		if !ok || left < 0 {
			left = 0
		}
		w, ok := addInt(want[l.LineID], l.Quantity)
		if !ok || w > left {
			fs.Add(fmt.Sprintf("lines[%d].quantity", i), fmt.Sprintf("only %d units are left to return", left))
			continue
		}
		want[l.LineID] = w
	}
	return fs.Err()
}

func (o *Order) line(id string) (*OrderLine, bool) {
	for i := range o.Lines {
		if o.Lines[i].LineID == id {
			return &o.Lines[i], true
		}
	}
	return nil, false
}

// zeroDecimal lists ISO 4217 currencies without minor units.
var zeroDecimal = map[string]bool{"JPY": true, "KRW": true, "VND": true, "CLP": true, "ISK": true, "UGX": true, "XAF": true, "XOF": true}

// MinorPerUnit is how many minor units make one currency unit: 100 for
// CNY (fen), 1 for JPY.
func MinorPerUnit(currency string) int64 {
	if zeroDecimal[currency] {
		return 1
	}
	return 100
}

// linePoints computes the points of each line: base rate on whole currency
// units, times the tier multiplier and the best campaign for the line's
// category, capped per order (earlier lines first). ok is false when a
// product or the total would pass MaxPoints.
func linePoints(in Purchase, tier Tier, p Policy) (_ []int64, ok bool) {
	out := make([]int64, len(in.Lines))
	var total int64
	for i, l := range in.Lines {
		camp := int64(100)
		for _, c := range p.Campaigns {
			if (c.Category == "" || c.Category == l.Category) && !in.At.Before(c.From) && in.At.Before(c.To) && c.MultiplierPct > camp {
				camp = c.MultiplierPct
			}
		}
		// amount × rate ÷ minor units × tier% ÷ 100 × campaign% ÷ 100,
		// rounded down at each step as the programme always has.
		pts, ok1 := mulDiv(l.Amount, p.PointsPerUnit, MinorPerUnit(in.Currency))
		pts, ok2 := mulDiv(pts, tier.MultiplierPct, 100)
		pts, ok3 := mulDiv(pts, camp, 100)
		if !ok1 || !ok2 || !ok3 || pts > MaxPoints {
			return nil, false
		}
		if p.MaxPointsPerOrder > 0 && total+pts > p.MaxPointsPerOrder {
			pts = max(0, p.MaxPointsPerOrder-total)
		}
		out[i] = pts
		if total += pts; total > MaxPoints {
			return nil, false
		}
	}
	return out, true
}

// purchaseLines checks the numbers of a purchase's lines as
// ValidatePurchase does, for callers that skipped it.
func purchaseLines(in Purchase) error {
	var fs fault.Fields
	if len(in.Lines) == 0 || len(in.Lines) > MaxLines {
		fs.Add("lines", fmt.Sprintf("must have 1 to %d lines", MaxLines))
	}
	for i, l := range in.Lines {
		if l.Quantity <= 0 || l.Quantity > MaxLineQuantity {
			fs.Add(fmt.Sprintf("lines[%d].quantity", i), fmt.Sprintf("must be a whole number from 1 to %d", MaxLineQuantity))
		}
		if l.Amount <= 0 || l.Amount > MaxLineAmount {
			fs.Add(fmt.Sprintf("lines[%d].amount", i), fmt.Sprintf("must be a positive amount in minor units, at most %d", int64(MaxLineAmount)))
		}
	}
	return fs.Err()
}

// Earn records a purchase: points per line at the multiplier of the tier
// the member held when the purchase was made (TierAt(purchased_at)), so
// purchases waiting in the queue together earn the same in any delivery
// order; pending during the return window; qualifying points, tier
// upgrade and purchase statistics. It returns the entry (nil when the
// order earns nothing) and the order. A purchase whose numbers are out of
// bounds, or whose points or totals the ledger cannot hold, is refused
// (Invalid) and changes nothing.
func (a *Account) Earn(in Purchase, entryID string, p Policy, now time.Time) (*Entry, Order, error) {
	if err := purchaseLines(in); err != nil {
		return nil, Order{}, err
	}
	tier := p.Tiers[p.TierIndex(a.TierAt(in.At))]
	pts, ok := linePoints(in, tier, p)
	if !ok {
		return nil, Order{}, tooLarge("lines")
	}
	o := Order{ID: in.OrderID, MemberID: a.MemberID, Store: in.Store, Channel: in.Channel, Currency: in.Currency, At: in.At.UTC(), Version: 1}
	var total, spend int64
	for i, l := range in.Lines {
		o.Lines = append(o.Lines, OrderLine{LineID: l.LineID, SKU: l.SKU, Category: l.Category, Quantity: l.Quantity, Amount: l.Amount, Earned: pts[i]})
		total += pts[i]   // ≤ MaxPoints (linePoints)
		spend += l.Amount // ≤ MaxLines × MaxLineAmount
	}
	o.Earned = total
	m := month(in.At)
	// Every total this purchase adds to must hold it, or nothing changes.
	monthSpend, ok1 := addInt(a.Stats.Spend[m], spend)
	lifetime, ok2 := addInt(a.LifetimeEarned, total)
	qualifying, ok3 := addInt(a.Qualifying[m], total)
	held, ok4 := sum(a.Available, a.Pending, total)
	if !ok1 || !ok2 || !ok3 || !ok4 || lifetime > MaxPoints || qualifying > MaxPoints || held > MaxPoints {
		return nil, Order{}, tooLarge("lines")
	}
	// Statistics, once per order.
	if a.Stats.Orders == nil {
		a.Stats.Orders, a.Stats.Spend = map[string]int64{}, map[string]int64{}
	}
	a.Stats.Orders[m]++
	a.Stats.Spend[m] = monthSpend
	a.Stats.TotalOrders++
	// The latest order's currency (the greater code between orders made at
	// the same instant), whatever order they arrive in.
	if a.Stats.Currency == "" || in.At.After(a.Stats.LastOrderAt) ||
		in.At.Equal(a.Stats.LastOrderAt) && in.Currency > a.Stats.Currency {
		a.Stats.Currency = in.Currency
	}
	if in.At.After(a.Stats.LastOrderAt) {
		a.Stats.LastOrderAt = in.At.UTC()
	}
	if a.Stats.FirstOrderAt.IsZero() || in.At.Before(a.Stats.FirstOrderAt) {
		a.Stats.FirstOrderAt = in.At.UTC()
	}
	a.Stats.recordPurchase(in.At, spend, p, now)
	prune(a.Stats.Orders, now, StatsMonths)
	prune(a.Stats.Spend, now, StatsMonths)
	prune(a.Stats.Returned, now, StatsMonths)
	a.Stats.settle()
	if total == 0 {
		return nil, o, nil
	}
	a.LifetimeEarned = lifetime
	if a.Qualifying == nil {
		a.Qualifying = map[string]int64{}
	}
	a.Qualifying[m] = qualifying
	prune(a.Qualifying, now, 13)
	var pendingUntil time.Time
	if p.ReturnWindow > 0 {
		pendingUntil = in.At.UTC().Add(p.ReturnWindow)
		if !now.Before(pendingUntil) {
			pendingUntil = time.Time{}
		}
	}
	e, err := a.credit(Entry{ID: entryID, MemberID: a.MemberID, Kind: Earn, Amount: total, SourceID: "order:" + in.OrderID,
		OrderID: in.OrderID, At: now.UTC()}, p.ExpiryFor(in.At), pendingUntil)
	if err != nil { // checked above; unreachable unless the account was already broken
		return nil, Order{}, err
	}
	a.upgrade(p, now)
	return &e, o, nil
}

// EarnPurchase is Earn for a purchase ValidatePurchase accepted, whose
// numbers Earn cannot refuse; it panics if Earn refuses all the same.
//
// Deprecated: use Earn, which returns the refusal.
func (a *Account) EarnPurchase(in Purchase, entryID string, p Policy, now time.Time) (*Entry, Order) {
	e, o, err := a.Earn(in, entryID, p, now)
	if err != nil {
		panic(fmt.Sprintf("points: EarnPurchase refused: %v", err))
	}
	return e, o
}

// ReverseReturn takes back what the returned units earned, line by line
// and never more than a line earned: pending points of the order first,
// then available points, then the reversal policy for any shortfall. Lots
// past their expiry at now are not taken (they are expired, swept or not).
// The order is updated; the entry is nil when nothing was earned. A return
// that does not fit the order (CheckReturnAgainst), or an order that does
// not hold together (CheckOrder), is refused and changes nothing.
func (a *Account) ReverseReturn(in Return, o *Order, entryID string, p Policy, now time.Time) (*Entry, error) {
	if slices.Contains(o.Returns, in.ReturnID) {
		return nil, ErrAlreadyApplied
	}
	if err := CheckOrder(*o); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "order %s", o.ID)
	}
	if err := CheckReturnAgainst(in, *o); err != nil {
		return nil, err
	}
	// Work on a copy of the lines: the order changes only once it all adds up.
	lines := slices.Clone(o.Lines)
	var total int64
	for _, rl := range in.Lines {
		i := slices.IndexFunc(lines, func(l OrderLine) bool { return l.LineID == rl.LineID })
		l := &lines[i]               // CheckReturnAgainst found every line
		l.ReturnedQty += rl.Quantity // ≤ l.Quantity (CheckReturnAgainst)
		// What the returned units are worth so far, rounded down, so a
		// full return reverses exactly what the line earned.
		worth, ok := mulDiv(l.Earned, l.ReturnedQty, l.Quantity)
		if !ok || worth < l.Reversed || worth > l.Earned {
			return nil, fault.New(fault.Internal, "order %s line %s: reversal out of range", o.ID, l.LineID)
		}
		total += worth - l.Reversed // Σ ≤ o.Earned (CheckOrder)
		l.Reversed = worth
	}
	debt, ok := addInt(a.Debt, total)
	if !ok || debt > MaxPoints {
		return nil, tooLarge("lines")
	}
	// What the returned units cost, the same way: a full return gives back
	// exactly the line's amount.
	var refund int64
	counted := false // whether a unit of the order was still kept before
	for i, l := range lines {
		before := o.Lines[i].ReturnedQty
		counted = counted || before < l.Quantity
		was, ok1 := mulDiv(l.Amount, before, l.Quantity)
		is, ok2 := mulDiv(l.Amount, l.ReturnedQty, l.Quantity)
		if !ok1 || !ok2 || is < was {
			return nil, fault.New(fault.Internal, "order %s line %s: refund out of range", o.ID, l.LineID)
		}
		refund += is - was // Σ ≤ Σ amounts ≤ MaxLines × MaxLineAmount
	}
	fully := counted && !slices.ContainsFunc(lines, func(l OrderLine) bool { return l.ReturnedQty < l.Quantity })
	o.Lines = lines
	o.Returns = append(o.Returns, in.ReturnID)
	o.Version++
	a.Stats.recordReturn(o.At, refund, fully, p, now)
	// Qualifying points follow the reversal (in the order's month).
	if total > 0 && a.Qualifying != nil {
		m := month(o.At)
		a.Qualifying[m] = max(0, a.Qualifying[m]-total)
	}
	if total == 0 {
		return nil, nil
	}
	a.LifetimeEarned = max(0, a.LifetimeEarned-total)
	live := func(l Lot) bool { return !l.Expired(now) }
	took, uses := a.take(total, func(l Lot) bool { return l.Pending() && l.OrderID == o.ID && live(l) })
	if took < total {
		more, u := a.take(total-took, spendableAt(now))
		took += more
		uses = append(uses, u...)
	}
	if took < total {
		more, u := a.take(total-took, live)
		took += more
		uses = append(uses, u...)
	}
	e := Entry{ID: entryID, MemberID: a.MemberID, Kind: Reverse, SourceID: "return:" + in.ReturnID, OrderID: o.ID,
		Lots: uses, At: now.UTC(), Shortfall: total - took}
	switch p.Reversal {
	case Debt:
		e.Amount = -total
		a.Debt += total - took
	default:
		e.Amount = -took
	}
	return &e, nil
}
