package feedback

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"clientele/shared/fault"
)

// Desk is how a brand's service desk handles cases: the SLA policy, the
// calendars teams and stores work by, which team takes which category, who
// a breach escalates to, and the problem-cluster burst rule. A brand states
// it once (CLIENTELE_FEEDBACK_DESK); "{}" keeps every default.
type Desk struct {
	// Policy holds the SLA targets per priority.
	Policy SLAPolicy `json:"sla,omitempty"`
	// Calendar is the default working calendar.
	Calendar *Calendar `json:"calendar,omitempty"`
	// Calendars are the calendars of teams and stores, by "team:<name>" or
	// "store:<id>"; a store's calendar wins over its team's.
	Calendars map[string]*Calendar `json:"calendars,omitempty"`
	// Teams maps a category to the team that handles it; unnamed
	// categories go to DefaultTeam. P1 cases go to SafetyTeam.
	Teams       map[Category]string `json:"teams,omitempty"`
	DefaultTeam string              `json:"default_team,omitempty"`
	SafetyTeam  string              `json:"safety_team,omitempty"`
	// WarnBefore is how much clock time before a due time the sweep warns.
	WarnBefore Duration `json:"warn_before,omitempty"`
	// Burst decides when complaints about one key open a problem cluster;
	// Window is the length of its windows (whole days).
	Burst *BurstRule `json:"burst,omitempty"`
}

// Desk defaults.
const (
	DefaultTeamName   = "customer-care"
	DefaultSafetyTeam = "safety"
	DefaultWarnBefore = 30 * time.Minute
)

// DefaultCalendar is a weekday 09:00–12:00 and 13:00–18:00 calendar in
// Asia/Shanghai with no holidays: a brand adds its public holidays and
// make-up days (调休) each year.
func DefaultCalendar() *Calendar {
	day := []Period{{Start: 9 * 60, End: 12 * 60}, {Start: 13 * 60, End: 18 * 60}}
	c := &Calendar{ID: "default", TimeZone: "Asia/Shanghai", Week: map[string][]Period{
		"mon": day, "tue": day, "wed": day, "thu": day, "fri": day,
	}}
	if err := c.Prepare(); err != nil {
		panic(err)
	}
	return c
}

// DefaultDesk is the desk a brand gets without configuration.
func DefaultDesk() Desk {
	d := Desk{}
	if err := d.complete(); err != nil {
		panic(err)
	}
	return d
}

// ParseDesk reads a brand's desk strictly (unknown fields are errors) and
// fills in defaults; errors are fault.Invalid naming fields by JSON path.
func ParseDesk(b []byte) (Desk, error) {
	var d Desk
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Desk{}, fault.Field("desk", "is not a desk configuration: "+err.Error())
	}
	if err := d.complete(); err != nil {
		return Desk{}, err
	}
	return d, nil
}

func (d *Desk) complete() error {
	var fs fault.Fields
	if d.Policy == nil {
		d.Policy = DefaultSLAPolicy()
	} else if err := d.Policy.Validate(); err != nil {
		fs.Add("sla", err.Error())
	}
	if d.Calendar == nil {
		d.Calendar = DefaultCalendar()
	} else if err := d.Calendar.Prepare(); err != nil {
		fs.Add("calendar", err.Error())
	}
	keys := make([]string, 0, len(d.Calendars))
	for k := range d.Calendars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if c := d.Calendars[k]; c == nil {
			fs.Add("calendars."+k, "is required")
		} else if err := c.Prepare(); err != nil {
			fs.Add("calendars."+k, err.Error())
		}
	}
	for cat := range d.Teams {
		if !cat.Valid() {
			fs.Add("teams."+string(cat), "is not a category")
		}
	}
	if d.DefaultTeam == "" {
		d.DefaultTeam = DefaultTeamName
	}
	if d.SafetyTeam == "" {
		d.SafetyTeam = DefaultSafetyTeam
	}
	if d.WarnBefore == 0 {
		d.WarnBefore = Duration(DefaultWarnBefore)
	} else if d.WarnBefore < 0 {
		fs.Add("warn_before", "must be positive")
	}
	if d.Burst == nil {
		r := DefaultBurstRule()
		d.Burst = &r
	} else if d.Burst.MinCount < 1 || d.Burst.MinRatio < 1 || d.Burst.MaxPValue <= 0 || d.Burst.MaxPValue >= 1 || d.Burst.MinHistory < 1 {
		fs.Add("burst", "needs min_count ≥ 1, min_ratio ≥ 1, 0 < max_p_value < 1 and min_history ≥ 1")
	}
	return fs.Err()
}

// TeamFor names the team a triaged case goes to: safety for P1, else the
// category's team.
func (d Desk) TeamFor(c *Case) string {
	if c.Priority == P1 {
		return d.SafetyTeam
	}
	if t := d.Teams[c.Category]; t != "" {
		return t
	}
	return d.DefaultTeam
}

// LeadOf names whom a breach of a team's case escalates to.
func (d Desk) LeadOf(team string) string {
	if team == "" {
		team = d.DefaultTeam
	}
	return team + "-lead"
}

// CalendarFor is the calendar a case's business hours count by: its
// store's, else its team's, else the default.
func (d Desk) CalendarFor(c *Case) *Calendar {
	if c.Store != "" {
		if cal := d.Calendars["store:"+c.Store]; cal != nil {
			return cal
		}
	}
	if c.Team != "" {
		if cal := d.Calendars["team:"+c.Team]; cal != nil {
			return cal
		}
	}
	return d.Calendar
}

// SLA derives a case's SLA at now with the desk's policy and calendar.
func (d Desk) SLA(c *Case, now time.Time) (SLAState, error) {
	return c.SLA(d.Policy, d.CalendarFor(c), now)
}

// Alert kinds the SLA sweep records on a case.
const (
	EntrySLAWarning EntryKind = "sla_warning"
	EntryEscalated  EntryKind = "escalated"
)

// SLAAlert is an SLA warning or breach the sweep found on one clock.
type SLAAlert struct {
	Kind EntryKind
	// Clock is first_response, next_response or resolution.
	Clock string
	Due   time.Time
}

// code identifies an alert in the history: one per clock and due time.
func (a SLAAlert) code() string { return a.Clock + "@" + a.Due.UTC().Format(time.RFC3339) }

// Alerts returns what the sweep should raise on a case's SLA state: a
// breach for every running clock past due, a warning for every running
// clock with less than lead of clock time left. Clocks met or paused raise
// nothing.
func Alerts(s SLAState, lead time.Duration) []SLAAlert {
	var out []SLAAlert
	check := func(name string, c *SLAClock) {
		if c == nil || !c.MetAt.IsZero() || c.Paused || c.Due.IsZero() {
			return
		}
		switch {
		case c.Breached:
			out = append(out, SLAAlert{Kind: EntryEscalated, Clock: name, Due: c.Due})
		case c.Remaining <= lead:
			out = append(out, SLAAlert{Kind: EntrySLAWarning, Clock: name, Due: c.Due})
		}
	}
	check("first_response", &s.FirstResponse)
	check("next_response", s.NextResponse)
	check("resolution", &s.Resolution)
	return out
}

// RecordAlert records an SLA alert in the case's history (a breach names
// the lead it escalates to) unless the same alert on the same due time is
// there already; it reports whether it added one, so a sweep that runs
// again or concurrently raises each alert once.
func (c *Case) RecordAlert(a SLAAlert, lead string, now time.Time) bool {
	code := a.code()
	for _, h := range c.History {
		if h.Kind == a.Kind && (h.Code == code || strings.HasPrefix(h.Code, code+">")) {
			return false
		}
	}
	if a.Kind == EntryEscalated {
		code += ">" + lead
	}
	c.History = append(c.History, HistoryEntry{At: now, Kind: a.Kind, By: BySystem, Code: code})
	c.UpdatedAt = now
	return true
}

// String describes an alert without case content, for logs.
func (a SLAAlert) String() string {
	return fmt.Sprintf("%s %s due %s", a.Kind, a.Clock, a.Due.UTC().Format(time.RFC3339))
}

// EntryTriaged records a triage decision on a case a person had already
// taken before triage ran (the status does not move).
const EntryTriaged EntryKind = "triaged"

// Route records a triage decision once and gives the case its team: a
// new case opens (ApplyTriage); a case a person already took keeps its
// status and gets the decision. A case already triaged is left alone, so a
// redelivered triage changes nothing.
func (d Desk) Route(c *Case, r Result, now time.Time) error {
	if c.Triage != nil {
		return nil
	}
	if c.Status == StatusNew {
		if err := c.ApplyTriage(r, now); err != nil {
			return err
		}
	} else {
		c.Type, c.Category, c.Sentiment, c.Priority = r.Type, r.Category, r.Sentiment, r.Priority
		c.Triage = &r
		c.History = append(c.History, HistoryEntry{At: now, Kind: EntryTriaged, By: BySystem, Code: r.RulesVersion})
		c.UpdatedAt = now
	}
	if c.Team == "" {
		c.Team = d.TeamFor(c)
	}
	return nil
}
