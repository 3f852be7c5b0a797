package openapicheck_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"clientele/shared/apigw/openapicheck"
)

// TestValidatorCatchesMismatches: the kin-openapi transport passes
// exchanges that match docs/openapi.json and fails those that do not.
func TestValidatorCatchesMismatches(t *testing.T) {
	t.Parallel()
	v := openapicheck.NewValidator(t, "../../../docs/openapi.json")
	var status int
	var contentType, body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	client := v.Client()
	const member = `{"id":"01HMEMBER","status":"active","signup_channel":"app","referral_code":"ABCDEFGH","consents":[],` +
		`"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","version":1}`
	const problem = `{"type":"https://clientele.dev/problems/invalid","title":"Invalid request","status":400,"errors":[{"field":"x","reason":"y"}]}`
	cases := []struct {
		name                  string
		method, path, reqBody string
		auth                  bool
		status                int
		contentType, respBody string
		ok                    bool
	}{
		{"documented read", "GET", "/v1/members/01HMEMBER", "", true, 200, "application/json", member, true},
		{"gateway 401", "GET", "/v1/members/01HMEMBER", "", false, 401, "application/json", `{"message":"Unauthorized"}`, true},
		{"undocumented status", "GET", "/v1/members/01HMEMBER", "", true, 418, "application/problem+json", problem, false},
		{"field of the wrong type", "GET", "/v1/members/01HMEMBER", "", true, 200, "application/json", strings.Replace(member, `"version":1`, `"version":"1"`, 1), false},
		{"a valid request answered 500", "GET", "/v1/members/01HMEMBER", "", true, 500, "application/problem+json", problem, false},
		{"an invalid request refused", "POST", "/v1/purchases", `{"order_id":"o 1"}`, true, 400, "application/problem+json", problem, true},
		{"an invalid request accepted", "POST", "/v1/purchases", `{"order_id":"o 1"}`, true, 202, "application/json", `{"status":"accepted","order_id":"o 1"}`, false},
		{"an oversized path id", "GET", "/v1/members/" + strings.Repeat("m", 3000), "", true, 404, "application/problem+json", problem, true},
		{"undocumented route refused", "GET", "/v1/nothing", "", true, 404, "application/json", `{"message":"Not Found"}`, true},
		{"undocumented route served", "GET", "/v1/nothing", "", true, 200, "application/json", `{}`, false},
	}
	for _, c := range cases {
		status, contentType, body = c.status, c.contentType, c.respBody
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.reqBody))
		if c.reqBody != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.auth {
			req.Header.Set("Authorization", "Bearer x.y.z")
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.ok && err == nil:
			t.Errorf("%s: passed, want a mismatch", c.name)
		case !c.ok && !errors.Is(err, openapicheck.ErrMismatch):
			t.Errorf("%s: %v, want ErrMismatch", c.name, err)
		}
	}
}
