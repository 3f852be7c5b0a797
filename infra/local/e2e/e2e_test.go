// Package e2e runs Clientele end to end: the real function binaries under the
// local stack, driven through HTTP like a client would.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"clientele/infra/local"
	"clientele/infra/topology"
	"clientele/shared/apigw/openapicheck"
	"clientele/shared/dynamo"
)

var (
	stack *local.Stack
	logs  = &syncBuffer{}
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	root, err := local.ModuleRoot(".")
	if err == nil {
		stack, err = local.Start(ctx, local.Config{
			Root: root, System: topology.Clientele(), APIAddr: "127.0.0.1:0", SQSAddr: "127.0.0.1:0",
			Log: logs,
		})
	}
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the local stack:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := stack.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "closing the local stack:", err)
	}
	os.Exit(code)
}

func token(t testing.TB, role topology.Caller, sub string) string {
	t.Helper()
	tok, err := stack.Token(role, sub, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", r.status, r.body)
	}
	return m
}

func call(t testing.TB, method, path, tok, body string, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, stack.APIURL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := clientFor(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}
}

// awaitWelcomeBonus polls the member's points until the welcome bonus the
// points worker grants on member.registered shows, and checks it came once.
func awaitWelcomeBonus(t *testing.T, id, tok string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r := call(t, "GET", "/v1/members/"+id+"/points/entries", tok, "")
		if r.status == 200 {
			var page struct {
				Entries []struct {
					Kind     string `json:"kind"`
					Reason   string `json:"reason"`
					Amount   int64  `json:"amount"`
					SourceID string `json:"source_id"`
				} `json:"entries"`
			}
			_ = json.Unmarshal(r.body, &page)
			if len(page.Entries) > 0 {
				if len(page.Entries) != 1 || page.Entries[0].Kind != "bonus" || page.Entries[0].Reason != "welcome" || page.Entries[0].Amount <= 0 {
					t.Fatalf("points entries after signup: %s", r.body)
				}
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no welcome bonus for %s: member.registered did not reach the points worker", id)
}

func TestMemberLifecycleEndToEnd(t *testing.T) {
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e8)
	email := "e2e." + suffix + "@example.com"
	phone := fmt.Sprintf("+86137%08s", suffix)
	body := fmt.Sprintf(`{"email":"%s","phone":"%s","name":"Chen Jing","birthday":"1988-02-29","preferred_store":"BJ-007",
		"signup_channel":"store","consents":[{"purpose":"marketing","channel":"sms","granted":true}]}`, strings.ToUpper(email), phone)
	service := token(t, topology.Service, "")

	// No token: API Gateway's own 401.
	if r := call(t, "POST", "/v1/members", "", body); r.status != 401 {
		t.Fatalf("no token: %d %s", r.status, r.body)
	}
	// Sign up through HTTP with a service token.
	r := call(t, "POST", "/v1/members", service, body, "Idempotency-Key", "e2e-"+suffix)
	if r.status != 201 {
		t.Fatalf("signup: %d %s", r.status, r.body)
	}
	m := r.json(t)
	id, _ := m["id"].(string)
	if id == "" || m["email"] != email || m["phone"] != phone || r.header.Get("ETag") != `"1"` || r.header.Get("Location") != "/v1/members/"+id {
		t.Fatalf("signup reply: %v %v", m, r.header)
	}
	// The same request again is replayed, not applied twice.
	again := call(t, "POST", "/v1/members", service, body, "Idempotency-Key", "e2e-"+suffix)
	if again.status != 201 || !bytes.Equal(again.body, r.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", again.status, again.body)
	}
	// Read it back with the member's own token; another member's token is refused.
	own := token(t, topology.Member, id)
	if g := call(t, "GET", "/v1/members/"+id, own, ""); g.status != 200 || g.json(t)["email"] != email {
		t.Fatalf("read back: %d %s", g.status, g.body)
	}
	if g := call(t, "GET", "/v1/members/"+id, token(t, topology.Member, "someone-else"), ""); g.status != 403 {
		t.Fatalf("foreign member: %d %s", g.status, g.body)
	}
	// A duplicate signup is a 409 naming the field.
	dup := call(t, "POST", "/v1/members", service, fmt.Sprintf(`{"email":"%s","signup_channel":"app"}`, email))
	if dup.status != 409 || !strings.Contains(string(dup.body), `"field":"email"`) || dup.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("duplicate: %d %s", dup.status, dup.body)
	}
	// member.registered reached the points queue and its consumer: the
	// points worker granted the welcome bonus, once.
	awaitWelcomeBonus(t, id, own)

	// Erase the member.
	if d := call(t, "DELETE", "/v1/members/"+id, own, ""); d.status != 200 || d.json(t)["status"] != "erased" {
		t.Fatalf("erase: %d %s", d.status, d.body)
	}
	// The points worker acknowledged member.erased (the ledger holds no
	// personal data) without a failure.
	time.Sleep(time.Second)
	if st := stack.Stats("points-worker"); st.Errors != 0 || st.Invocations < 2 {
		t.Errorf("points-worker stats after erasure: %+v", st)
	}
	// The export holds no personal data any more.
	exp := call(t, "GET", "/v1/members/"+id+"/export", token(t, topology.Staff, ""), "")
	if exp.status != 200 {
		t.Fatalf("export: %d %s", exp.status, exp.body)
	}
	for _, pii := range []string{email, phone, "Chen Jing", "1988-02-29", "BJ-007"} {
		if strings.Contains(string(exp.body), pii) {
			t.Errorf("export after erasure holds %q: %s", pii, exp.body)
		}
	}
	// The uniqueness items are gone from the table...
	store := &dynamo.MemberStore{Client: dynamo.NewLocalClient(stack.DynamoDBEndpoint), Table: topology.MembersTable, Key: []byte(local.DevHMACKey)}
	for kind, v := range map[string]string{"email": email, "phone": phone} {
		claimed, err := store.Claimed(context.Background(), kind, v)
		if err != nil || claimed {
			t.Errorf("%s still claimed after erasure (err %v)", kind, err)
		}
	}
	// ...so the email and phone can sign up again.
	if re := call(t, "POST", "/v1/members", service, body); re.status != 201 {
		t.Errorf("signup after erasure: %d %s", re.status, re.body)
	}
	// No personal data reached any log: the runner's or the functions'.
	out := logs.String()
	if !strings.Contains(out, id) {
		t.Fatalf("function logs were not captured:\n%s", out)
	}
	for _, pii := range []string{email, strings.ToUpper(email), phone, phone[3:], "Chen Jing", "1988-02-29"} {
		if strings.Contains(out, pii) {
			t.Errorf("logs contain %q", pii)
		}
	}
}

func TestBadInputThroughTheGateway(t *testing.T) {
	service := token(t, topology.Service, "")
	cases := []struct {
		name, body, ctype string
		status            int
	}{
		{"malformed", `{"email":`, "application/json", 400},
		{"unknown field", `{"email":"a@b.cn","signup_channel":"app","x":1}`, "application/json", 400},
		{"wrong content type", `email=a@b.cn`, "application/x-www-form-urlencoded", 415},
		{"oversized", `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, "application/json", 413},
	}
	for _, c := range cases {
		r := call(t, "POST", "/v1/members", service, c.body, "Content-Type", c.ctype)
		if r.status != c.status || r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s %s", c.name, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
	if r := call(t, "GET", "/v1/nothing", service, ""); r.status != 404 {
		t.Errorf("unknown route: %d", r.status)
	}
}

func TestOutboxRelayScheduleRuns(t *testing.T) {
	if err := stack.FireSchedule(context.Background(), "outbox-relay"); err != nil {
		t.Fatalf("fire outbox-relay: %v", err)
	}
	if st := stack.Stats("outbox-relay"); st.Invocations < 1 || st.Errors != 0 {
		t.Errorf("outbox-relay stats = %+v", st)
	}
}

// clientFor validates every exchange of the tests against docs/openapi.json
// with kin-openapi; benchmarks get the plain client.
var clientFor = openapicheck.ClientFor("../../../docs/openapi.json")
