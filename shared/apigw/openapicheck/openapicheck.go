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
