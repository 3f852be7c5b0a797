package main

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"clientele/shared/apigw/openapicheck"
	"clientele/shared/points"
)

func loadOpenAPI(t *testing.T) openapicheck.Document {
	return openapicheck.Load(t, "../../../docs/openapi.json")
}

// TestRouterServesDocumentedRoutes: every operation documented for
// points-api is served by this function's router, and nothing else is.
func TestRouterServesDocumentedRoutes(t *testing.T) {
	t.Parallel()
	loadOpenAPI(t).CheckServed(t, service, newFixture(t).h.Router().Routes())
}

// TestSchemasMatchTypes: the documented request and response schemas have
// exactly the fields the code reads and writes, and a live posting carries
// only documented fields and every required one.
func TestSchemasMatchTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	doc.CheckTypes(t, map[string]reflect.Type{
		"Balance":         reflect.TypeOf(Balance{}),
		"ExpiringLot":     reflect.TypeOf(ExpiringLot{}),
		"TierChange":      reflect.TypeOf(points.TierChange{}),
		"Entry":           reflect.TypeOf(points.Entry{}),
		"LotUse":          reflect.TypeOf(points.LotUse{}),
		"EntriesPage":     reflect.TypeOf(EntriesPage{}),
		"Posting":         reflect.TypeOf(Posting{}),
		"RedemptionInput": reflect.TypeOf(RedemptionInput{}),
		"AdjustmentInput": reflect.TypeOf(AdjustmentInput{}),
		"Purchase":        reflect.TypeOf(points.Purchase{}),
		"PurchaseLine":    reflect.TypeOf(points.PurchaseLine{}),
		"Return":          reflect.TypeOf(points.Return{}),
		"ReturnLine":      reflect.TypeOf(points.ReturnLine{}),
		"Accepted":        reflect.TypeOf(Accepted{}),
	})
	f := newFixture(t)
	m := newMember()
	f.grant(t, m, 100, time.Now().AddDate(-2, 0, 0))
	resp := f.do(t, call{method: "POST", route: redemptionsRoute, pathParams: at(m), tok: staffToken,
		body: `{"reward_id":"R1","cost":10}`, headers: key("schema-" + uniq())})
	if resp.StatusCode != http.StatusCreated {
		t.Fatal(resp.Body)
	}
	var body struct {
		Entry   map[string]any `json:"entry"`
		Balance map[string]any `json:"balance"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &body)
	doc.CheckBody(t, "Entry", body.Entry)
	doc.CheckBody(t, "Balance", body.Balance)
}

// TestUndocumentedCallersAreForbidden: for every operation documented for
// points-api, each caller kind it does not list gets 403 and a listed kind
// does not.
func TestUndocumentedCallersAreForbidden(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	tokens := map[string]token{"member": memberToken(m), "staff": staffToken, "service": serviceToken}
	checked := 0
	for route, op := range loadOpenAPI(t).Operations(t, service) {
		method, path, _ := strings.Cut(route, " ")
		for kind, tok := range tokens {
			// A body the decoder rejects: an allowed caller gets some
			// other status, never 403.
			resp := f.do(t, call{method: method, route: path, path: path, tok: tok,
				pathParams: at(m), body: `{"unknown":1}`})
			checked++
			if op.Allows(kind) && resp.StatusCode == http.StatusForbidden {
				t.Errorf("%s: documented caller %s got 403: %s", route, kind, resp.Body)
			}
			if !op.Allows(kind) && resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: undocumented caller %s got %d, want 403", route, kind, resp.StatusCode)
			}
		}
	}
	if checked < 18 {
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
