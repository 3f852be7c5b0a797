package main

import (
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"clientele/shared/points"
)

type openapi struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		} `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	Callers  []string `json:"x-clientele-callers"`
	Function string   `json:"x-clientele-function"`
}

func loadOpenAPI(t *testing.T) openapi {
	t.Helper()
	raw, err := os.ReadFile("../../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openapi
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// operations returns this function's documented operations by route key.
func operations(t *testing.T, doc openapi) map[string]operation {
	t.Helper()
	out := map[string]operation{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			if method == "parameters" {
				continue
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			if op.Function == service {
				out[strings.ToUpper(method)+" "+path] = op
			}
		}
	}
	return out
}

// TestRouterServesDocumentedRoutes: every operation documented for
// points-api is served by this function's router, and nothing else is.
func TestRouterServesDocumentedRoutes(t *testing.T) {
	t.Parallel()
	var documented []string
	for k := range operations(t, loadOpenAPI(t)) {
		documented = append(documented, k)
	}
	served := newFixture(t).h.Router().Routes()
	sort.Strings(documented)
	sort.Strings(served)
	if !reflect.DeepEqual(documented, served) {
		t.Errorf("documented %v\nserved     %v", documented, served)
	}
}

func jsonNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func propNames(doc openapi, schema string) []string {
	var out []string
	for k := range doc.Components.Schemas[schema].Properties {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestSchemasMatchTypes: the documented request and response schemas have
// exactly the fields the code reads and writes.
func TestSchemasMatchTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	for schema, typ := range map[string]reflect.Type{
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
	} {
		if got, want := propNames(doc, schema), jsonNames(typ); !reflect.DeepEqual(got, want) {
			t.Errorf("schema %s documents %v, the type has %v", schema, got, want)
		}
	}
	// A live posting carries only documented fields, and every required one.
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
	for schema, got := range map[string]map[string]any{"Entry": body.Entry, "Balance": body.Balance} {
		props := doc.Components.Schemas[schema].Properties
		for k := range got {
			if _, ok := props[k]; !ok {
				t.Errorf("response field %q is not in the %s schema", k, schema)
			}
		}
		for _, k := range doc.Components.Schemas[schema].Required {
			if _, ok := got[k]; !ok {
				t.Errorf("required %s field %q missing from the response", schema, k)
			}
		}
	}
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
	for route, op := range operations(t, loadOpenAPI(t)) {
		method, path, _ := strings.Cut(route, " ")
		for kind, tok := range tokens {
			allowed := false
			for _, c := range op.Callers {
				allowed = allowed || c == kind
			}
			// A body the decoder rejects: an allowed caller gets some
			// other status, never 403.
			resp := f.do(t, call{method: method, route: path, path: path, tok: tok,
				pathParams: at(m), body: `{"unknown":1}`})
			checked++
			if allowed && resp.StatusCode == http.StatusForbidden {
				t.Errorf("%s: documented caller %s got 403: %s", route, kind, resp.Body)
			}
			if !allowed && resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: undocumented caller %s got %d, want 403", route, kind, resp.StatusCode)
			}
		}
	}
	if checked < 18 {
		t.Fatalf("checked only %d combinations", checked)
	}
}
