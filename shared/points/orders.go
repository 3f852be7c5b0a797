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

// sourceID is the id rule (ident) for order and return ids.
var sourceID = regexp.MustCompile(ident.Pattern)

var channels = map[string]bool{"store": true, "online": true, "app": true, "social": true}

// ValidatePurchase checks a purchase before it is queued.
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
	if in.At.IsZero() {
		in.At = now.UTC()
	} else if in.At.After(now.Add(5 * time.Minute)) {
		fs.Add("purchased_at", "must not be in the future")
	}
	if len(in.Lines) == 0 || len(in.Lines) > 100 {
		fs.Add("lines", "must have 1 to 100 lines")
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
		if l.Quantity <= 0 || l.Quantity > 100000 {
			fs.Add(at("quantity"), "must be a positive whole number")
		}
		if l.Amount <= 0 || l.Amount > 1e11 {
			fs.Add(at("amount"), "must be a positive amount in minor units")
		}
		if l.LineID != "" && seen[l.LineID] {
			fs.Add(at("line_id"), "duplicate line")
		}
		seen[l.LineID] = true
	}
	return fs.Err()
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
	if len(in.Lines) == 0 || len(in.Lines) > 100 {
		fs.Add("lines", "must have 1 to 100 lines")
	}
	for i, l := range in.Lines {
		if l.LineID == "" || utf8.RuneCountInString(l.LineID) > 64 {
			fs.Add(fmt.Sprintf("lines[%d].line_id", i), "is required (at most 64 characters)")
		}
		if l.Quantity <= 0 {
			fs.Add(fmt.Sprintf("lines[%d].quantity", i), "must be a positive whole number")
		}
	}
	return fs.Err()
}

// CheckReturnAgainst checks a return against its order: known lines, no
// more units than were bought and not yet returned.
func CheckReturnAgainst(in Return, o Order) error {
	var fs fault.Fields
	if in.MemberID != "" && in.MemberID != o.MemberID {
		fs.Add("member_id", "the order belongs to another member")
	}
	want := map[string]int64{}
	for i, l := range in.Lines {
		want[l.LineID] += l.Quantity
		ol, ok := o.line(l.LineID)
		if !ok {
			fs.Add(fmt.Sprintf("lines[%d].line_id", i), "the order has no such line")
			continue
		}
		if ol.ReturnedQty+want[l.LineID] > ol.Quantity {
			fs.Add(fmt.Sprintf("lines[%d].quantity", i), fmt.Sprintf("only %d units are left to return", ol.Quantity-ol.ReturnedQty))
		}
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
// category, capped per order (earlier lines first).
func linePoints(in Purchase, tier Tier, p Policy) []int64 {
	out := make([]int64, len(in.Lines))
	var total int64
	for i, l := range in.Lines {
		camp := int64(100)
		for _, c := range p.Campaigns {
			if (c.Category == "" || c.Category == l.Category) && !in.At.Before(c.From) && in.At.Before(c.To) && c.MultiplierPct > camp {
				camp = c.MultiplierPct
			}
		}
		pts := l.Amount * p.PointsPerUnit / MinorPerUnit(in.Currency) * tier.MultiplierPct / 100 * camp / 100
		if p.MaxPointsPerOrder > 0 && total+pts > p.MaxPointsPerOrder {
			pts = p.MaxPointsPerOrder - total
		}
		out[i] = pts
		total += pts
	}
	return out
}

// EarnPurchase records a purchase: points per line (pending during the
// return window), qualifying points, tier upgrade and purchase statistics.
// It returns the entry (nil when the order earns nothing) and the order.
func (a *Account) EarnPurchase(in Purchase, entryID string, p Policy, now time.Time) (*Entry, Order) {
	tier := p.Tiers[p.TierIndex(a.Tier)]
	pts := linePoints(in, tier, p)
	o := Order{ID: in.OrderID, MemberID: a.MemberID, Store: in.Store, Channel: in.Channel, Currency: in.Currency, At: in.At.UTC(), Version: 1}
	var total, spend int64
	for i, l := range in.Lines {
		o.Lines = append(o.Lines, OrderLine{LineID: l.LineID, SKU: l.SKU, Category: l.Category, Quantity: l.Quantity, Amount: l.Amount, Earned: pts[i]})
		total += pts[i]
		spend += l.Amount
	}
	o.Earned = total
	// Statistics, once per order.
	m := month(in.At)
	if a.Stats.Orders == nil {
		a.Stats.Orders, a.Stats.Spend = map[string]int64{}, map[string]int64{}
	}
	a.Stats.Orders[m]++
	a.Stats.Spend[m] += spend
	a.Stats.TotalOrders++
	a.Stats.Currency = in.Currency
	if in.At.After(a.Stats.LastPurchaseAt) {
		a.Stats.LastPurchaseAt = in.At.UTC()
	}
	if a.Stats.FirstOrderAt.IsZero() || in.At.Before(a.Stats.FirstOrderAt) {
		a.Stats.FirstOrderAt = in.At.UTC()
	}
	prune(a.Stats.Orders, now, 25)
	prune(a.Stats.Spend, now, 25)
	if total == 0 {
		return nil, o
	}
	a.LifetimeEarned += total
	if a.Qualifying == nil {
		a.Qualifying = map[string]int64{}
	}
	a.Qualifying[m] += total
	prune(a.Qualifying, now, 13)
	var pendingUntil time.Time
	if p.ReturnWindow > 0 {
		pendingUntil = in.At.UTC().Add(p.ReturnWindow)
		if !now.Before(pendingUntil) {
			pendingUntil = time.Time{}
		}
	}
	e := a.credit(Entry{ID: entryID, MemberID: a.MemberID, Kind: Earn, Amount: total, SourceID: "order:" + in.OrderID,
		OrderID: in.OrderID, At: now.UTC()}, p.ExpiryFor(in.At), pendingUntil)
	a.upgrade(p, now)
	return &e, o
}

// ReverseReturn takes back what the returned units earned, line by line
// and never more than a line earned: pending points of the order first,
// then available points, then the reversal policy for any shortfall. The
// order is updated; the entry is nil when nothing was earned.
func (a *Account) ReverseReturn(in Return, o *Order, entryID string, p Policy, now time.Time) (*Entry, error) {
	if slices.Contains(o.Returns, in.ReturnID) {
		return nil, ErrAlreadyApplied
	}
	if err := CheckReturnAgainst(in, *o); err != nil {
		return nil, err
	}
	var total int64
	for _, rl := range in.Lines {
		l, _ := o.line(rl.LineID)
		l.ReturnedQty += rl.Quantity
		// What the returned units are worth so far, rounded down, so a
		// full return reverses exactly what the line earned.
		worth := l.Earned * l.ReturnedQty / l.Quantity
		rev := worth - l.Reversed
		l.Reversed += rev
		total += rev
	}
	o.Returns = append(o.Returns, in.ReturnID)
	o.Version++
	// Qualifying points follow the reversal (in the order's month).
	if total > 0 && a.Qualifying != nil {
		m := month(o.At)
		a.Qualifying[m] = max(0, a.Qualifying[m]-total)
	}
	if total == 0 {
		return nil, nil
	}
	a.LifetimeEarned = max(0, a.LifetimeEarned-total)
	took, uses := a.take(total, func(l Lot) bool { return l.Pending() && l.OrderID == o.ID })
	if took < total {
		more, u := a.take(total-took, available)
		took += more
		uses = append(uses, u...)
	}
	if took < total {
		more, u := a.take(total-took, func(Lot) bool { return true })
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
