package feedback

import (
	"strings"
	"testing"
	"time"

	"clientele/shared/fault"
)

// shanghaiCalendar works 09:00–12:00 and 13:00–18:00 on weekdays, is off for
// the National Day week 2026-10-01…07 and works two make-up days: Sunday
// 2026-09-27 (Monday's hours) and Saturday 2026-10-10 (mornings only).
const shanghaiCalendar = `{
  "id": "cn-service",
  "time_zone": "Asia/Shanghai",
  "week": {
    "mon": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}],
    "tue": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}],
    "wed": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}],
    "thu": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}],
    "fri": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}]
  },
  "holidays": ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"],
  "make_up_days": [
    {"date": "2026-09-27"},
    {"date": "2026-10-10", "periods": [{"start": "09:00", "end": "12:00"}]}
  ]
}`

// newYorkCalendar works 09:00–17:00 every day and, on a split shift,
// 19:00–22:00 on Saturdays; 2026-03-08 is the spring DST change.
const newYorkCalendar = `{
  "id": "us-store",
  "time_zone": "America/New_York",
  "week": {
    "mon": [{"start": "09:00", "end": "17:00"}], "tue": [{"start": "09:00", "end": "17:00"}],
    "wed": [{"start": "09:00", "end": "17:00"}], "thu": [{"start": "09:00", "end": "17:00"}],
    "fri": [{"start": "09:00", "end": "17:00"}],
    "sat": [{"start": "09:00", "end": "12:00"}, {"start": "19:00", "end": "22:00"}],
    "sun": [{"start": "09:00", "end": "17:00"}]
  }
}`

// allDayCalendar works around the clock in New York: 24 h of working time
// is 23 real hours across the spring change and 25 across the autumn one.
const allDayCalendar = `{"id": "24x7", "time_zone": "America/New_York",
  "week": {"mon": [{"start": "00:00", "end": "24:00"}], "tue": [{"start": "00:00", "end": "24:00"}],
    "wed": [{"start": "00:00", "end": "24:00"}], "thu": [{"start": "00:00", "end": "24:00"}],
    "fri": [{"start": "00:00", "end": "24:00"}], "sat": [{"start": "00:00", "end": "24:00"}],
    "sun": [{"start": "00:00", "end": "24:00"}]}}`

func mustCalendar(t testing.TB, js string) *Calendar {
	t.Helper()
	c, err := ParseCalendar([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func at(t testing.TB, c *Calendar, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, c.Location())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAddWorking(t *testing.T) {
	t.Parallel()
	cn := mustCalendar(t, shanghaiCalendar)
	ny := mustCalendar(t, newYorkCalendar)
	all := mustCalendar(t, allDayCalendar)
	cases := []struct {
		name  string
		cal   *Calendar
		start string
		add   time.Duration
		want  string
	}{
		{"inside a period", cn, "2026-09-28 10:00", time.Hour, "2026-09-28 11:00"},
		{"ends exactly at lunch", cn, "2026-09-28 10:00", 2 * time.Hour, "2026-09-28 12:00"},
		{"across lunch", cn, "2026-09-28 11:00", 2 * time.Hour, "2026-09-28 14:00"},
		{"starts during lunch", cn, "2026-09-28 12:30", time.Hour, "2026-09-28 14:00"},
		{"starts before opening", cn, "2026-09-28 07:00", time.Hour, "2026-09-28 10:00"},
		{"across the evening", cn, "2026-09-28 17:00", 2 * time.Hour, "2026-09-29 10:00"},
		{"starts after closing", cn, "2026-09-28 20:00", 30 * time.Minute, "2026-09-29 09:30"},
		{"Friday onto a make-up Sunday", cn, "2026-09-25 17:00", 2 * time.Hour, "2026-09-27 10:00"},
		{"over the National Day holidays", cn, "2026-09-30 17:00", 2 * time.Hour, "2026-10-08 10:00"},
		{"onto a make-up Saturday morning and on to Monday", cn, "2026-10-09 17:00", 5 * time.Hour, "2026-10-12 10:00"},
		{"a full working week", cn, "2026-09-28 09:00", 40 * time.Hour, "2026-10-09 18:00"},
		{"zero", cn, "2026-09-28 20:00", 0, "2026-09-28 20:00"},
		{"Saturday split shift", ny, "2026-03-07 11:00", 2 * time.Hour, "2026-03-07 20:00"},
		{"over the spring DST change (wall clock)", ny, "2026-03-07 21:00", 2 * time.Hour, "2026-03-08 10:00"},
		{"24 working hours on the 23-hour day", all, "2026-03-08 00:00", 24 * time.Hour, "2026-03-09 01:00"},
		{"24 working hours on the 25-hour day", all, "2026-11-01 00:00", 24 * time.Hour, "2026-11-01 23:00"},
	}
	for _, c := range cases {
		got := c.cal.AddWorking(at(t, c.cal, c.start), c.add)
		want := at(t, c.cal, c.want)
		if !got.Equal(want) {
			t.Errorf("%s: %s + %s = %s, want %s", c.name, c.start, c.add, got.In(c.cal.Location()), want)
		}
	}
}

func TestAddWorkingAcceptsAnyZone(t *testing.T) {
	t.Parallel()
	cn := mustCalendar(t, shanghaiCalendar)
	// 01:30 UTC is 09:30 in Shanghai.
	got := cn.AddWorking(time.Date(2026, 9, 28, 1, 30, 0, 0, time.UTC), time.Hour)
	if want := time.Date(2026, 9, 28, 2, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got %s, want %s", got.UTC(), want)
	}
	// 23:00 UTC on Sunday the 27th is 07:00 Monday in Shanghai: Sunday
	// evening in UTC counts Monday's hours.
	got = cn.AddWorking(time.Date(2026, 9, 27, 23, 0, 0, 0, time.UTC), time.Hour)
	if want := time.Date(2026, 9, 28, 2, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got %s, want %s", got.UTC(), want)
	}
}

func TestWorkingBetween(t *testing.T) {
	t.Parallel()
	cn := mustCalendar(t, shanghaiCalendar)
	all := mustCalendar(t, allDayCalendar)
	cases := []struct {
		cal      *Calendar
		from, to string
		want     time.Duration
	}{
		{cn, "2026-09-28 08:00", "2026-09-28 20:00", 8 * time.Hour},
		{cn, "2026-09-28 11:30", "2026-09-28 13:30", time.Hour},
		{cn, "2026-09-30 17:00", "2026-10-08 10:00", 2 * time.Hour},
		{cn, "2026-09-26 00:00", "2026-09-27 23:59", 8 * time.Hour},
		{cn, "2026-09-28 12:00", "2026-09-28 10:00", 0},
		{all, "2026-03-08 00:00", "2026-03-09 00:00", 23 * time.Hour},
	}
	for _, c := range cases {
		if got := c.cal.WorkingBetween(at(t, c.cal, c.from), at(t, c.cal, c.to)); got != c.want {
			t.Errorf("%s %s → %s: %s, want %s", c.cal.ID, c.from, c.to, got, c.want)
		}
	}
}

// TestAddAndBetweenAgree checks AddWorking against WorkingBetween from many
// starts: the working time between a start and its due time is what was added.
func TestAddAndBetweenAgree(t *testing.T) {
	t.Parallel()
	for _, js := range []string{shanghaiCalendar, newYorkCalendar} {
		c := mustCalendar(t, js)
		start := at(t, c, "2026-09-20 00:00")
		for i := 0; i < 24*20; i += 7 {
			from := start.Add(time.Duration(i) * time.Hour)
			for _, d := range []time.Duration{time.Minute, 90 * time.Minute, 7 * time.Hour, 23 * time.Hour} {
				due := c.AddWorking(from, d)
				if got := c.WorkingBetween(from, due); got != d {
					t.Fatalf("%s: from %s + %s = %s, but %s of working time lies between", c.ID, from, d, due, got)
				}
			}
		}
	}
}

func TestCalendarValidation(t *testing.T) {
	t.Parallel()
	cases := []struct{ js, field string }{
		{`{"time_zone":"Mars/Olympus","week":{"mon":[{"start":"09:00","end":"17:00"}]}}`, "time_zone"},
		{`{"time_zone":"UTC","week":{}}`, "week"},
		{`{"time_zone":"UTC","week":{"monday":[{"start":"09:00","end":"17:00"}]}}`, "week.monday"},
		{`{"time_zone":"UTC","week":{"mon":[{"start":"17:00","end":"09:00"}]}}`, "week.mon[0]"},
		{`{"time_zone":"UTC","week":{"mon":[{"start":"09:00","end":"13:00"},{"start":"12:00","end":"18:00"}]}}`, "week.mon[1]"},
		{`{"time_zone":"UTC","week":{"mon":[{"start":"09:00","end":"17:00"}]},"holidays":["2026-02-30"]}`, "holidays[0]"},
		{`{"time_zone":"UTC","week":{"mon":[{"start":"09:00","end":"17:00"}]},"holidays":["2026-10-10"],"make_up_days":[{"date":"2026-10-10"}]}`, "make_up_days[0].date"},
		{`{"time_zone":"UTC","week":{"mon":[{"start":"9am","end":"17:00"}]}}`, "body"},
		{`{"time_zone":"UTC","week":{"mon":[{"start":"09:00","end":"17:00"}]},"colour":"red"}`, "body"},
	}
	for _, c := range cases {
		_, err := ParseCalendar([]byte(c.js))
		fe, ok := fault.As(err)
		if !ok || fe.Kind != fault.Invalid {
			t.Errorf("%s: %v, want invalid", c.js, err)
			continue
		}
		found := false
		for _, f := range fe.Fields {
			found = found || f.Field == c.field
		}
		if !found {
			t.Errorf("%s: fields %v, want %s", c.js, fe.Fields, c.field)
		}
	}
}

func TestPeriodsOnNormalisesDates(t *testing.T) {
	t.Parallel()
	cn := mustCalendar(t, shanghaiCalendar)
	if got := cn.PeriodsOn(2026, time.September, 31); got != nil {
		t.Errorf("2026-09-31 is 2026-10-01, a holiday: %v", got)
	}
	if got := cn.PeriodsOn(2026, time.September, 27); len(got) != 2 {
		t.Errorf("make-up Sunday: %v, want Monday's two periods", got)
	}
	if got := cn.PeriodsOn(2026, time.October, 10); len(got) != 1 || got[0].End != 12*60 {
		t.Errorf("make-up Saturday: %v, want its own morning", got)
	}
}

func TestCalendarWithoutWorkingTimeAhead(t *testing.T) {
	t.Parallel()
	var days []string
	for d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2030; d = d.AddDate(0, 0, 1) {
		days = append(days, `"`+d.Format(time.DateOnly)+`"`)
	}
	c := mustCalendar(t, `{"id":"closed","time_zone":"UTC","week":{"mon":[{"start":"09:00","end":"17:00"}]},"holidays":[`+strings.Join(days, ",")+`]}`)
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	if due := c.AddWorking(start, time.Hour); !due.IsZero() {
		t.Errorf("due %s, want none", due)
	}
	st, err := ComputeSLA(DefaultSLAPolicy(), c, P2, []HistoryEntry{{At: start, Kind: EntryCreated}}, start.AddDate(1, 0, 0))
	if err != nil || st.FirstResponse.Breached || !st.NextDue().IsZero() {
		t.Errorf("a closed calendar breaches: %s %v", st, err)
	}
}
