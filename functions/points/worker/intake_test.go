package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"clientele/shared/event"
	"clientele/shared/points"
)

// records returns the worker's log records that carry the given message
// id (the SQS message id) or, with id "", all of them.
func (f *fixture) records(t *testing.T, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if id == "" || r["message_id"] == id {
			out = append(out, r)
		}
	}
	return out
}

func purchase(order, member string, lines ...points.PurchaseLine) points.Purchase {
	return points.Purchase{OrderID: order, MemberID: member, Channel: "online", Currency: "CNY", At: start, Lines: lines}
}

// TestConflictingRedeliveryIsAnError: a message reusing an applied order or
// return id with other content is not applied, and is logged at ERROR with
// a stable metric attribute, never as an INFO "already applied".
func TestConflictingRedeliveryIsAnError(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const member = "01JQCONFLICT00000000000000"
	p := purchase("ORD-C1", member, points.PurchaseLine{LineID: "1", SKU: "A", Quantity: 2, Amount: 10000})
	r := points.Return{ReturnID: "RET-C1", OrderID: "ORD-C1", MemberID: member, At: start, Lines: []points.ReturnLine{{LineID: "1", Quantity: 1}}}
	if failed := f.deliver(t, message(t, "buy", envelope(t, event.TypePointsPurchase, p)), message(t, "ret", envelope(t, event.TypePointsReturn, r))); len(failed) != 0 {
		t.Fatalf("failed %v", failed)
	}
	before := f.state(t, member)

	otherLines := p
	otherLines.Lines = []points.PurchaseLine{{LineID: "1", SKU: "A", Quantity: 5, Amount: 90000}}
	otherMember := purchase("ORD-C1", "01JQOTHER000000000000000000", p.Lines...)
	otherReturn := r
	otherReturn.Lines = []points.ReturnLine{{LineID: "1", Quantity: 2}}
	conflicting := map[string]event.Envelope{
		"buy-other-lines":  envelope(t, event.TypePointsPurchase, otherLines),
		"buy-other-member": envelope(t, event.TypePointsPurchase, otherMember),
		"ret-other-lines":  envelope(t, event.TypePointsReturn, otherReturn),
	}
	for id, e := range conflicting {
		if failed := f.deliver(t, message(t, id, e)); len(failed) != 0 {
			t.Errorf("%s: failed; retrying cannot make it apply", id)
		}
		recs := f.records(t, id)
		if len(recs) != 1 || recs[0]["level"] != "ERROR" || recs[0]["metric"] != points.MetricConflictingRedelivery {
			t.Errorf("%s: log records %v, want one ERROR with metric %s", id, recs, points.MetricConflictingRedelivery)
		}
	}
	if after := f.state(t, member); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a conflicting message changed the ledger:\n%+v\n%+v", after, before)
	}
	// A true redelivery stays a quiet success.
	f.deliver(t, message(t, "buy-again", envelope(t, event.TypePointsPurchase, p)), message(t, "ret-again", envelope(t, event.TypePointsReturn, r)))
	for _, id := range []string{"buy-again", "ret-again"} {
		recs := f.records(t, id)
		if len(recs) != 1 || recs[0]["level"] != "INFO" || recs[0]["metric"] != nil {
			t.Errorf("%s: log records %v, want one INFO without a metric", id, recs)
		}
	}
}

// TestParkedReturnsApplyWithTheirOrder: returns accepted before their order
// was applied (parked by the intake, or a return message overtaking its
// purchase) apply when the purchase does; one that cannot apply is
// rejected with an ERROR record; none fails its message or reaches the DLQ.
func TestParkedReturnsApplyWithTheirOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	const member = "01JQPARKED0000000000000000"
	p := purchase("ORD-P1", member, points.PurchaseLine{LineID: "1", SKU: "A", Quantity: 1, Amount: 10000},
		points.PurchaseLine{LineID: "2", SKU: "B", Quantity: 2, Amount: 20000})
	ret := func(id string, lines ...points.ReturnLine) points.Return {
		return points.Return{ReturnID: id, OrderID: p.OrderID, At: start, Lines: lines}
	}
	// Two returns race for the last unit of line 1 at the intake; one more
	// takes a unit of line 2 and arrives as a message only.
	first, loser := ret("RET-P1", points.ReturnLine{LineID: "1", Quantity: 1}), ret("RET-P2", points.ReturnLine{LineID: "1", Quantity: 1})
	for _, r := range []points.Return{first, loser} {
		c, err := f.store.ClaimReturn(ctx, r, start)
		if err != nil || c.State != points.ReturnParked {
			t.Fatalf("claim %s: %+v %v", r.ReturnID, c, err)
		}
	}
	overtaking := ret("RET-P3", points.ReturnLine{LineID: "2", Quantity: 1})
	for range 3 {
		if failed := f.deliver(t, message(t, "overtaking", envelope(t, event.TypePointsReturn, overtaking))); len(failed) != 0 {
			t.Fatalf("a return that overtook its purchase failed its message (it would reach the DLQ)")
		}
	}
	if failed := f.deliver(t, message(t, "buy", envelope(t, event.TypePointsPurchase, p))); len(failed) != 0 {
		t.Fatalf("purchase failed")
	}
	o, err := f.store.Order(ctx, p.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(o.Returns)
	slices.Sort(got)
	if !slices.Equal(got, []string{"RET-P1", "RET-P3"}) || o.Lines[0].ReturnedQty != 1 || o.Lines[1].ReturnedQty != 1 {
		t.Errorf("order after parked returns: %+v", o)
	}
	// 100 + 200 earned; line 1 (100) and half of line 2 (100) reversed.
	if s := f.state(t, member); s.Pending != 100 || len(s.Entries) != 3 {
		t.Errorf("state = %+v", s)
	}
	var rejected int
	for _, r := range f.records(t, "") {
		if r["metric"] == points.MetricReturnRejected && r["level"] == "ERROR" && r["return_id"] == "RET-P2" {
			rejected++
		}
	}
	if rejected != 1 {
		t.Errorf("the return that lost the last unit was logged %d times as rejected, want once:\n%s", rejected, f.logs.String())
	}
	if left, err := f.store.ParkedReturns(ctx, p.OrderID); err != nil || len(left) != 0 {
		t.Errorf("still parked: %+v %v", left, err)
	}
	// Redeliveries of everything change nothing.
	before := f.state(t, member)
	if failed := f.deliver(t, message(t, "buy", envelope(t, event.TypePointsPurchase, p)),
		message(t, "overtaking", envelope(t, event.TypePointsReturn, overtaking))); len(failed) != 0 {
		t.Fatalf("redelivery failed %v", failed)
	}
	if after := f.state(t, member); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("redelivery changed the ledger:\n%+v\n%+v", after, before)
	}
	// The intake now knows the outcome of each.
	for id, want := range map[string]points.ReturnState{"RET-P1": points.ReturnApplied, "RET-P2": points.ReturnRejected, "RET-P3": points.ReturnApplied} {
		r := ret(id, points.ReturnLine{LineID: "1", Quantity: 1})
		if id == "RET-P3" {
			r = overtaking
		}
		if c, err := f.store.ClaimReturn(ctx, r, start); err != nil || c.State != want {
			t.Errorf("%s: %+v %v, want %s", id, c, err, want)
		}
	}
}

// TestPurchaseRedeliveryAppliesWhatItsFirstDeliveryLeftParked: the worker
// applied an order and stopped before its parked returns; the purchase's
// redelivery applies them.
func TestPurchaseRedeliveryAppliesWhatItsFirstDeliveryLeftParked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	const member = "01JQSTOPPED000000000000000"
	p := purchase("ORD-S1", member, points.PurchaseLine{LineID: "1", SKU: "A", Quantity: 2, Amount: 10000})
	r := points.Return{ReturnID: "RET-S1", OrderID: p.OrderID, At: start, Lines: []points.ReturnLine{{LineID: "1", Quantity: 2}}}
	if c, err := f.store.ClaimReturn(ctx, r, start); err != nil || c.State != points.ReturnParked {
		t.Fatalf("claim: %+v %v", c, err)
	}
	// The first delivery's transaction, without what follows it.
	if _, _, err := f.store.Apply(ctx, member, func(a *points.Account) (points.Change, error) {
		e, o := a.EarnPurchase(p, event.NewID(start), f.h.Policy, start)
		return points.Change{Order: &o, NewOrder: true, Entries: []points.Entry{*e}}, nil
	}, points.Write{}); err != nil {
		t.Fatal(err)
	}
	if failed := f.deliver(t, message(t, "buy", envelope(t, event.TypePointsPurchase, p))); len(failed) != 0 {
		t.Fatal("redelivery failed")
	}
	if s := f.state(t, member); s.Pending != 0 || len(s.Entries) != 2 {
		t.Errorf("the parked return was not applied: %+v", s)
	}
}
