package main

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"clientele/shared/event"
	"clientele/shared/points"
)

// TestPurchasesEarnTheSameInAnyDeliveryOrder: purchases that wait in the
// queue together, one of which takes the member to gold, leave the same
// account and ledger whatever order the queue delivers them in, one at a
// time or in one batch. (shared/points has the property test over random
// purchases and orders; this runs the worker on DynamoDB Local.)
func TestPurchasesEarnTheSameInAnyDeliveryOrder(t *testing.T) {
	t.Parallel()
	const member = "m-order"
	amounts := []int64{40000, 600000, 25000, 90000} // the second alone reaches gold
	var msgs []events.SQSMessage
	for i, amount := range amounts {
		p := points.Purchase{OrderID: fmt.Sprintf("ORD-%d", i), MemberID: member, Channel: "online", Currency: "CNY",
			At:    start.Add(-time.Duration(len(amounts)-i) * time.Hour),
			Lines: []points.PurchaseLine{{LineID: "a", SKU: "a", Quantity: 1, Amount: amount}}}
		msgs = append(msgs, message(t, fmt.Sprintf("msg-%d", i), envelope(t, event.TypePointsPurchase, p)))
	}
	orders := [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}}
	var states []state
	for _, order := range orders {
		f := newFixture(t)
		f.clock.Add(time.Minute)
		for _, k := range order {
			if failed := f.deliver(t, msgs[k]); len(failed) != 0 {
				t.Fatalf("order %v: message %d failed", order, k)
			}
			f.clock.Add(time.Second)
		}
		states = append(states, f.state(t, member))
	}
	batched := newFixture(t)
	batched.clock.Add(time.Minute)
	if failed := batched.deliver(t, msgs[2], msgs[1], msgs[3], msgs[0]); len(failed) != 0 {
		t.Fatalf("batch: %v failed", failed)
	}
	states = append(states, batched.state(t, member))
	// Every purchase was made before the upgrade was applied: all earn at
	// the member rate (1 point per yuan), and the member ends in gold.
	if s := states[0]; s.Tier != "gold" || s.Lifetime != 7550 {
		t.Errorf("in order: tier %s lifetime %d, want gold and 7550", s.Tier, s.Lifetime)
	}
	for i, s := range states[1:] {
		if !reflect.DeepEqual(s, states[0]) {
			t.Errorf("delivery %d differs:\n%+v\nwant\n%+v", i+1, s, states[0])
		}
	}
}
