package topology

import (
	"testing"
	"time"

	"clientele/shared/env"
)

func TestClienteleIsValid(t *testing.T) {
	t.Parallel()
	if err := Clientele().Validate(); err != nil {
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
