package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"clientele/shared/apigw"
	"clientele/shared/apigw/openapicheck"
	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamotest"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/feedback"
	"clientele/shared/logging"
	"clientele/shared/queue/queuetest"
)

var (
	db    *dynamodb.Client
	table string
	hkey  = []byte("test-hmac-key")
)

func TestMain(m *testing.M) {
	dynamotest.Main(m, "feedback-api", func(ctx context.Context, c *dynamodb.Client) (err error) {
		db = c
		table, err = dynamotest.NewTable(ctx, c, "feedback-api-test")
		return err
	})
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

type fixture struct {
	h     *Handler
	pub   *queuetest.Recorder
	store *dynamo.FeedbackStore
	logs  *bytes.Buffer
	mu    *sync.Mutex
}

func (f *fixture) logText() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logs.String()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	desk := feedback.DefaultDesk()
	store := &dynamo.FeedbackStore{Client: db, Table: table}
	store.SLA = func(c *feedback.Case) (feedback.SLAState, error) { return desk.SLA(c, c.UpdatedAt) }
	pub := &queuetest.Recorder{}
	buf, mu := &bytes.Buffer{}, &sync.Mutex{}
	h := &Handler{
		Store:     store,
		Outbox:    &dynamo.Outbox{Client: db, Table: table},
		Publisher: pub,
		Cursors:   apigw.Cursors{Key: hkey},
		Desk:      desk,
		Log:       logging.New(lockedWriter{mu, buf}, service),
		Service:   service,
		Region:    "CN",
	}
	return &fixture{h: h, pub: pub, store: store, logs: buf, mu: mu}
}

type token map[string]string

var (
	serviceToken = token{"sub": "care-desk", "scope": "feedback:write"}
	posToken     = token{"sub": "pos-client", "scope": "points:write"}
	staffToken   = token{"sub": "staff-1", "scope": "staff", "cognito:groups": "[staff]"}
)

func memberToken(id string) token { return token{"sub": id} }

func storeStaff(stores ...string) token {
	return token{"sub": "store-staff", "scope": "staff", "stores": "[" + strings.Join(stores, " ") + "]"}
}

type call struct {
	method, route, path string
	body                string
	tok                 token
	headers             map[string]string
	id                  string
	query               map[string]string
	pathParams          map[string]string
}

func (f *fixture) do(t *testing.T, c call) apigw.Response {
	t.Helper()
	params := c.pathParams
	if c.id != "" {
		params = map[string]string{"id": c.id}
	}
	path := c.path
	if path == "" {
		path = c.route
		for k, v := range params {
			path = strings.ReplaceAll(path, "{"+k+"}", v)
		}
	}
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: c.method + " " + c.route, RawPath: path, Body: c.body,
		Headers: map[string]string{}, PathParameters: params, QueryStringParameters: c.query,
	}
	req.RequestContext.HTTP.Method = c.method
	req.RequestContext.HTTP.Path = path
	req.RequestContext.RequestID = fmt.Sprintf("req-%d", time.Now().UnixNano())
	if c.body != "" {
		req.Headers["content-type"] = "application/json"
	}
	for k, v := range c.headers {
		req.Headers[strings.ToLower(k)] = v
	}
	if c.tok != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: c.tok},
		}
	}
	resp, err := f.h.Router().Serve(context.Background(), req)
	if err != nil {
		t.Fatalf("Serve returned an error: %v", err)
	}
	documented(t).CheckResponse(t, req.RouteKey, resp.StatusCode, resp.Headers["Content-Type"])
	if err := kinValidator(t).CheckLambda(req, c.tok != nil, resp); err != nil {
		t.Error(err)
	}
	return resp
}

var (
	specOnce sync.Once
	spec     openapicheck.Document
)

func documented(t testing.TB) openapicheck.Document {
	specOnce.Do(func() { spec = openapicheck.Load(t, "../../../docs/openapi.json") })
	return spec
}

var kinOnce = sync.OnceValues(func() (*openapicheck.Validator, error) {
	return openapicheck.LoadValidator("../../../docs/openapi.json")
})

func kinValidator(t testing.TB) *openapicheck.Validator {
	v, err := kinOnce()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newMember() string { return event.NewID(time.Now()) }

func uniq() string { return event.NewID(time.Now())[14:] }

func decodeBody[T any](t *testing.T, resp apigw.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("decode %q: %v", resp.Body, err)
	}
	return v
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// submit sends feedback and returns the accepted response.
func (f *fixture) submit(t *testing.T, tok token, body map[string]any, headers ...string) Accepted {
	t.Helper()
	h := map[string]string{}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	resp := f.do(t, call{method: "POST", route: "/v1/feedback", tok: tok, body: jsonOf(body), headers: h})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("intake: %d %s", resp.StatusCode, resp.Body)
	}
	return decodeBody[Accepted](t, resp)
}

// triage does what the worker does to a new case.
func (f *fixture) triage(t *testing.T, id string) *feedback.Case {
	t.Helper()
	c, err := f.store.Update(context.Background(), id, func(c *feedback.Case) error {
		r := feedback.DefaultEngine().Triage(feedback.Input{Text: c.Text, Type: c.Type, Rating: c.Rating})
		return f.h.Desk.Route(c, r, time.Now().UTC())
	}, dynamo.CaseWrite{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fieldsOf(t *testing.T, resp apigw.Response) []string {
	t.Helper()
	var p apigw.Problem
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
		t.Fatalf("problem %q: %v", resp.Body, err)
	}
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

func TestIntakeTriageAndRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	acc := f.submit(t, memberToken(m), map[string]any{"channel": "app", "text": "The zipper broke after two days " + uniq(),
		"store": "S-" + uniq(), "sku": "SKU-1", "rating": 2})
	if acc.Status != feedback.StatusNew || acc.Duplicate || acc.ID == "" {
		t.Fatalf("accepted %+v", acc)
	}
	if got := f.pub.OfType(feedback.TypeReceived); len(got) != 1 || !strings.Contains(string(got[0].Data), acc.ID) {
		t.Fatalf("feedback.received events %v", got)
	}
	f.triage(t, acc.ID)
	resp := f.do(t, call{method: "GET", route: "/v1/feedback/cases/{id}", id: acc.ID, tok: staffToken})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("read: %d %s", resp.StatusCode, resp.Body)
	}
	v := decodeBody[CaseView](t, resp)
	if v.Status != feedback.StatusOpen || v.Category != feedback.ProductQuality || v.Priority != feedback.P2 || v.Type != feedback.Complaint {
		t.Errorf("triaged as %s/%s/%s/%s", v.Status, v.Type, v.Category, v.Priority)
	}
	if v.Triage == nil || v.Triage.RulesVersion != feedback.DefaultEngine().Version() || len(v.Triage.Rules) == 0 {
		t.Errorf("triage %+v", v.Triage)
	}
	if v.SLA == nil || v.SLA.FirstResponse.Due.IsZero() && !v.SLA.FirstResponse.Paused || v.Team != feedback.DefaultTeamName {
		t.Errorf("sla %+v team %q", v.SLA, v.Team)
	}
	// The member reads their own case without internal details; another
	// member cannot tell it exists.
	own := decodeBody[CaseView](t, f.do(t, call{method: "GET", route: "/v1/feedback/cases/{id}", id: acc.ID, tok: memberToken(m)}))
	if own.Triage != nil || own.Team != "" || own.SLA == nil {
		t.Errorf("member view %+v", own)
	}
	other := f.do(t, call{method: "GET", route: "/v1/feedback/cases/{id}", id: acc.ID, tok: memberToken(newMember())})
	missing := f.do(t, call{method: "GET", route: "/v1/feedback/cases/{id}", id: event.NewID(time.Now()), tok: staffToken})
	if other.StatusCode != http.StatusNotFound || missing.StatusCode != http.StatusNotFound {
		t.Errorf("another member's case: %d, missing: %d", other.StatusCode, missing.StatusCode)
	}
	if got := fieldsOf(t, other); len(got) != 1 || got[0] != "id" {
		t.Errorf("another member's case names %v", got)
	}
}

func TestSameAuthorSameTextIsOneCase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	text := "快递三天都没到，客服也不回 " + uniq()
	a := f.submit(t, memberToken(m), map[string]any{"channel": "app", "text": text})
	b := f.submit(t, memberToken(m), map[string]any{"channel": "web", "text": "  " + strings.ToUpper(text) + " "})
	if a.ID != b.ID || !b.Duplicate {
		t.Errorf("resend within 10 minutes: %+v then %+v", a, b)
	}
	c := f.submit(t, memberToken(newMember()), map[string]any{"channel": "app", "text": text})
	if c.ID == a.ID {
		t.Error("another author's same text landed on the same case")
	}
	// An Idempotency-Key replays; the same key with other feedback is 409.
	key := "k-" + uniq()
	d := f.submit(t, serviceToken, map[string]any{"channel": "phone", "text": "call about order " + uniq(), "member_id": m}, "Idempotency-Key", key)
	resp := f.do(t, call{method: "POST", route: "/v1/feedback", tok: serviceToken, headers: map[string]string{"Idempotency-Key": key},
		body: jsonOf(map[string]any{"channel": "phone", "text": "something else " + uniq(), "member_id": m})})
	if resp.StatusCode != http.StatusConflict || fieldsOf(t, resp)[0] != "Idempotency-Key" {
		t.Errorf("same key, other body: %d %s", resp.StatusCode, resp.Body)
	}
	if len(f.pub.OfType(feedback.TypeReceived)) != 3 {
		t.Errorf("%d cases queued, want 3 (a, c, d)", len(f.pub.OfType(feedback.TypeReceived)))
	}
	_ = d
}

func TestIntakeBadInputNamesTheFieldAndWritesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	long := strings.Repeat("长", feedback.MaxTextChars+1)
	cases := []struct {
		name   string
		tok    token
		body   string
		status int
		field  string
	}{
		{"empty text", memberToken(m), `{"channel":"app","text":"   "}`, 400, "text"},
		{"overlong text", memberToken(m), `{"channel":"app","text":"` + long + `"}`, 400, "text"},
		{"unknown channel", memberToken(m), `{"channel":"fax","text":"hello"}`, 400, "channel"},
		{"unknown type", memberToken(m), `{"channel":"app","text":"hello","type":"rant"}`, 400, "type"},
		{"rating too low", memberToken(m), `{"channel":"app","text":"hello","rating":0}`, 400, "rating"},
		{"rating too high", memberToken(m), `{"channel":"app","text":"hello","rating":6}`, 400, "rating"},
		{"rating not a number", memberToken(m), `{"channel":"app","text":"hello","rating":"five"}`, 400, "rating"},
		{"invalid member id", serviceToken, `{"channel":"app","text":"hello","member_id":"not an id"}`, 400, "member_id"},
		{"invalid store", memberToken(m), `{"channel":"store","text":"hello","store":"a b"}`, 400, "store"},
		{"bad attachment", memberToken(m), `{"channel":"app","text":"hello","attachments":["../etc/passwd"]}`, 400, "attachments[0]"},
		{"bad email", serviceToken, `{"channel":"email","text":"hello","contact":{"email":"nope"}}`, 400, "contact.email"},
		{"unknown field", memberToken(m), `{"channel":"app","text":"hello","mood":"sad"}`, 400, "mood"},
		{"service without author", serviceToken, `{"channel":"app","text":"hello"}`, 400, "member_id"},
		{"member as another member", memberToken(m), `{"channel":"app","text":"hello","member_id":"` + newMember() + `"}`, 403, ""},
		{"point of sale token", posToken, `{"channel":"app","text":"hello","member_id":"` + m + `"}`, 403, ""},
	}
	for _, tc := range cases {
		resp := f.do(t, call{method: "POST", route: "/v1/feedback", tok: tc.tok, body: tc.body})
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, resp.Body, tc.status)
			continue
		}
		if tc.field != "" {
			if got := fieldsOf(t, resp); len(got) == 0 || got[0] != tc.field {
				t.Errorf("%s: fields %v, want %s", tc.name, got, tc.field)
			}
		}
	}
	list, _, err := f.store.List(context.Background(), dynamo.CaseFilter{Member: m}, "", 10)
	if err != nil || len(list) != 0 || len(f.pub.All()) != 0 {
		t.Errorf("bad input wrote %d cases, queued %d events (err %v)", len(list), len(f.pub.All()), err)
	}
}

func TestStaffWorkflowRepliesResolveAndGoodwill(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	acc := f.submit(t, memberToken(m), map[string]any{"channel": "app", "text": "My points from last week's order are missing " + uniq()})
	f.triage(t, acc.ID)
	act := func(route string, tok token, body string, headers ...string) apigw.Response {
		h := map[string]string{}
		for i := 0; i+1 < len(headers); i += 2 {
			h[headers[i]] = headers[i+1]
		}
		return f.do(t, call{method: "POST", route: "/v1/feedback/cases/{id}/" + route, id: acc.ID, tok: tok, body: body, headers: h})
	}
	mustStatus := func(resp apigw.Response, want int, what string) CaseView {
		t.Helper()
		if resp.StatusCode != want {
			t.Fatalf("%s: %d %s, want %d", what, resp.StatusCode, resp.Body, want)
		}
		if want != http.StatusOK {
			return CaseView{}
		}
		return decodeBody[CaseView](t, resp)
	}
	// A member cannot act as staff; closing an open case is illegal.
	mustStatus(act("assign", memberToken(m), `{"assignee":"agent-7"}`), 403, "member assigns")
	mustStatus(act("status", staffToken, `{"action":"close"}`), 409, "close an open case")
	v := mustStatus(act("assign", staffToken, `{"assignee":"agent-7"}`), 200, "assign")
	if v.Status != feedback.StatusInProgress || v.Assignee != "agent-7" {
		t.Fatalf("after assign %s %s", v.Status, v.Assignee)
	}
	mustStatus(act("notes", staffToken, `{"text":"internal: check the ledger"}`), 200, "note")
	v = mustStatus(act("replies", staffToken, `{"text":"Could you send the order number?","wait_for_customer":true}`), 200, "reply")
	if v.Status != feedback.StatusWaitingCustomer || v.SLA == nil || !v.SLA.Paused {
		t.Fatalf("after a reply asking the customer: %s, sla %+v", v.Status, v.SLA)
	}
	if got := f.pub.OfType(feedback.TypeReplied); len(got) != 1 || strings.Contains(string(got[0].Data), "order number") {
		t.Fatalf("feedback.replied events %v (must not carry the text)", got)
	}
	// The member's reply moves the case back to in progress and they never
	// see the internal note.
	own := mustStatus(act("replies", memberToken(m), `{"text":"It is order 12345"}`), 200, "member reply")
	if own.Status != feedback.StatusInProgress {
		t.Fatalf("after the customer's reply: %s", own.Status)
	}
	for _, e := range own.History {
		if e.Kind == feedback.EntryNote || strings.HasPrefix(e.By, "staff:") {
			t.Errorf("member sees %+v", e)
		}
	}
	mustStatus(act("replies", memberToken(newMember()), `{"text":"not mine"}`), 404, "another member replies")
	// A stale If-Match changes nothing.
	mustStatus(act("resolve", staffToken, `{"resolution_code":"goodwill","goodwill_points":200}`, "If-Match", `"1"`), 409, "stale resolve")
	mustStatus(act("resolve", staffToken, `{"resolution_code":"goodwill","goodwill_points":-1}`), 400, "negative goodwill")
	mustStatus(act("resolve", staffToken, `{"resolution_code":"shrug"}`), 400, "unknown code")
	v = mustStatus(act("resolve", staffToken, `{"resolution_code":"goodwill","goodwill_points":200}`), 200, "resolve")
	if v.Status != feedback.StatusResolved || v.ResolutionCode != feedback.ResolvedGoodwill {
		t.Fatalf("after resolve %s %s", v.Status, v.ResolutionCode)
	}
	bonus := f.pub.OfType(event.TypePointsBonusRequested)
	resolved := f.pub.OfType(event.TypeFeedbackCaseResolved)
	if len(bonus) != 1 || len(resolved) != 1 {
		t.Fatalf("bonus %d, resolved %d events", len(bonus), len(resolved))
	}
	var br event.BonusRequested
	_ = json.Unmarshal(bonus[0].Data, &br)
	if br.MemberID != m || br.Amount != 200 || br.Reason != "goodwill" || br.SourceID != GoodwillSource(acc.ID) {
		t.Errorf("bonus %+v", br)
	}
	mustStatus(act("replies", memberToken(m), `{"text":"thanks"}`), 409, "customer reply to a resolved case")
	v = mustStatus(act("reopen", staffToken, ``), 200, "reopen")
	if v.Status != feedback.StatusReopened {
		t.Fatalf("after reopen %s", v.Status)
	}
	mustStatus(act("reopen", staffToken, ``), 409, "reopen a reopened case")
}

func TestReopenAfter14DaysIsAConflict(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := time.Now().UTC()
	f.h.Now = func() time.Time { return now }
	acc := f.submit(t, staffToken, map[string]any{"channel": "phone", "text": "Wrong size delivered " + uniq(), "contact": map[string]any{"phone": "13800138000"}})
	f.triage(t, acc.ID)
	resp := f.do(t, call{method: "POST", route: "/v1/feedback/cases/{id}/resolve", id: acc.ID, tok: staffToken, body: `{"resolution_code":"replaced"}`})
	if resp.StatusCode != 200 {
		t.Fatal(resp.Body)
	}
	now = now.Add(15 * 24 * time.Hour)
	resp = f.do(t, call{method: "POST", route: "/v1/feedback/cases/{id}/reopen", id: acc.ID, tok: staffToken})
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("reopen after 15 days: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestStoreRestrictedStaff(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mine, theirs := "S-"+uniq(), "S-"+uniq()
	a := f.submit(t, staffToken, map[string]any{"channel": "store", "store": mine, "text": "fitting room dirty " + uniq(), "contact": map[string]any{"email": "a@example.com"}})
	b := f.submit(t, staffToken, map[string]any{"channel": "store", "store": theirs, "text": "fitting room dirty " + uniq(), "contact": map[string]any{"email": "b@example.com"}})
	tok := storeStaff(mine)
	if resp := f.do(t, call{method: "GET", route: "/v1/feedback/cases/{id}", id: a.ID, tok: tok}); resp.StatusCode != 200 {
		t.Errorf("own store's case: %d", resp.StatusCode)
	}
	if resp := f.do(t, call{method: "GET", route: "/v1/feedback/cases/{id}", id: b.ID, tok: tok}); resp.StatusCode != 404 {
		t.Errorf("another store's case: %d", resp.StatusCode)
	}
	if resp := f.do(t, call{method: "POST", route: "/v1/feedback/cases/{id}/assign", id: b.ID, tok: tok, body: `{"assignee":"x"}`}); resp.StatusCode != 404 {
		t.Errorf("assign another store's case: %d", resp.StatusCode)
	}
	page := decodeBody[CasesPage](t, f.do(t, call{method: "GET", route: "/v1/feedback/cases", tok: tok}))
	if len(page.Cases) != 1 || page.Cases[0].ID != a.ID {
		t.Errorf("store staff list %+v", page.Cases)
	}
	if resp := f.do(t, call{method: "GET", route: "/v1/feedback/cases", tok: tok, query: map[string]string{"store": theirs}}); resp.StatusCode != 403 {
		t.Errorf("list another store: %d", resp.StatusCode)
	}
	if resp := f.do(t, call{method: "GET", route: "/v1/feedback/cases", tok: storeStaff(mine, theirs)}); resp.StatusCode != 400 || fieldsOf(t, resp)[0] != "store" {
		t.Errorf("two stores, no filter: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := f.do(t, call{method: "GET", route: "/v1/feedback/rules", tok: tok}); resp.StatusCode != 403 {
		t.Errorf("store staff reads brand rules: %d", resp.StatusCode)
	}
}

func TestListFiltersAndCursors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := "S-" + uniq()
	var ids []string
	for i := range 5 {
		acc := f.submit(t, staffToken, map[string]any{"channel": "store", "store": s, "text": fmt.Sprintf("the lift is broken again %d %s", i, uniq()),
			"contact": map[string]any{"email": fmt.Sprintf("c%d@example.com", i)}})
		ids = append(ids, acc.ID)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		q := map[string]string{"store": s, "limit": "2", "status": "new"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		page := decodeBody[CasesPage](t, f.do(t, call{method: "GET", route: "/v1/feedback/cases", tok: staffToken, query: q}))
		for _, c := range page.Cases {
			got = append(got, c.ID)
		}
		if page.NextCursor == "" || pages > 5 {
			break
		}
		cursor = page.NextCursor
	}
	if len(got) != 5 || got[0] != ids[4] || got[4] != ids[0] {
		t.Errorf("paged %v, want newest first of %v", got, ids)
	}
	bad := f.do(t, call{method: "GET", route: "/v1/feedback/cases", tok: staffToken, query: map[string]string{"store": s, "cursor": cursor + "x"}})
	other := f.do(t, call{method: "GET", route: "/v1/feedback/cases", tok: staffToken, query: map[string]string{"store": "S-other", "cursor": cursor}})
	if bad.StatusCode != 400 || other.StatusCode != 400 {
		t.Errorf("tampered cursor %d, cursor of another filter %d", bad.StatusCode, other.StatusCode)
	}
	for q, field := range map[string]string{"status": "status", "priority": "priority", "category": "category", "overdue": "overdue", "color": "color"} {
		resp := f.do(t, call{method: "GET", route: "/v1/feedback/cases", tok: staffToken, query: map[string]string{q: "bogus value"}})
		if resp.StatusCode != 400 || fieldsOf(t, resp)[0] != field {
			t.Errorf("filter %s: %d %s", q, resp.StatusCode, resp.Body)
		}
	}
	m := newMember()
	f.submit(t, memberToken(m), map[string]any{"channel": "app", "text": "app crashes on login " + uniq()})
	own := decodeBody[CasesPage](t, f.do(t, call{method: "GET", route: "/v1/feedback/cases", tok: memberToken(m)}))
	if len(own.Cases) != 1 {
		t.Errorf("member lists %d cases", len(own.Cases))
	}
	if resp := f.do(t, call{method: "GET", route: "/v1/feedback/cases", tok: memberToken(m), query: map[string]string{"member_id": newMember()}}); resp.StatusCode != 403 {
		t.Errorf("member lists another member: %d", resp.StatusCode)
	}
}

func TestRulesEditAndDryRun(t *testing.T) {
	// Not parallel: it changes the rules in force for the table.
	f := newFixture(t)
	get := decodeBody[RulesView](t, f.do(t, call{method: "GET", route: "/v1/feedback/rules", tok: staffToken}))
	if !get.Default || get.Revision != 0 || get.Ruleset.Version != feedback.DefaultEngine().Version() {
		t.Fatalf("rules in force %+v", get.Revision)
	}
	// A decoy does not fire the fire rule, and the dry run says why.
	dr := decodeBody[feedback.DryRun](t, f.do(t, call{method: "POST", route: "/v1/feedback/rules/dry-run", tok: staffToken,
		body: `{"text":"Is this charger a fire hazard? Is it fire safe?"}`}))
	vetoed := false
	for _, n := range dr.NotApplied {
		vetoed = vetoed || n.Rule == "p1.fire" && strings.Contains(n.Because, "fire safe")
	}
	if dr.Result.Priority == feedback.P1 || !vetoed {
		t.Errorf("decoy dry run %+v", dr)
	}
	praise := decodeBody[feedback.DryRun](t, f.do(t, call{method: "POST", route: "/v1/feedback/rules/dry-run", tok: staffToken,
		body: `{"text":"this jacket is fire, love it"}`}))
	if praise.Result.Priority == feedback.P1 || praise.Result.Type != feedback.Praise {
		t.Errorf("slang dry run %+v", praise.Result)
	}
	edited := feedback.DefaultRuleset()
	edited.Version = "brand-" + uniq()
	edited.Rules = append(edited.Rules, feedback.Rule{ID: "p1.recall", Any: []string{"recall notice"}, Priority: feedback.P1})
	body := jsonOf(edited)
	if resp := f.do(t, call{method: "PUT", route: "/v1/feedback/rules", tok: staffToken, body: body}); resp.StatusCode != 428 {
		t.Errorf("put without If-Match: %d", resp.StatusCode)
	}
	resp := f.do(t, call{method: "PUT", route: "/v1/feedback/rules", tok: staffToken, body: body, headers: map[string]string{"If-Match": `"0"`}})
	if resp.StatusCode != 200 || decodeBody[RulesView](t, resp).Revision != 1 {
		t.Fatalf("put: %d %s", resp.StatusCode, resp.Body)
	}
	again := f.do(t, call{method: "PUT", route: "/v1/feedback/rules", tok: staffToken, body: body, headers: map[string]string{"If-Match": `"0"`}})
	if again.StatusCode != 409 {
		t.Errorf("stale put: %d", again.StatusCode)
	}
	reused := f.do(t, call{method: "PUT", route: "/v1/feedback/rules", tok: staffToken, body: body, headers: map[string]string{"If-Match": `"1"`}})
	if reused.StatusCode != 409 || fieldsOf(t, reused)[0] != "version" {
		t.Errorf("reused version: %d %s", reused.StatusCode, reused.Body)
	}
	dr = decodeBody[feedback.DryRun](t, f.do(t, call{method: "POST", route: "/v1/feedback/rules/dry-run", tok: staffToken,
		body: `{"text":"I got a recall notice for my stroller"}`}))
	if dr.Result.Priority != feedback.P1 || dr.Result.RulesVersion != edited.Version {
		t.Errorf("dry run with the edited rules %+v", dr.Result)
	}
	bad := f.do(t, call{method: "PUT", route: "/v1/feedback/rules", tok: staffToken, headers: map[string]string{"If-Match": `"1"`},
		body: `{"version":"v-bad","rules":[{"id":"Bad Id","any":["x"],"priority":"P1"}]}`})
	if bad.StatusCode != 400 || fieldsOf(t, bad)[0] != "rules[0].id" {
		t.Errorf("bad ruleset: %d %s", bad.StatusCode, bad.Body)
	}
	if resp := f.do(t, call{method: "POST", route: "/v1/feedback/rules/dry-run", tok: staffToken, body: `{"text":""}`}); resp.StatusCode != 400 {
		t.Errorf("empty dry run text: %d", resp.StatusCode)
	}
}

func TestReportCountsFromAggregates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	week := dynamo.ReportWeek(time.Now())
	before := decodeBody[Report](t, f.do(t, call{method: "GET", route: "/v1/feedback/reports/{week}", pathParams: map[string]string{"week": week}, tok: staffToken}))
	s := "S-" + uniq()
	for i := range 3 {
		acc := f.submit(t, staffToken, map[string]any{"channel": "store", "store": s, "text": fmt.Sprintf("queue at the till was long %d %s", i, uniq()),
			"contact": map[string]any{"email": "r@example.com"}})
		f.triage(t, acc.ID)
		if i == 0 {
			resp := f.do(t, call{method: "POST", route: "/v1/feedback/cases/{id}/replies", id: acc.ID, tok: staffToken, body: `{"text":"sorry, we are adding staff"}`})
			if resp.StatusCode != 200 {
				t.Fatal(resp.Body)
			}
		}
	}
	after := decodeBody[Report](t, f.do(t, call{method: "GET", route: "/v1/feedback/reports/{week}", pathParams: map[string]string{"week": week}, tok: staffToken}))
	if after.Counts["store"][s] != 3 || after.Counts["received"]["all"]-before.Counts["received"]["all"] < 3 {
		t.Errorf("report counts %v", after.Counts)
	}
	if after.FirstResponse.Count < before.FirstResponse.Count+1 || after.FirstResponse.MedianSeconds == nil || after.BreachRate == nil {
		t.Errorf("first response %+v breach rate %v", after.FirstResponse, after.BreachRate)
	}
	if resp := f.do(t, call{method: "GET", route: "/v1/feedback/reports/{week}", pathParams: map[string]string{"week": "2026-W60"}, tok: staffToken}); resp.StatusCode != 400 {
		t.Errorf("week 60: %d", resp.StatusCode)
	}
}

func TestFeedbackTextNeverLogged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	secret := "SECRET-" + uniq()
	acc := f.submit(t, memberToken(m), map[string]any{"channel": "app", "text": "my neighbour " + secret + " was rude in store"})
	f.triage(t, acc.ID)
	f.do(t, call{method: "POST", route: "/v1/feedback/cases/{id}/notes", id: acc.ID, tok: staffToken, body: jsonOf(map[string]string{"text": "note " + secret})})
	f.do(t, call{method: "POST", route: "/v1/feedback/cases/{id}/replies", id: acc.ID, tok: staffToken, body: jsonOf(map[string]string{"text": "reply " + secret})})
	f.do(t, call{method: "POST", route: "/v1/feedback/rules/dry-run", tok: staffToken, body: jsonOf(map[string]string{"text": secret})})
	f.do(t, call{method: "POST", route: "/v1/feedback", tok: memberToken(m), body: `{"channel":"fax","text":"` + secret + `"}`})
	logs := f.logText()
	if !strings.Contains(logs, acc.ID) {
		t.Fatalf("the intake was not logged at all: %s", logs)
	}
	if strings.Contains(logs, secret) {
		t.Errorf("feedback text reached the logs: %s", logs)
	}
}

func TestErrorsAreProblems(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	resp := f.do(t, call{method: "GET", route: "/v1/feedback/cases/{id}", id: "bad id!", tok: staffToken})
	if resp.StatusCode != 404 || resp.Headers["Content-Type"] != "application/problem+json" {
		t.Errorf("invalid id: %d %v", resp.StatusCode, resp.Headers)
	}
	if got := fault.KindOf(fault.New(fault.Invalid, "x")); got != fault.Invalid {
		t.Fatal(got)
	}
}

func TestActionBadInputNamesTheFieldAndChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	acc := f.submit(t, memberToken(m), map[string]any{"channel": "app", "text": "The app logs me out every hour " + uniq()})
	before := f.triage(t, acc.ID)
	long := strings.Repeat("x", MaxReplyChars+1)
	cases := []struct {
		route, body string
		tok         token
		status      int
		field       string
	}{
		{"replies", `{"text":""}`, staffToken, 400, "text"},
		{"replies", `{"text":"   "}`, memberToken(m), 400, "text"},
		{"replies", `{"text":"` + long + `"}`, staffToken, 400, "text"},
		{"replies", `{"text":"ok","wait_for_customer":"yes"}`, staffToken, 400, "wait_for_customer"},
		{"replies", `{"text":"ok","wait_for_customer":true}`, memberToken(m), 400, "wait_for_customer"},
		{"notes", `{"text":"bad\u0007bell"}`, staffToken, 400, "text"},
		{"notes", `{}`, staffToken, 400, "text"},
		{"assign", `{"assignee":""}`, staffToken, 400, "assignee"},
		{"assign", `{"assignee":"a b"}`, staffToken, 400, "assignee"},
		{"assign", `{"assignee":"ok","team":"has space"}`, staffToken, 400, "team"},
		{"status", `{"action":"resolve"}`, staffToken, 400, "action"},
		{"status", `{"action":""}`, staffToken, 400, "action"},
		{"resolve", `{"resolution_code":"fixed","goodwill_points":1000001}`, staffToken, 400, "goodwill_points"},
		{"resolve", `{"resolution_code":"fixed","points":5}`, staffToken, 400, "points"},
		{"reopen", `{"why":"x"}`, staffToken, 400, "why"},
	}
	for _, tc := range cases {
		resp := f.do(t, call{method: "POST", route: "/v1/feedback/cases/{id}/" + tc.route, id: acc.ID, tok: tc.tok, body: tc.body})
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d %s, want %d", tc.route, tc.body[:min(len(tc.body), 40)], resp.StatusCode, resp.Body, tc.status)
			continue
		}
		if got := fieldsOf(t, resp); len(got) == 0 || got[0] != tc.field {
			t.Errorf("%s %s: fields %v, want %s", tc.route, tc.body[:min(len(tc.body), 40)], got, tc.field)
		}
	}
	after, err := f.store.Get(context.Background(), acc.ID)
	if err != nil || after.Version != before.Version {
		t.Errorf("bad input changed the case: version %d → %d (%v)", before.Version, after.Version, err)
	}
	// Goodwill on a case without a member is refused the same way.
	anon := f.submit(t, serviceToken, map[string]any{"channel": "email", "text": "Parcel damaged " + uniq(), "contact": map[string]any{"email": "x@example.com"}})
	f.triage(t, anon.ID)
	resp := f.do(t, call{method: "POST", route: "/v1/feedback/cases/{id}/resolve", id: anon.ID, tok: staffToken, body: `{"resolution_code":"goodwill","goodwill_points":10}`})
	if resp.StatusCode != 400 || fieldsOf(t, resp)[0] != "goodwill_points" {
		t.Errorf("goodwill without a member: %d %s", resp.StatusCode, resp.Body)
	}
}
