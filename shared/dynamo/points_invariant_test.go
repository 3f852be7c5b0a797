package dynamo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/points"
)

// TestApplyRefusesChangesThatBreakTheLedger: the write-time check refuses
// a change whose lots still add up but whose entries do not: a reversal of
// the wrong sign, a negative lot use, entries that do not sum to what the
// balance moved by, an order line reversed past what it earned. Nothing is
// written.
func TestApplyRefusesChangesThatBreakTheLedger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	policy := points.DefaultPolicy()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	store := &dynamo.PointsStore{Client: db, Table: table, Policy: policy, Now: func() time.Time { return now }}
	member := fmt.Sprintf("inv-%d", time.Now().UnixNano())
	if _, _, err := store.Apply(ctx, member, func(a *points.Account) (points.Change, error) {
		e, err := a.Grant(points.Entry{ID: event.NewID(now), MemberID: member, Kind: points.Bonus, Reason: "welcome", Amount: 100, At: now}, policy)
		return points.Change{Entries: []points.Entry{e}}, err
	}, points.Write{}); err != nil {
		t.Fatal(err)
	}
	order := points.Order{ID: member + "-o", MemberID: member, Channel: "online", Currency: "CNY", At: now, Version: 1, Earned: 100,
		Lines: []points.OrderLine{{LineID: "a", SKU: "a", Quantity: 3, Amount: 10000, Earned: 100, ReturnedQty: 3, Reversed: 200}}}
	cases := map[string]func(a *points.Account) points.Change{
		// The reported corruption: +33 credited as a "reversal" with a
		// negative lot use; the lots still add up.
		"positive reversal": func(a *points.Account) points.Change {
			a.Lots[0].Remaining += 33
			a.Lots[0].Amount += 33
			a.Available += 33
			return points.Change{Entries: []points.Entry{{ID: event.NewID(now), MemberID: member, Kind: points.Reverse, Amount: 33,
				Lots: []points.LotUse{{Lot: a.Lots[0].ID, Amount: -33}}, At: now}}}
		},
		"negative lot use on a redemption": func(a *points.Account) points.Change {
			a.Lots[0].Remaining -= 10
			a.Available -= 10
			return points.Change{Entries: []points.Entry{{ID: event.NewID(now), MemberID: member, Kind: points.Redeem, Amount: -10,
				Lots: []points.LotUse{{Lot: a.Lots[0].ID, Amount: 20}, {Lot: a.Lots[0].ID, Amount: -10}}, At: now}}}
		},
		"entries do not sum to the balance": func(a *points.Account) points.Change {
			a.Lots[0].Remaining -= 10
			a.Available -= 10
			return points.Change{}
		},
		"line reversed past what it earned": func(*points.Account) points.Change {
			return points.Change{Order: &order, NewOrder: true}
		},
	}
	for name, mutate := range cases {
		_, _, err := store.Apply(ctx, member, func(a *points.Account) (points.Change, error) { return mutate(a), nil }, points.Write{})
		if !fault.Is(err, fault.Internal) || !strings.Contains(err.Error(), "invariant") {
			t.Errorf("%s: %v, want the invariant refused", name, err)
		}
	}
	a, err := store.Account(ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := store.AllEntries(ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	if a.Available != 100 || a.Version != 1 || len(entries) != 1 {
		t.Errorf("something was written: %+v, %d entries", a, len(entries))
	}
	if _, err := store.Order(ctx, order.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("the corrupt order was written: %v", err)
	}
}
