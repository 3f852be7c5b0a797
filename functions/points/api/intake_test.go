package main

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"clientele/shared/event"
	"clientele/shared/points"
)

func returnBody(id, order, lines, extra string) string {
	return `{"return_id":"` + id + `","order_id":"` + order + `","lines":` + lines + extra + `}`
}

// TestReusedOrderIDWithOtherContentIsAConflict: the point of sale learns at
// the door that an order id it reused with other lines or another member
// will not be applied; the same purchase again stays a harmless replay.
func TestReusedOrderIDWithOtherContentIsAConflict(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	order := "POS-" + uniq()
	first := purchaseBody(order, m)
	if r := f.do(t, call{method: "POST", route: "/v1/purchases", body: first, tok: serviceToken}); r.StatusCode != http.StatusAccepted {
		t.Fatalf("first: %d %s", r.StatusCode, r.Body)
	}
	// The same purchase again, line ids given explicitly, keys reordered:
	// the same content.
	same := `{"lines":[{"line_id":"SKU-1","amount":59800,"quantity":2,"category":"shoes","sku":"SKU-1"}],"currency":"CNY","channel":"store","store":"SH-001","member_id":"` + m + `","order_id":"` + order + `"}`
	if r := f.do(t, call{method: "POST", route: "/v1/purchases", body: same, tok: serviceToken}); r.StatusCode != http.StatusAccepted {
		t.Errorf("identical replay: %d %s", r.StatusCode, r.Body)
	}
	conflicts := map[string]string{
		"other lines":  purchaseBody(order, m, map[string]any{"sku": "SKU-1", "category": "shoes", "quantity": 3, "amount": 59800}),
		"other member": purchaseBody(order, newMember()),
		"extra line": purchaseBody(order, m, map[string]any{"sku": "SKU-1", "category": "shoes", "quantity": 2, "amount": 59800},
			map[string]any{"sku": "SKU-2", "quantity": 1, "amount": 100}),
	}
	for name, body := range conflicts {
		r := f.do(t, call{method: "POST", route: "/v1/purchases", body: body, tok: serviceToken})
		if r.StatusCode != http.StatusConflict || !slices.Contains(fieldsOf(problem(t, r)), "order_id") {
			t.Errorf("%s: %d %s, want 409 naming order_id", name, r.StatusCode, r.Body)
		}
	}
	if n := len(f.pub.ofType(event.TypePointsPurchase)); n != 2 {
		t.Errorf("%d purchases queued, want the first and its replay", n)
	}

	// An order the worker applied (whatever its producer) is known too.
	applied := "POS-" + uniq()
	f.earn(t, points.Purchase{OrderID: applied, MemberID: m, Store: "SH-001", Channel: "store", Currency: "CNY",
		Lines: []points.PurchaseLine{{SKU: "SKU-1", Category: "shoes", Quantity: 2, Amount: 59800}}})
	if r := f.do(t, call{method: "POST", route: "/v1/purchases", body: purchaseBody(applied, m), tok: serviceToken}); r.StatusCode != http.StatusAccepted {
		t.Errorf("replay of an applied order: %d %s", r.StatusCode, r.Body)
	}
	r := f.do(t, call{method: "POST", route: "/v1/purchases", body: purchaseBody(applied, newMember()), tok: serviceToken})
	if r.StatusCode != http.StatusConflict || !slices.Contains(fieldsOf(problem(t, r)), "order_id") {
		t.Errorf("applied order id reused for another member: %d %s", r.StatusCode, r.Body)
	}
}

// TestReusedReturnIDWithOtherContentIsAConflict: a return id already used
// for another order, member or lines is refused with 409 naming return_id.
func TestReusedReturnIDWithOtherContentIsAConflict(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m, other := newMember(), newMember()
	orderA, orderB := "POS-"+uniq(), "POS-"+uniq()
	for _, o := range []struct{ id, member string }{{orderA, m}, {orderB, other}} {
		f.earn(t, points.Purchase{OrderID: o.id, MemberID: o.member, Store: "SH-001", Channel: "store", Currency: "CNY",
			Lines: []points.PurchaseLine{{SKU: "SHOE", Quantity: 3, Amount: 60000}}})
	}
	rid := "RET-" + uniq()
	one := `[{"line_id":"SHOE","quantity":1}]`
	if r := f.do(t, call{method: "POST", route: "/v1/returns", body: returnBody(rid, orderA, one, ""), tok: serviceToken}); r.StatusCode != http.StatusAccepted {
		t.Fatalf("first: %d %s", r.StatusCode, r.Body)
	}
	// Same content (member now named, which the order confirms): a replay,
	// queued again in case the first was lost between claim and queue.
	if r := f.do(t, call{method: "POST", route: "/v1/returns", body: returnBody(rid, orderA, one, `,"member_id":"`+m+`"`), tok: serviceToken}); r.StatusCode != http.StatusAccepted {
		t.Errorf("replay: %d %s", r.StatusCode, r.Body)
	}
	conflicts := map[string]string{
		"another order":          returnBody(rid, orderB, one, ""),
		"another member's order": returnBody(rid, orderB, one, `,"member_id":"`+other+`"`),
		"other lines":            returnBody(rid, orderA, `[{"line_id":"SHOE","quantity":2}]`, ""),
	}
	for name, body := range conflicts {
		r := f.do(t, call{method: "POST", route: "/v1/returns", body: body, tok: serviceToken})
		if r.StatusCode != http.StatusConflict || !slices.Contains(fieldsOf(problem(t, r)), "return_id") {
			t.Errorf("%s: %d %s, want 409 naming return_id", name, r.StatusCode, r.Body)
		}
	}
	// Once applied, the same content is already_applied and other content
	// still a conflict.
	f.applyReturn(t, points.Return{ReturnID: rid, OrderID: orderA, MemberID: m, At: time.Now(), Lines: []points.ReturnLine{{LineID: "SHOE", Quantity: 1}}})
	if r := f.do(t, call{method: "POST", route: "/v1/returns", body: returnBody(rid, orderA, one, ""), tok: serviceToken}); r.StatusCode != http.StatusOK {
		t.Errorf("replay after apply: %d %s", r.StatusCode, r.Body)
	}
	r := f.do(t, call{method: "POST", route: "/v1/returns", body: returnBody(rid, orderB, one, ""), tok: serviceToken})
	if r.StatusCode != http.StatusConflict || !slices.Contains(fieldsOf(problem(t, r)), "return_id") {
		t.Errorf("applied return id reused on another order: %d %s", r.StatusCode, r.Body)
	}
	if n := len(f.pub.ofType(event.TypePointsReturn)); n != 2 {
		t.Errorf("%d returns queued, want the first and its replay", n)
	}
}

// TestConcurrentReturnsForTheLastUnit: returns racing for the same units
// get one 202 per available unit and a 409 naming the line for the rest,
// so nothing accepted can fail in the worker.
func TestConcurrentReturnsForTheLastUnit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	order := "POS-" + uniq()
	f.earn(t, points.Purchase{OrderID: order, MemberID: m, Store: "SH-001", Channel: "store", Currency: "CNY",
		Lines: []points.PurchaseLine{{SKU: "SHOE", Quantity: 2, Amount: 60000}, {SKU: "SOCK", Quantity: 1, Amount: 3000}}})
	// One of the two shoes comes back first: one unit is left.
	if r := f.do(t, call{method: "POST", route: "/v1/returns", body: returnBody("RET-"+uniq(), order, `[{"line_id":"SHOE","quantity":1}]`, ""), tok: serviceToken}); r.StatusCode != 202 {
		t.Fatalf("first return: %d %s", r.StatusCode, r.Body)
	}
	const racers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := returnBody(fmt.Sprintf("RACE-%d-%s", i, order), order, `[{"line_id":"SOCK","quantity":1},{"line_id":"SHOE","quantity":1}]`, "")
			r := f.do(t, call{method: "POST", route: "/v1/returns", body: body, tok: serviceToken})
			mu.Lock()
			defer mu.Unlock()
			statuses[r.StatusCode]++
			if r.StatusCode == http.StatusConflict {
				if fs := fieldsOf(problem(t, r)); !slices.Contains(fs, "lines[0].quantity") || !slices.Contains(fs, "lines[1].quantity") {
					t.Errorf("conflict does not name both lines: %s", r.Body)
				}
			}
		}()
	}
	wg.Wait()
	if statuses[202] != 1 || statuses[409] != racers-1 {
		t.Fatalf("statuses %v, want one 202 and %d 409", statuses, racers-1)
	}
	if n := len(f.pub.ofType(event.TypePointsReturn)); n != 2 {
		t.Errorf("%d returns queued, want 2", n)
	}
}

// TestReturnBeforeItsOrderIsParked: a return whose order is not applied yet
// is accepted and parked (nothing queued: the worker applying the order
// applies it), and its id is claimed like any other.
func TestReturnBeforeItsOrderIsParked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	order, rid := "LATE-"+uniq(), "RET-"+uniq()
	body := returnBody(rid, order, `[{"line_id":"SHOE","quantity":1}]`, "")
	r := f.do(t, call{method: "POST", route: "/v1/returns", body: body, tok: serviceToken})
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("early return: %d %s", r.StatusCode, r.Body)
	}
	if acc := decode[Accepted](t, r); acc.Status != "parked" || acc.ReturnID != rid || acc.EventID != "" {
		t.Errorf("accepted = %+v", acc)
	}
	if r := f.do(t, call{method: "POST", route: "/v1/returns", body: body, tok: serviceToken}); r.StatusCode != http.StatusAccepted {
		t.Errorf("replay: %d %s", r.StatusCode, r.Body)
	}
	other := f.do(t, call{method: "POST", route: "/v1/returns", body: returnBody(rid, order, `[{"line_id":"SHOE","quantity":2}]`, ""), tok: serviceToken})
	if other.StatusCode != http.StatusConflict || !slices.Contains(fieldsOf(problem(t, other)), "return_id") {
		t.Errorf("other content: %d %s", other.StatusCode, other.Body)
	}
	parked, err := f.store.ParkedReturns(t.Context(), order)
	if err != nil || len(parked) != 1 || parked[0].ReturnID != rid {
		t.Errorf("parked = %+v, %v", parked, err)
	}
	if n := len(f.pub.ofType(event.TypePointsReturn)); n != 0 {
		t.Errorf("%d returns queued for an order not applied yet", n)
	}
}
