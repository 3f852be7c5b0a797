package points

import (
	"math"
	"reflect"
	"testing"
	"time"
)

// FuzzPurchaseAndReturns earns one order of two lines and applies two
// returns with arbitrary numbers. Whatever the numbers, every operation is
// either refused without a change or leaves a ledger that adds up, no line
// reverses more than it earned and no reversal is positive. The seeds run
// with go test; go test -fuzz=FuzzPurchaseAndReturns ./shared/points
// searches further.
func FuzzPurchaseAndReturns(f *testing.F) {
	f.Add(int64(3), int64(10000), int64(1), int64(20), int64(1), int64(math.MaxInt64), int64(1))
	f.Add(int64(3), int64(10000), int64(2), int64(1), int64(2), int64(math.MaxInt64-1), int64(2))
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MinInt64), int64(0), int64(-1), int64(1), int64(0))
	f.Add(int64(MaxLineQuantity), int64(MaxLineAmount), int64(MaxLineQuantity), int64(MaxLineAmount), int64(MaxLineQuantity), int64(1), int64(1))
	f.Add(int64(1), int64(1), int64(1), int64(1), int64(1), int64(1), int64(1))
	f.Fuzz(func(t *testing.T, qty, amount, r1, rate, r2, r3 int64, lineSel int64) {
		p := DefaultPolicy()
		p.PointsPerUnit = rate
		if p.Validate() != nil {
			p.PointsPerUnit = 1
		}
		a := NewAccount("m", p, t0)
		in := purchase("o1", PurchaseLine{LineID: "a", SKU: "a", Quantity: qty, Amount: amount}, PurchaseLine{LineID: "b", SKU: "b", Quantity: 2, Amount: 999})
		before := cloneAccount(a)
		e, o, err := a.Earn(in, "E1", p, t0)
		if err != nil {
			if !reflect.DeepEqual(a, before) {
				t.Fatalf("refused earn changed the account: %+v", a)
			}
			return
		}
		sum := int64(0)
		if e != nil {
			sum = e.Amount
		}
		line := []string{"a", "b", "zz"}[(lineSel%3+3)%3]
		for i, lines := range [][]ReturnLine{{{LineID: "a", Quantity: r1}}, {{LineID: line, Quantity: r2}, {LineID: "a", Quantity: r3}}} {
			before, beforeOrder := cloneAccount(a), cloneOrder(o)
			net := a.Net()
			e, err := a.ReverseReturn(Return{ReturnID: []string{"r1", "r2"}[i], OrderID: "o1", Lines: lines}, &o, "R", p, t0.Add(time.Hour))
			if err != nil {
				if !reflect.DeepEqual(a, before) || !reflect.DeepEqual(o, beforeOrder) {
					t.Fatalf("refused return %v changed the account or the order", lines)
				}
				continue
			}
			var es []Entry
			if e != nil {
				if e.Amount > 0 {
					t.Fatalf("positive reversal %+v", e)
				}
				es = []Entry{*e}
				sum += e.Amount
			}
			if err := a.CheckChange(net, Change{Entries: es, Order: &o}); err != nil {
				t.Fatal(err)
			}
		}
		for _, l := range o.Lines {
			if l.Reversed < 0 || l.Reversed > l.Earned || l.ReturnedQty < 0 || l.ReturnedQty > l.Quantity {
				t.Fatalf("line %+v", l)
			}
		}
		if sum != a.Net() {
			t.Fatalf("Σ entries %d ≠ balance %d", sum, a.Net())
		}
	})
}
