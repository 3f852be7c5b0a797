package points

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// adversarial draws the numbers an attacker or a buggy client sends:
// the int64 extremes, zero, ±1, the bounds and one past them, and anything
// else in between.
func adversarial(bound int64) *rapid.Generator[int64] {
	return rapid.OneOf(
		rapid.SampledFrom([]int64{math.MaxInt64, math.MaxInt64 - 1, math.MinInt64, math.MinInt64 + 1, -1, 0, 1, 2, 3,
			bound - 1, bound, bound + 1, MaxPoints, MaxPoints + 1, math.MaxInt64 / 2, math.MaxInt64/2 + 1, MaxLineQuantity, MaxLineAmount}),
		rapid.Int64Range(1, 1000),
		rapid.Int64Range(1, bound),
		rapid.Int64Range(math.MaxInt64-10, math.MaxInt64), // wraps when added to a small count
		rapid.Int64Range(math.MinInt64, math.MinInt64+10),
		rapid.Int64(),
	)
}

// propertyRun drives one account through random operations and checks,
// after every one, the ledger's invariants with its own arithmetic: the
// operation either succeeded and left a ledger that adds up, or was refused
// and changed nothing.
type propertyRun struct {
	p      Policy
	a      *Account
	now    time.Time
	sum    int64 // Σ entries, big enough here: every entry is bounded by MaxPoints
	orders []*Order
	seq    int
}

func (r *propertyRun) id(prefix string) string { r.seq++; return fmt.Sprintf("%s%06d", prefix, r.seq) }

// apply runs op; on error the account must be exactly as before; on success
// every entry must be well formed, the balance must have moved by the
// entries, and the totals are recorded.
func (r *propertyRun) apply(t *rapid.T, what string, op func() ([]Entry, error)) bool {
	before := cloneAccount(r.a)
	netBefore := r.a.Net()
	es, err := op()
	if err != nil {
		if !reflect.DeepEqual(r.a, before) {
			t.Fatalf("%s refused (%v) but changed the account:\nbefore %+v\nafter  %+v", what, err, before, r.a)
		}
		return false
	}
	var moved int64
	for _, e := range es {
		// The checks of CheckEntry, restated here so a bug in it cannot hide one.
		for _, u := range e.Lots {
			if u.Amount <= 0 {
				t.Fatalf("%s: entry %+v uses a lot negatively", what, e)
			}
		}
		switch e.Kind {
		case Reverse, Redeem, Expire:
			if e.Amount > 0 {
				t.Fatalf("%s: positive %s entry %+v", what, e.Kind, e)
			}
		case Earn, Bonus:
			if e.Amount <= 0 {
				t.Fatalf("%s: non-positive %s entry %+v", what, e.Kind, e)
			}
		}
		if e.Amount < -MaxPoints || e.Amount > MaxPoints {
			t.Fatalf("%s: entry amount %d out of range", what, e.Amount)
		}
		moved += e.Amount
		if err := CheckEntry(e); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if got := r.a.Net() - netBefore; got != moved {
		t.Fatalf("%s: entries moved %d, balance moved %d", what, moved, got)
	}
	if err := r.a.CheckChange(netBefore, Change{Entries: es}); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	r.sum += moved
	return true
}

func (r *propertyRun) line(t *rapid.T, i int) PurchaseLine {
	return PurchaseLine{
		LineID:   fmt.Sprintf("L%d", i),
		SKU:      "sku",
		Category: rapid.SampledFrom([]string{"", "shoes", "tops"}).Draw(t, "category"),
		Quantity: rapid.OneOf(rapid.Int64Range(1, 5), adversarial(MaxLineQuantity)).Draw(t, "quantity"),
		Amount:   rapid.OneOf(rapid.Int64Range(1, 1_000_000), adversarial(MaxLineAmount)).Draw(t, "amount"),
	}
}

func (r *propertyRun) earn(t *rapid.T) {
	n := rapid.OneOf(rapid.IntRange(0, 3), rapid.IntRange(1, 3), rapid.IntRange(1, 3), rapid.SampledFrom([]int{MaxLines, MaxLines + 1})).Draw(t, "lines")
	in := Purchase{OrderID: r.id("O"), MemberID: "m", Channel: "online", Currency: rapid.SampledFrom([]string{"CNY", "JPY"}).Draw(t, "currency"),
		At: r.now.Add(-time.Duration(rapid.Int64Range(0, 80*24).Draw(t, "hours back")) * time.Hour)}
	for i := range n {
		in.Lines = append(in.Lines, r.line(t, i))
	}
	var o Order
	ok := r.apply(t, "earn", func() ([]Entry, error) {
		e, order, err := r.a.Earn(in, r.id("E"), r.p, r.now)
		o = order
		if e == nil {
			return nil, err
		}
		return []Entry{*e}, err
	})
	if ok {
		if err := CheckOrder(o); err != nil {
			t.Fatal(err)
		}
		r.orders = append(r.orders, &o)
	}
}

func (r *propertyRun) ret(t *rapid.T) {
	if len(r.orders) == 0 {
		t.Skip("no order yet")
	}
	o := rapid.SampledFrom(r.orders).Draw(t, "order")
	n := rapid.OneOf(rapid.IntRange(1, 3), rapid.SampledFrom([]int{0, MaxLines + 1})).Draw(t, "return lines")
	in := Return{ReturnID: r.id("R"), OrderID: o.ID}
	for range n {
		id := "nope"
		if len(o.Lines) > 0 && rapid.IntRange(0, 9).Draw(t, "known line") > 0 {
			id = rapid.SampledFrom(o.Lines).Draw(t, "line").LineID
		}
		in.Lines = append(in.Lines, ReturnLine{LineID: id, Quantity: rapid.OneOf(rapid.Int64Range(1, 2), rapid.Int64Range(1, 2), adversarial(MaxLineQuantity)).Draw(t, "return quantity")})
	}
	before := cloneOrder(*o)
	work := cloneOrder(*o)
	ok := r.apply(t, "return", func() ([]Entry, error) {
		e, err := r.a.ReverseReturn(in, &work, r.id("V"), r.p, r.now)
		if e == nil {
			return nil, err
		}
		return []Entry{*e}, err
	})
	if !ok {
		if !reflect.DeepEqual(work, before) {
			t.Fatalf("refused return changed the order:\nbefore %+v\nafter  %+v", before, work)
		}
		return
	}
	*o = work
	if err := CheckOrder(*o); err != nil {
		t.Fatal(err)
	}
}

func (r *propertyRun) spend(t *rapid.T) {
	amount := adversarial(r.a.Available+1).Draw(t, "spend")
	at := r.now
	r.apply(t, "spend", func() ([]Entry, error) {
		e, err := r.a.Spend(Entry{ID: r.id("S"), MemberID: "m", Kind: rapid.SampledFrom([]EntryKind{Redeem, Adjust}).Draw(t, "kind"), Amount: amount, At: at})
		if err == nil {
			for _, u := range e.Lots {
				for _, l := range r.a.Lots {
					if l.ID == u.Lot && (l.Expired(at) || l.Pending()) {
						t.Fatalf("spent %d of lot %+v, expired or pending at %v", u.Amount, l, at)
					}
				}
			}
			return []Entry{e}, nil
		}
		return nil, err
	})
}

func (r *propertyRun) grant(t *rapid.T) {
	amount := adversarial(10000).Draw(t, "grant")
	r.apply(t, "grant", func() ([]Entry, error) {
		e, err := r.a.Grant(Entry{ID: r.id("G"), MemberID: "m", Kind: rapid.SampledFrom([]EntryKind{Bonus, Adjust}).Draw(t, "kind"), Amount: amount, At: r.now}, r.p)
		if err != nil {
			return nil, err
		}
		return []Entry{e}, nil
	})
}

func (r *propertyRun) nightly(t *rapid.T) {
	r.now = r.now.Add(time.Duration(rapid.Int64Range(1, 400*24).Draw(t, "hours")) * time.Hour)
	r.apply(t, "nightly", func() ([]Entry, error) {
		r.a.Mature(r.now)
		es := r.a.ExpireDue(r.now, func() string { return r.id("X") })
		r.a.EvaluateDowngrade(r.p, r.now)
		return es, nil
	})
}

// check restates the invariants with the test's own sums.
func (r *propertyRun) check(t *rapid.T) {
	if err := r.a.Check(); err != nil {
		t.Fatal(err)
	}
	var avail, pend int64
	for _, l := range r.a.Lots {
		if l.Remaining <= 0 || l.Remaining > l.Amount {
			t.Fatalf("lot %+v", l)
		}
		if l.Pending() {
			pend += l.Remaining
		} else {
			avail += l.Remaining
		}
	}
	if avail != r.a.Available || pend != r.a.Pending || r.a.Debt < 0 {
		t.Fatalf("available %d pending %d debt %d; lots hold %d and %d", r.a.Available, r.a.Pending, r.a.Debt, avail, pend)
	}
	if r.sum != r.a.Available+r.a.Pending-r.a.Debt {
		t.Fatalf("Σ entries %d ≠ available %d + pending %d − debt %d", r.sum, r.a.Available, r.a.Pending, r.a.Debt)
	}
	for _, o := range r.orders {
		for _, l := range o.Lines {
			if l.Reversed < 0 || l.Reversed > l.Earned || l.ReturnedQty < 0 || l.ReturnedQty > l.Quantity {
				t.Fatalf("order %s line %+v", o.ID, l)
			}
			if l.ReturnedQty == l.Quantity && l.Reversed != l.Earned {
				t.Fatalf("order %s line %+v fully returned but reversed %d of %d", o.ID, l.LineID, l.Reversed, l.Earned)
			}
		}
	}
}

// TestLedgerPropertiesUnderAdversarialInput throws extreme and hostile
// numbers (int64 extremes, negatives, zero, huge counts, too many lines) at
// every domain method — Earn, ReverseReturn, Spend, Grant, Mature,
// ExpireDue, EvaluateDowngrade — under random programmes (rates and
// multipliers up to absurd values), and checks after every step that
// available == Σ lots, Σ entries == available + pending − debt, no line is
// reversed past what it earned, no reversal is positive, no lot is used
// negatively, and a refused operation changed nothing.
func TestLedgerPropertiesUnderAdversarialInput(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		p := DefaultPolicy()
		p.PointsPerUnit = rapid.SampledFrom([]int64{0, 1, 1, 1, 10, 1_000_000, math.MaxInt64}).Draw(t, "points per unit")
		p.Reversal = rapid.SampledFrom([]ReversalPolicy{Debt, Forfeit}).Draw(t, "reversal")
		p.ReturnWindow = time.Duration(rapid.SampledFrom([]int{0, 14}).Draw(t, "return days")) * 24 * time.Hour
		p.ExpiryMonths = rapid.SampledFrom([]int{0, 1, 24}).Draw(t, "expiry months")
		p.MaxPointsPerOrder = rapid.SampledFrom([]int64{0, 300, MaxPoints, math.MaxInt64}).Draw(t, "cap")
		for i := range p.Tiers {
			p.Tiers[i].MultiplierPct = rapid.SampledFrom([]int64{0, 100, 100, 150, 150, math.MaxInt64}).Draw(t, "tier multiplier")
		}
		start := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		p.Campaigns = []Campaign{{Name: "huge", Category: "shoes", MultiplierPct: rapid.SampledFrom([]int64{200, math.MaxInt64}).Draw(t, "campaign"),
			From: start.AddDate(0, -6, 0), To: start.AddDate(1, 0, 0)}}
		r := &propertyRun{p: p, a: NewAccount("m", p, start), now: start}
		t.Repeat(map[string]func(*rapid.T){
			"earn":    r.earn,
			"return":  r.ret,
			"spend":   r.spend,
			"grant":   r.grant,
			"nightly": r.nightly,
			"":        r.check,
		})
		if slices.ContainsFunc(r.orders, func(o *Order) bool { return o.Earned < 0 }) {
			t.Fatal("an order earned a negative amount")
		}
	})
}
