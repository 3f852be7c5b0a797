package env_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"clientele/shared/env"
)

func TestEventRoutesRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []map[string][]string{
		{},
		{"member.registered": {"points-events"}},
		{
			"member.registered": {"points-events", "feedback-events"},
			"member.erased":     {"surveys-events", "points-events", "feedback-events"},
			"survey.completed":  {"points-events"},
		},
	}
	for _, routes := range cases {
		v := env.FormatEventRoutes(routes)
		got, err := env.ParseEventRoutes(v)
		if err != nil {
			t.Fatalf("ParseEventRoutes(%q): %v", v, err)
		}
		if len(got) != len(routes) {
			t.Fatalf("round trip of %v gave %v", routes, got)
		}
		for typ, queues := range routes {
			want := slices.Sorted(slices.Values(queues))
			if !slices.Equal(got[typ], want) {
				t.Errorf("%s: got %q, want %q", typ, got[typ], want)
			}
		}
	}
}

func TestFormatEventRoutesIsStable(t *testing.T) {
	t.Parallel()
	routes := map[string][]string{
		"member.registered": {"points-events", "feedback-events"},
		"member.erased":     {"surveys-events", "points-events"},
	}
	const want = "member.erased=points-events,surveys-events;member.registered=feedback-events,points-events"
	for range 20 {
		if got := env.FormatEventRoutes(routes); got != want {
			t.Fatalf("FormatEventRoutes = %q, want %q", got, want)
		}
	}
	// The caller's slices are not reordered.
	if routes["member.registered"][0] != "points-events" {
		t.Errorf("FormatEventRoutes sorted the caller's slice: %q", routes["member.registered"])
	}
}

func TestParseEventRoutes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want map[string][]string
		ok   bool
	}{
		{"", map[string][]string{}, true},
		{"   ", map[string][]string{}, true},
		{"a=q", map[string][]string{"a": {"q"}}, true},
		{"a=q1,q2;b=q2", map[string][]string{"a": {"q1", "q2"}, "b": {"q2"}}, true},
		{"a", nil, false},
		{"=q", nil, false},
		{"a=", nil, false},
		{"a=q;", nil, false},
		{";a=q", nil, false},
		{"a=q;;b=r", nil, false},
		{"a=q;b", nil, false},
	}
	for _, c := range cases {
		got, err := env.ParseEventRoutes(c.in)
		if !c.ok {
			if err == nil {
				t.Errorf("ParseEventRoutes(%q) = %v, want an error", c.in, got)
			} else if !strings.Contains(err.Error(), env.EventRoutes) {
				t.Errorf("ParseEventRoutes(%q) error %q does not name %s", c.in, err, env.EventRoutes)
			}
			continue
		}
		if err != nil || !maps.EqualFunc(got, c.want, slices.Equal) {
			t.Errorf("ParseEventRoutes(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// TestParseEventRoutesRejectsEmptyQueueNames: a queue name is never empty;
// "a=q," would otherwise route to a queue whose URL variable is
// CLIENTELE_QUEUE_URL_ (and fail later, further from the cause).
func TestParseEventRoutesRejectsEmptyQueueNames(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"a=q,", "a=,q", "a=q,,r", "a=,"} {
		if got, err := env.ParseEventRoutes(in); err == nil {
			t.Errorf("ParseEventRoutes(%q) = %q, want an error", in, got)
		}
	}
}

// TestParseEventRoutesDuplicateType: a type listed twice must either be
// refused or keep every queue; silently dropping the first list loses events.
func TestParseEventRoutesDuplicateType(t *testing.T) {
	t.Parallel()
	got, err := env.ParseEventRoutes("member.erased=points-events;member.erased=feedback-events")
	if err != nil {
		return
	}
	q := got["member.erased"]
	if !slices.Contains(q, "points-events") || !slices.Contains(q, "feedback-events") {
		t.Errorf("duplicate type kept %q, want both queues (or an error)", q)
	}
}

func TestVariableNames(t *testing.T) {
	t.Parallel()
	cases := []struct{ got, want string }{
		{env.QueueURLVar("points-events"), "CLIENTELE_QUEUE_URL_POINTS_EVENTS"},
		{env.QueueURLVar("points-events-dlq"), "CLIENTELE_QUEUE_URL_POINTS_EVENTS_DLQ"},
		{env.QueueURLVar("segment.scan"), "CLIENTELE_QUEUE_URL_SEGMENT_SCAN"},
		{env.TableVar("members"), "CLIENTELE_TABLE_MEMBERS"},
		{env.TableVar("points-ledger"), "CLIENTELE_TABLE_POINTS_LEDGER"},
		{env.TableVar("Survey.Responses"), "CLIENTELE_TABLE_SURVEY_RESPONSES"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if env.TableVar("points-events") == env.QueueURLVar("points-events") {
		t.Error("a table and a queue of the same name share a variable")
	}
}

func TestLookupAndOr(t *testing.T) {
	const name = "CLIENTELE_TEST_ENV_LOOKUP"
	t.Setenv(name, "")
	if _, err := env.Lookup(name); err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("Lookup of an empty variable = %v, want an error naming it", err)
	}
	if got := env.Or(name, "dflt"); got != "dflt" {
		t.Errorf("Or(empty) = %q", got)
	}
	t.Setenv(name, "v1")
	if v, err := env.Lookup(name); err != nil || v != "v1" {
		t.Errorf("Lookup = %q, %v", v, err)
	}
	if got := env.Or(name, "dflt"); got != "v1" {
		t.Errorf("Or = %q", got)
	}
	if _, err := env.Lookup("CLIENTELE_TEST_ENV_NEVER_SET_4711"); err == nil {
		t.Error("Lookup of an unset variable succeeded")
	}
}

func ExampleFormatEventRoutes() {
	v := env.FormatEventRoutes(map[string][]string{
		"member.registered": {"points-events"},
		"member.erased":     {"points-events", "feedback-events"},
	})
	fmt.Println(v)
	routes, err := env.ParseEventRoutes(v)
	fmt.Println(routes["member.erased"], err)
	fmt.Println(env.QueueURLVar("points-events"))
	// Output:
	// member.erased=feedback-events,points-events;member.registered=points-events
	// [feedback-events points-events] <nil>
	// CLIENTELE_QUEUE_URL_POINTS_EVENTS
}

func TestLocation(t *testing.T) {
	t.Setenv(env.TimeZone, "Asia/Shanghai")
	loc, err := env.Location()
	if err != nil || loc.String() != "Asia/Shanghai" {
		t.Fatalf("Location() = %v, %v", loc, err)
	}
	t.Setenv(env.TimeZone, "Mars/Olympus")
	if _, err := env.Location(); err == nil || !strings.Contains(err.Error(), env.TimeZone) {
		t.Errorf("an unknown zone: %v", err)
	}
	t.Setenv(env.TimeZone, "")
	if loc, err := env.Location(); err != nil || loc != time.UTC {
		t.Errorf("unset: %v, %v", loc, err)
	}
}
