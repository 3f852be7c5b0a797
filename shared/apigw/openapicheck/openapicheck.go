// Package openapicheck holds docs/openapi.json to the code that serves it:
// the routes each function's router serves, the callers each operation
// accepts, and the fields of every request and response type. Function
// tests call it; the functions themselves never import it.
package openapicheck

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Operation is what the document says of one operation.
type Operation struct {
	// Callers lists the token kinds it accepts (member, staff, service).
	Callers []string `json:"x-clientele-callers"`
	// Function is the function that serves it.
	Function string `json:"x-clientele-function"`
}

// Allows reports whether the operation accepts the caller kind.
func (o Operation) Allows(kind string) bool { return slices.Contains(o.Callers, kind) }

// Schema is a component schema's fields.
type Schema struct {
	Properties map[string]json.RawMessage `json:"properties"`
	Required   []string                   `json:"required"`
}

// Document is the parsed OpenAPI document.
type Document struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]Schema `json:"schemas"`
	} `json:"components"`
}

// Load reads the document at path, failing the test if it cannot.
func Load(t testing.TB, path string) Document {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc Document
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// Operations returns the function's documented operations by route key
// ("POST /v1/members").
func (d Document) Operations(t testing.TB, function string) map[string]Operation {
	t.Helper()
	out := map[string]Operation{}
	for path, ops := range d.Paths {
		for method, raw := range ops {
			if method == "parameters" {
				continue
			}
			var op Operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			if op.Function == function {
				out[strings.ToUpper(method)+" "+path] = op
			}
		}
	}
	return out
}

// CheckServed fails the test unless the router serves exactly the routes
// documented for the function.
func (d Document) CheckServed(t testing.TB, function string, served []string) {
	t.Helper()
	var documented []string
	for k := range d.Operations(t, function) {
		documented = append(documented, k)
	}
	served = slices.Clone(served)
	sort.Strings(documented)
	sort.Strings(served)
	if !slices.Equal(documented, served) {
		t.Errorf("documented %v\nserved     %v", documented, served)
	}
}

// CheckTypes fails the test unless each named schema documents exactly the
// JSON fields of its Go type.
func (d Document) CheckTypes(t testing.TB, types map[string]reflect.Type) {
	t.Helper()
	for schema, typ := range types {
		var fields []string
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if name != "" && name != "-" {
				fields = append(fields, name)
			}
		}
		var props []string
		for k := range d.Components.Schemas[schema].Properties {
			props = append(props, k)
		}
		sort.Strings(fields)
		sort.Strings(props)
		if !slices.Equal(props, fields) {
			t.Errorf("schema %s documents %v, the type has %v", schema, props, fields)
		}
	}
}

// CheckBody fails the test if a live response object has a field the
// schema does not document, or lacks one it requires.
func (d Document) CheckBody(t testing.TB, schema string, body map[string]any) {
	t.Helper()
	s, ok := d.Components.Schemas[schema]
	if !ok {
		t.Fatalf("no schema %s", schema)
	}
	for k := range body {
		if _, ok := s.Properties[k]; !ok {
			t.Errorf("response field %q is not in the %s schema", k, schema)
		}
	}
	for _, k := range s.Required {
		if _, ok := body[k]; !ok {
			t.Errorf("required field %q of %s missing from the response", k, schema)
		}
	}
}

// MaxLengths returns the maxLength of every string property of the named
// schemas that has one, keyed "Schema.property".
func (d Document) MaxLengths(t testing.TB, schemas ...string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, name := range schemas {
		s, ok := d.Components.Schemas[name]
		if !ok {
			t.Fatalf("no schema %s", name)
		}
		for prop, raw := range s.Properties {
			var p struct {
				MaxLength *int `json:"maxLength"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatal(err)
			}
			if p.MaxLength != nil {
				out[name+"."+prop] = *p.MaxLength
			}
		}
	}
	return out
}

// Statuses returns the response statuses documented for a route key
// ("GET /v1/members/{id}").
func (d Document) Statuses(t testing.TB, routeKey string) []string {
	t.Helper()
	method, path, _ := strings.Cut(routeKey, " ")
	raw, ok := d.Paths[path][strings.ToLower(method)]
	if !ok {
		t.Fatalf("%s is not documented", routeKey)
	}
	var op struct {
		Responses map[string]json.RawMessage `json:"responses"`
	}
	if err := json.Unmarshal(raw, &op); err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(op.Responses))
	for k := range op.Responses {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CheckResponse fails the test unless the status is documented for the
// route and an error status comes as problem+json. Function tests call it
// on every response they see, so a status a function can return and the
// document does not list shows up in the tests that provoke it.
func (d Document) CheckResponse(t testing.TB, routeKey string, status int, contentType string) {
	t.Helper()
	documented := d.Statuses(t, routeKey)
	if !slices.Contains(documented, strconv.Itoa(status)) {
		t.Errorf("%s answered %d, which docs/openapi.json does not list (it lists %v)", routeKey, status, documented)
	}
	if status >= 400 && contentType != "application/problem+json" {
		t.Errorf("%s answered %d as %q, want application/problem+json", routeKey, status, contentType)
	}
}
