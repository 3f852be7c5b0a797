package main

import (
	"net/http"
	"slices"
	"testing"
)

// TestEveryErrorOfARequestIsReported: type errors name their JSON path
// with indexes and come with the rule violations of the fields that did
// decode, in one problem, on every members route that takes a body.
func TestEveryErrorOfARequestIsReported(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.signup(t)
	cases := []struct {
		method, route, body string
		want                []string
	}{
		{"POST", "/v1/members", `{"email":5,"phone":"+8613800138000","name":"\u0007","signup_channel":"pigeon","consents":[{"purpose":"profiling","granted":"yes"}]}`,
			[]string{"email", "name", "signup_channel", "consents[0].granted"}},
		{"PATCH", "/v1/members/{id}", `{"name":5,"birthday":"1800-01-01","phone":"not a phone"}`,
			[]string{"name", "birthday", "phone"}},
		{"PUT", "/v1/members/{id}/consents", `{"consents":[{"purpose":"spam","granted":true},{"purpose":"profiling","granted":"yes","source":7}]}`,
			[]string{"consents[0].purpose", "consents[1].granted", "consents[1].source"}},
	}
	for _, c := range cases {
		tok := serviceToken
		if c.method != "POST" {
			tok = memberToken(m.ID)
		}
		resp := f.do(t, call{method: c.method, route: c.route, path: "/v1/members/" + m.ID, body: c.body, tok: tok,
			pathParams: map[string]string{"id": m.ID}, headers: map[string]string{"If-Match": "*"}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s %s: %d %s, want 400", c.method, c.route, resp.StatusCode, resp.Body)
			continue
		}
		got := fieldsOf(problem(t, resp))
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s %s: fields %v, want %v (%s)", c.method, c.route, got, want, resp.Body)
		}
	}
}
