package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestSpecAndServerAgree: requests at the edges of what docs/openapi.json
// accepts get the answer the document promises. Every exchange is also
// validated by kin-openapi (fixture.do), which fails a request the
// document refuses and the server accepts; the statuses here fail the
// opposite, a request the document accepts and the server refuses.
func TestSpecAndServerAgree(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	purchase := func(line map[string]any) string {
		b, _ := json.Marshal(map[string]any{"order_id": "o-" + uniq(), "member_id": m, "channel": "online", "currency": "CNY",
			"lines": []map[string]any{line}})
		return string(b)
	}
	cases := []struct {
		name, route, body string
		status            int
	}{
		{"amount at the cap", "/v1/purchases", purchase(map[string]any{"sku": "S", "quantity": 1, "amount": int64(100_000_000_000)}), http.StatusAccepted},
		{"amount over the cap", "/v1/purchases", purchase(map[string]any{"sku": "S", "quantity": 1, "amount": int64(100_000_000_001)}), http.StatusBadRequest},
		{"quantity at the cap", "/v1/purchases", purchase(map[string]any{"sku": "S", "quantity": 100000, "amount": 100}), http.StatusAccepted},
		{"quantity over the cap", "/v1/purchases", purchase(map[string]any{"sku": "S", "quantity": 100001, "amount": 100}), http.StatusBadRequest},
		{"64-character CJK sku, category and line", "/v1/purchases", purchase(map[string]any{"sku": strings.Repeat("货", 64),
			"category": strings.Repeat("类", 64), "line_id": strings.Repeat("行", 64), "quantity": 1, "amount": 100}), http.StatusAccepted},
		{"65-character CJK category", "/v1/purchases", purchase(map[string]any{"sku": "S", "category": strings.Repeat("类", 65),
			"quantity": 1, "amount": 100}), http.StatusBadRequest},
		{"128-character member id", "/v1/purchases", strings.Replace(purchase(map[string]any{"sku": "S", "quantity": 1, "amount": 100}),
			m, strings.Repeat("m", 128), 1), http.StatusAccepted},
	}
	for _, c := range cases {
		resp := f.do(t, call{method: "POST", route: c.route, path: c.route, body: c.body, tok: serviceToken})
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, resp.Body, c.status)
		}
	}
	for _, amount := range []int64{100_000_000, -100_000_000, 100_000_001} {
		want := http.StatusCreated
		if amount > 100_000_000 {
			want = http.StatusBadRequest
		}
		if amount < 0 {
			f.grant(t, m, 100_000_000, f.h.now())
		}
		resp := f.do(t, call{method: "POST", route: adjustmentsRoute, pathParams: at(m), tok: staffToken,
			body: fmt.Sprintf(`{"amount":%d,"reason_code":"goodwill"}`, amount)})
		if resp.StatusCode != want {
			t.Errorf("adjustment of %d: %d %s, want %d", amount, resp.StatusCode, resp.Body, want)
		}
	}
}
