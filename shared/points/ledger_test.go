package points

import (
	"fmt"
	"testing"
	"time"

	"clientele/shared/fault"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func ids() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("E%04d", n) }
}

func TestExpiryRounding(t *testing.T) {
	t.Parallel()
	cases := []struct {
		months int
		round  Rounding
		want   time.Time
	}{
		{0, MonthEnd, time.Time{}},
		{12, NoRounding, time.Date(2027, 3, 11, 0, 0, 0, 0, time.UTC)},
		{12, MonthEnd, time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)},
		{12, YearEnd, time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)},
		{24, MonthEnd, time.Date(2028, 4, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		p := DefaultPolicy()
		p.ExpiryMonths, p.ExpiryRound = c.months, c.round
		if got := p.ExpiryFor(t0); !got.Equal(c.want) {
			t.Errorf("%d months %s: %v, want %v", c.months, c.round, got, c.want)
		}
	}
}

func grant(t *testing.T, a *Account, p Policy, id string, amount int64, at time.Time) {
	t.Helper()
	if _, err := a.Grant(Entry{ID: id, MemberID: a.MemberID, Kind: Bonus, Amount: amount, At: at}, p); err != nil {
		t.Fatal(err)
	}
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestSpendConsumesSoonestExpiringFirst(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	p.ExpiryRound = NoRounding
	a := NewAccount("m", p, t0)
	grant(t, a, p, "late", 100, t0.AddDate(0, 2, 0))
	grant(t, a, p, "early", 50, t0)
	e, err := a.Spend(Entry{ID: "r", Kind: Redeem, Amount: 70, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	if e.Amount != -70 || len(e.Lots) != 2 || e.Lots[0] != (LotUse{"early", 50}) || e.Lots[1] != (LotUse{"late", 20}) {
		t.Errorf("entry = %+v", e)
	}
	if a.Available != 80 || len(a.Lots) != 1 || a.Lots[0].Remaining != 80 {
		t.Errorf("account = %+v", a)
	}
	_, err = a.Spend(Entry{ID: "r2", Kind: Redeem, Amount: 81, At: t0})
	fe, ok := fault.As(err)
	if !ok || fe.Kind != fault.Conflict || fe.Extra["available"] != int64(80) || a.Available != 80 {
		t.Errorf("overdraft: %v, available %d", err, a.Available)
	}
	if _, err := a.Spend(Entry{ID: "r3", Amount: 0}); !fault.Is(err, fault.Invalid) {
		t.Errorf("zero spend: %v", err)
	}
}

func purchase(order string, lines ...PurchaseLine) Purchase {
	return Purchase{OrderID: order, MemberID: "m", Channel: "store", Store: "S1", Currency: "CNY", At: t0, Lines: lines}
}

func TestPurchasePendsThenMatures(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	a := NewAccount("m", p, t0)
	e, o := a.EarnPurchase(purchase("o1", PurchaseLine{LineID: "a", SKU: "a", Quantity: 2, Amount: 25000}, PurchaseLine{LineID: "b", SKU: "b", Quantity: 1, Amount: 999}), "E1", p, t0)
	if e == nil || e.Amount != 259 || o.Lines[0].Earned != 250 || o.Lines[1].Earned != 9 {
		t.Fatalf("earn = %+v, order %+v", e, o)
	}
	if a.Pending != 259 || a.Available != 0 || a.Stats.TotalOrders != 1 || a.Stats.Spend["2026-03"] != 25999 {
		t.Errorf("account = %+v", a)
	}
	if _, err := a.Spend(Entry{ID: "r", Amount: 1, At: t0}); !fault.Is(err, fault.Conflict) {
		t.Error("pending points were spendable")
	}
	if a.Mature(t0.Add(p.ReturnWindow-time.Second)) != 0 {
		t.Error("matured before the window ended")
	}
	if moved := a.Mature(t0.Add(p.ReturnWindow)); moved != 259 || a.Available != 259 || a.Pending != 0 {
		t.Errorf("mature moved %d: %+v", moved, a)
	}
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestReturnsReverseLineByLineNeverMore(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	a := NewAccount("m", p, t0)
	_, o := a.EarnPurchase(purchase("o1", PurchaseLine{LineID: "a", SKU: "a", Quantity: 3, Amount: 10000}), "E1", p, t0)
	// 100 points over 3 units: 33, 33, 34 — never more than 100 in all.
	var total int64
	for i, want := range []int64{33, 33, 34} {
		e, err := a.ReverseReturn(Return{ReturnID: fmt.Sprint("r", i), OrderID: "o1", Lines: []ReturnLine{{"a", 1}}}, &o, fmt.Sprint("R", i), p, t0)
		if err != nil {
			t.Fatal(err)
		}
		if e.Amount != -want {
			t.Errorf("return %d reversed %d, want %d", i, -e.Amount, want)
		}
		total += -e.Amount
	}
	if total != 100 || a.Pending != 0 || a.Available != 0 {
		t.Errorf("total %d, account %+v", total, a)
	}
	_, err := a.ReverseReturn(Return{ReturnID: "r9", OrderID: "o1", Lines: []ReturnLine{{"a", 1}}}, &o, "R9", p, t0)
	if !fault.Is(err, fault.Invalid) {
		t.Errorf("returning a fourth unit: %v", err)
	}
	_, err = a.ReverseReturn(Return{ReturnID: "r10", OrderID: "o1", Lines: []ReturnLine{{"zzz", 1}}}, &o, "R10", p, t0)
	if !fault.Is(err, fault.Invalid) {
		t.Errorf("unknown line: %v", err)
	}
}

func TestReturnTakesPendingOfItsOrderFirstThenPolicy(t *testing.T) {
	t.Parallel()
	for _, pol := range []ReversalPolicy{Debt, Forfeit} {
		p := DefaultPolicy()
		p.Reversal = pol
		a := NewAccount("m", p, t0)
		_, o := a.EarnPurchase(purchase("o1", PurchaseLine{LineID: "a", SKU: "a", Quantity: 1, Amount: 50000}), "E1", p, t0)
		a.Mature(t0.Add(p.ReturnWindow))                                                                                                          // 500 available
		_, o2 := a.EarnPurchase(purchase("o2", PurchaseLine{LineID: "b", SKU: "b", Quantity: 1, Amount: 20000}), "E2", p, t0.Add(p.ReturnWindow)) // 200 pending
		if _, err := a.Spend(Entry{ID: "S", Amount: 450, At: t0}); err != nil {
			t.Fatal(err)
		}
		// Returning o2 cancels its pending 200 first.
		e, _ := a.ReverseReturn(Return{ReturnID: "x", OrderID: "o2", Lines: []ReturnLine{{"b", 1}}}, &o2, "R1", p, t0)
		if e.Amount != -200 || a.Pending != 0 || a.Available != 50 || e.Shortfall != 0 {
			t.Fatalf("%s: %+v %+v", pol, e, a)
		}
		// Returning o1 wants 500 but only 50 are left.
		e, _ = a.ReverseReturn(Return{ReturnID: "y", OrderID: "o1", Lines: []ReturnLine{{"a", 1}}}, &o, "R2", p, t0)
		if e.Shortfall != 450 || a.Available != 0 {
			t.Fatalf("%s: %+v %+v", pol, e, a)
		}
		switch pol {
		case Debt:
			if e.Amount != -500 || a.Debt != 450 {
				t.Errorf("debt: entry %d debt %d", e.Amount, a.Debt)
			}
			// A later credit repays the debt first.
			g, _ := a.Grant(Entry{ID: "G", Kind: Bonus, Amount: 600, At: t0}, p)
			if g.DebtRepaid != 450 || a.Debt != 0 || a.Available != 150 {
				t.Errorf("repay: %+v %+v", g, a)
			}
		case Forfeit:
			if e.Amount != -50 || a.Debt != 0 {
				t.Errorf("forfeit: entry %d debt %d", e.Amount, a.Debt)
			}
		}
		if err := a.Check(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestExpireDue(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	p.ExpiryMonths, p.ExpiryRound = 1, NoRounding
	a := NewAccount("m", p, t0)
	grant(t, a, p, "L1", 30, t0)
	grant(t, a, p, "L2", 40, t0.AddDate(0, 0, 10))
	if len(a.Expiring(t0, t0.AddDate(0, 0, 35))) != 1 {
		t.Error("expiring within 35 days should list one lot")
	}
	es := a.ExpireDue(p.ExpiryFor(t0), ids())
	if len(es) != 1 || es[0].Amount != -30 || es[0].Lots[0].Lot != "L1" || a.Available != 40 {
		t.Errorf("expire: %+v %+v", es, a)
	}
	if es := a.ExpireDue(p.ExpiryFor(t0), ids()); len(es) != 0 {
		t.Error("expired twice")
	}
}

func TestTiersUpgradeAtOnceDowngradeOneStepAfterGrace(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	a := NewAccount("m", p, t0)
	// 6000 points in one order: member → gold directly.
	a.EarnPurchase(purchase("o1", PurchaseLine{LineID: "a", SKU: "a", Quantity: 1, Amount: 600000}), "E1", p, t0)
	if a.Tier != "gold" || len(a.TierHistory) != 1 {
		t.Fatalf("tier %s history %+v", a.Tier, a.TierHistory)
	}
	// Gold multiplies the next purchase by 1.25.
	e, _ := a.EarnPurchase(purchase("o2", PurchaseLine{LineID: "a", SKU: "a", Quantity: 1, Amount: 10000}), "E2", p, t0)
	if e.Amount != 125 {
		t.Errorf("gold earn = %d, want 125", e.Amount)
	}
	if next, need := a.ToNextTier(p, t0); next != "platinum" || need != 20000-6125 {
		t.Errorf("to next: %s %d", next, need)
	}
	// A year later the qualifying points have lapsed.
	later := t0.AddDate(1, 1, 0)
	if a.EvaluateDowngrade(p, later) || a.BelowSince.IsZero() {
		t.Fatal("downgraded without grace, or grace not started")
	}
	if a.EvaluateDowngrade(p, later.Add(p.DowngradeGrace-time.Hour)) {
		t.Fatal("downgraded inside the grace period")
	}
	if !a.EvaluateDowngrade(p, later.Add(p.DowngradeGrace)) || a.Tier != "silver" {
		t.Fatalf("first step: %s", a.Tier)
	}
	if a.EvaluateDowngrade(p, later.Add(p.DowngradeGrace+time.Hour)) || a.Tier != "silver" {
		t.Fatal("two steps at once")
	}
	if !a.EvaluateDowngrade(p, later.Add(2*p.DowngradeGrace+time.Hour)) || a.Tier != "member" {
		t.Fatalf("second step: %s", a.Tier)
	}
}

func TestCampaignsAndCap(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	p.Campaigns = []Campaign{{Name: "shoes x2", Category: "shoes", MultiplierPct: 200, From: t0.Add(-time.Hour), To: t0.Add(time.Hour)},
		{Name: "old", MultiplierPct: 500, From: t0.AddDate(-1, 0, 0), To: t0.AddDate(0, 0, -1)}}
	p.MaxPointsPerOrder = 300
	a := NewAccount("m", p, t0)
	e, o := a.EarnPurchase(purchase("o1",
		PurchaseLine{LineID: "s", SKU: "s", Category: "shoes", Quantity: 1, Amount: 10000},
		PurchaseLine{LineID: "t", SKU: "t", Category: "tops", Quantity: 1, Amount: 10000},
		PurchaseLine{LineID: "u", SKU: "u", Category: "tops", Quantity: 1, Amount: 20000}), "E1", p, t0)
	if o.Lines[0].Earned != 200 || o.Lines[1].Earned != 100 || o.Lines[2].Earned != 0 || e.Amount != 300 {
		t.Errorf("lines %+v entry %+v", o.Lines, e)
	}
}

func TestValidatePurchase(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	cases := []struct {
		name  string
		mut   func(*Purchase)
		field string
	}{
		{"zero amount", func(x *Purchase) { x.Lines[0].Amount = 0 }, "lines[0].amount"},
		{"negative amount", func(x *Purchase) { x.Lines[0].Amount = -5 }, "lines[0].amount"},
		{"zero quantity", func(x *Purchase) { x.Lines[0].Quantity = 0 }, "lines[0].quantity"},
		{"unknown currency", func(x *Purchase) { x.Currency = "XXX" }, "currency"},
		{"no lines", func(x *Purchase) { x.Lines = nil }, "lines"},
		{"bad order id", func(x *Purchase) { x.OrderID = "a b" }, "order_id"},
		{"store without store id", func(x *Purchase) { x.Store = "" }, "store"},
		{"future", func(x *Purchase) { x.At = t0.Add(time.Hour) }, "purchased_at"},
		{"duplicate line", func(x *Purchase) { x.Lines = append(x.Lines, x.Lines[0]) }, "lines[1].line_id"},
	}
	for _, c := range cases {
		in := purchase("o1", PurchaseLine{SKU: "a", Quantity: 1, Amount: 100})
		c.mut(&in)
		err := ValidatePurchase(&in, p, t0)
		e, ok := fault.As(err)
		found := false
		for _, f := range e.Fields {
			found = found || f.Field == c.field
		}
		if !ok || !found {
			t.Errorf("%s: %v does not name %s", c.name, err, c.field)
		}
	}
	ok := purchase("o1", PurchaseLine{SKU: "a", Quantity: 1, Amount: 100})
	if err := ValidatePurchase(&ok, p, t0); err != nil || ok.Lines[0].LineID != "a" {
		t.Errorf("valid purchase: %v %+v", err, ok.Lines)
	}
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	p, err := ParsePolicy(`{"points_per_unit":2,"return_window_hours":48,"reversal":"forfeit"}`)
	if err != nil || p.PointsPerUnit != 2 || p.ReturnWindow != 48*time.Hour || p.Reversal != Forfeit || len(p.Tiers) != 4 {
		t.Errorf("policy = %+v, %v", p, err)
	}
	for _, bad := range []string{`{"reversal":"magic"}`, `{"tiers":[{"name":"a","threshold":5}]}`, `{`} {
		if _, err := ParsePolicy(bad); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestZeroDecimalCurrencies(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	a := NewAccount("m", p, t0)
	in := purchase("o1", PurchaseLine{LineID: "a", SKU: "a", Quantity: 1, Amount: 5980})
	in.Currency = "JPY" // ¥5,980 has no minor units
	if e, _ := a.EarnPurchase(in, "E1", p, t0); e.Amount != 5980 {
		t.Errorf("JPY earn = %d, want 5980 (1 point per yen)", e.Amount)
	}
	if MinorPerUnit("CNY") != 100 || MinorPerUnit("JPY") != 1 {
		t.Error("minor units per currency unit")
	}
}
