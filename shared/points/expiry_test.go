package points

import (
	"testing"
	"time"

	"clientele/shared/fault"
)

// TestExpiredLotsAreNeverSpendable: a lot past its expiry is not spendable
// even before the nightly sweep has written it off.
func TestExpiredLotsAreNeverSpendable(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	p.ExpiryMonths, p.ExpiryRound = 1, NoRounding
	a := NewAccount("m", p, t0)
	grant(t, a, p, "old", 500, t0)                   // expires at p.ExpiryFor(t0)
	grant(t, a, p, "new", 100, t0.AddDate(0, 0, 20)) // expires 20 days later
	expiry := p.ExpiryFor(t0)
	if got := a.Spendable(expiry.Add(-time.Second)); got != 600 {
		t.Errorf("spendable just before the expiry = %d, want 600", got)
	}
	if got := a.Spendable(expiry); got != 100 {
		t.Errorf("spendable at the expiry = %d, want 100", got)
	}
	_, err := a.Spend(Entry{ID: "S1", Kind: Redeem, Amount: 101, At: expiry})
	fe, ok := fault.As(err)
	if !ok || fe.Kind != fault.Conflict || fe.Extra["available"] != int64(100) || a.Available != 600 {
		t.Errorf("spending expired points: %v, available %d", err, a.Available)
	}
	e, err := a.Spend(Entry{ID: "S2", Kind: Redeem, Amount: 60, At: expiry.Add(time.Hour)})
	if err != nil || len(e.Lots) != 1 || e.Lots[0] != (LotUse{"new", 60}) {
		t.Errorf("spend took %+v, %v; want 60 from the live lot only", e.Lots, err)
	}
	// The sweep still writes off the whole expired lot.
	es := a.ExpireDue(expiry.Add(2*time.Hour), ids())
	if len(es) != 1 || es[0].Amount != -500 || a.Available != 40 {
		t.Errorf("sweep: %+v, available %d", es, a.Available)
	}
}

// TestReversalDoesNotTakeExpiredPoints: a return's reversal takes live
// points and leaves the shortfall as debt rather than consuming points
// that already expired.
func TestReversalDoesNotTakeExpiredPoints(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	p.ExpiryMonths, p.ExpiryRound, p.ReturnWindow = 1, NoRounding, 0
	a := NewAccount("m", p, t0)
	grant(t, a, p, "old", 500, t0.AddDate(0, 0, -40)) // expired by t0
	in := purchase("o1", PurchaseLine{LineID: "a", SKU: "a", Quantity: 1, Amount: 10000})
	_, o, err := a.Earn(in, "E1", p, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Spend(Entry{ID: "S", Kind: Redeem, Amount: 100, At: t0}); err != nil {
		t.Fatal(err)
	}
	e, err := a.ReverseReturn(Return{ReturnID: "r1", OrderID: "o1", Lines: []ReturnLine{{"a", 1}}}, &o, "R1", p, t0)
	if err != nil || e.Amount != -100 || len(e.Lots) != 0 || e.Shortfall != 100 || a.Debt != 100 || a.Available != 500 {
		t.Errorf("reversal %+v %v; account available %d debt %d", e, err, a.Available, a.Debt)
	}
}

// TestSpendNeedsItsTime: a debit without a time cannot tell expired lots
// from live ones, so it is refused rather than treated as the year 1.
func TestSpendNeedsItsTime(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	p.ExpiryMonths, p.ExpiryRound = 1, NoRounding
	a := NewAccount("m", p, t0)
	grant(t, a, p, "old", 500, t0.AddDate(-1, 0, 0))
	if e, err := a.Spend(Entry{ID: "S", Kind: Redeem, Amount: 100}); err == nil {
		t.Errorf("a spend without a time took %+v", e.Lots)
	}
	if a.Available != 500 {
		t.Errorf("available %d", a.Available)
	}
}
