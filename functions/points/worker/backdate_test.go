package main

import (
	"testing"
	"time"

	"clientele/shared/event"
	"clientele/shared/points"
)

// TestBackdatedPurchaseIsCheckedAgainstItsPostingTime: the back-dating
// window is checked against the instant the purchase was posted (the
// event's occurred_at), so a purchase accepted at the edge of the window
// still applies after waiting in the queue; one outside the window never
// applies.
func TestBackdatedPurchaseIsCheckedAgainstItsPostingTime(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	window := f.h.Policy.BackdateWindow
	edge := points.Purchase{OrderID: "EDGE-1", MemberID: "m-edge", Channel: "online", Currency: "CNY", At: start.Add(-window + time.Hour),
		Lines: []points.PurchaseLine{{LineID: "a", SKU: "a", Quantity: 1, Amount: 10000}}}
	ancient := edge
	ancient.OrderID, ancient.MemberID, ancient.At = "ANCIENT-1", "m-ancient", time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC)
	f.clock.Add(3 * 24 * time.Hour) // the messages waited three days
	failed := f.deliver(t, message(t, "edge", envelope(t, event.TypePointsPurchase, edge)),
		message(t, "ancient", envelope(t, event.TypePointsPurchase, ancient)))
	if len(failed) != 1 || failed[0] != "ancient" {
		t.Fatalf("failed %v, want only the ancient purchase", failed)
	}
	if a := f.account(t, "m-edge"); a.LifetimeEarned != 100 {
		t.Errorf("edge purchase earned %d, want 100", a.LifetimeEarned)
	}
}
