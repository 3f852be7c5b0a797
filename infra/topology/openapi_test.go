package topology

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes holds docs/openapi.json to the topology: the same
// routes, each operation lists the callers its route accepts and names the
// function that serves it.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	type operation struct {
		Callers  []string `json:"x-clientele-callers"`
		Function string   `json:"x-clientele-function"`
	}
	documented := map[string]operation{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" {
				continue
			}
			var o operation
			if err := json.Unmarshal(op, &o); err != nil {
				t.Fatal(err)
			}
			sort.Strings(o.Callers)
			documented[strings.ToUpper(method)+" "+path] = o
		}
	}
	routed := map[string]Route{}
	for _, r := range Clientele().Routes {
		routed[r.Method+" "+r.Path] = r
	}
	for k, r := range routed {
		var cs []string
		for _, c := range r.Callers {
			cs = append(cs, string(c))
		}
		sort.Strings(cs)
		d, ok := documented[k]
		if !ok {
			t.Errorf("route %s is not documented in docs/openapi.json", k)
			continue
		}
		if !slices.Equal(d.Callers, cs) {
			t.Errorf("route %s: documented callers %v, topology %v", k, d.Callers, cs)
		}
		if d.Function != r.Function {
			t.Errorf("route %s: documented x-clientele-function %q, topology %q", k, d.Function, r.Function)
		}
	}
	for k := range documented {
		if _, ok := routed[k]; !ok {
			t.Errorf("docs/openapi.json documents %s, which no route serves", k)
		}
	}
}
