package points

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// finalState is what must not depend on the order purchases are delivered
// in: balances, lots, tier, qualifying points and statistics. (Tier
// history records when each change was applied, so it may differ.)
type finalState struct {
	Available, Pending, Debt, Lifetime int64
	Tier                               string
	Qualifying                         map[string]int64
	Lots                               []Lot
	Stats                              Stats
}

func stateOf(a *Account) finalState {
	lots := slices.Clone(a.Lots)
	for i := range lots {
		lots[i].EarnedAt = time.Time{} // when it was credited, not part of what was earned
	}
	return finalState{a.Available, a.Pending, a.Debt, a.LifetimeEarned, a.Tier, a.Qualifying, lots, a.Stats}
}

// TestEarningDoesNotDependOnDeliveryOrder: the same purchases, waiting in
// the queue together and delivered in any order, leave the same account:
// each earns at the tier the member held when it was made, not at a tier an
// earlier delivery reached.
func TestEarningDoesNotDependOnDeliveryOrder(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	rapid.Check(t, func(t *rapid.T) {
		posted := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		n := rapid.IntRange(2, 8).Draw(t, "purchases")
		var ps []Purchase
		for i := range n {
			ps = append(ps, Purchase{OrderID: fmt.Sprintf("O%d", i), MemberID: "m", Channel: "online",
				Currency: rapid.SampledFrom([]string{"CNY", "USD"}).Draw(t, "currency"),
				At:       posted.Add(-time.Duration(rapid.IntRange(1, 60*24*60).Draw(t, "minutes back")) * time.Minute),
				Lines: []PurchaseLine{{LineID: "a", SKU: "a", Category: rapid.SampledFrom([]string{"shoes", "tops"}).Draw(t, "category"),
					Quantity: 1, Amount: rapid.Int64Range(100, 800_000).Draw(t, "amount")}}})
		}
		// A member who already reached silver some time ago, sometimes.
		start := NewAccount("m", p, posted.AddDate(-1, 0, 0))
		if rapid.Bool().Draw(t, "silver already") {
			start.changeTier("silver", posted.AddDate(0, -3, 0), "upgrade")
			start.Qualifying[month(posted.AddDate(0, -3, 0))] = 1000
		}
		deliver := func(order []int) finalState {
			a := cloneAccount(start)
			for i, k := range order {
				now := posted.Add(time.Duration(i+1) * time.Second) // the i-th delivery, whichever it is
				if _, _, err := a.Earn(ps[k], "E-"+ps[k].OrderID, p, now); err != nil {
					t.Fatal(err)
				}
				if err := a.Check(); err != nil {
					t.Fatal(err)
				}
			}
			return stateOf(a)
		}
		inOrder := make([]int, n)
		for i := range inOrder {
			inOrder[i] = i
		}
		want := deliver(inOrder)
		shuffled := rapid.Permutation(inOrder).Draw(t, "delivery order")
		if got := deliver(shuffled); !reflect.DeepEqual(got, want) {
			t.Fatalf("delivered in order %v:\n%+v\nin order %v:\n%+v", inOrder, want, shuffled, got)
		}
	})
}

// TestPurchaseEarnsTheTierHeldWhenItWasMade: a purchase made before an
// upgrade earns the old multiplier even when it is applied after the
// upgrade; one made after it earns the new one.
func TestPurchaseEarnsTheTierHeldWhenItWasMade(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	a := NewAccount("m", p, t0.AddDate(0, -1, 0))
	// 6000 points applied at t0: member → gold.
	if _, _, err := a.Earn(purchase("big", PurchaseLine{LineID: "a", SKU: "a", Quantity: 1, Amount: 600000}), "E1", p, t0); err != nil || a.Tier != "gold" {
		t.Fatalf("tier %s, %v", a.Tier, err)
	}
	before := purchase("before", PurchaseLine{LineID: "a", SKU: "a", Quantity: 1, Amount: 10000})
	before.At = t0.Add(-time.Hour)
	after := purchase("after", PurchaseLine{LineID: "a", SKU: "a", Quantity: 1, Amount: 10000})
	after.At = t0.Add(time.Hour)
	if e, _, err := a.Earn(before, "E2", p, t0.Add(2*time.Hour)); err != nil || e.Amount != 100 {
		t.Errorf("purchase made before the upgrade earned %+v, %v; want 100 at the member rate", e, err)
	}
	if e, _, err := a.Earn(after, "E3", p, t0.Add(2*time.Hour)); err != nil || e.Amount != 125 {
		t.Errorf("purchase made after the upgrade earned %+v, %v; want 125 at the gold rate", e, err)
	}
	if a.TierAt(t0.Add(-time.Nanosecond)) != "member" || a.TierAt(t0) != "gold" {
		t.Errorf("TierAt around the upgrade: %s, %s", a.TierAt(t0.Add(-time.Nanosecond)), a.TierAt(t0))
	}
}
