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
// routes, and each operation lists the callers its route accepts.
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
	documented := map[string][]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" {
				continue
			}
			var o struct {
				Callers []string `json:"x-clientele-callers"`
			}
			if err := json.Unmarshal(op, &o); err != nil {
				t.Fatal(err)
			}
			sort.Strings(o.Callers)
			documented[strings.ToUpper(method)+" "+path] = o.Callers
		}
	}
	routed := map[string][]string{}
	for _, r := range Clientele().Routes {
		var cs []string
		for _, c := range r.Callers {
			cs = append(cs, string(c))
		}
		sort.Strings(cs)
		routed[r.Method+" "+r.Path] = cs
	}
	for k, cs := range routed {
		d, ok := documented[k]
		if !ok {
			t.Errorf("route %s is not documented in docs/openapi.json", k)
		} else if !slices.Equal(d, cs) {
			t.Errorf("route %s: documented callers %v, topology %v", k, d, cs)
		}
	}
	for k := range documented {
		if _, ok := routed[k]; !ok {
			t.Errorf("docs/openapi.json documents %s, which no route serves", k)
		}
	}
}
