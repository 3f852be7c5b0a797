package main

import (
	"net/http"
	"slices"
	"testing"
)

// TestEveryErrorOfARequestIsReported: type errors name their JSON path
// with indexes and come with the validation errors of the fields that did
// decode, in one problem.
func TestEveryErrorOfARequestIsReported(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := []struct {
		route, body string
		want        []string
	}{
		{"/v1/purchases", `{"order_id":"o-1","member_id":"m-1","channel":"bogus","currency":"CNY","purchased_at":"yesterday",
			"lines":[{"sku":"S","quantity":1,"amount":100},{"sku":"T","quantity":"two","amount":100},{"sku":"","quantity":1,"amount":100}]}`,
			[]string{"purchased_at", "lines[1].quantity", "channel", "lines[2].sku"}},
		{"/v1/returns", `{"return_id":"r 1","order_id":"o-1","returned_at":"now","lines":[{"line_id":"S","quantity":"1"}]}`,
			[]string{"returned_at", "lines[0].quantity", "return_id"}},
	}
	for _, c := range cases {
		resp := f.do(t, call{method: "POST", route: c.route, path: c.route, body: c.body, tok: serviceToken})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", c.route, resp.StatusCode, resp.Body)
			continue
		}
		got := fieldsOf(problem(t, resp))
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: fields %v, want %v (%s)", c.route, got, want, resp.Body)
		}
	}
	m := newMember()
	resp := f.do(t, call{method: "POST", route: adjustmentsRoute, pathParams: at(m), tok: staffToken,
		body: `{"amount":"10","reason_code":"nope","note":""}`})
	got := fieldsOf(problem(t, resp))
	slices.Sort(got)
	if resp.StatusCode != http.StatusBadRequest || !slices.Equal(got, []string{"amount", "reason_code"}) {
		t.Errorf("adjustment: %d fields %v (%s), want 400 [amount reason_code]", resp.StatusCode, got, resp.Body)
	}
}
