package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestOversizedIdsAreRefused: an id no member can have (3,000 characters,
// beyond DynamoDB's key limit) is a 404 on every points route of a member,
// an oversized body id is a 400 naming the field, and a token whose subject
// breaks the id rule is a 400; never a 500 from the store refusing the key.
func TestOversizedIdsAreRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	long := strings.Repeat("m", 3000)
	routes := []struct{ method, route, body string }{
		{"GET", balanceRoute, ""},
		{"GET", entriesRoute, ""},
		{"POST", redemptionsRoute, `{"amount":1,"reason":"test"}`},
		{"POST", adjustmentsRoute, `{"amount":1,"reason_code":"goodwill"}`},
	}
	for _, r := range routes {
		resp := f.do(t, call{method: r.method, route: r.route, body: r.body, headers: key("ids-" + uniq()),
			pathParams: at(long), tok: staffToken})
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("staff %s %s<3000>: %d %.300s, want 404", r.method, r.route, resp.StatusCode, resp.Body)
			continue
		}
		if fs := fieldsOf(problem(t, resp)); !slices.Equal(fs, []string{"id"}) {
			t.Errorf("staff %s %s<3000>: fields %v, want [id]", r.method, r.route, fs)
		}
		if r.route == adjustmentsRoute {
			continue // staff only
		}
		resp = f.do(t, call{method: r.method, route: r.route, body: r.body, headers: key("ids-" + uniq()),
			pathParams: at(long), tok: memberToken(long)})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("member sub<3000> %s %s: %d %.300s, want 400", r.method, r.route, resp.StatusCode, resp.Body)
			continue
		}
		if fs := fieldsOf(problem(t, resp)); !slices.Equal(fs, []string{"Authorization"}) {
			t.Errorf("member sub<3000> %s %s: fields %v, want [Authorization]", r.method, r.route, fs)
		}
	}

	m := newMember()
	bodies := []struct{ route, body, field string }{
		{"/v1/purchases", purchaseBody("o-"+uniq(), long, map[string]any{"sku": "S", "quantity": 1, "amount": 100}), "member_id"},
		{"/v1/purchases", purchaseBody(strings.Repeat("o", 3000), m, map[string]any{"sku": "S", "quantity": 1, "amount": 100}), "order_id"},
		{"/v1/returns", `{"return_id":"r-1","order_id":"o-1","member_id":"` + long + `","lines":[{"line_id":"S","quantity":1}]}`, "member_id"},
		{"/v1/returns", `{"return_id":"` + long + `","order_id":"o-1","lines":[{"line_id":"S","quantity":1}]}`, "return_id"},
		{"/v1/returns", `{"return_id":"r-1","order_id":"` + long + `","lines":[{"line_id":"S","quantity":1}]}`, "order_id"},
	}
	for _, b := range bodies {
		resp := f.do(t, call{method: "POST", route: b.route, path: b.route, body: b.body, tok: serviceToken})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s with a 3000-character %s: %d %.300s, want 400", b.route, b.field, resp.StatusCode, resp.Body)
			continue
		}
		if fs := fieldsOf(problem(t, resp)); !slices.Contains(fs, b.field) {
			t.Errorf("%s with a 3000-character %s: fields %v", b.route, b.field, fs)
		}
	}
	resp := f.do(t, call{method: "POST", route: "/v1/purchases", path: "/v1/purchases", tok: token{"sub": long, "scope": "members:write"},
		body: purchaseBody("o-"+uniq(), m, map[string]any{"sku": "S", "quantity": 1, "amount": 100})})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("service sub<3000> purchase: %d %.300s, want 400", resp.StatusCode, resp.Body)
	}
}
