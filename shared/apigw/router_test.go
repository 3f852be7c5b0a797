package apigw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"clientele/shared/apigw"
	"clientele/shared/fault"
	"clientele/shared/logging"
)

// syncBuffer is a bytes.Buffer safe for a logger shared across goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		out = append(out, rec)
	}
	return out
}

func newTestRouter(logs *syncBuffer) *apigw.Router {
	r := apigw.NewRouter(logging.New(logs, "members-api"))
	r.Handle("GET /v1/members/{id}", func(ctx context.Context, req apigw.Request) (apigw.Response, error) {
		id, err := apigw.PathParam(req, "id")
		if err != nil {
			return apigw.Response{}, err
		}
		return apigw.JSON(200, map[string]string{"id": id, "request_id": logging.RequestID(ctx)}), nil
	})
	r.Handle("DELETE /v1/members/{id}", func(ctx context.Context, req apigw.Request) (apigw.Response, error) {
		return apigw.Response{}, fault.New(fault.Conflict, "the member was erased")
	})
	r.Handle("POST /v1/members", func(ctx context.Context, req apigw.Request) (apigw.Response, error) {
		return apigw.Response{}, errors.New("dynamodb: secret-table-name throttled")
	})
	return r
}

func TestRouterDispatches(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	r := newTestRouter(&logs)
	req := loadRequest(t, "http-api-jwt.json")
	resp, err := r.Serve(context.Background(), req)
	if err != nil {
		t.Fatalf("Serve returned an error: %v", err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("StatusCode = %d: %s", resp.StatusCode, resp.Body)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatal(err)
	}
	if body["id"] != "01HZX3R8J6W9Q2M4N5P7T8V9AB" || body["request_id"] != req.RequestContext.RequestID {
		t.Errorf("handler saw %v, want the path id and the request id in its context", body)
	}
	routes := r.Routes()
	slices.Sort(routes)
	if !slices.Equal(routes, []string{"DELETE /v1/members/{id}", "GET /v1/members/{id}", "POST /v1/members"}) {
		t.Errorf("Routes = %q", routes)
	}
}

func TestRouterProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		routeKey string
		status   int
		slug     string
	}{
		{"unknown route", "GET /v1/nothing", 404, "not-found"},
		{"unknown method", "PUT /v1/members/{id}", 404, "not-found"},
		{"empty route key", "", 404, "not-found"},
		{"handler fault", "DELETE /v1/members/{id}", 409, "conflict"},
		{"handler plain error", "POST /v1/members", 500, "internal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			r := newTestRouter(&logs)
			req := loadRequest(t, "http-api-jwt.json")
			req.RouteKey = c.routeKey
			req.RequestContext.RouteKey = c.routeKey
			resp, err := r.Serve(context.Background(), req)
			if err != nil {
				t.Fatalf("Serve returned an error: %v (the Lambda must answer with a problem instead)", err)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("StatusCode = %d, want %d: %s", resp.StatusCode, c.status, resp.Body)
			}
			p := decodeProblem(t, resp)
			if p["type"] != apigw.ProblemType+c.slug || p["instance"] != req.RawPath {
				t.Errorf("problem = %v", p)
			}
			if strings.Contains(resp.Body, "secret-table-name") {
				t.Errorf("internal cause leaked: %s", resp.Body)
			}
		})
	}
}

func TestRouterLogsRequestIDWithoutPersonalData(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	r := newTestRouter(&logs)
	ok := loadRequest(t, "http-api-jwt.json")
	failing := loadRequest(t, "http-api-signup-base64.json") // POST /v1/members: internal error
	for _, req := range []apigw.Request{ok, failing} {
		if _, err := r.Serve(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	recs := logs.records(t)
	// One "request" line per request, plus the internal error line.
	if len(recs) != 3 {
		t.Fatalf("logged %d records, want 3: %v", len(recs), recs)
	}
	wantIDs := map[string]bool{ok.RequestContext.RequestID: false, failing.RequestContext.RequestID: false}
	for _, rec := range recs {
		id, _ := rec["request_id"].(string)
		if _, known := wantIDs[id]; !known {
			t.Errorf("record without a known request id: %v", rec)
		}
		wantIDs[id] = true
		if rec["service"] != "members-api" {
			t.Errorf("record without service: %v", rec)
		}
	}
	for id, seen := range wantIDs {
		if !seen {
			t.Errorf("no record for request %s", id)
		}
	}
	var requests int
	for _, rec := range recs {
		if rec["msg"] == "request" {
			requests++
			if rec["route"] == nil || rec["status"] == nil || rec["duration_ms"] == nil {
				t.Errorf("request record lacks route/status/duration: %v", rec)
			}
		}
	}
	if requests != 2 {
		t.Errorf("%d request records, want 2", requests)
	}
	logs.mu.Lock()
	all := logs.b.String()
	logs.mu.Unlock()
	for _, pii := range []string{"Ann@Example.com", "ann@example.com", "13800138000", "138 0013 8000", "Bearer"} {
		if strings.Contains(all, pii) {
			t.Errorf("logs contain personal data %q: %s", pii, all)
		}
	}
}

func TestRouterWithoutLogger(t *testing.T) {
	t.Parallel()
	r := apigw.NewRouter(nil)
	resp, err := r.Serve(context.Background(), apigw.Request{RouteKey: "GET /x"})
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("Serve = %+v, %v", resp, err)
	}
}
