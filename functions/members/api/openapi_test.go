package main

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"clientele/shared/apigw/openapicheck"
	"clientele/shared/member"
)

func loadOpenAPI(t *testing.T) openapicheck.Document {
	return openapicheck.Load(t, "../../../docs/openapi.json")
}

// TestRouterServesDocumentedRoutes: every operation documented for
// members-api is served by this function's router, and nothing else is.
func TestRouterServesDocumentedRoutes(t *testing.T) {
	t.Parallel()
	loadOpenAPI(t).CheckServed(t, service, newFixture(t).h.Router().Routes())
}

// TestSchemasMatchTypes: the documented request and response schemas have
// exactly the fields the code reads and writes, and a live response carries
// only documented fields and every required one.
func TestSchemasMatchTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	doc.CheckTypes(t, map[string]reflect.Type{
		"SignupInput":   reflect.TypeOf(member.SignupInput{}),
		"PatchInput":    reflect.TypeOf(member.PatchInput{}),
		"ConsentsInput": reflect.TypeOf(member.ConsentsInput{}),
		"ConsentInput":  reflect.TypeOf(member.ConsentInput{}),
		"Member":        reflect.TypeOf(member.Member{}),
		"Consent":       reflect.TypeOf(member.Consent{}),
		"Export":        reflect.TypeOf(Export{}),
		"PointsExport":  reflect.TypeOf(PointsExport{}),
	})
	f := newFixture(t)
	m := f.signup(t)
	resp := f.do(t, call{method: "GET", route: "/v1/members/{id}", path: "/x", pathParams: map[string]string{"id": m.ID}, tok: staffToken})
	if resp.StatusCode != http.StatusOK {
		t.Fatal(resp.Body)
	}
	var body map[string]any
	_ = json.Unmarshal([]byte(resp.Body), &body)
	doc.CheckBody(t, "Member", body)
}

// TestUndocumentedCallersAreForbidden: for every operation documented for
// members-api, each caller kind it does not list gets 403 and a listed kind
// does not.
func TestUndocumentedCallersAreForbidden(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.signup(t)
	tokens := map[string]token{"member": memberToken(m.ID), "staff": staffToken, "service": serviceToken}
	checked := 0
	for route, op := range loadOpenAPI(t).Operations(t, service) {
		method, path, _ := strings.Cut(route, " ")
		for kind, tok := range tokens {
			// A body the decoder rejects and a stale If-Match: an allowed
			// caller gets some other status, never 403. (An allowed DELETE
			// erases the member; later calls are still checked first.)
			resp := f.do(t, call{method: method, route: path, path: path, tok: tok,
				pathParams: map[string]string{"id": m.ID}, body: `{"unknown":1}`,
				headers: map[string]string{"If-Match": `"999"`}})
			checked++
			if op.Allows(kind) && resp.StatusCode == http.StatusForbidden {
				t.Errorf("%s: documented caller %s got 403: %s", route, kind, resp.Body)
			}
			if !op.Allows(kind) && resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: undocumented caller %s got %d, want 403", route, kind, resp.StatusCode)
			}
		}
	}
	if checked < 15 {
		t.Fatalf("checked only %d combinations", checked)
	}
}

var (
	specOnce sync.Once
	spec     openapicheck.Document
)

// documentedStatuses is the document every fixture response is checked
// against (see fixture.do).
func documentedStatuses(t testing.TB) openapicheck.Document {
	specOnce.Do(func() { spec = openapicheck.Load(t, "../../../docs/openapi.json") })
	return spec
}

var kinOnce = sync.OnceValues(func() (*openapicheck.Validator, error) {
	return openapicheck.LoadValidator("../../../docs/openapi.json")
})

// kinValidator is kin-openapi's view of the document, which every fixture
// exchange must satisfy too (see fixture.do).
func kinValidator(t testing.TB) *openapicheck.Validator {
	v, err := kinOnce()
	if err != nil {
		t.Fatal(err)
	}
	return v
}
