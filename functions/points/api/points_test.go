package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/member"
	"clientele/shared/points"
)

const (
	balanceRoute     = "/v1/members/{id}/points"
	entriesRoute     = "/v1/members/{id}/points/entries"
	redemptionsRoute = "/v1/members/{id}/points/redemptions"
	adjustmentsRoute = "/v1/members/{id}/points/adjustments"
)

func TestBalanceOfMemberWithoutAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	resp := f.do(t, call{method: "GET", route: balanceRoute, pathParams: at(m), tok: memberToken(m)})
	if resp.StatusCode != http.StatusOK || resp.Headers["ETag"] != `"0"` {
		t.Fatalf("balance: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	b := decode[Balance](t, resp)
	if b.MemberID != m || b.Available != 0 || b.Pending != 0 || b.Tier != "member" || b.NextTier != "silver" ||
		b.PointsToNextTier != 1000 || b.PointsToKeepTier != 0 || b.Version != 0 {
		t.Errorf("balance = %+v", b)
	}
	for _, want := range []string{`"expiring":[]`, `"tier_history":[]`} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("body lacks %s: %s", want, resp.Body)
		}
	}
	if strings.Contains(resp.Body, "tier_since") {
		t.Errorf("an account that does not exist has a tier_since: %s", resp.Body)
	}
}

func TestBalanceShowsPendingTiersAndExpiringLots(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	// An old bonus whose lot expires soon, and a purchase worth 1200 points
	// (pending during the return window) that lifts the member to silver.
	old := time.Now().AddDate(-2, 0, 0)
	seed := f.grant(t, m, 300, old)
	f.earn(t, points.Purchase{OrderID: "o-" + uniq(), MemberID: m, Channel: "online", Currency: "CNY",
		Lines: []points.PurchaseLine{{SKU: "shoe", Quantity: 1, Amount: 120000}}})
	expiry := policy.ExpiryFor(old)
	f.h.Now = func() time.Time { return expiry.Add(-10 * 24 * time.Hour) }

	b := f.balance(t, m)
	if b.Available != 300 || b.Pending != 1200 || b.LifetimeEarned != 1200 {
		t.Errorf("amounts = %+v", b)
	}
	if b.Tier != "silver" || len(b.TierHistory) != 1 || b.TierHistory[0].From != "member" || b.TierHistory[0].To != "silver" {
		t.Errorf("tier = %s, history %+v", b.Tier, b.TierHistory)
	}
	if b.QualifyingPoints != 1200 || b.NextTier != "gold" || b.PointsToNextTier != 5000-1200 || b.PointsToKeepTier != 0 {
		t.Errorf("tier progress = %+v", b)
	}
	if len(b.Expiring) != 1 || b.Expiring[0].ID != seed.Lots[0].Lot || b.Expiring[0].Amount != 300 ||
		!b.Expiring[0].ExpiresAt.Equal(expiry) || b.Expiring[0].Pending {
		t.Errorf("expiring = %+v, want the 300-point lot expiring %s", b.Expiring, expiry)
	}
	if b.Version != 2 || b.TierSince.IsZero() {
		t.Errorf("version %d, tier since %s", b.Version, b.TierSince)
	}
}

func TestEntriesPaginateNewestFirst(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	base := time.Now().Add(-time.Hour)
	var ids []string
	for i := range 7 {
		e := f.grant(t, m, int64(10+i), base.Add(time.Duration(i)*time.Second))
		ids = append(ids, e.ID)
	}
	slices.Reverse(ids)
	var got []string
	var cursors []string
	cursor := ""
	for page := 0; ; page++ {
		q := map[string]string{"limit": "3"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		resp := f.do(t, call{method: "GET", route: entriesRoute, pathParams: at(m), tok: memberToken(m), query: q})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("page %d: %d %s", page, resp.StatusCode, resp.Body)
		}
		p := decode[EntriesPage](t, resp)
		if len(p.Entries) > 3 {
			t.Fatalf("page %d has %d entries", page, len(p.Entries))
		}
		for _, e := range p.Entries {
			got = append(got, e.ID)
			if e.MemberID != m || e.Kind != points.Bonus {
				t.Errorf("entry = %+v", e)
			}
		}
		if p.NextCursor == "" {
			break
		}
		cursors = append(cursors, p.NextCursor)
		cursor = p.NextCursor
		if page > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("entries %v, want newest first %v", got, ids)
	}
	// The default page holds all 7.
	all := decode[EntriesPage](t, f.do(t, call{method: "GET", route: entriesRoute, pathParams: at(m), tok: staffToken}))
	if len(all.Entries) != 7 || all.NextCursor != "" {
		t.Errorf("default page: %d entries, cursor %q", len(all.Entries), all.NextCursor)
	}

	// Cursors are bound to the member and cannot be edited.
	other := newMember()
	f.grant(t, other, 5, base)
	tampered := []byte(cursors[0])
	if tampered[2] == 'A' {
		tampered[2] = 'B'
	} else {
		tampered[2] = 'A'
	}
	bad := []struct {
		name   string
		member string
		query  map[string]string
		field  string
	}{
		{"foreign cursor", other, map[string]string{"cursor": cursors[0]}, "cursor"},
		{"tampered cursor", m, map[string]string{"cursor": string(tampered)}, "cursor"},
		{"garbage cursor", m, map[string]string{"cursor": "not-a-cursor"}, "cursor"},
		{"limit zero", m, map[string]string{"limit": "0"}, "limit"},
		{"limit too large", m, map[string]string{"limit": "101"}, "limit"},
		{"limit not a number", m, map[string]string{"limit": "ten"}, "limit"},
	}
	for _, c := range bad {
		resp := f.do(t, call{method: "GET", route: entriesRoute, pathParams: at(c.member), tok: staffToken, query: c.query})
		if resp.StatusCode != http.StatusBadRequest || !slices.Contains(fieldsOf(problem(t, resp)), c.field) {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, resp.Body)
		}
	}
	// Another member's token cannot list this ledger.
	resp := f.do(t, call{method: "GET", route: entriesRoute, pathParams: at(m), tok: memberToken(other)})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign member token: %d", resp.StatusCode)
	}
	// A member without entries gets an empty list.
	empty := f.do(t, call{method: "GET", route: entriesRoute, pathParams: at(newMember()), tok: staffToken})
	if empty.StatusCode != 200 || empty.Body != `{"entries":[]}` {
		t.Errorf("empty ledger: %d %s", empty.StatusCode, empty.Body)
	}
}

func TestRedeemRewardAndAmount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	f.grant(t, m, 500, time.Now())
	k := "redeem-" + uniq()
	resp := f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: memberToken(m),
		body: `{"reward_id":"COFFEE-1","cost":120}`, headers: key(k)})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("redeem: %d %s", resp.StatusCode, resp.Body)
	}
	p := decode[Posting](t, resp)
	e := p.Entry
	if e.Kind != points.Redeem || e.Amount != -120 || e.Reason != "reward:COFFEE-1" || e.SourceID != "redemption:"+k ||
		e.Actor != "member:"+m || e.MemberID != m || len(e.Lots) != 1 || e.Lots[0].Amount != 120 {
		t.Errorf("entry = %+v", e)
	}
	if p.Balance.Available != 380 || p.Balance.Version != 2 {
		t.Errorf("balance = %+v", p.Balance)
	}
	resp = f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: staffToken,
		body: `{"amount":80,"reason":"donation to the river clean-up"}`, headers: key("redeem-" + uniq())})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("redeem amount: %d %s", resp.StatusCode, resp.Body)
	}
	p = decode[Posting](t, resp)
	if p.Entry.Amount != -80 || p.Entry.Reason != "donation to the river clean-up" || p.Entry.Actor != "staff:staff-1" || p.Balance.Available != 300 {
		t.Errorf("posting = %+v", p)
	}
	if b := f.balance(t, m); b.Available != 300 {
		t.Errorf("balance after redemptions = %d", b.Available)
	}
}

func TestRedeemBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	other := newMember()
	f.grant(t, m, 200, time.Now())
	cases := []struct {
		name   string
		body   string
		tok    token
		noKey  bool
		status int
		field  string
	}{
		{"missing Idempotency-Key", `{"reward_id":"R1","cost":10}`, memberToken(m), true, 428, "Idempotency-Key"},
		{"zero cost", `{"reward_id":"R1","cost":0}`, memberToken(m), false, 400, "cost"},
		{"negative cost", `{"reward_id":"R1","cost":-5}`, memberToken(m), false, 400, "cost"},
		{"fractional cost", `{"reward_id":"R1","cost":1.5}`, memberToken(m), false, 400, "cost"},
		{"cost without reward", `{"cost":10}`, memberToken(m), false, 400, "reward_id"},
		{"reward without cost", `{"reward_id":"R1"}`, memberToken(m), false, 400, "cost"},
		{"bad reward id", `{"reward_id":"no spaces","cost":10}`, memberToken(m), false, 400, "reward_id"},
		{"zero amount", `{"amount":0,"reason":"x"}`, memberToken(m), false, 400, "amount"},
		{"negative amount", `{"amount":-10,"reason":"x"}`, memberToken(m), false, 400, "amount"},
		{"amount without reason", `{"amount":10}`, memberToken(m), false, 400, "reason"},
		{"both forms", `{"reward_id":"R1","cost":10,"amount":10,"reason":"x"}`, memberToken(m), false, 400, "amount"},
		{"empty object", `{}`, memberToken(m), false, 400, "body"},
		{"unknown field", `{"amount":10,"reason":"x","coupon":"y"}`, memberToken(m), false, 400, "coupon"},
		{"above available (reward)", `{"reward_id":"TV","cost":201}`, memberToken(m), false, 409, "cost"},
		{"above available (amount)", `{"amount":1000,"reason":"x"}`, staffToken, false, 409, "amount"},
		{"another member's points", `{"amount":10,"reason":"x"}`, memberToken(other), false, 403, ""},
		{"service token", `{"amount":10,"reason":"x"}`, serviceToken, false, 403, ""},
		{"no token", `{"amount":10,"reason":"x"}`, nil, false, 401, ""},
	}
	for _, c := range cases {
		h := key("bad-" + uniq())
		if c.noKey {
			h = nil
		}
		resp := f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: c.tok, body: c.body, headers: h})
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, resp.StatusCode, c.status, resp.Body)
			continue
		}
		p := problem(t, resp)
		if c.field != "" && !slices.Contains(fieldsOf(p), c.field) {
			t.Errorf("%s: fields %v do not name %q", c.name, fieldsOf(p), c.field)
		}
		if c.status == 409 && p["available"] != float64(200) {
			t.Errorf("%s: available = %v, want 200", c.name, p["available"])
		}
	}
	if b := f.balance(t, m); b.Available != 200 || b.Version != 1 {
		t.Errorf("a rejected redemption changed the account: %+v", b)
	}
	// A member with no account has nothing to redeem.
	none := newMember()
	resp := f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(none), tok: memberToken(none),
		body: `{"amount":1,"reason":"x"}`, headers: key("none-" + uniq())})
	if resp.StatusCode != 409 || problem(t, resp)["available"] != float64(0) {
		t.Errorf("redeeming without an account: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestRedeemIdempotentReplay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	f.grant(t, m, 100, time.Now())
	k := key("replay-" + uniq())
	body := `{"reward_id":"CAP","cost":30}`
	first := f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: memberToken(m), body: body, headers: k})
	again := f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: memberToken(m), body: body, headers: k})
	if first.StatusCode != 201 || again.StatusCode != 201 || first.Body != again.Body || again.Headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("replay differs:\n%d %s\n%d %s", first.StatusCode, first.Body, again.StatusCode, again.Body)
	}
	if first.Headers["Content-Type"] != again.Headers["Content-Type"] {
		t.Errorf("replayed headers differ: %v vs %v", first.Headers, again.Headers)
	}
	other := f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: memberToken(m), body: `{"reward_id":"CAP","cost":31}`, headers: k})
	if other.StatusCode != 409 || !slices.Contains(fieldsOf(problem(t, other)), "Idempotency-Key") {
		t.Errorf("same key, other body: %d %s", other.StatusCode, other.Body)
	}
	if b := f.balance(t, m); b.Available != 70 {
		t.Errorf("available = %d after one redemption and a replay, want 70", b.Available)
	}
	page := decode[EntriesPage](t, f.do(t, call{method: "GET", route: entriesRoute, pathParams: at(m), tok: memberToken(m)}))
	if len(page.Entries) != 2 {
		t.Errorf("%d entries, want the grant and one redemption", len(page.Entries))
	}
	// A failed redemption releases its key: the same key may be retried
	// once the member has the points.
	k2 := key("retry-" + uniq())
	body2 := `{"amount":150,"reason":"gift"}`
	if r := f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: memberToken(m), body: body2, headers: k2}); r.StatusCode != 409 {
		t.Fatalf("over-redemption: %d %s", r.StatusCode, r.Body)
	}
	f.grant(t, m, 100, time.Now())
	if r := f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: memberToken(m), body: body2, headers: k2}); r.StatusCode != 201 {
		t.Errorf("retry after the failure: %d %s", r.StatusCode, r.Body)
	}
	bad := f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: memberToken(m), body: body, headers: key("has space")})
	if bad.StatusCode != 400 || !slices.Contains(fieldsOf(problem(t, bad)), "Idempotency-Key") {
		t.Errorf("malformed key: %d %s", bad.StatusCode, bad.Body)
	}
}

func TestConcurrentRedemptionsNeverOverdraw(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	const initial, n = 1000, 32
	f.grant(t, m, initial, time.Now())
	statuses := make([]int, n)
	bodies := make([]string, n)
	costs := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		costs[i] = int64(20 + 5*(i%8)) // 20..55: Σ ≈ 1200 > 1000, so some must fail
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]any{"amount": costs[i], "reason": "race"})
			r := f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: memberToken(m),
				body: string(body), headers: key("race-" + uniq())})
			statuses[i], bodies[i] = r.StatusCode, r.Body
		}()
	}
	wg.Wait()
	var redeemed int64
	ok := 0
	for i, st := range statuses {
		switch st {
		case 201:
			ok++
			redeemed += costs[i]
		case 409:
			// Refused for want of points, never for losing a race.
			var p struct {
				Available *int64 `json:"available"`
			}
			_ = json.Unmarshal([]byte(bodies[i]), &p)
			if p.Available == nil || *p.Available >= costs[i] {
				t.Errorf("request %d for %d points: 409 without a shortfall: %s", i, costs[i], bodies[i])
			}
		default:
			t.Errorf("request %d: status %d: %s", i, st, bodies[i])
		}
	}
	if redeemed > initial {
		t.Fatalf("redeemed %d of %d points", redeemed, initial)
	}
	b := f.balance(t, m)
	if b.Available != initial-redeemed {
		t.Fatalf("available %d, want %d − %d", b.Available, initial, redeemed)
	}
	page := decode[EntriesPage](t, f.do(t, call{method: "GET", route: entriesRoute, pathParams: at(m), tok: staffToken,
		query: map[string]string{"limit": "100"}}))
	var sum int64
	for _, e := range page.Entries {
		sum += e.Amount
	}
	if len(page.Entries) != ok+1 || sum != b.Available {
		t.Errorf("%d entries summing to %d; want %d entries summing to %d", len(page.Entries), sum, ok+1, b.Available)
	}
	t.Logf("%d of %d redemptions succeeded, %d points left", ok, n, b.Available)
}

func TestAdjustments(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	adjust := func(body string, tok token, h map[string]string) (int, string) {
		r := f.do(t, call{method: "POST", route: adjustmentsRoute, pathParams: at(m), tok: tok, body: body, headers: h})
		return r.StatusCode, r.Body
	}
	st, body := adjust(`{"amount":250,"reason_code":"goodwill","note":"late delivery"}`, staffToken, nil)
	if st != 201 {
		t.Fatalf("credit: %d %s", st, body)
	}
	var p Posting
	_ = json.Unmarshal([]byte(body), &p)
	if p.Entry.Kind != points.Adjust || p.Entry.Amount != 250 || p.Entry.Reason != "goodwill" || p.Entry.Note != "late delivery" ||
		p.Entry.Actor != "staff:staff-1" || !strings.HasPrefix(p.Entry.SourceID, "adjustment:") || p.Balance.Available != 250 {
		t.Errorf("credit posting = %+v", p)
	}
	k := key("adj-" + uniq())
	st, first := adjust(`{"amount":-100,"reason_code":"correction"}`, staffToken, k)
	if st != 201 {
		t.Fatalf("debit: %d %s", st, first)
	}
	_ = json.Unmarshal([]byte(first), &p)
	if p.Entry.Amount != -100 || p.Entry.Reason != "correction" || p.Entry.SourceID != "adjustment:"+k["Idempotency-Key"] || p.Balance.Available != 150 {
		t.Errorf("debit posting = %+v", p)
	}
	if st, again := adjust(`{"amount":-100,"reason_code":"correction"}`, staffToken, k); st != 201 || again != first {
		t.Errorf("replayed adjustment differs: %d %s", st, again)
	}
	cases := []struct {
		name   string
		body   string
		tok    token
		status int
		field  string
	}{
		{"without reason", `{"amount":10}`, staffToken, 400, "reason_code"},
		{"empty reason", `{"amount":10,"reason_code":""}`, staffToken, 400, "reason_code"},
		{"unknown reason", `{"amount":10,"reason_code":"because"}`, staffToken, 400, "reason_code"},
		{"other without note", `{"amount":10,"reason_code":"other"}`, staffToken, 400, "note"},
		{"zero amount", `{"amount":0,"reason_code":"goodwill"}`, staffToken, 400, "amount"},
		{"missing amount", `{"reason_code":"goodwill"}`, staffToken, 400, "amount"},
		{"fractional amount", `{"amount":2.5,"reason_code":"goodwill"}`, staffToken, 400, "amount"},
		{"huge amount", `{"amount":100000000000,"reason_code":"migration"}`, staffToken, 400, "amount"},
		{"debit above available", `{"amount":-151,"reason_code":"fraud"}`, staffToken, 409, "amount"},
		{"member token", `{"amount":10,"reason_code":"goodwill"}`, memberToken(m), 403, ""},
		{"service token", `{"amount":10,"reason_code":"goodwill"}`, serviceToken, 403, ""},
	}
	for _, c := range cases {
		r := f.do(t, call{method: "POST", route: adjustmentsRoute, pathParams: at(m), tok: c.tok, body: c.body})
		if r.StatusCode != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, r.StatusCode, c.status, r.Body)
			continue
		}
		pr := problem(t, r)
		if c.field != "" && !slices.Contains(fieldsOf(pr), c.field) {
			t.Errorf("%s: fields %v do not name %q", c.name, fieldsOf(pr), c.field)
		}
		if c.status == 409 && pr["available"] != float64(150) {
			t.Errorf("%s: available = %v", c.name, pr["available"])
		}
	}
	if b := f.balance(t, m); b.Available != 150 || b.Version != 2 {
		t.Errorf("balance = %+v", b)
	}
}

func purchaseBody(order, member string, lines ...map[string]any) string {
	if len(lines) == 0 {
		lines = []map[string]any{{"sku": "SKU-1", "category": "shoes", "quantity": 2, "amount": 59800}}
	}
	b, _ := json.Marshal(map[string]any{"order_id": order, "member_id": member, "store": "SH-001", "channel": "store",
		"currency": "CNY", "lines": lines})
	return string(b)
}

func TestPurchaseIsQueued(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	order := "POS-" + uniq()
	resp := f.do(t, call{method: "POST", route: "/v1/purchases", body: purchaseBody(order, m), tok: serviceToken})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("purchase: %d %s", resp.StatusCode, resp.Body)
	}
	acc := decode[Accepted](t, resp)
	evs := f.pub.ofType(event.TypePointsPurchase)
	if acc.Status != "accepted" || acc.OrderID != order || len(evs) != 1 || evs[0].ID != acc.EventID || evs[0].Source != service {
		t.Fatalf("accepted %+v, events %+v", acc, evs)
	}
	var p points.Purchase
	if err := json.Unmarshal(evs[0].Data, &p); err != nil {
		t.Fatal(err)
	}
	if p.OrderID != order || p.MemberID != m || p.At.IsZero() || len(p.Lines) != 1 || p.Lines[0].LineID != "SKU-1" || p.Lines[0].Amount != 59800 {
		t.Errorf("event data = %+v", p)
	}
	// A retry is accepted again; the worker applies the order once.
	if r := f.do(t, call{method: "POST", route: "/v1/purchases", body: purchaseBody(order, m), tok: staffToken}); r.StatusCode != 202 {
		t.Errorf("retry: %d %s", r.StatusCode, r.Body)
	}
	// A queue that is down is a 503 the POS retries.
	f.pub.mu.Lock()
	f.pub.fail = true
	f.pub.mu.Unlock()
	if r := f.do(t, call{method: "POST", route: "/v1/purchases", body: purchaseBody("POS-"+uniq(), m), tok: serviceToken}); r.StatusCode != 503 {
		t.Errorf("queue down: %d %s", r.StatusCode, r.Body)
	}
}

func TestPurchaseBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	line := func(kv ...any) map[string]any {
		l := map[string]any{"sku": "SKU-1", "quantity": 1, "amount": 1000}
		for i := 0; i+1 < len(kv); i += 2 {
			l[kv[i].(string)] = kv[i+1]
		}
		return l
	}
	withField := func(k string, v any) string {
		var b map[string]any
		_ = json.Unmarshal([]byte(purchaseBody("POS-"+uniq(), m)), &b)
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		out, _ := json.Marshal(b)
		return string(out)
	}
	cases := []struct {
		name   string
		body   string
		tok    token
		status int
		field  string
	}{
		{"zero amount", purchaseBody("POS-"+uniq(), m, line("amount", 0)), serviceToken, 400, "lines[0].amount"},
		{"negative amount", purchaseBody("POS-"+uniq(), m, line("amount", -500)), serviceToken, 400, "lines[0].amount"},
		{"zero quantity", purchaseBody("POS-"+uniq(), m, line("quantity", 0)), serviceToken, 400, "lines[0].quantity"},
		{"negative quantity", purchaseBody("POS-"+uniq(), m, line(), line("sku", "B", "quantity", -1)), serviceToken, 400, "lines[1].quantity"},
		{"fractional amount", purchaseBody("POS-"+uniq(), m, line("amount", 10.5)), serviceToken, 400, "lines[0].amount"},
		{"missing sku", purchaseBody("POS-"+uniq(), m, line("sku", "")), serviceToken, 400, "lines[0].sku"},
		{"duplicate line", purchaseBody("POS-"+uniq(), m, line(), line()), serviceToken, 400, "lines[1].line_id"},
		{"unknown currency", withField("currency", "XYZ"), serviceToken, 400, "currency"},
		{"missing currency", withField("currency", nil), serviceToken, 400, "currency"},
		{"missing order id", withField("order_id", nil), serviceToken, 400, "order_id"},
		{"bad order id", withField("order_id", "has space"), serviceToken, 400, "order_id"},
		{"missing member", withField("member_id", nil), serviceToken, 400, "member_id"},
		{"bad channel", withField("channel", "fax"), serviceToken, 400, "channel"},
		{"store purchase without store", withField("store", nil), serviceToken, 400, "store"},
		{"no lines", withField("lines", []any{}), serviceToken, 400, "lines"},
		{"in the future", withField("purchased_at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), serviceToken, 400, "purchased_at"},
		{"unknown field", withField("coupon", "X"), serviceToken, 400, "coupon"},
		{"malformed", `{"order_id":`, serviceToken, 400, "body"},
		{"member token", purchaseBody("POS-"+uniq(), m), memberToken(m), 403, ""},
		{"no token", purchaseBody("POS-"+uniq(), m), nil, 401, ""},
	}
	for _, c := range cases {
		r := f.do(t, call{method: "POST", route: "/v1/purchases", body: c.body, tok: c.tok})
		if r.StatusCode != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, r.StatusCode, c.status, r.Body)
			continue
		}
		if p := problem(t, r); c.field != "" && !slices.Contains(fieldsOf(p), c.field) {
			t.Errorf("%s: fields %v do not name %q", c.name, fieldsOf(p), c.field)
		}
	}
	if n := len(f.pub.ofType(event.TypePointsPurchase)); n != 0 {
		t.Errorf("%d events published for rejected purchases", n)
	}
}

func TestReturns(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	order := "POS-" + uniq()
	f.earn(t, points.Purchase{OrderID: order, MemberID: m, Store: "SH-001", Channel: "store", Currency: "CNY",
		Lines: []points.PurchaseLine{{SKU: "SHOE", Quantity: 2, Amount: 60000}, {SKU: "SOCK", Quantity: 3, Amount: 3000}}})
	ret := func(id, order string, lines string, extra string) string {
		return `{"return_id":"` + id + `","order_id":"` + order + `","lines":` + lines + extra + `}`
	}
	rid := "RET-" + uniq()
	resp := f.do(t, call{method: "POST", route: "/v1/returns", body: ret(rid, order, `[{"line_id":"SHOE","quantity":1}]`, ""), tok: serviceToken})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("return: %d %s", resp.StatusCode, resp.Body)
	}
	acc := decode[Accepted](t, resp)
	evs := f.pub.ofType(event.TypePointsReturn)
	if acc.Status != "accepted" || acc.ReturnID != rid || acc.OrderID != order || len(evs) != 1 || evs[0].ID != acc.EventID {
		t.Fatalf("accepted %+v, events %d", acc, len(evs))
	}
	var r points.Return
	_ = json.Unmarshal(evs[0].Data, &r)
	if r.ReturnID != rid || r.MemberID != m || r.At.IsZero() || len(r.Lines) != 1 {
		t.Errorf("event data = %+v", r)
	}

	cases := []struct {
		name   string
		body   string
		tok    token
		status int
		field  string
	}{
		// A return for an order not applied yet is parked (TestReturnBeforeItsOrderIsParked).
		{"unknown line", ret("RET-"+uniq(), order, `[{"line_id":"HAT","quantity":1}]`, ""), serviceToken, 400, "lines[0].line_id"},
		{"too many units", ret("RET-"+uniq(), order, `[{"line_id":"SOCK","quantity":4}]`, ""), serviceToken, 400, "lines[0].quantity"},
		{"too many units over lines", ret("RET-"+uniq(), order, `[{"line_id":"SHOE","quantity":2},{"line_id":"SHOE","quantity":1}]`, ""), staffToken, 400, "lines[1].quantity"},
		{"zero quantity", ret("RET-"+uniq(), order, `[{"line_id":"SHOE","quantity":0}]`, ""), serviceToken, 400, "lines[0].quantity"},
		{"negative quantity", ret("RET-"+uniq(), order, `[{"line_id":"SHOE","quantity":-1}]`, ""), serviceToken, 400, "lines[0].quantity"},
		{"no lines", ret("RET-"+uniq(), order, `[]`, ""), serviceToken, 400, "lines"},
		{"missing return id", ret("", order, `[{"line_id":"SHOE","quantity":1}]`, ""), serviceToken, 400, "return_id"},
		{"another member's order", ret("RET-"+uniq(), order, `[{"line_id":"SHOE","quantity":1}]`, `,"member_id":"`+newMember()+`"`), serviceToken, 400, "member_id"},
		{"member token", ret("RET-"+uniq(), order, `[{"line_id":"SHOE","quantity":1}]`, ""), memberToken(m), 403, ""},
	}
	for _, c := range cases {
		r := f.do(t, call{method: "POST", route: "/v1/returns", body: c.body, tok: c.tok})
		if r.StatusCode != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, r.StatusCode, c.status, r.Body)
			continue
		}
		if p := problem(t, r); c.field != "" && !slices.Contains(fieldsOf(p), c.field) {
			t.Errorf("%s: fields %v do not name %q", c.name, fieldsOf(p), c.field)
		}
	}
	if n := len(f.pub.ofType(event.TypePointsReturn)); n != 1 {
		t.Errorf("%d return events, want only the valid one", n)
	}

	// Once the worker applied the return, the units are gone: a retry of
	// that return is answered without queueing, another return of the
	// same units is refused.
	f.applyReturn(t, points.Return{ReturnID: rid, OrderID: order, MemberID: m, At: time.Now(), Lines: []points.ReturnLine{{LineID: "SHOE", Quantity: 1}}})
	again := f.do(t, call{method: "POST", route: "/v1/returns", body: ret(rid, order, `[{"line_id":"SHOE","quantity":1}]`, ""), tok: serviceToken})
	if again.StatusCode != 200 || decode[Accepted](t, again).Status != "already_applied" {
		t.Errorf("retry of an applied return: %d %s", again.StatusCode, again.Body)
	}
	more := f.do(t, call{method: "POST", route: "/v1/returns", body: ret("RET-"+uniq(), order, `[{"line_id":"SHOE","quantity":2}]`, ""), tok: serviceToken})
	if more.StatusCode != 400 || !slices.Contains(fieldsOf(problem(t, more)), "lines[0].quantity") {
		t.Errorf("returning more than is left: %d %s", more.StatusCode, more.Body)
	}
	if n := len(f.pub.ofType(event.TypePointsReturn)); n != 1 {
		t.Errorf("%d return events after the retries, want 1", n)
	}
}

func TestLogsCarryRequestIDs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	f.grant(t, m, 50, time.Now())
	f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: memberToken(m),
		body: `{"amount":10,"reason":"x"}`, headers: key("log-" + uniq())})
	f.do(t, call{method: "POST", route: adjustmentsRoute, pathParams: at(m), tok: staffToken,
		body: `{"amount":5,"reason_code":"other","note":"called about Li Wei's parcel"}`})
	f.mu.Lock()
	logs := f.logs.String()
	f.mu.Unlock()
	if !strings.Contains(logs, `"request_id":"req-`) || !strings.Contains(logs, `"msg":"points redeemed"`) || !strings.Contains(logs, m) {
		t.Fatalf("logs lack request ids or member ids:\n%s", logs)
	}
	if strings.Contains(logs, "Li Wei") {
		t.Errorf("a staff note reached the logs:\n%s", logs)
	}
}

// directory is a members store with a fixed set of members.
type directory map[string]member.Status

func (d directory) Status(_ context.Context, id string) (member.Status, error) {
	st, ok := d[id]
	if !ok {
		return "", fault.New(fault.NotFound, "no member %s", id)
	}
	return st, nil
}

func TestUnknownOrErasedMembersGetNoPoints(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	active, erased, unknown := "act-"+uniq(), "era-"+uniq(), "unk-"+uniq()
	f.h.Members = directory{active: member.Active, erased: member.Erased}
	f.grant(t, erased, 100, time.Now())
	purchaseFor := func(id string) string {
		return `{"order_id":"O-` + uniq() + `","member_id":"` + id + `","channel":"online","currency":"CNY","lines":[{"sku":"a","quantity":1,"amount":1000}]}`
	}
	cases := []struct {
		name   string
		c      call
		status int
		field  string
	}{
		{"purchase, unknown member", call{method: "POST", route: "/v1/purchases", path: "/v1/purchases", tok: serviceToken, body: purchaseFor(unknown)}, 404, "member_id"},
		{"purchase, erased member", call{method: "POST", route: "/v1/purchases", path: "/v1/purchases", tok: serviceToken, body: purchaseFor(erased)}, 409, "member_id"},
		{"purchase, active member", call{method: "POST", route: "/v1/purchases", path: "/v1/purchases", tok: serviceToken, body: purchaseFor(active)}, 202, ""},
		{"adjustment, unknown member", call{method: "POST", route: "/v1/members/{id}/points/adjustments", path: "/x", tok: staffToken,
			pathParams: map[string]string{"id": unknown}, body: `{"amount":10,"reason_code":"goodwill"}`}, 404, "id"},
		{"redemption, erased member", call{method: "POST", route: "/v1/members/{id}/points/redemptions", path: "/x", tok: staffToken,
			pathParams: map[string]string{"id": erased}, body: `{"amount":10,"reason":"x"}`, headers: map[string]string{"Idempotency-Key": "k-" + uniq()}}, 409, "id"},
	}
	for _, c := range cases {
		resp := f.do(t, c.c)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, resp.Body)
			continue
		}
		if c.field != "" && !strings.Contains(resp.Body, `"field":"`+c.field+`"`) {
			t.Errorf("%s: problem does not name %s: %s", c.name, c.field, resp.Body)
		}
	}
	if _, err := f.store.Account(context.Background(), unknown); !fault.Is(err, fault.NotFound) {
		t.Errorf("an account was opened for an unknown member: %v", err)
	}
	if b := f.balance(t, erased); b.Available != 100 {
		t.Errorf("the erased member's ledger changed: %+v", b)
	}
}
