package topology

import (
	"testing"

	"clientele/shared/env"
)

// TestEveryFunctionGetsTheBrandsZone: the system's time zone reaches every
// function as CLIENTELE_TIME_ZONE (the points worker's purchase days, the
// nightly runs' "today"), and no zone means the variable is absent (UTC).
func TestEveryFunctionGetsTheBrandsZone(t *testing.T) {
	t.Parallel()
	sys := Clientele()
	name := func(s string) string { return s }
	for _, f := range sys.Functions {
		if got := sys.Environment(f.Name, "local", name, name)[env.TimeZone]; got != sys.TimeZone || got == "" {
			t.Errorf("%s: %s = %q, want %q", f.Name, env.TimeZone, got, sys.TimeZone)
		}
	}
	sys.TimeZone = ""
	if _, set := sys.Environment("points-worker", "local", name, name)[env.TimeZone]; set {
		t.Errorf("%s set without a system time zone", env.TimeZone)
	}
}
