package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestFreeTextRefusedOnceErased: a note or reason posted while an erasure
// runs (the member looked active when checked) cannot outlive the erasure:
// once the member's free text was erased, a posting carrying free text is
// refused and nothing is written.
func TestFreeTextRefusedOnceErased(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	f.grant(t, m, 100, time.Now())
	if _, err := f.store.EraseFreeText(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, route, body string
	}{
		{"adjustment note", adjustmentsRoute, `{"amount":10,"reason_code":"other","note":"called about Li Wei's parcel"}`},
		{"redemption reason", redemptionsRoute, `{"amount":10,"reason":"gift for my sister"}`},
	}
	for _, c := range cases {
		r := f.do(t, call{method: "POST", route: c.route, pathParams: at(m), tok: staffToken, body: c.body, headers: key("late-" + uniq())})
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, `"field":"id"`) {
			t.Errorf("%s after erasure: %d %s", c.name, r.StatusCode, r.Body)
		}
	}
	if b := f.balance(t, m); b.Available != 100 || b.Version != 1 {
		t.Errorf("a refused posting changed the account: %+v", b)
	}
	// Postings without free text still work (points-api refuses erased
	// members before this, through the members directory).
	r := f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: staffToken, body: `{"reward_id":"R1","cost":10}`, headers: key("late-" + uniq())})
	if r.StatusCode != http.StatusCreated {
		t.Errorf("reward redemption: %d %s", r.StatusCode, r.Body)
	}
}
