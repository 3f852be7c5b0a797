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
	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamotest"
	"clientele/shared/event"
	"clientele/shared/logging"
	"clientele/shared/member"
	"clientele/shared/points"
)

var (
	db    *dynamodb.Client
	table = "members-test"
	hkey  = []byte("test-hmac-key")
)

func TestMain(m *testing.M) {
	dynamotest.Main(m, "members-api", func(ctx context.Context, c *dynamodb.Client) (err error) {
		db = c
		table, err = dynamotest.NewTable(ctx, c, "members-test")
		return err
	})
}

// recorder is a Publisher that keeps what it was asked to publish.
type recorder struct {
	mu  sync.Mutex
	evs []event.Envelope
}

func (r *recorder) Publish(_ context.Context, evs ...event.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, evs...)
	return nil
}

func (r *recorder) ofType(t string) []event.Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event.Envelope
	for _, e := range r.evs {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

type fixture struct {
	h     *Handler
	pub   *recorder
	store *dynamo.MemberStore
	logs  *bytes.Buffer
	mu    *sync.Mutex
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

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := &dynamo.MemberStore{Client: db, Table: table, Key: hkey}
	pub := &recorder{}
	buf, mu := &bytes.Buffer{}, &sync.Mutex{}
	h := &Handler{
		Points:      &dynamo.PointsStore{Client: db, Table: table, Policy: points.DefaultPolicy()},
		Members:     store,
		Idempotency: &dynamo.IdempotencyStore{Client: db, Table: table},
		Outbox:      &dynamo.Outbox{Client: db, Table: table},
		Publisher:   pub,
		Rules:       member.Rules{DefaultRegion: "CN"},
		Log:         logging.New(lockedWriter{mu, buf}, service),
		Service:     service,
	}
	return &fixture{h: h, pub: pub, store: store, logs: buf, mu: mu}
}

type token map[string]string

var (
	serviceToken = token{"sub": "pos-client", "scope": "members:write"}
	staffToken   = token{"sub": "staff-1", "scope": "staff", "cognito:groups": "[staff]"}
)

func memberToken(id string) token { return token{"sub": id} }

type call struct {
	method, route, path string
	body                string
	tok                 token
	headers             map[string]string
	pathParams          map[string]string
}

func (f *fixture) do(t *testing.T, c call) apigw.Response {
	t.Helper()
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: c.method + " " + c.route, RawPath: c.path, Body: c.body,
		Headers: map[string]string{}, PathParameters: c.pathParams,
	}
	req.RequestContext.HTTP.Method = c.method
	req.RequestContext.HTTP.Path = c.path
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
	documentedStatuses(t).CheckResponse(t, req.RouteKey, resp.StatusCode, resp.Headers["Content-Type"])
	if err := kinValidator(t).CheckLambda(req, c.tok != nil, resp); err != nil {
		t.Error(err)
	}
	return resp
}

func uniq() string { return event.NewID(time.Now())[14:] }

func signupBody(email, phone string) string {
	b, _ := json.Marshal(map[string]any{
		"email": email, "phone": phone, "name": "Li Wei", "birthday": "1990-05-17", "preferred_store": "SH-001",
		"signup_channel": "app",
		"consents": []map[string]any{
			{"purpose": "marketing", "channel": "email", "granted": true},
			{"purpose": "profiling", "granted": false},
		},
	})
	return string(b)
}

// phoneFor makes a valid, unique mainland China mobile number.
func phoneFor(n int64) string { return fmt.Sprintf("+86138%08d", n%100000000) }

var phoneSeq int64 = time.Now().UnixNano() % 90000000

var phoneMu sync.Mutex

func nextPhone() string {
	phoneMu.Lock()
	defer phoneMu.Unlock()
	phoneSeq++
	return phoneFor(phoneSeq)
}

func (f *fixture) signup(t *testing.T) member.Member {
	t.Helper()
	resp := f.do(t, call{method: "POST", route: "/v1/members", path: "/v1/members",
		body: signupBody("li.wei+"+strings.ToLower(uniq())+"@Example.com", nextPhone()), tok: serviceToken})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d %s", resp.StatusCode, resp.Body)
	}
	var m member.Member
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func problem(t *testing.T, resp apigw.Response) map[string]any {
	t.Helper()
	if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
		t.Fatalf("content type %q for %d %s", ct, resp.StatusCode, resp.Body)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func fieldsOf(p map[string]any) []string {
	var out []string
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}
