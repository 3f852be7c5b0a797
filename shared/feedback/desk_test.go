package feedback

import (
	"strings"
	"testing"
	"time"

	"clientele/shared/fault"
)

func TestParseDeskDefaultsAndErrors(t *testing.T) {
	t.Parallel()
	d, err := ParseDesk([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if d.DefaultTeam != DefaultTeamName || d.SafetyTeam != DefaultSafetyTeam || time.Duration(d.WarnBefore) != DefaultWarnBefore ||
		d.Burst == nil || d.Burst.MinCount != 5 || d.Calendar == nil || d.Policy[P1].Clock != CalendarHours {
		t.Errorf("defaults %+v", d)
	}
	d, err = ParseDesk([]byte(`{"teams":{"delivery":"logistics"},"calendars":{"store:SH-1":{"id":"sh1","time_zone":"Asia/Shanghai",
		"week":{"sat":[{"start":"10:00","end":"22:00"}]},"holidays":["2026-10-01"],"make_up_days":[{"date":"2026-10-10"}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if d.Teams[Delivery] != "logistics" || d.Calendars["store:SH-1"].ID != "sh1" {
		t.Errorf("parsed %+v", d)
	}
	for body, field := range map[string]string{
		`{"teems":{}}`:                              "desk",
		`{"teams":{"shoes":"x"}}`:                   "teams.shoes",
		`{"warn_before":"-5m"}`:                     "warn_before",
		`{"burst":{"min_count":0}}`:                 "burst",
		`{"calendars":{"team:a":{"id":"a"}}}`:       "calendars.team:a",
		`{"calendar":{"time_zone":"Mars/Olympus"}}`: "calendar",
	} {
		_, err := ParseDesk([]byte(body))
		e, ok := fault.As(err)
		if !ok || e.Kind != fault.Invalid || len(e.Fields) == 0 || !strings.HasPrefix(e.Fields[0].Field, field) {
			t.Errorf("%s: %v, want a field error on %s", body, err, field)
		}
	}
}

func TestDeskRoutesTeamsAndCalendars(t *testing.T) {
	t.Parallel()
	d, err := ParseDesk([]byte(`{"teams":{"delivery":"logistics"},"calendars":{
		"store:SH-1":{"id":"sh1","time_zone":"Asia/Shanghai","week":{"sun":[{"start":"10:00","end":"22:00"}]}},
		"team:logistics":{"id":"log","time_zone":"Europe/Berlin","week":{"mon":[{"start":"08:00","end":"16:00"}]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	c := &Case{ID: "c", Workflow: Workflow{Status: StatusNew}, History: []HistoryEntry{{At: now, Kind: EntryCreated, Status: StatusNew}}, CreatedAt: now}
	if err := d.Route(c, Result{Type: Complaint, Category: Delivery, Priority: P2, RulesVersion: "v1"}, now); err != nil {
		t.Fatal(err)
	}
	if c.Team != "logistics" || c.Status != StatusOpen || d.CalendarFor(c).ID != "log" {
		t.Errorf("routed to %q (%s), calendar %s", c.Team, c.Status, d.CalendarFor(c).ID)
	}
	c.Store = "SH-1"
	if d.CalendarFor(c).ID != "sh1" {
		t.Errorf("a store's calendar wins over its team's: %s", d.CalendarFor(c).ID)
	}
	// Routing again changes nothing; a P1 goes to the safety team.
	before := len(c.History)
	if err := d.Route(c, Result{Priority: P1}, now.Add(time.Hour)); err != nil || len(c.History) != before || c.Priority != P2 {
		t.Errorf("second route: %v, history %d → %d, priority %s", err, before, len(c.History), c.Priority)
	}
	p1 := &Case{ID: "p", Workflow: Workflow{Status: StatusInProgress}, History: []HistoryEntry{{At: now, Kind: EntryCreated}}}
	if err := d.Route(p1, Result{Type: Complaint, Category: ProductQuality, Priority: P1, RulesVersion: "v1"}, now); err != nil {
		t.Fatal(err)
	}
	if p1.Team != DefaultSafetyTeam || p1.Status != StatusInProgress || p1.History[len(p1.History)-1].Kind != EntryTriaged {
		t.Errorf("a taken case: team %q status %s history %+v", p1.Team, p1.Status, p1.History)
	}
}

func TestAlertsAndRecordAlertOncePerClockAndDue(t *testing.T) {
	t.Parallel()
	d := DefaultDesk()
	created := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	c := &Case{ID: "c", Priority: P1, Workflow: Workflow{Status: StatusOpen}, CreatedAt: created,
		History: []HistoryEntry{{At: created, Kind: EntryCreated, Status: StatusNew}, {At: created, Kind: EntryStatus, Status: StatusOpen}}}
	lead := 30 * time.Minute
	// 40 minutes in: 20 minutes of the 1-hour first response left.
	s, err := d.SLA(c, created.Add(40*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	al := Alerts(s, lead)
	if len(al) != 1 || al[0].Kind != EntrySLAWarning || al[0].Clock != "first_response" {
		t.Fatalf("alerts at 40 min: %+v", al)
	}
	if !c.RecordAlert(al[0], "safety-lead", created.Add(40*time.Minute)) || c.RecordAlert(al[0], "safety-lead", created.Add(45*time.Minute)) {
		t.Error("a warning is recorded exactly once")
	}
	// Two hours in: breached, escalated once to the lead.
	s, _ = d.SLA(c, created.Add(2*time.Hour))
	al = Alerts(s, lead)
	if len(al) != 1 || al[0].Kind != EntryEscalated {
		t.Fatalf("alerts at 2 h: %+v", al)
	}
	if !c.RecordAlert(al[0], "safety-lead", created.Add(2*time.Hour)) || c.RecordAlert(al[0], "other-lead", created.Add(3*time.Hour)) {
		t.Error("a breach is recorded exactly once")
	}
	if last := c.History[len(c.History)-1]; !strings.HasSuffix(last.Code, ">safety-lead") {
		t.Errorf("escalation entry %+v", last)
	}
	// A paused or met clock raises nothing.
	if err := c.Reply("staff:1", "on it", true, created.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	s, _ = d.SLA(c, created.Add(3*time.Hour))
	if al := Alerts(s, lead); len(al) != 0 {
		t.Errorf("alerts while waiting on the customer: %+v", al)
	}
}

func TestActTakesOnlyPersonActions(t *testing.T) {
	t.Parallel()
	now := time.Now()
	c := &Case{Workflow: Workflow{Status: StatusOpen}}
	if err := c.Act("staff:1", ActionResolve, now); !fault.Is(err, fault.Invalid) {
		t.Errorf("resolve through Act: %v", err)
	}
	if err := c.Act("staff:1", ActionClose, now); !fault.Is(err, fault.Conflict) || c.Status != StatusOpen || len(c.History) != 0 {
		t.Errorf("close an open case: %v, status %s", err, c.Status)
	}
	if err := c.Act("staff:1", ActionStart, now); err != nil || c.Status != StatusInProgress || len(c.History) != 1 {
		t.Errorf("start: %v, status %s, history %d", err, c.Status, len(c.History))
	}
}

func TestEnginesCompileEachVersionOnce(t *testing.T) {
	t.Parallel()
	var e Engines
	if got, _ := e.For(DefaultRuleset()); got != DefaultEngine() {
		t.Error("the default version is the default engine")
	}
	rs := DefaultRuleset()
	rs.Version = "brand-1"
	a, err := e.For(rs)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := e.For(rs)
	if a != b || a.Version() != "brand-1" {
		t.Errorf("brand-1 compiled twice or misnamed: %p %p %s", a, b, a.Version())
	}
}
