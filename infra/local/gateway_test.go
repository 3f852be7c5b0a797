package local

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"testing"
)

func TestRouteMatchingPrefersTheMostSpecificRoute(t *testing.T) {
	t.Parallel()
	table := newRouteTable([]PlannedRoute{
		{Key: "GET /v1/members/{id}", Method: "GET", Path: "/v1/members/{id}"},
		{Key: "GET /v1/members/me", Method: "GET", Path: "/v1/members/me"},
		{Key: "ANY /v1/members/me", Method: "ANY", Path: "/v1/members/me"},
		{Key: "GET /v1/members/{id}/export", Method: "GET", Path: "/v1/members/{id}/export"},
		{Key: "GET /v1/{proxy+}", Method: "GET", Path: "/v1/{proxy+}"},
		{Key: "PUT /v1/members/{id}/consents", Method: "PUT", Path: "/v1/members/{id}/consents"},
	})
	cases := []struct {
		method, path, key string
		params            map[string]string
	}{
		{"GET", "/v1/members/123", "GET /v1/members/{id}", map[string]string{"id": "123"}},
		{"GET", "/v1/members/me", "GET /v1/members/me", nil},
		{"POST", "/v1/members/me", "ANY /v1/members/me", nil},
		{"GET", "/v1/members/a%2Fb/export", "GET /v1/members/{id}/export", map[string]string{"id": "a/b"}},
		{"GET", "/v1/members/123/history", "GET /v1/{proxy+}", map[string]string{"proxy": "members/123/history"}},
		{"GET", "/v1/anything", "GET /v1/{proxy+}", map[string]string{"proxy": "anything"}},
		{"PUT", "/v1/members/9/consents", "PUT /v1/members/{id}/consents", map[string]string{"id": "9"}},
		{"DELETE", "/v1/members/9", "", nil},
		{"GET", "/v2/members/9", "", nil},
		{"GET", "/v1/", "", nil},
		{"PUT", "/v1/members//consents", "", nil},
	}
	for _, c := range cases {
		r, params, ok := table.match(c.method, c.path)
		switch {
		case c.key == "" && ok:
			t.Errorf("%s %s matched %s, want no route", c.method, c.path, r.Key)
		case c.key != "" && !ok:
			t.Errorf("%s %s matched nothing, want %s", c.method, c.path, c.key)
		case ok && (r.Key != c.key || !reflect.DeepEqual(params, c.params)):
			t.Errorf("%s %s matched %s %v, want %s %v", c.method, c.path, r.Key, params, c.key, c.params)
		}
	}
}

func TestIsTextBody(t *testing.T) {
	t.Parallel()
	cases := []struct {
		contentType, encoding string
		body                  []byte
		text                  bool
	}{
		{"application/json", "", []byte(`{}`), true},
		{"application/problem+json; charset=utf-8", "", []byte(`{}`), true},
		{"text/csv", "", []byte("a,b"), true},
		{"application/xml", "", []byte("<a/>"), true},
		{"application/json", "gzip", []byte{0x1f, 0x8b}, false},
		{"text/plain", "", []byte{0xff, 0xfe}, false},
		{"application/x-www-form-urlencoded", "", []byte("a=1"), false},
		{"application/octet-stream", "", []byte("abc"), false},
		{"", "", []byte("abc"), false},
	}
	for _, c := range cases {
		if got := isTextBody(c.contentType, c.encoding, c.body); got != c.text {
			t.Errorf("isTextBody(%q, %q) = %v, want %v", c.contentType, c.encoding, got, c.text)
		}
	}
}

func TestWriteFunctionResponse(t *testing.T) {
	t.Parallel()
	t.Run("structured", func(t *testing.T) {
		w := httptest.NewRecorder()
		status, err := writeFunctionResponse(w, []byte(`{"statusCode":201,"headers":{"Location":"/v1/members/1"},`+
			`"multiValueHeaders":{"Vary":["Accept","Origin"]},"cookies":["a=1","b=2; Secure"],"body":"aGk=","isBase64Encoded":true}`))
		if err != nil || status != 201 || w.Code != 201 {
			t.Fatalf("status %d, code %d, err %v", status, w.Code, err)
		}
		if w.Body.String() != "hi" || w.Header().Get("Location") != "/v1/members/1" ||
			!slices.Equal(w.Header().Values("Vary"), []string{"Accept", "Origin"}) ||
			!slices.Equal(w.Header().Values("Set-Cookie"), []string{"a=1", "b=2; Secure"}) {
			t.Errorf("response: %v %q", w.Header(), w.Body.String())
		}
		if _, set := w.Header()["Content-Type"]; set && w.Header().Get("Content-Type") != "" {
			t.Errorf("a content type was invented: %q", w.Header().Get("Content-Type"))
		}
	})
	t.Run("inferred", func(t *testing.T) {
		w := httptest.NewRecorder()
		status, err := writeFunctionResponse(w, []byte(`{"hello":"world"}`))
		if err != nil || status != 200 || w.Body.String() != `{"hello":"world"}` || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("status %d err %v body %q headers %v", status, err, w.Body.String(), w.Header())
		}
	})
	t.Run("malformed", func(t *testing.T) {
		for _, payload := range []string{`not json`, `{"statusCode":0}`, `{"statusCode":200,"body":"%%","isBase64Encoded":true}`} {
			if _, err := writeFunctionResponse(httptest.NewRecorder(), []byte(payload)); err == nil {
				t.Errorf("%s was accepted", payload)
			}
		}
	})
}

func TestLocalEndpointsRefuseRemoteCallers(t *testing.T) {
	t.Parallel()
	g := &gateway{schedules: &scheduler{byName: map[string]PlannedSchedule{}}}
	req := httptest.NewRequest(http.MethodPost, "/_local/schedules/nightly", nil)
	req.RemoteAddr = "192.0.2.7:5555"
	w := httptest.NewRecorder()
	g.ServeHTTP(w, req)
	if w.Code != http.StatusForbidden {
		t.Errorf("remote caller got %d", w.Code)
	}
}
