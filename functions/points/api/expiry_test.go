package main

import (
	"net/http"
	"testing"
	"time"
)

// TestExpiredPointsAreNotSpendableBeforeTheSweep: points past their expiry
// are neither shown as available ("spendable now") nor redeemable, even
// though the nightly run has not written them off yet.
func TestExpiredPointsAreNotSpendableBeforeTheSweep(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	now := time.Now().UTC()
	f.grant(t, m, 500, now.AddDate(0, -policy.ExpiryMonths-2, 0)) // expired a month or more ago, not swept
	live := f.grant(t, m, 100, now)
	if b := f.balance(t, m); b.Available != 100 {
		t.Errorf("available = %d, want 100 (the expired 500 are not spendable)", b.Available)
	}
	resp := f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: memberToken(m),
		body: `{"amount":101,"reason":"gift"}`, headers: key("redeem-" + uniq())})
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("redeeming expired points: %d %s", resp.StatusCode, resp.Body)
	}
	if p := problem(t, resp); p["available"] != float64(100) {
		t.Errorf("problem = %v, want available 100", p)
	}
	resp = f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: memberToken(m),
		body: `{"amount":100,"reason":"gift"}`, headers: key("redeem-" + uniq())})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("redeeming the live points: %d %s", resp.StatusCode, resp.Body)
	}
	p := decode[Posting](t, resp)
	if len(p.Entry.Lots) != 1 || p.Entry.Lots[0].Lot != live.Lots[0].Lot || p.Balance.Available != 0 {
		t.Errorf("posting = %+v", p)
	}
}
