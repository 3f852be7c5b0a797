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

	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/member"
	"clientele/shared/points"
)

func TestSignupThenRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.signup(t)
	if m.ID == "" || len(m.ReferralCode) != 8 || m.Status != member.Active || m.Version != 1 {
		t.Fatalf("member = %+v", m)
	}
	if !strings.HasPrefix(m.Email, "li.wei+") || !strings.HasSuffix(m.Email, "@example.com") {
		t.Errorf("email not normalised: %q", m.Email)
	}
	if !strings.HasPrefix(m.Phone, "+86138") {
		t.Errorf("phone = %q", m.Phone)
	}
	if len(m.Consents) != 2 || m.Consents[0].Source != "signup:app" || m.Consents[1].Channel != member.AnyChannel {
		t.Errorf("consents = %+v", m.Consents)
	}
	evs := f.pub.ofType(event.TypeMemberRegistered)
	if len(evs) != 1 {
		t.Fatalf("published %d member.registered", len(evs))
	}
	var data event.MemberRegistered
	_ = json.Unmarshal(evs[0].Data, &data)
	if data.MemberID != m.ID || data.SignupChannel != "app" {
		t.Errorf("event data = %+v", data)
	}
	if strings.Contains(string(evs[0].Data), "@") {
		t.Errorf("event carries personal data: %s", evs[0].Data)
	}

	resp := f.do(t, call{method: "GET", route: "/v1/members/{id}", path: "/v1/members/" + m.ID,
		pathParams: map[string]string{"id": m.ID}, tok: memberToken(m.ID)})
	if resp.StatusCode != http.StatusOK || resp.Headers["ETag"] != `"1"` {
		t.Fatalf("get: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	var got member.Member
	_ = json.Unmarshal([]byte(resp.Body), &got)
	if got.Email != m.Email || got.ID != m.ID {
		t.Errorf("read back %+v", got)
	}
}

func TestCallersAreChecked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.signup(t)
	other := f.signup(t)
	at := func(id string) map[string]string { return map[string]string{"id": id} }
	cases := []struct {
		name string
		c    call
		want int
	}{
		{"no token signup", call{method: "POST", route: "/v1/members", path: "/v1/members", body: signupBody("x"+uniq()+"@a.cn", "")}, 401},
		{"member token signup", call{method: "POST", route: "/v1/members", path: "/v1/members", body: signupBody("x"+uniq()+"@a.cn", ""), tok: memberToken(m.ID)}, 403},
		{"member reads another", call{method: "GET", route: "/v1/members/{id}", path: "/v1/members/" + other.ID, pathParams: at(other.ID), tok: memberToken(m.ID)}, 403},
		{"member exports another", call{method: "GET", route: "/v1/members/{id}/export", path: "/x", pathParams: at(other.ID), tok: memberToken(m.ID)}, 403},
		{"member erases another", call{method: "DELETE", route: "/v1/members/{id}", path: "/x", pathParams: at(other.ID), tok: memberToken(m.ID)}, 403},
		{"member patches another", call{method: "PATCH", route: "/v1/members/{id}", path: "/x", pathParams: at(other.ID), tok: memberToken(m.ID), body: `{"name":"x"}`, headers: map[string]string{"If-Match": `"1"`}}, 403},
		{"member consents another", call{method: "PUT", route: "/v1/members/{id}/consents", path: "/x", pathParams: at(other.ID), tok: memberToken(m.ID), body: `{"consents":[]}`}, 403},
		{"service reads member", call{method: "GET", route: "/v1/members/{id}", path: "/x", pathParams: at(m.ID), tok: serviceToken}, 403},
		{"no token read", call{method: "GET", route: "/v1/members/{id}", path: "/x", pathParams: at(m.ID)}, 401},
		{"no subject", call{method: "GET", route: "/v1/members/{id}", path: "/x", pathParams: at(m.ID), tok: token{"scope": "staff"}}, 401},
		{"staff reads any", call{method: "GET", route: "/v1/members/{id}", path: "/x", pathParams: at(other.ID), tok: staffToken}, 200},
		{"staff signs up", call{method: "POST", route: "/v1/members", path: "/v1/members", body: signupBody("s"+strings.ToLower(uniq())+"@a.cn", ""), tok: staffToken}, 201},
		{"unknown member", call{method: "GET", route: "/v1/members/{id}", path: "/x", pathParams: at("NOPE"), tok: staffToken}, 404},
	}
	for _, c := range cases {
		resp := f.do(t, c.c)
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d: %s", c.name, resp.StatusCode, c.want, resp.Body)
		}
		if c.want >= 400 {
			problem(t, resp)
		}
	}
}

func TestSignupBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	taken := f.signup(t)
	big := `{"name":"` + strings.Repeat("a", 70<<10) + `"}`
	fresh := func() string { return "new" + strings.ToLower(uniq()) + "@example.com" }
	cases := []struct {
		name    string
		body    string
		ctype   string
		status  int
		field   string
		checkNo string // a phone that must not be claimed afterwards
	}{
		{"malformed JSON", `{"email":`, "", 400, "body", ""},
		{"not an object", `[1,2]`, "", 400, "body", ""},
		{"trailing data", `{"email":"a@b.cn","signup_channel":"app"} {}`, "", 400, "body", ""},
		{"unknown field", `{"email":"a@b.cn","signup_channel":"app","vip":true}`, "", 400, "vip", ""},
		{"wrong type", `{"email":42,"signup_channel":"app"}`, "", 400, "email", ""},
		{"oversized body", big, "", 413, "", ""},
		{"wrong content type", `{"email":"a@b.cn"}`, "text/plain", 415, "", ""},
		{"invalid email", `{"email":"not-an-email","signup_channel":"app"}`, "", 400, "email", ""},
		{"invalid phone", `{"phone":"12345","signup_channel":"app"}`, "", 400, "phone", ""},
		{"birthday in the future", `{"email":"` + fresh() + `","birthday":"2999-01-01","signup_channel":"app"}`, "", 400, "birthday", ""},
		{"birthday not a date", `{"email":"` + fresh() + `","birthday":"17/05/1990","signup_channel":"app"}`, "", 400, "birthday", ""},
		{"missing email and phone", `{"name":"x","signup_channel":"app"}`, "", 400, "email", ""},
		{"bad channel", `{"email":"` + fresh() + `","signup_channel":"fax"}`, "", 400, "signup_channel", ""},
		{"bad consent", `{"email":"` + fresh() + `","signup_channel":"app","consents":[{"purpose":"marketing","granted":true}]}`, "", 400, "consents[0].channel", ""},
		{"unknown referral code", `{"email":"` + fresh() + `","signup_channel":"app","referral_code":"ZZZZZZZZ"}`, "", 400, "referral_code", ""},
	}
	dupPhone := nextPhone()
	cases = append(cases,
		struct {
			name    string
			body    string
			ctype   string
			status  int
			field   string
			checkNo string
		}{"duplicate email", signupBody(strings.ToUpper(taken.Email), dupPhone), "", 409, "email", dupPhone},
		struct {
			name    string
			body    string
			ctype   string
			status  int
			field   string
			checkNo string
		}{"duplicate phone", signupBody(fresh(), "138"+taken.Phone[6:]), "", 409, "phone", ""},
	)
	for _, c := range cases {
		headers := map[string]string{}
		if c.ctype != "" {
			headers["Content-Type"] = c.ctype
		}
		before := len(f.pub.ofType(event.TypeMemberRegistered))
		resp := f.do(t, call{method: "POST", route: "/v1/members", path: "/v1/members", body: c.body, tok: serviceToken, headers: headers})
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, resp.StatusCode, c.status, resp.Body)
			continue
		}
		p := problem(t, resp)
		if c.field != "" && !slices.Contains(fieldsOf(p), c.field) {
			t.Errorf("%s: fields %v do not name %q", c.name, fieldsOf(p), c.field)
		}
		if after := len(f.pub.ofType(event.TypeMemberRegistered)); after != before {
			t.Errorf("%s: an event was published", c.name)
		}
		if c.checkNo != "" {
			claimed, err := f.store.Claimed(context.Background(), "phone", c.checkNo)
			if err != nil || claimed {
				t.Errorf("%s: phone claimed after a failed signup (err %v)", c.name, err)
			}
		}
	}
}

func TestPatchWithIfMatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.signup(t)
	at := map[string]string{"id": m.ID}
	newEmail := "moved" + strings.ToLower(uniq()) + "@example.cn"
	patch := func(ifMatch, body string) (int, map[string]any, string) {
		h := map[string]string{"Content-Type": "application/merge-patch+json"}
		if ifMatch != "" {
			h["If-Match"] = ifMatch
		}
		resp := f.do(t, call{method: "PATCH", route: "/v1/members/{id}", path: "/v1/members/" + m.ID, pathParams: at,
			tok: memberToken(m.ID), body: body, headers: h})
		var out map[string]any
		_ = json.Unmarshal([]byte(resp.Body), &out)
		return resp.StatusCode, out, resp.Headers["ETag"]
	}
	if st, _, _ := patch("", `{"name":"x"}`); st != http.StatusPreconditionRequired {
		t.Errorf("missing If-Match: %d", st)
	}
	if st, p, _ := patch(`"7"`, `{"name":"x"}`); st != http.StatusPreconditionFailed || p["current_etag"] != `"1"` {
		t.Errorf("stale If-Match: %d %v", st, p)
	}
	if st, _, _ := patch(`"1"`, `{"email":null,"phone":null}`); st != http.StatusBadRequest {
		t.Errorf("removing both contacts: %d", st)
	}
	st, body, etag := patch(`"1"`, `{"email":"`+strings.ToUpper(newEmail)+`","birthday":null,"name":"Wei Li"}`)
	if st != http.StatusOK || etag != `"2"` || body["email"] != newEmail || body["name"] != "Wei Li" || body["birthday"] != nil {
		t.Fatalf("patch: %d %s %v", st, etag, body)
	}
	ctx := context.Background()
	if c, _ := f.store.Claimed(ctx, "email", m.Email); c {
		t.Error("old email still claimed")
	}
	if c, _ := f.store.Claimed(ctx, "email", newEmail); !c {
		t.Error("new email not claimed")
	}
	// The old email is free again for someone else.
	resp := f.do(t, call{method: "POST", route: "/v1/members", path: "/v1/members", body: signupBody(m.Email, ""), tok: serviceToken})
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("old email not reusable: %d %s", resp.StatusCode, resp.Body)
	}
	// Taking another member's email is a conflict naming the field.
	if st, p, _ := patch(`"2"`, `{"email":"`+m.Email+`"}`); st != http.StatusConflict || !slices.Contains(fieldsOf(p), "email") {
		t.Errorf("taken email: %d %v", st, p)
	}
}

func TestConsentsKeepHistory(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.signup(t)
	at := map[string]string{"id": m.ID}
	resp := f.do(t, call{method: "PUT", route: "/v1/members/{id}/consents", path: "/x", pathParams: at, tok: memberToken(m.ID),
		body: `{"consents":[{"purpose":"marketing","channel":"email","granted":false},{"purpose":"marketing","channel":"sms","granted":true,"source":"app-settings"}]}`})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("put consents: %d %s", resp.StatusCode, resp.Body)
	}
	var got member.Member
	_ = json.Unmarshal([]byte(resp.Body), &got)
	if len(got.Consents) != 3 || got.Consents[0].Granted || got.Consents[0].Source != "member" || got.Consents[2].Source != "app-settings" {
		t.Errorf("consents = %+v", got.Consents)
	}
	bad := f.do(t, call{method: "PUT", route: "/v1/members/{id}/consents", path: "/x", pathParams: at, tok: memberToken(m.ID),
		body: `{"consents":[{"purpose":"spam","channel":"email","granted":true}]}`})
	if bad.StatusCode != 400 || !slices.Contains(fieldsOf(problem(t, bad)), "consents[0].purpose") {
		t.Errorf("bad purpose: %d %s", bad.StatusCode, bad.Body)
	}
	exp := f.do(t, call{method: "GET", route: "/v1/members/{id}/export", path: "/x", pathParams: at, tok: memberToken(m.ID)})
	var doc Export
	if err := json.Unmarshal([]byte(exp.Body), &doc); err != nil || exp.StatusCode != 200 {
		t.Fatalf("export: %d %v", exp.StatusCode, err)
	}
	if len(doc.ConsentHistory) != 4 || doc.ConsentHistory[0].RecordedBy != "service" || doc.ConsentHistory[3].RecordedBy != "member" {
		t.Errorf("history = %+v", doc.ConsentHistory)
	}
	if doc.Member.Email != m.Email || doc.Format != "clientele.export.v1" {
		t.Errorf("export member = %+v", doc.Member)
	}
}

func TestIdempotentSignup(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := signupBody("idem"+strings.ToLower(uniq())+"@example.com", nextPhone())
	key := map[string]string{"Idempotency-Key": "signup-" + uniq()}
	first := f.do(t, call{method: "POST", route: "/v1/members", path: "/v1/members", body: body, tok: serviceToken, headers: key})
	again := f.do(t, call{method: "POST", route: "/v1/members", path: "/v1/members", body: body, tok: serviceToken, headers: key})
	if first.StatusCode != 201 || again.StatusCode != 201 || first.Body != again.Body || again.Headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("replay differs:\n%d %s\n%d %s", first.StatusCode, first.Body, again.StatusCode, again.Body)
	}
	if first.Headers["ETag"] != again.Headers["ETag"] || first.Headers["Location"] != again.Headers["Location"] {
		t.Errorf("replayed headers differ: %v vs %v", first.Headers, again.Headers)
	}
	other := f.do(t, call{method: "POST", route: "/v1/members", path: "/v1/members",
		body: signupBody("other"+strings.ToLower(uniq())+"@example.com", ""), tok: serviceToken, headers: key})
	if other.StatusCode != 409 || !slices.Contains(fieldsOf(problem(t, other)), "Idempotency-Key") {
		t.Errorf("reused key: %d %s", other.StatusCode, other.Body)
	}
	if n := len(f.pub.ofType(event.TypeMemberRegistered)); n != 1 {
		t.Errorf("%d member.registered events, want 1", n)
	}
	bad := f.do(t, call{method: "POST", route: "/v1/members", path: "/v1/members", body: body, tok: serviceToken,
		headers: map[string]string{"Idempotency-Key": "has space"}})
	if bad.StatusCode != 400 {
		t.Errorf("bad key: %d", bad.StatusCode)
	}
}

func TestConcurrentDuplicatesApplyOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := signupBody("race"+strings.ToLower(uniq())+"@example.com", nextPhone())
	key := map[string]string{"Idempotency-Key": "race-" + uniq()}
	const n = 12
	var wg sync.WaitGroup
	statuses := make([]int, n)
	bodies := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := f.do(t, call{method: "POST", route: "/v1/members", path: "/v1/members", body: body, tok: serviceToken, headers: key})
			statuses[i], bodies[i] = r.StatusCode, r.Body
		}()
	}
	wg.Wait()
	created := ""
	for i, st := range statuses {
		switch st {
		case 201:
			if created == "" {
				created = bodies[i]
			} else if bodies[i] != created {
				t.Errorf("two different 201 bodies:\n%s\n%s", created, bodies[i])
			}
		case 409:
		default:
			t.Errorf("unexpected status %d: %s", st, bodies[i])
		}
	}
	if created == "" {
		t.Fatal("no request succeeded")
	}
	if n := len(f.pub.ofType(event.TypeMemberRegistered)); n != 1 {
		t.Errorf("%d member.registered events, want exactly 1", n)
	}
}

func TestConcurrentDistinctSignupsSameEmail(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	email := "dup" + strings.ToLower(uniq()) + "@example.com"
	const n = 8
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = f.do(t, call{method: "POST", route: "/v1/members", path: "/v1/members", body: signupBody(email, ""), tok: serviceToken}).StatusCode
		}()
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		if st == 201 {
			ok++
		} else if st != 409 {
			t.Errorf("status %d", st)
		}
	}
	if ok != 1 {
		t.Errorf("%d signups with one email succeeded, want 1", ok)
	}
}

func TestReferral(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	referrer := f.signup(t)
	b, _ := json.Marshal(map[string]any{"email": "ref" + strings.ToLower(uniq()) + "@example.com", "signup_channel": "social",
		"referral_code": strings.ToLower(referrer.ReferralCode)})
	resp := f.do(t, call{method: "POST", route: "/v1/members", path: "/v1/members", body: string(b), tok: serviceToken})
	var m member.Member
	_ = json.Unmarshal([]byte(resp.Body), &m)
	if resp.StatusCode != 201 || m.ReferredBy != referrer.ID || m.ReferralCode == referrer.ReferralCode {
		t.Fatalf("referral signup: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestEraseRemovesPersonalData(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.signup(t)
	at := map[string]string{"id": m.ID}
	key := map[string]string{"Idempotency-Key": "erase-" + uniq()}
	resp := f.do(t, call{method: "DELETE", route: "/v1/members/{id}", path: "/v1/members/" + m.ID, pathParams: at, tok: memberToken(m.ID), headers: key})
	if resp.StatusCode != 200 {
		t.Fatalf("erase: %d %s", resp.StatusCode, resp.Body)
	}
	replay := f.do(t, call{method: "DELETE", route: "/v1/members/{id}", path: "/v1/members/" + m.ID, pathParams: at, tok: memberToken(m.ID), headers: key})
	if replay.Body != resp.Body {
		t.Errorf("erase replay differs")
	}
	again := f.do(t, call{method: "DELETE", route: "/v1/members/{id}", path: "/v1/members/" + m.ID, pathParams: at, tok: staffToken})
	if again.StatusCode != 200 {
		t.Errorf("second erase: %d", again.StatusCode)
	}
	exp := f.do(t, call{method: "GET", route: "/v1/members/{id}/export", path: "/x", pathParams: at, tok: staffToken})
	for _, pii := range []string{m.Email, m.Phone, m.Name, m.Birthday, m.ReferralCode} {
		if strings.Contains(exp.Body, pii) {
			t.Errorf("export after erasure still holds %q: %s", pii, exp.Body)
		}
	}
	var doc Export
	_ = json.Unmarshal([]byte(exp.Body), &doc)
	if doc.Member.Status != member.Erased || doc.Member.ErasedAt.IsZero() || len(doc.ConsentHistory) != 0 {
		t.Errorf("export = %+v", doc)
	}
	ctx := context.Background()
	for kind, v := range map[string]string{"email": m.Email, "phone": m.Phone, "referral": m.ReferralCode} {
		if c, _ := f.store.Claimed(ctx, kind, v); c {
			t.Errorf("%s still claimed after erasure", kind)
		}
	}
	if n := len(f.pub.ofType(event.TypeMemberErased)); n < 1 {
		t.Error("member.erased not published")
	}
	patch := f.do(t, call{method: "PATCH", route: "/v1/members/{id}", path: "/x", pathParams: at, tok: staffToken,
		body: `{"name":"x"}`, headers: map[string]string{"If-Match": `"2"`}})
	if patch.StatusCode != 409 {
		t.Errorf("patching an erased member: %d", patch.StatusCode)
	}
}

func TestLogsCarryNoPersonalData(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.signup(t)
	at := map[string]string{"id": m.ID}
	f.do(t, call{method: "GET", route: "/v1/members/{id}", path: "/x", pathParams: at, tok: memberToken(m.ID)})
	f.do(t, call{method: "PATCH", route: "/v1/members/{id}", path: "/x", pathParams: at, tok: memberToken(m.ID),
		body: `{"name":"Zhang San"}`, headers: map[string]string{"If-Match": `"1"`}})
	f.do(t, call{method: "GET", route: "/v1/members/{id}/export", path: "/x", pathParams: at, tok: memberToken(m.ID)})
	f.do(t, call{method: "POST", route: "/v1/members", path: "/v1/members", body: signupBody(m.Email, ""), tok: serviceToken})
	f.do(t, call{method: "DELETE", route: "/v1/members/{id}", path: "/x", pathParams: at, tok: memberToken(m.ID)})
	f.mu.Lock()
	logs := f.logs.String()
	f.mu.Unlock()
	if !strings.Contains(logs, `"request_id":"req-`) || !strings.Contains(logs, m.ID) {
		t.Fatalf("logs lack request ids or member ids:\n%s", logs)
	}
	for _, pii := range []string{m.Email, m.Phone, m.Phone[3:], "Li Wei", "Zhang San", m.Birthday} {
		if strings.Contains(logs, pii) {
			t.Errorf("logs contain %q:\n%s", pii, logs)
		}
	}
}

func TestExportIncludesThePointsLedger(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.signup(t)
	at := map[string]string{"id": m.ID}
	exp := f.do(t, call{method: "GET", route: "/v1/members/{id}/export", path: "/x", pathParams: at, tok: memberToken(m.ID)})
	if strings.Contains(exp.Body, `"points"`) {
		t.Fatalf("a member without points exports a points section: %s", exp.Body)
	}
	ledger := f.h.Points.(*dynamo.PointsStore)
	now := time.Now()
	if _, _, err := ledger.Apply(context.Background(), m.ID, func(a *points.Account) (points.Change, error) {
		e, err := a.Grant(points.Entry{ID: event.NewID(now), MemberID: m.ID, Kind: points.Bonus, Reason: "welcome", Amount: 100, At: now}, ledger.Policy)
		return points.Change{Entries: []points.Entry{e}}, err
	}, points.Write{}); err != nil {
		t.Fatal(err)
	}
	exp = f.do(t, call{method: "GET", route: "/v1/members/{id}/export", path: "/x", pathParams: at, tok: memberToken(m.ID)})
	var doc struct {
		Domains struct {
			Points *PointsExport `json:"points"`
		} `json:"domains"`
	}
	if err := json.Unmarshal([]byte(exp.Body), &doc); err != nil || doc.Domains.Points == nil {
		t.Fatalf("export: %v %s", err, exp.Body)
	}
	px := doc.Domains.Points
	if px.Available != 100 || len(px.Entries) != 1 || px.Entries[0].Reason != "welcome" || len(px.Lots) != 1 {
		t.Errorf("points section = %+v", px)
	}
}

// Refusing profiling publishes member.profiling_refused once: not for
// other consents, not when the refusal is repeated, not for a grant.
func TestProfilingRefusalIsPublishedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.signup(t)
	at := map[string]string{"id": m.ID}
	put := func(body string) {
		t.Helper()
		resp := f.do(t, call{method: "PUT", route: "/v1/members/{id}/consents", path: "/x", pathParams: at, tok: memberToken(m.ID), body: body})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("put consents %s: %d %s", body, resp.StatusCode, resp.Body)
		}
	}
	refusals := func() []event.Envelope {
		var out []event.Envelope
		for _, e := range f.pub.ofType(event.TypeMemberProfilingRefused) {
			var d event.MemberProfilingRefused
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			if d.MemberID == m.ID {
				out = append(out, e)
			}
		}
		return out
	}
	put(`{"consents":[{"purpose":"marketing","channel":"email","granted":false}]}`)
	put(`{"consents":[{"purpose":"profiling","channel":"any","granted":true}]}`)
	if n := len(refusals()); n != 0 {
		t.Fatalf("%d refusals published before any refusal", n)
	}
	put(`{"consents":[{"purpose":"profiling","channel":"any","granted":false}]}`)
	put(`{"consents":[{"purpose":"profiling","channel":"any","granted":false}]}`)
	if n := len(refusals()); n != 1 {
		t.Fatalf("%d refusals published, want 1", n)
	}
	put(`{"consents":[{"purpose":"profiling","channel":"any","granted":true}]}`)
	put(`{"consents":[{"purpose":"profiling","channel":"any","granted":false}]}`)
	if n := len(refusals()); n != 2 {
		t.Errorf("%d refusals after grant and a second refusal, want 2", n)
	}
}
