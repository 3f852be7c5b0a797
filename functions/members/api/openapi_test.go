package main

import (
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"clientele/shared/member"
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

type operation struct {
	Callers  []string `json:"x-clientele-callers"`
	Function string   `json:"x-clientele-function"`
}

// operations returns this function's documented operations by route key
// (the points routes also live under /v1/members, so the path says nothing).
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
// members-api is served by this function's router, and nothing else is.
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
		"SignupInput":   reflect.TypeOf(member.SignupInput{}),
		"PatchInput":    reflect.TypeOf(member.PatchInput{}),
		"ConsentsInput": reflect.TypeOf(member.ConsentsInput{}),
		"ConsentInput":  reflect.TypeOf(member.ConsentInput{}),
		"Member":        reflect.TypeOf(member.Member{}),
		"Consent":       reflect.TypeOf(member.Consent{}),
		"Export":        reflect.TypeOf(Export{}),
		"PointsExport":  reflect.TypeOf(PointsExport{}),
	} {
		if got, want := propNames(doc, schema), jsonNames(typ); !reflect.DeepEqual(got, want) {
			t.Errorf("schema %s documents %v, the type has %v", schema, got, want)
		}
	}
	// A live response carries only documented fields.
	f := newFixture(t)
	m := f.signup(t)
	resp := f.do(t, call{method: "GET", route: "/v1/members/{id}", path: "/x", pathParams: map[string]string{"id": m.ID}, tok: staffToken})
	if resp.StatusCode != http.StatusOK {
		t.Fatal(resp.Body)
	}
	var body map[string]any
	_ = json.Unmarshal([]byte(resp.Body), &body)
	props := doc.Components.Schemas["Member"].Properties
	for k := range body {
		if _, ok := props[k]; !ok {
			t.Errorf("response field %q is not in the Member schema", k)
		}
	}
	for _, k := range doc.Components.Schemas["Member"].Required {
		if _, ok := body[k]; !ok {
			t.Errorf("required field %q missing from the response", k)
		}
	}
}

// TestUndocumentedCallersAreForbidden: for every operation documented for
// members-api, each caller kind it does not list gets 403 and a listed kind
// does not.
func TestUndocumentedCallersAreForbidden(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	f := newFixture(t)
	m := f.signup(t)
	tokens := map[string]token{"member": memberToken(m.ID), "staff": staffToken, "service": serviceToken}
	checked := 0
	for route, op := range operations(t, doc) {
		method, path, _ := strings.Cut(route, " ")
		for kind, tok := range tokens {
			allowed := false
			for _, c := range op.Callers {
				allowed = allowed || c == kind
			}
			// A body the decoder rejects and a stale If-Match: an allowed
			// caller gets some other status, never 403. (An allowed DELETE
			// erases the member; later calls are still checked first.)
			resp := f.do(t, call{method: method, route: path, path: path, tok: tok,
				pathParams: map[string]string{"id": m.ID}, body: `{"unknown":1}`,
				headers: map[string]string{"If-Match": `"999"`}})
			checked++
			if allowed && resp.StatusCode == http.StatusForbidden {
				t.Errorf("%s: documented caller %s got 403: %s", route, kind, resp.Body)
			}
			if !allowed && resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: undocumented caller %s got %d, want 403", route, kind, resp.StatusCode)
			}
		}
	}
	if checked < 15 {
		t.Fatalf("checked only %d combinations", checked)
	}
}
