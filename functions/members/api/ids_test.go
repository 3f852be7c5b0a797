package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestOversizedIdsAreRefused: an id no member can have (3,000 characters,
// beyond DynamoDB's key limit) is a 404 on every member route and a token
// whose subject breaks the id rule is a 400, both as problem+json; never a
// 500 from the store refusing the key.
func TestOversizedIdsAreRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	long := strings.Repeat("m", 3000)
	routes := []struct{ method, route, body string }{
		{"GET", "/v1/members/{id}", ""},
		{"PATCH", "/v1/members/{id}", `{"name":"Li"}`},
		{"DELETE", "/v1/members/{id}", ""},
		{"PUT", "/v1/members/{id}/consents", `{"consents":[{"purpose":"profiling","granted":true}]}`},
		{"GET", "/v1/members/{id}/export", ""},
	}
	for _, r := range routes {
		path := strings.ReplaceAll(r.route, "{id}", long)
		headers := map[string]string{"If-Match": "*"}
		resp := f.do(t, call{method: r.method, route: r.route, path: path, body: r.body, headers: headers,
			pathParams: map[string]string{"id": long}, tok: staffToken})
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("staff %s %s<3000>: %d %.300s, want 404", r.method, r.route, resp.StatusCode, resp.Body)
			continue
		}
		if fs := fieldsOf(problem(t, resp)); !slices.Equal(fs, []string{"id"}) {
			t.Errorf("staff %s %s<3000>: fields %v, want [id]", r.method, r.route, fs)
		}
		// A member token whose sub is the same oversized id.
		resp = f.do(t, call{method: r.method, route: r.route, path: path, body: r.body, headers: headers,
			pathParams: map[string]string{"id": long}, tok: memberToken(long)})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("member sub<3000> %s %s: %d %.300s, want 400", r.method, r.route, resp.StatusCode, resp.Body)
			continue
		}
		if fs := fieldsOf(problem(t, resp)); !slices.Equal(fs, []string{"Authorization"}) {
			t.Errorf("member sub<3000> %s %s: fields %v, want [Authorization]", r.method, r.route, fs)
		}
	}
	resp := f.do(t, call{method: "POST", route: "/v1/members", path: "/v1/members", body: signupBody("", nextPhone()),
		tok: token{"sub": long, "scope": "members:write"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("service sub<3000> signup: %d %.300s, want 400", resp.StatusCode, resp.Body)
	}
}
