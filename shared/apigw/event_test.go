package apigw_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"clientele/shared/apigw"
	"clientele/shared/fault"
)

// loadRequest reads an API Gateway HTTP API (payload 2.0) event from testdata.
func loadRequest(t *testing.T, name string) apigw.Request {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var req apigw.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return req
}

// wantFault fails unless err is a *fault.Error of kind k and, when field is
// not empty, names field among its field errors.
func wantFault(t *testing.T, err error, k fault.Kind, field string) *fault.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", k)
	}
	var e *fault.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %T %v, want *fault.Error of kind %s", err, err, k)
	}
	if e.Kind != k {
		t.Fatalf("kind = %s (%v), want %s", e.Kind, err, k)
	}
	if field != "" {
		if !slices.ContainsFunc(e.Fields, func(f fault.FieldError) bool { return f.Field == field }) {
			t.Fatalf("fields = %+v, want one naming %q", e.Fields, field)
		}
	}
	return e
}

func TestTestdataEventsDecode(t *testing.T) {
	t.Parallel()
	jwt := loadRequest(t, "http-api-jwt.json")
	if jwt.Version != "2.0" || jwt.RouteKey != "GET /v1/members/{id}" || jwt.RequestContext.RequestID == "" {
		t.Errorf("http-api-jwt.json: version %q route %q request id %q", jwt.Version, jwt.RouteKey, jwt.RequestContext.RequestID)
	}
	if jwt.RequestContext.Authorizer == nil || jwt.RequestContext.Authorizer.JWT == nil ||
		jwt.RequestContext.Authorizer.JWT.Claims["cognito:groups"] != "[staff admin]" {
		t.Errorf("http-api-jwt.json: authorizer = %+v", jwt.RequestContext.Authorizer)
	}
	signup := loadRequest(t, "http-api-signup-base64.json")
	if !signup.IsBase64Encoded || signup.RequestContext.HTTP.Method != "POST" {
		t.Errorf("http-api-signup-base64.json: base64 %v method %q", signup.IsBase64Encoded, signup.RequestContext.HTTP.Method)
	}
}
