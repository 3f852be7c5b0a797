package apigw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"clientele/shared/apigw"
	"clientele/shared/fault"
	"clientele/shared/logging"
)

func decodeProblem(t *testing.T, resp apigw.Response) map[string]any {
	t.Helper()
	if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, resp.Body)
	}
	if got := int(p["status"].(float64)); got != resp.StatusCode {
		t.Fatalf("status member %d != status code %d", got, resp.StatusCode)
	}
	return p
}

func TestProblemResponseKinds(t *testing.T) {
	t.Parallel()
	req := apigw.Request{RawPath: "/v1/members/01HZX", RouteKey: "PATCH /v1/members/{id}"}
	cases := []struct {
		kind   fault.Kind
		status int
		slug   string
		title  string
	}{
		{fault.Invalid, 400, "invalid", "Invalid request"},
		{fault.Unauthorized, 401, "unauthorized", "Unauthorized"},
		{fault.Forbidden, 403, "forbidden", "Forbidden"},
		{fault.NotFound, 404, "not-found", "Not found"},
		{fault.Conflict, 409, "conflict", "Conflict"},
		{fault.PreconditionFailed, 412, "precondition-failed", "Precondition failed"},
		{fault.TooLarge, 413, "too-large", "Request body too large"},
		{fault.UnsupportedMedia, 415, "unsupported-media-type", "Unsupported media type"},
		{fault.PreconditionRequired, 428, "precondition-required", "Precondition required"},
		{fault.Unavailable, 503, "unavailable", "Service unavailable"},
	}
	for _, c := range cases {
		t.Run(c.slug, func(t *testing.T) {
			t.Parallel()
			resp := apigw.ProblemResponse(context.Background(), nil, req, fault.New(c.kind, "detail for %s", c.slug))
			if resp.StatusCode != c.status {
				t.Fatalf("StatusCode = %d, want %d", resp.StatusCode, c.status)
			}
			p := decodeProblem(t, resp)
			want := map[string]any{
				"type":     apigw.ProblemType + c.slug,
				"title":    c.title,
				"detail":   "detail for " + c.slug,
				"instance": "/v1/members/01HZX",
			}
			for k, v := range want {
				if p[k] != v {
					t.Errorf("%s = %v, want %v", k, p[k], v)
				}
			}
			if _, ok := p["errors"]; ok {
				t.Errorf("errors present without field errors: %v", p["errors"])
			}
		})
	}
}

func TestProblemResponseFieldErrorsAndExtra(t *testing.T) {
	t.Parallel()
	var fs fault.Fields
	fs.Add("email", "not an email address")
	fs.Add("consents[0].channel", "marketing consent must name a channel: email, sms or push")
	resp := apigw.ProblemResponse(context.Background(), nil, apigw.Request{RawPath: "/v1/members"}, fmt.Errorf("signup: %w", fs.Err()))
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("StatusCode = %d", resp.StatusCode)
	}
	var p struct {
		Type     string             `json:"type"`
		Title    string             `json:"title"`
		Status   int                `json:"status"`
		Detail   string             `json:"detail"`
		Instance string             `json:"instance"`
		Errors   []fault.FieldError `json:"errors"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Errors) != 2 || p.Errors[0] != (fault.FieldError{Field: "email", Reason: "not an email address"}) ||
		p.Errors[1].Field != "consents[0].channel" {
		t.Errorf("errors = %+v", p.Errors)
	}
	if p.Type != apigw.ProblemType+"invalid" || p.Detail == "" || p.Instance != "/v1/members" {
		t.Errorf("problem = %+v", p)
	}

	extra := &fault.Error{
		Kind:    fault.Conflict,
		Message: "not enough points",
		Extra:   map[string]any{"available": 120, "requested": 500, "status": 200, "type": "about:blank", "title": "hijacked"},
	}
	resp = apigw.ProblemResponse(context.Background(), nil, apigw.Request{RawPath: "/v1/members/m1/redemptions"}, extra)
	q := decodeProblem(t, resp)
	if q["available"] != float64(120) || q["requested"] != float64(500) {
		t.Errorf("extension members missing: %v", q)
	}
	if q["status"] != float64(409) || q["type"] != apigw.ProblemType+"conflict" || q["title"] != "Conflict" {
		t.Errorf("Extra overrode a standard member: %v", q)
	}
}

func TestProblemResponseInternalNeverLeaks(t *testing.T) {
	t.Parallel()
	const secret = "dial tcp 10.0.3.7:8000: password=hunter2"
	errs := map[string]error{
		"plain error":         errors.New(secret),
		"wrapped plain error": fmt.Errorf("get member: %w", errors.New(secret)),
		"internal fault": &fault.Error{
			Kind: fault.Internal, Message: "ledger mismatch for " + secret,
			Fields: []fault.FieldError{{Field: "secret", Reason: secret}},
			Extra:  map[string]any{"leak": secret}, Err: errors.New(secret),
		},
		"wrapped internal fault": fault.Wrap(fault.Internal, errors.New(secret), "store: %s", secret),
	}
	for name, err := range errs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			log := logging.New(&logs, "test")
			ctx := logging.WithRequestID(context.Background(), "req-42")
			resp := apigw.ProblemResponse(ctx, log, apigw.Request{RawPath: "/v1/members/m1", RouteKey: "GET /v1/members/{id}"}, err)
			if resp.StatusCode != 500 {
				t.Fatalf("StatusCode = %d", resp.StatusCode)
			}
			p := decodeProblem(t, resp)
			if p["detail"] != "internal error" || p["title"] != "Internal error" || p["type"] != apigw.ProblemType+"internal" {
				t.Errorf("problem = %v", p)
			}
			for _, leak := range []string{"hunter2", "10.0.3.7", "ledger mismatch", "leak", "secret"} {
				if strings.Contains(resp.Body, leak) {
					t.Errorf("body leaks %q: %s", leak, resp.Body)
				}
			}
			// Logged once, with the cause and the request id.
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("logged %d lines, want 1: %s", len(lines), logs.String())
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
				t.Fatal(err)
			}
			if rec["level"] != "ERROR" || rec["request_id"] != "req-42" || !strings.Contains(fmt.Sprint(rec["error"]), "hunter2") {
				t.Errorf("log record = %v", rec)
			}
		})
	}
}

func TestProblemResponseNilLogger(t *testing.T) {
	t.Parallel()
	resp := apigw.ProblemResponse(context.Background(), nil, apigw.Request{}, errors.New("boom"))
	if resp.StatusCode != 500 || strings.Contains(resp.Body, "boom") {
		t.Fatalf("resp = %+v", resp)
	}
}

func TestJSONResponse(t *testing.T) {
	t.Parallel()
	resp := apigw.JSON(http.StatusCreated, map[string]any{"id": "m1"}, "ETag", `"1"`, "Location", "/v1/members/m1", "dangling")
	if resp.StatusCode != 201 || resp.Body != `{"id":"m1"}` {
		t.Fatalf("resp = %+v", resp)
	}
	want := map[string]string{"Content-Type": "application/json", "ETag": `"1"`, "Location": "/v1/members/m1"}
	if len(resp.Headers) != len(want) {
		t.Errorf("headers = %v, want %v", resp.Headers, want)
	}
	for k, v := range want {
		if resp.Headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, resp.Headers[k], v)
		}
	}
	bad := apigw.JSON(http.StatusOK, map[string]any{"f": func() {}})
	if bad.StatusCode != 500 || bad.Headers["Content-Type"] != "application/problem+json" {
		t.Errorf("unencodable value: %+v", bad)
	}
}
