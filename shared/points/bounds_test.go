package points

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"testing"

	"clientele/shared/fault"
)

// namesField reports whether err is an Invalid fault naming field.
func namesField(err error, field string) bool {
	e, ok := fault.As(err)
	if !ok || e.Kind != fault.Invalid {
		return false
	}
	return slices.ContainsFunc(e.Fields, func(f fault.FieldError) bool { return f.Field == field })
}

func TestValidateReturnBoundsQuantity(t *testing.T) {
	t.Parallel()
	for _, q := range []int64{0, -1, math.MinInt64, MaxLineQuantity + 1, math.MaxInt64} {
		in := Return{ReturnID: "r1", OrderID: "o1", Lines: []ReturnLine{{"a", 1}, {"a", q}}}
		if err := ValidateReturn(&in, t0); !namesField(err, "lines[1].quantity") {
			t.Errorf("quantity %d: %v does not name lines[1].quantity", q, err)
		}
	}
	ok := Return{ReturnID: "r1", OrderID: "o1", Lines: []ReturnLine{{"a", MaxLineQuantity}}}
	if err := ValidateReturn(&ok, t0); err != nil {
		t.Errorf("quantity %d refused: %v", MaxLineQuantity, err)
	}
}

func TestValidatePurchaseBoundsEveryNumber(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	cases := []struct {
		line  PurchaseLine
		field string
	}{
		{PurchaseLine{SKU: "a", Quantity: math.MaxInt64, Amount: 100}, "lines[0].quantity"},
		{PurchaseLine{SKU: "a", Quantity: MaxLineQuantity + 1, Amount: 100}, "lines[0].quantity"},
		{PurchaseLine{SKU: "a", Quantity: 1, Amount: math.MaxInt64}, "lines[0].amount"},
		{PurchaseLine{SKU: "a", Quantity: 1, Amount: MaxLineAmount + 1}, "lines[0].amount"},
		{PurchaseLine{SKU: "a", Quantity: 1, Amount: math.MinInt64}, "lines[0].amount"},
	}
	for _, c := range cases {
		in := purchase("o1", c.line)
		if err := ValidatePurchase(&in, p, t0); !namesField(err, c.field) {
			t.Errorf("%+v: %v does not name %s", c.line, err, c.field)
		}
	}
}

// TestHugeReturnQuantityIsRefusedAndChangesNothing is the reported attack:
// after one unit of three came back, a return of 2^63−1 units wrapped the
// line's returned count, reversed a positive amount and left the line
// corrupt. The domain refuses it whether or not intake validated it.
func TestHugeReturnQuantityIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	a := NewAccount("m", p, t0)
	_, o := a.EarnPurchase(purchase("o1", PurchaseLine{LineID: "a", SKU: "a", Quantity: 3, Amount: 10000}), "E1", p, t0)
	if _, err := a.ReverseReturn(Return{ReturnID: "r1", OrderID: "o1", Lines: []ReturnLine{{"a", 1}}}, &o, "R1", p, t0); err != nil {
		t.Fatal(err)
	}
	for _, lines := range [][]ReturnLine{
		{{"a", math.MaxInt64}},
		{{"a", math.MaxInt64 - 1}},
		{{"a", 1}, {"a", math.MaxInt64}},
		{{"a", math.MaxInt64/2 + 1}, {"a", math.MaxInt64/2 + 1}},
		{{"a", -1}},
		{{"a", math.MinInt64}},
		{{"a", 0}},
	} {
		before, beforeOrder := cloneAccount(a), cloneOrder(o)
		e, err := a.ReverseReturn(Return{ReturnID: "r2", OrderID: "o1", Lines: lines}, &o, "R2", p, t0)
		if !fault.Is(err, fault.Invalid) {
			t.Errorf("%v: entry %+v, err %v; want Invalid", lines, e, err)
		}
		if !reflect.DeepEqual(a, before) || !reflect.DeepEqual(o, beforeOrder) {
			t.Errorf("%v changed the account or the order:\n%+v\n%+v", lines, a, o)
		}
	}
	// The line still reverses exactly what it earned, no more.
	e, err := a.ReverseReturn(Return{ReturnID: "r3", OrderID: "o1", Lines: []ReturnLine{{"a", 2}}}, &o, "R3", p, t0)
	if err != nil || e.Amount != -67 || o.Lines[0].Reversed != 100 || o.Lines[0].ReturnedQty != 3 {
		t.Errorf("rest of the line: %+v %v, order %+v", e, err, o.Lines[0])
	}
}

// TestCreditsThatWouldOverflowAreRefused: a credit the balance cannot hold
// is refused, never wrapped to a negative balance.
func TestCreditsThatWouldOverflowAreRefused(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	a := NewAccount("m", p, t0)
	grant(t, a, p, "G1", 1000, t0)
	for _, amount := range []int64{math.MaxInt64, math.MaxInt64 - 999, MaxPoints + 1} {
		before := cloneAccount(a)
		if e, err := a.Grant(Entry{ID: "G2", Kind: Bonus, Amount: amount, At: t0}, p); !fault.Is(err, fault.Invalid) {
			t.Errorf("grant %d: %+v %v", amount, e, err)
		}
		if !reflect.DeepEqual(a, before) {
			t.Errorf("grant %d changed the account: %+v", amount, a)
		}
	}
	if _, err := a.Spend(Entry{ID: "S", Kind: Redeem, Amount: math.MaxInt64, At: t0}); !fault.Is(err, fault.Conflict) || a.Available != 1000 {
		t.Errorf("spend MaxInt64: %v, available %d", err, a.Available)
	}
}

func cloneAccount(a *Account) *Account {
	c := *a
	c.Lots = slices.Clone(a.Lots)
	for i := range c.Lots {
		c.Lots[i].Warned = slices.Clone(a.Lots[i].Warned)
	}
	c.TierHistory = slices.Clone(a.TierHistory)
	c.Qualifying = cloneMap(a.Qualifying)
	c.Stats.Orders, c.Stats.Spend, c.Stats.Returned = cloneMap(a.Stats.Orders), cloneMap(a.Stats.Spend), cloneMap(a.Stats.Returned)
	c.Stats.Days = maps.Clone(a.Stats.Days)
	return &c
}

func cloneMap(m map[string]int64) map[string]int64 {
	if m == nil {
		return nil
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func cloneOrder(o Order) Order {
	o.Lines = slices.Clone(o.Lines)
	o.Returns = slices.Clone(o.Returns)
	return o
}

// TestValidatedPurchasesCanAlwaysBeEarned: a purchase intake accepts never
// overflows in the worker (it would fail there and reach the DLQ): under a
// programme whose rates make its points too many to hold, intake refuses it,
// naming lines.
func TestValidatedPurchasesCanAlwaysBeEarned(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	p.PointsPerUnit = 1_000_000
	p.Tiers[len(p.Tiers)-1].MultiplierPct = 1000
	var lines []PurchaseLine
	for i := range MaxLines {
		lines = append(lines, PurchaseLine{LineID: fmt.Sprint(i), SKU: "s", Quantity: 1, Amount: MaxLineAmount})
	}
	in := purchase("o1", lines...)
	if err := ValidatePurchase(&in, p, t0); !namesField(err, "lines") {
		t.Errorf("%v does not name lines", err)
	}
	a := NewAccount("m", p, t0)
	if _, _, err := a.Earn(in, "E1", p, t0); !namesField(err, "lines") {
		t.Errorf("Earn: %v", err)
	}
	// The same purchase under the default programme is fine everywhere.
	d := DefaultPolicy()
	if err := ValidatePurchase(&in, d, t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Earn(in, "E1", d, t0); err != nil {
		t.Error(err)
	}
}
