package feedback

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"clientele/shared/fault"
)

// history builds a case history from lines "YYYY-MM-DD HH:MM kind [status]"
// in the calendar's zone.
func history(t *testing.T, c *Calendar, lines ...string) []HistoryEntry {
	t.Helper()
	var out []HistoryEntry
	for _, l := range lines {
		f := strings.Fields(l)
		e := HistoryEntry{At: at(t, c, f[0]+" "+f[1]), Kind: EntryKind(f[2])}
		if len(f) > 3 {
			e.Status = Status(f[3])
		}
		out = append(out, e)
	}
	return out
}

func TestSLAFirstResponse(t *testing.T) {
	t.Parallel()
	cn := mustCalendar(t, shanghaiCalendar)
	pol := DefaultSLAPolicy() // P2: 4 business hours to first response
	created := []string{"2026-09-28 10:00 created new", "2026-09-28 10:00 status open"}
	cases := []struct {
		name     string
		extra    []string
		now      string
		due      string
		met      bool
		breached bool
	}{
		{"running", nil, "2026-09-28 11:30", "2026-09-28 15:00", false, false},
		{"due passes over lunch and breaches", nil, "2026-09-28 15:01", "2026-09-28 15:00", false, true},
		{"met in time", []string{"2026-09-28 14:30 agent_reply"}, "2026-09-29 09:00", "2026-09-28 15:00", true, false},
		{"met late", []string{"2026-09-28 16:00 agent_reply"}, "2026-09-29 09:00", "2026-09-28 15:00", true, true},
		{"a reply after now does not count yet", []string{"2026-09-28 16:00 agent_reply"}, "2026-09-28 15:30", "2026-09-28 15:00", false, true},
	}
	for _, c := range cases {
		h := history(t, cn, append(append([]string{}, created...), c.extra...)...)
		st, err := ComputeSLA(pol, cn, P2, h, at(t, cn, c.now))
		if err != nil {
			t.Fatal(err)
		}
		fr := st.FirstResponse
		if !fr.Due.Equal(at(t, cn, c.due)) || fr.MetAt.IsZero() == c.met || fr.Breached != c.breached {
			t.Errorf("%s: %+v, want due %s met %v breached %v", c.name, fr, c.due, c.met, c.breached)
		}
		// Running at 11:30: 30 min before lunch and 2 h after it remain.
		if c.name == "running" && fr.RemainingSeconds != 9000 {
			t.Errorf("running: remaining_seconds %d, want 9000", fr.RemainingSeconds)
		}
		if c.name == "running" && fr.Remaining != 2*time.Hour+30*time.Minute {
			t.Errorf("running: remaining %s, want 2h30m of business time", fr.Remaining)
		}
		if c.met || c.breached {
			if fr.Remaining != 0 {
				t.Errorf("%s: remaining %s, want 0", c.name, fr.Remaining)
			}
		}
	}
}

func TestSLACalendarHoursIgnoreTheCalendar(t *testing.T) {
	t.Parallel()
	cn := mustCalendar(t, shanghaiCalendar)
	h := history(t, cn, "2026-09-30 17:30 created open")
	st, err := ComputeSLA(DefaultSLAPolicy(), cn, P1, h, at(t, cn, "2026-09-30 18:00"))
	if err != nil {
		t.Fatal(err)
	}
	// P1: 1 h to first response and 24 h to resolution, holidays or not.
	if !st.FirstResponse.Due.Equal(at(t, cn, "2026-09-30 18:30")) || !st.Resolution.Due.Equal(at(t, cn, "2026-10-01 17:30")) {
		t.Errorf("%s", st)
	}
	if _, err := ComputeSLA(DefaultSLAPolicy(), nil, P1, h, at(t, cn, "2026-09-30 18:00")); err != nil {
		t.Errorf("calendar hours need no calendar: %v", err)
	}
	if _, err := ComputeSLA(DefaultSLAPolicy(), nil, P2, h, at(t, cn, "2026-09-30 18:00")); err == nil {
		t.Errorf("business hours without a calendar: want an error")
	}
}

// TestSLAPauseAndResume: the case waits on the customer from Monday 11:00
// to Tuesday 10:00; the resolution clock (24 business hours) stops there and
// resumes with 23 hours left, and the customer's message starts a
// next-response clock of 8 business hours.
func TestSLAPauseAndResume(t *testing.T) {
	t.Parallel()
	cn := mustCalendar(t, shanghaiCalendar)
	lines := []string{
		"2026-09-28 10:00 created open",
		"2026-09-28 10:30 status in_progress",
		"2026-09-28 11:00 agent_reply",
		"2026-09-28 11:00 status waiting_customer",
		"2026-09-29 10:00 customer_message",
		"2026-09-29 10:00 status in_progress",
	}
	h := history(t, cn, lines...)

	paused, err := ComputeSLA(DefaultSLAPolicy(), cn, P2, h, at(t, cn, "2026-09-28 15:00"))
	if err != nil {
		t.Fatal(err)
	}
	if !paused.Paused || !paused.Resolution.Paused || paused.Resolution.Remaining != 23*time.Hour || !paused.Resolution.Due.IsZero() || paused.Resolution.Breached {
		t.Errorf("while waiting: %s", paused)
	}
	if paused.FirstResponse.MetAt.IsZero() || paused.FirstResponse.Breached {
		t.Errorf("first response was met at 11:00: %+v", paused.FirstResponse)
	}
	if paused.NextResponse != nil {
		t.Errorf("no customer message yet, next response %+v", paused.NextResponse)
	}

	resumed, err := ComputeSLA(DefaultSLAPolicy(), cn, P2, h, at(t, cn, "2026-09-29 12:00"))
	if err != nil {
		t.Fatal(err)
	}
	// Tuesday 10:00 + 23 working hours: Tue 7 h, Wed 8 h, then the
	// National Day holidays, Thu 8th 8 h → Thu 8th 18:00.
	if resumed.Paused || resumed.Resolution.Paused || !resumed.Resolution.Due.Equal(at(t, cn, "2026-10-08 18:00")) {
		t.Errorf("after resuming: %s, want resolution due 2026-10-08 18:00", resumed)
	}
	nr := resumed.NextResponse
	if nr == nil || !nr.Due.Equal(at(t, cn, "2026-09-30 10:00")) || nr.Breached {
		t.Errorf("next response %+v, want due Wed 10:00", nr)
	}
	// The agent answers on Wednesday at 11:00: the next response is met and
	// no longer pending.
	answered := append(h, HistoryEntry{At: at(t, cn, "2026-09-30 11:00"), Kind: EntryAgentReply})
	st, _ := ComputeSLA(DefaultSLAPolicy(), cn, P2, answered, at(t, cn, "2026-09-30 12:00"))
	if st.NextResponse != nil {
		t.Errorf("answered, next response still pending: %+v", st.NextResponse)
	}
	// Without the answer it is breached by Wednesday noon.
	st, _ = ComputeSLA(DefaultSLAPolicy(), cn, P2, h, at(t, cn, "2026-09-30 12:00"))
	if st.NextResponse == nil || !st.NextResponse.Breached {
		t.Errorf("unanswered next response: %+v", st.NextResponse)
	}
}

// TestSLACorrectedCalendarRecomputes: the same history under a calendar
// that adds a holiday gives a later due time; nothing about the case is
// stored but its history.
func TestSLACorrectedCalendarRecomputes(t *testing.T) {
	t.Parallel()
	cn := mustCalendar(t, shanghaiCalendar)
	corrected := mustCalendar(t, strings.Replace(shanghaiCalendar, `"holidays": [`, `"holidays": ["2026-09-29", `, 1))
	h := history(t, cn, "2026-09-28 17:00 created open")
	before, _ := ComputeSLA(DefaultSLAPolicy(), cn, P2, h, at(t, cn, "2026-09-28 17:30"))
	after, _ := ComputeSLA(DefaultSLAPolicy(), corrected, P2, h, at(t, cn, "2026-09-28 17:30"))
	if !before.FirstResponse.Due.Equal(at(t, cn, "2026-09-29 12:00")) || !after.FirstResponse.Due.Equal(at(t, cn, "2026-09-30 12:00")) {
		t.Errorf("before %s after %s", before.FirstResponse.Due, after.FirstResponse.Due)
	}
}

// TestSLAResolvedAndReopened: resolution is met when resolved; reopening
// resumes the clock where it stopped, the resolved span not counting.
func TestSLAResolvedAndReopened(t *testing.T) {
	t.Parallel()
	cn := mustCalendar(t, shanghaiCalendar)
	h := history(t, cn,
		"2026-09-28 09:00 created open",
		"2026-09-28 10:00 agent_reply",
		"2026-09-28 17:00 status resolved",
	)
	st, _ := ComputeSLA(DefaultSLAPolicy(), cn, P2, h, at(t, cn, "2026-09-29 09:00"))
	if st.Resolution.MetAt.IsZero() || st.Resolution.Breached || !st.Resolution.Due.Equal(at(t, cn, "2026-09-30 18:00")) {
		t.Errorf("resolved: %+v", st.Resolution)
	}
	h = append(h, history(t, cn, "2026-10-08 09:00 status reopened")...)
	st, _ = ComputeSLA(DefaultSLAPolicy(), cn, P2, h, at(t, cn, "2026-10-08 10:00"))
	// 8 h used on Monday (09:00–17:00 less lunch = 7 h), 17 h left from Thu 8th 09:00:
	// Thu 8 h, Fri 8 h, Sat 10th (make-up, mornings) 1 h → Sat 10:00.
	if !st.Resolution.MetAt.IsZero() || st.Resolution.Paused || !st.Resolution.Due.Equal(at(t, cn, "2026-10-10 10:00")) {
		t.Errorf("reopened: %+v", st.Resolution)
	}
}

func TestSLAPolicyValidation(t *testing.T) {
	t.Parallel()
	if err := DefaultSLAPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
	p := DefaultSLAPolicy()
	delete(p, P3)
	bad := p[P2]
	bad.Clock = "lunar"
	bad.Resolution = 0
	p[P2] = bad
	err := p.Validate()
	for _, f := range []string{"P3", "P2.clock", "P2.resolution"} {
		if err == nil || !strings.Contains(err.Error(), "["+f+":") {
			t.Errorf("%v does not name %s", err, f)
		}
	}
}

func TestSLANextDueAndBreached(t *testing.T) {
	t.Parallel()
	cn := mustCalendar(t, shanghaiCalendar)
	h := history(t, cn, "2026-09-28 10:00 created open")
	st, _ := ComputeSLA(DefaultSLAPolicy(), cn, P2, h, at(t, cn, "2026-09-28 11:00"))
	if !st.NextDue().Equal(at(t, cn, "2026-09-28 15:00")) || st.Breached() {
		t.Errorf("next due %s breached %v, want the first response at 15:00", st.NextDue(), st.Breached())
	}
	h = append(h, history(t, cn, "2026-09-28 11:00 agent_reply")...)
	st, _ = ComputeSLA(DefaultSLAPolicy(), cn, P2, h, at(t, cn, "2026-09-28 12:00"))
	if !st.NextDue().Equal(st.Resolution.Due) {
		t.Errorf("after the first reply, next due %s, want the resolution %s", st.NextDue(), st.Resolution.Due)
	}
	h = append(h, history(t, cn, "2026-09-28 11:00 status waiting_customer")...)
	st, _ = ComputeSLA(DefaultSLAPolicy(), cn, P2, h, at(t, cn, "2026-10-30 12:00"))
	if !st.NextDue().IsZero() || st.Breached() {
		t.Errorf("paused for a month: next due %s breached %v, want nothing due", st.NextDue(), st.Breached())
	}
}

func TestParseSLAPolicy(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(DefaultSLAPolicy())
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseSLAPolicy(b)
	if err != nil || p[P2].FirstResponse != Duration(4*time.Hour) || p[P1].Clock != CalendarHours {
		t.Fatalf("round trip: %v %+v", err, p)
	}
	for _, bad := range []string{
		`{"P1":{"clock":"calendar","first_response":"1h","next_response":"2h","resolution":"1d"}}`,
		`{"P1":{"clock":"calendar","first_response":"1h","next_response":"2h","resolution":"4h","colour":"red"}}`,
		`[]`,
	} {
		if _, err := ParseSLAPolicy([]byte(bad)); !fault.Is(err, fault.Invalid) {
			t.Errorf("%s: %v, want invalid", bad, err)
		}
	}
}

func BenchmarkComputeSLA(b *testing.B) {
	cn, _ := ParseCalendar([]byte(shanghaiCalendar))
	t0, _ := time.ParseInLocation("2006-01-02 15:04", "2026-09-28 10:00", cn.Location())
	h := []HistoryEntry{
		{At: t0, Kind: EntryCreated, Status: StatusOpen},
		{At: t0.Add(time.Hour), Kind: EntryAgentReply},
		{At: t0.Add(time.Hour), Kind: EntryStatus, Status: StatusWaitingCustomer},
		{At: t0.Add(24 * time.Hour), Kind: EntryCustomerMessage},
		{At: t0.Add(24 * time.Hour), Kind: EntryStatus, Status: StatusInProgress},
	}
	now := t0.Add(30 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ComputeSLA(DefaultSLAPolicy(), cn, P2, h, now); err != nil {
			b.Fatal(err)
		}
	}
}
