package feedback

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"clientele/shared/fault"
)

// ClockKind says whether a target counts every hour or only working hours.
type ClockKind string

// Clock kinds.
const (
	CalendarHours ClockKind = "calendar"
	BusinessHours ClockKind = "business"
)

// Duration is a time.Duration written in JSON as Go writes it ("4h", "30m").
type Duration time.Duration

// MarshalJSON writes "4h0m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "4h", "90m", "1h30m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Target is the SLA of one priority.
type Target struct {
	Clock ClockKind `json:"clock"`
	// FirstResponse runs from the case's creation to the first agent reply.
	FirstResponse Duration `json:"first_response"`
	// NextResponse runs from each customer message after the first agent
	// reply to the next agent reply.
	NextResponse Duration `json:"next_response"`
	// Resolution runs from creation to resolution.
	Resolution Duration `json:"resolution"`
}

// SLAPolicy holds a target per priority.
type SLAPolicy map[Priority]Target

// Validate checks that every priority has positive targets and a known clock.
func (p SLAPolicy) Validate() error {
	var fs fault.Fields
	for _, pr := range Priorities {
		t, ok := p[pr]
		if !ok {
			fs.Add(string(pr), "is missing")
			continue
		}
		if t.Clock != CalendarHours && t.Clock != BusinessHours {
			fs.Add(string(pr)+".clock", "must be calendar or business")
		}
		for name, d := range map[string]Duration{"first_response": t.FirstResponse, "next_response": t.NextResponse, "resolution": t.Resolution} {
			if d <= 0 {
				fs.Add(string(pr)+"."+name, "must be a positive duration such as 4h")
			}
		}
	}
	for pr := range p {
		if !pr.Valid() {
			fs.Add(string(pr), "is not a priority")
		}
	}
	return fs.Err()
}

// DefaultSLAPolicy is the shipped policy: P1 in calendar hours (a hazard
// does not wait for Monday), P2 and P3 in business hours.
func DefaultSLAPolicy() SLAPolicy {
	h := func(n int) Duration { return Duration(time.Duration(n) * time.Hour) }
	return SLAPolicy{
		P1: {Clock: CalendarHours, FirstResponse: h(1), NextResponse: h(2), Resolution: h(24)},
		P2: {Clock: BusinessHours, FirstResponse: h(4), NextResponse: h(8), Resolution: h(24)},
		P3: {Clock: BusinessHours, FirstResponse: h(8), NextResponse: h(16), Resolution: h(40)},
	}
}

// EntryKind is the kind of a history entry.
type EntryKind string

// Entry kinds the SLA reads. Others (notes, assignments) are ignored.
const (
	EntryCreated         EntryKind = "created"
	EntryStatus          EntryKind = "status"           // Status is the new status
	EntryCustomerMessage EntryKind = "customer_message" // the customer wrote
	EntryAgentReply      EntryKind = "agent_reply"      // staff replied to the customer
	EntryNote            EntryKind = "note"
	EntryAssigned        EntryKind = "assigned"
	EntryClustered       EntryKind = "clustered"
)

// HistoryEntry is one line of a case's history, oldest first.
type HistoryEntry struct {
	At     time.Time `json:"at"`
	Kind   EntryKind `json:"kind"`
	Status Status    `json:"status,omitempty"`
	Action Action    `json:"action,omitempty"`
	// By is who acted: a staff id, "customer" or "system".
	By string `json:"by,omitempty"`
	// Note is free text (an internal note or a reply); erasure clears it.
	Note string `json:"note,omitempty"`
	// Code is a resolution code or, for triage, the rules version.
	Code string `json:"code,omitempty"`
}

// SLAClock is the state of one SLA target at a given time.
type SLAClock struct {
	// Due is when the target falls due; zero while the clock is paused.
	Due time.Time `json:"due,omitzero"`
	// MetAt is when the target was met (zero if not yet).
	MetAt time.Time `json:"met_at,omitzero"`
	// Paused: the case waits on the customer (or is resolved) now.
	Paused bool `json:"paused"`
	// Remaining is the clock time left (calendar or business) when the
	// clock is paused or running; zero once met or past due. A sweep warns
	// when it falls under a lead time.
	Remaining time.Duration `json:"-"`
	// RemainingSeconds is Remaining in whole seconds, as the API shows it.
	RemainingSeconds int64 `json:"remaining_seconds,omitempty"`
	// Breached: met late, or not met and past due.
	Breached bool `json:"breached"`
}

// SLAState is a case's SLA at a given time. NextResponse is nil when no
// customer message awaits an answer after the first response.
type SLAState struct {
	Priority      Priority  `json:"priority"`
	FirstResponse SLAClock  `json:"first_response"`
	NextResponse  *SLAClock `json:"next_response,omitempty"`
	Resolution    SLAClock  `json:"resolution"`
	Paused        bool      `json:"paused"`
}

// ComputeSLA derives a case's SLA at now from its history alone, so a
// corrected calendar or policy recomputes past cases the same way. Entries
// after now are ignored. Pauses are the spans the history shows the case
// waiting on the customer, resolved or closed. cal may be nil for a
// calendar-hours target; a business-hours target without a calendar is
// fault.Invalid.
func ComputeSLA(policy SLAPolicy, cal *Calendar, priority Priority, history []HistoryEntry, now time.Time) (SLAState, error) {
	target, ok := policy[priority]
	if !ok {
		return SLAState{}, fault.Field("priority", "has no SLA target")
	}
	if target.Clock == BusinessHours && cal == nil {
		return SLAState{}, fault.New(fault.Invalid, "a business-hours SLA needs a calendar")
	}
	if len(history) == 0 || history[0].Kind != EntryCreated {
		return SLAState{}, fault.New(fault.Invalid, "a case history starts with its creation")
	}
	m := meter{kind: target.Clock, cal: cal}
	created := history[0].At
	status := history[0].Status
	if status == "" {
		status = StatusNew
	}
	m.setPaused(created, status.Paused())
	var (
		firstReply    time.Time
		resolvedAt    time.Time
		awaitingSince time.Time // oldest unanswered customer message after the first reply
	)
	for _, e := range history {
		if e.At.After(now) {
			break
		}
		switch e.Kind {
		case EntryStatus:
			m.setPaused(e.At, e.Status.Paused())
			status = e.Status
			if e.Status == StatusResolved {
				resolvedAt = e.At
			} else if e.Status == StatusReopened {
				resolvedAt = time.Time{}
			}
		case EntryAgentReply:
			if firstReply.IsZero() {
				firstReply = e.At
			}
			awaitingSince = time.Time{}
		case EntryCustomerMessage:
			if !firstReply.IsZero() && awaitingSince.IsZero() {
				awaitingSince = e.At
			}
		}
	}
	st := SLAState{Priority: priority, Paused: status.Paused()}
	st.FirstResponse = m.clock(created, time.Duration(target.FirstResponse), firstReply, now)
	if !awaitingSince.IsZero() {
		c := m.clock(awaitingSince, time.Duration(target.NextResponse), time.Time{}, now)
		st.NextResponse = &c
	}
	st.Resolution = m.clock(created, time.Duration(target.Resolution), resolvedAt, now)
	return st, nil
}

// meter measures clock time (calendar or business) outside pauses.
type meter struct {
	kind   ClockKind
	cal    *Calendar
	pauses []span // closed and open pauses, in order
}

type span struct{ from, to time.Time } // to zero: still open

func (m *meter) setPaused(at time.Time, paused bool) {
	open := len(m.pauses) > 0 && m.pauses[len(m.pauses)-1].to.IsZero()
	switch {
	case paused && !open:
		m.pauses = append(m.pauses, span{from: at})
	case !paused && open:
		m.pauses[len(m.pauses)-1].to = at
	}
}

// between is the clock time in [a, b), pauses included.
func (m *meter) between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if m.kind == CalendarHours {
		return b.Sub(a)
	}
	return m.cal.WorkingBetween(a, b)
}

// add is the instant when d of clock time has passed after t, pauses ignored.
func (m *meter) add(t time.Time, d time.Duration) time.Time {
	if m.kind == CalendarHours {
		return t.Add(d)
	}
	return m.cal.AddWorking(t, d)
}

// clock runs a target of d from start. met is when it was met (zero if
// not); pauses from then on do not count, so a met clock always has a due
// time to compare with.
func (m *meter) clock(start time.Time, d time.Duration, met time.Time, now time.Time) SLAClock {
	// Walk the running spans between pauses from start, spending d.
	left := d
	cursor := start
	var due time.Time
	pausedNow := false
	for _, p := range m.pauses {
		if !met.IsZero() && !p.from.Before(met) {
			break
		}
		pEnd := p.to
		if !met.IsZero() && (pEnd.IsZero() || pEnd.After(met)) {
			pEnd = met
		}
		if !pEnd.IsZero() && !pEnd.After(start) {
			continue
		}
		if p.from.After(cursor) {
			run := m.between(cursor, p.from)
			if run >= left {
				due = m.add(cursor, left)
				break
			}
			left -= run
		}
		if pEnd.IsZero() {
			pausedNow = true
			break
		}
		if pEnd.After(cursor) {
			cursor = pEnd
		}
	}
	if due.IsZero() && !pausedNow {
		due = m.add(cursor, left)
	}
	c := SLAClock{MetAt: met}
	switch {
	case !met.IsZero():
		c.Due = due
		c.Breached = !due.IsZero() && met.After(due)
	case pausedNow && due.IsZero():
		c.Paused = true
		c.Remaining = left
	default:
		// A zero due time means the calendar has no working time left
		// within its search horizon: nothing can be due.
		c.Due = due
		c.Breached = !due.IsZero() && now.After(due)
		if due.After(now) {
			c.Remaining = m.between(now, due)
		}
	}
	c.RemainingSeconds = int64(c.Remaining / time.Second)
	return c
}

// NextDue is the earliest due time of a clock that is neither met nor
// paused (zero when there is none): the key a store indexes cases by so a
// scheduled sweep finds the cases about to breach without a scan.
func (s SLAState) NextDue() time.Time {
	var next time.Time
	consider := func(c *SLAClock) {
		if c == nil || !c.MetAt.IsZero() || c.Paused || c.Due.IsZero() {
			return
		}
		if next.IsZero() || c.Due.Before(next) {
			next = c.Due
		}
	}
	consider(&s.FirstResponse)
	consider(s.NextResponse)
	consider(&s.Resolution)
	return next
}

// Breached reports whether any clock is breached.
func (s SLAState) Breached() bool {
	return s.FirstResponse.Breached || s.Resolution.Breached || (s.NextResponse != nil && s.NextResponse.Breached)
}

// ParseSLAPolicy decodes a policy strictly and validates it.
func ParseSLAPolicy(b []byte) (SLAPolicy, error) {
	var p SLAPolicy
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fault.Field("body", "is not an SLA policy: "+err.Error())
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// String summarises the state for logs and test failures.
func (s SLAState) String() string {
	return fmt.Sprintf("%s first=%+v next=%v resolution=%+v paused=%v", s.Priority, s.FirstResponse, s.NextResponse, s.Resolution, s.Paused)
}
