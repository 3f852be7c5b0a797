package points

import (
	"math"
	"math/big"
	"testing"

	"pgregory.net/rapid"
)

// TestCheckedArithmeticMatchesBigInts: the checked helpers agree with
// math/big wherever the exact result fits in an int64, and refuse exactly
// where it does not.
func TestCheckedArithmeticMatchesBigInts(t *testing.T) {
	t.Parallel()
	maxI, minI := big.NewInt(math.MaxInt64), big.NewInt(math.MinInt64)
	fits := func(z *big.Int) bool { return z.Cmp(maxI) <= 0 && z.Cmp(minI) >= 0 }
	rapid.Check(t, func(t *rapid.T) {
		edge := rapid.OneOf(rapid.Int64(), rapid.SampledFrom([]int64{0, 1, -1, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1}))
		a, b := edge.Draw(t, "a"), edge.Draw(t, "b")
		A, B := big.NewInt(a), big.NewInt(b)
		exact := new(big.Int).Add(A, B)
		if got, ok := addInt(a, b); ok != fits(exact) || ok && got != exact.Int64() {
			t.Fatalf("addInt(%d, %d) = %d, %v; exact %v", a, b, got, ok, exact)
		}
		exact = new(big.Int).Sub(A, B)
		if got, ok := subInt(a, b); ok != fits(exact) || ok && got != exact.Int64() {
			t.Fatalf("subInt(%d, %d) = %d, %v; exact %v", a, b, got, ok, exact)
		}
		c := edge.Draw(t, "c")
		got, ok := mulDiv(a, b, c)
		if a < 0 || b < 0 || c <= 0 {
			if ok {
				t.Fatalf("mulDiv(%d, %d, %d) accepted a negative operand or divisor", a, b, c)
			}
			return
		}
		exact = new(big.Int).Quo(new(big.Int).Mul(A, B), big.NewInt(c)) // non-negative: Quo is the floor
		if ok != fits(exact) || ok && got != exact.Int64() {
			t.Fatalf("mulDiv(%d, %d, %d) = %d, %v; exact %v", a, b, c, got, ok, exact)
		}
	})
}

func TestCheckEntryAndCheckOrder(t *testing.T) {
	t.Parallel()
	bad := []Entry{
		{ID: "1", Kind: Reverse, Amount: 33, Lots: []LotUse{{"L", -33}}},
		{ID: "2", Kind: Reverse, Amount: -10, Lots: []LotUse{{"L", 20}}},
		{ID: "3", Kind: Redeem, Amount: -10, Lots: []LotUse{{"L", 20}, {"L", -10}}},
		{ID: "4", Kind: Redeem, Amount: 10, Lots: []LotUse{{"L", 10}}},
		{ID: "5", Kind: Earn, Amount: -5},
		{ID: "6", Kind: Bonus, Amount: 10, Lots: []LotUse{{"L", 11}}},
		{ID: "7", Kind: Expire, Amount: math.MinInt64},
		{ID: "8", Kind: "gift", Amount: 1, Lots: []LotUse{{"L", 1}}},
	}
	for _, e := range bad {
		if CheckEntry(e) == nil {
			t.Errorf("accepted %+v", e)
		}
	}
	good := []Entry{
		{ID: "a", Kind: Reverse, Amount: -100, Lots: []LotUse{{"L", 40}}, Shortfall: 60},
		{ID: "b", Kind: Reverse, Amount: -40, Lots: []LotUse{{"L", 40}}, Shortfall: 60},
		{ID: "c", Kind: Bonus, Amount: 100, Lots: []LotUse{{"L", 70}}, DebtRepaid: 30},
		{ID: "d", Kind: Adjust, Amount: -5, Lots: []LotUse{{"L", 2}, {"M", 3}}},
	}
	for _, e := range good {
		if err := CheckEntry(e); err != nil {
			t.Errorf("refused %+v: %v", e, err)
		}
	}
	o := Order{ID: "o", Earned: 100, Lines: []OrderLine{{LineID: "a", Quantity: 3, Earned: 100, ReturnedQty: 1, Reversed: 33}}}
	if err := CheckOrder(o); err != nil {
		t.Errorf("refused %+v: %v", o, err)
	}
	for _, mut := range []func(*OrderLine){
		func(l *OrderLine) { l.Reversed = 200 },
		func(l *OrderLine) { l.ReturnedQty = math.MinInt64 },
		func(l *OrderLine) { l.ReturnedQty, l.Reversed = 4, 133 },
		func(l *OrderLine) { l.Reversed = -33 },
	} {
		c := cloneOrder(o)
		mut(&c.Lines[0])
		if CheckOrder(c) == nil {
			t.Errorf("accepted %+v", c.Lines[0])
		}
	}
}
