package topology

import (
	"slices"
	"testing"
	"time"

	"clientele/shared/apigw"
	"clientele/shared/env"
)

func TestClienteleIsValid(t *testing.T) {
	t.Parallel()
	if err := Clientele().Complete(); err != nil {
		t.Fatal(err)
	}
}

func TestQueueLimits(t *testing.T) {
	t.Parallel()
	sys := Clientele()
	for _, q := range sys.Queues {
		if q.MaxReceiveCount != 5 {
			t.Errorf("queue %s: maxReceiveCount %d, want 5", q.Name, q.MaxReceiveCount)
		}
		if f, ok := sys.Function(q.Consumer); ok && sys.VisibilityTimeout(q) < 6*f.Timeout {
			t.Errorf("queue %s: visibility %s below 6x consumer timeout %s", q.Name, sys.VisibilityTimeout(q), f.Timeout)
		}
	}
}

func TestValidateRejectsBrokenReferences(t *testing.T) {
	t.Parallel()
	sys := System{
		Functions: []Function{{Name: "a", Entry: "functions/a", MemoryMB: 128, Timeout: time.Second, ReadsTables: []string{"nope"}}},
		Routes:    []Route{{Method: "GET", Path: "/x", Function: "b", Callers: []Caller{Staff}}},
		Queues:    []Queue{{Name: "q", Consumer: "c", BatchSize: 20, MaxReceiveCount: 0}},
		Schedules: []Schedule{{Name: "s", Cron: "* *", Function: "a"}},
	}
	err := sys.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken system")
	}
	for _, want := range []string{"unknown table nope", "unknown function b", "unknown consumer c", "maxReceiveCount", "batch window", "five fields"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestEnvironmentDerivesFromGrants(t *testing.T) {
	t.Parallel()
	sys := Clientele()
	got := sys.Environment("members-api", "local", func(s string) string { return "T:" + s }, func(s string) string { return "Q:" + s })
	if got[env.TableVar(MembersTable)] != "T:members" {
		t.Errorf("table var = %q", got[env.TableVar(MembersTable)])
	}
	if got[env.QueueURLVar(PointsEvents)] != "Q:points-events" {
		t.Errorf("queue var = %q", got[env.QueueURLVar(PointsEvents)])
	}
	routes, err := env.ParseEventRoutes(got[env.EventRoutes])
	if err != nil {
		t.Fatal(err)
	}
	if len(routes[MemberRegistered]) != 1 || routes[MemberRegistered][0] != PointsEvents {
		t.Errorf("routes = %v", routes)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestServiceScopesMatchWhatTheFunctionsEnforce holds the topology's scopes
// (which the Cognito resource server and the integrations' clients get)
// equal to those shared/apigw demands per route at run time.
func TestServiceScopesMatchWhatTheFunctionsEnforce(t *testing.T) {
	t.Parallel()
	sys := Clientele()
	for _, r := range sys.Routes {
		key := r.Method + " " + r.Path
		if got := apigw.RouteServiceScope(key); got != r.ServiceScope {
			t.Errorf("route %s: topology scope %q, shared/apigw enforces %q", key, r.ServiceScope, got)
		}
	}
	if got, want := sys.ServiceScopes(), slices.Sorted(slices.Values(apigw.ServiceScopes)); !slices.Equal(got, want) {
		t.Errorf("topology scopes %v, shared/apigw knows %v", got, want)
	}
}

func TestValidateRejectsRoutesAndIntegrationsWithoutScopes(t *testing.T) {
	t.Parallel()
	sys := Clientele()
	sys.Routes = append(sys.Routes,
		Route{Method: "POST", Path: "/v1/x", Function: "members-api", Callers: []Caller{Service}},
		Route{Method: "GET", Path: "/v1/y", Function: "members-api", Callers: []Caller{Staff}, ServiceScope: ScopePointsWrite})
	sys.Integrations = append(sys.Integrations, Integration{Name: "crm", Scopes: []string{"members:read"}}, Integration{Name: "pos", Scopes: []string{ScopePointsWrite}})
	sys.Functions[0].Access = sys.Functions[0].Access[:1]
	sys.Queues[0].MaxConcurrency = 0
	sys.Queues[1].DLQRetention = sys.Queues[1].Retention
	err := sys.Complete()
	for _, want := range []string{"POST /v1/x: services may call it but no service scope", "GET /v1/y: a service scope on a route", "crm: scope members:read", `"pos" declared twice`} {
		if err == nil || !contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
	sys.Routes = sys.Routes[:len(sys.Routes)-1]
	sys.Integrations = sys.Integrations[:2]
	err = sys.Complete()
	for _, want := range []string{"no access stated for table points", "points-events: no maximum concurrency", "notification-events: its dead-letter queue"} {
		if err == nil || !contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}

func TestPublicRoutesAreListedCallerlessAndThrottled(t *testing.T) {
	t.Parallel()
	var public []string
	for _, r := range Clientele().Routes {
		if r.Public {
			public = append(public, r.Method+" "+r.Path)
		}
	}
	if !slices.Equal(public, PublicRoutes) {
		t.Errorf("public routes %v, PublicRoutes lists %v", public, PublicRoutes)
	}
	cases := []struct {
		name  string
		route Route
		want  string
	}{
		{"callers on a public route", Route{Method: "POST", Path: "/v1/survey-responses", Function: "surveys-api", Public: true,
			Callers: []Caller{Member}, Throttle: &Throttle{RatePerSecond: 1, Burst: 1}}, "names no callers"},
		{"unlisted public route", Route{Method: "POST", Path: "/v1/open", Function: "surveys-api", Public: true,
			Throttle: &Throttle{RatePerSecond: 1, Burst: 1}}, "not listed in PublicRoutes"},
		{"no throttle", Route{Method: "POST", Path: "/v1/survey-responses", Function: "surveys-api", Public: true}, "its own throttle"},
		{"default-sized throttle", Route{Method: "POST", Path: "/v1/survey-responses", Function: "surveys-api", Public: true,
			Throttle: &Throttle{RatePerSecond: 100, Burst: 200}}, "tighter than the default"},
		{"no callers, not public", Route{Method: "POST", Path: "/v1/closed", Function: "surveys-api"}, "no callers"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sys := Clientele()
			sys.Routes = slices.DeleteFunc(sys.Routes, func(r Route) bool { return r.Public })
			sys.Routes = append(sys.Routes, c.route)
			err := sys.Validate()
			if err == nil || !contains(err.Error(), c.want) {
				t.Errorf("error %v does not mention %q", err, c.want)
			}
		})
	}
}

// TestSurveyFunctionsGetTheBrandsTimeZone: survey aggregates are kept by
// the brand's local days, so both survey functions must see its zone.
func TestSurveyFunctionsGetTheBrandsTimeZone(t *testing.T) {
	t.Parallel()
	sys := Clientele()
	if sys.TimeZone == "" {
		t.Fatal("the system names no time zone")
	}
	same := func(s string) string { return s }
	for _, name := range []string{"surveys-api", "surveys-worker"} {
		if _, ok := sys.Function(name); !ok {
			t.Fatalf("no function %s", name)
		}
		if got := sys.Environment(name, "dev", same, same)[env.TimeZone]; got != sys.TimeZone {
			t.Errorf("%s: %s=%q, the system's zone is %q", name, env.TimeZone, got, sys.TimeZone)
		}
	}
}
