package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestSpecAndServerAgree: requests at the edges of what docs/openapi.json
// accepts get the answer the document promises. Every exchange is also
// validated by kin-openapi (fixture.do), which fails a request the
// document refuses and the server accepts; the statuses here fail the
// opposite, a request the document accepts and the server refuses.
func TestSpecAndServerAgree(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	signup := func(email, name string) string {
		b, _ := json.Marshal(map[string]any{"email": email, "name": name, "signup_channel": "online"})
		return string(b)
	}
	idn := func(local string) string { return local + uniq() + "@例子.广告" }
	cjkLocal := strings.Repeat("用", 254-len([]rune("@例子.广告"))-len(uniq()))
	cases := []struct {
		name, body string
		status     int
	}{
		{"internationalised email", signup(idn("用户"), ""), http.StatusCreated},
		{"Greek email", signup("δοκιμή"+uniq()+"@παράδειγμα.δοκιμή", ""), http.StatusCreated},
		{"254-character CJK email", signup(idn(cjkLocal), ""), http.StatusCreated},
		{"255-character CJK email", signup(idn(cjkLocal+"用"), ""), http.StatusBadRequest},
		{"100-character CJK name", signup("a"+uniq()+"@example.com", strings.Repeat("李", 100)), http.StatusCreated},
		{"101-character CJK name", signup("a"+uniq()+"@example.com", strings.Repeat("李", 101)), http.StatusBadRequest},
	}
	for _, c := range cases {
		resp := f.do(t, call{method: "POST", route: "/v1/members", path: "/v1/members", body: c.body, tok: serviceToken})
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, resp.Body, c.status)
		}
	}
}
