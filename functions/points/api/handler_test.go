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
	"clientele/shared/fault"
	"clientele/shared/logging"
	"clientele/shared/points"
)

var (
	db     *dynamodb.Client
	table  = "points-test"
	hkey   = []byte("test-hmac-key")
	policy = points.DefaultPolicy()
)

func TestMain(m *testing.M) {
	dynamotest.Main(m, "points-api", func(ctx context.Context, c *dynamodb.Client) (err error) {
		db = c
		table, err = dynamotest.NewTable(ctx, c, "points-test")
		return err
	})
}

// recorder is a Publisher that keeps what it was asked to publish, or
// fails when told to.
type recorder struct {
	mu   sync.Mutex
	evs  []event.Envelope
	fail bool
}

func (r *recorder) Publish(_ context.Context, evs ...event.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return fault.New(fault.Unavailable, "queue unreachable")
	}
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
	pub   *recorder
	store *dynamo.PointsStore
	logs  *bytes.Buffer
	mu    *sync.Mutex
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := &dynamo.PointsStore{Client: db, Table: table, Policy: policy}
	pub := &recorder{}
	buf, mu := &bytes.Buffer{}, &sync.Mutex{}
	h := &Handler{
		Points:      store,
		Intake:      store,
		Idempotency: &dynamo.IdempotencyStore{Client: db, Table: table},
		Publisher:   pub,
		Cursors:     apigw.Cursors{Key: hkey},
		Policy:      policy,
		Log:         logging.New(lockedWriter{mu, buf}, service),
		Service:     service,
	}
	return &fixture{h: h, pub: pub, store: store, logs: buf, mu: mu}
}

type token map[string]string

var (
	serviceToken = token{"sub": "pos-client", "scope": "points:write"}
	staffToken   = token{"sub": "staff-1", "scope": "staff", "cognito:groups": "[staff]"}
)

func memberToken(id string) token { return token{"sub": id} }

type call struct {
	method, route, path string
	body                string
	tok                 token
	headers             map[string]string
	pathParams          map[string]string
	query               map[string]string
}

func (f *fixture) do(t *testing.T, c call) apigw.Response {
	t.Helper()
	path := c.path
	if path == "" {
		path = strings.ReplaceAll(c.route, "{id}", c.pathParams["id"])
	}
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: c.method + " " + c.route, RawPath: path, Body: c.body,
		Headers: map[string]string{}, PathParameters: c.pathParams, QueryStringParameters: c.query,
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
	documentedStatuses(t).CheckResponse(t, req.RouteKey, resp.StatusCode, resp.Headers["Content-Type"])
	if err := kinValidator(t).CheckLambda(req, c.tok != nil, resp); err != nil {
		t.Error(err)
	}
	return resp
}

func uniq() string { return event.NewID(time.Now())[14:] }

// newMember returns a fresh member id; the points API does not need the
// member to exist in the members table.
func newMember() string { return event.NewID(time.Now()) }

func at(id string) map[string]string { return map[string]string{"id": id} }

func key(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }

// grant seeds points through the store, as a bonus earned at earnedAt.
func (f *fixture) grant(t *testing.T, member string, amount int64, earnedAt time.Time) points.Entry {
	t.Helper()
	_, ch, err := f.store.Apply(context.Background(), member, func(a *points.Account) (points.Change, error) {
		e, err := a.Grant(points.Entry{ID: event.NewID(earnedAt), MemberID: member, Kind: points.Bonus, Amount: amount,
			Reason: "welcome", SourceID: "seed:" + uniq(), At: earnedAt.UTC()}, policy)
		return points.Change{Entries: []points.Entry{e}}, err
	}, points.Write{})
	if err != nil {
		t.Fatalf("seed grant: %v", err)
	}
	return ch.Entries[0]
}

// earn applies a purchase through the store, as the points worker does.
func (f *fixture) earn(t *testing.T, p points.Purchase) points.Order {
	t.Helper()
	now := time.Now()
	if err := points.ValidatePurchase(&p, policy, now); err != nil {
		t.Fatalf("seed purchase: %v", err)
	}
	var order points.Order
	_, _, err := f.store.Apply(context.Background(), p.MemberID, func(a *points.Account) (points.Change, error) {
		e, o := a.EarnPurchase(p, event.NewID(now), policy, now)
		order = o
		ch := points.Change{Order: &o, NewOrder: true}
		if e != nil {
			ch.Entries = []points.Entry{*e}
		}
		return ch, nil
	}, points.Write{})
	if err != nil {
		t.Fatalf("seed purchase: %v", err)
	}
	return order
}

// applyReturn applies a return through the store, as the points worker does.
func (f *fixture) applyReturn(t *testing.T, r points.Return) {
	t.Helper()
	now := time.Now()
	o, err := f.store.Order(context.Background(), r.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = f.store.Apply(context.Background(), o.MemberID, func(a *points.Account) (points.Change, error) {
		o := o
		e, err := a.ReverseReturn(r, &o, event.NewID(now), policy, now)
		ch := points.Change{Order: &o, Seen: []string{"return:" + r.ReturnID}}
		if e != nil {
			ch.Entries = []points.Entry{*e}
		}
		return ch, err
	}, points.Write{})
	if err != nil {
		t.Fatalf("seed return: %v", err)
	}
}

func decode[T any](t *testing.T, resp apigw.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("decode %s: %v", resp.Body, err)
	}
	return v
}

func (f *fixture) balance(t *testing.T, member string) Balance {
	t.Helper()
	resp := f.do(t, call{method: "GET", route: "/v1/members/{id}/points", pathParams: at(member), tok: staffToken})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("balance: %d %s", resp.StatusCode, resp.Body)
	}
	return decode[Balance](t, resp)
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
