package feedback

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"clientele/shared/fault"
)

// TimeOfDay is a wall-clock time as minutes after midnight; JSON "HH:MM".
// "24:00" is the end of the day.
type TimeOfDay int

// ParseTimeOfDay reads "HH:MM" (00:00–24:00).
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time between 00:00 and 24:00", s)
	}
	return TimeOfDay(h*60 + m), nil
}

func (t TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", int(t)/60, int(t)%60) }

// MarshalJSON writes "HH:MM".
func (t TimeOfDay) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// UnmarshalJSON reads "HH:MM".
func (t *TimeOfDay) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseTimeOfDay(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Period is one working period of a day, [Start, End) in local wall-clock
// time. A day may hold several (a lunch break, a split shift).
type Period struct {
	Start TimeOfDay `json:"start"`
	End   TimeOfDay `json:"end"`
}

// MakeUpDay is a date that is worked although it falls on a weekend (China's
// 调休 moves weekends to working days around public holidays). Periods
// empty means Monday's periods.
type MakeUpDay struct {
	Date    string   `json:"date"`
	Periods []Period `json:"periods,omitempty"`
}

// Calendar is when a team or a store works: a time zone, working periods
// per weekday, holidays (dates off) and make-up working days. Dates are
// local "YYYY-MM-DD".
type Calendar struct {
	ID       string `json:"id"`
	TimeZone string `json:"time_zone"`
	// Week maps "mon"…"sun" to the day's periods; a missing day is off.
	Week       map[string][]Period `json:"week"`
	Holidays   []string            `json:"holidays,omitempty"`
	MakeUpDays []MakeUpDay         `json:"make_up_days,omitempty"`

	loc      *time.Location
	week     [7][]Period
	holidays map[int]bool // keyed by dateKey
	makeUp   map[int][]Period
}

// dateKey packs a date as yyyymmdd.
func dateKey(y int, m time.Month, d int) int { return y*10000 + int(m)*100 + d }

func parseDateKey(s string) (int, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, err
	}
	return dateKey(t.Date()), nil
}

var weekdayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// maxSearchDays bounds the walk over a calendar (a calendar with working
// time somewhere in its week always finds some within 8 days, unless
// holidays cover more than this).
const maxSearchDays = 3 * 366

// ParseCalendar decodes a calendar strictly (unknown fields are errors) and
// prepares it; errors are fault.Invalid naming fields by JSON path.
func ParseCalendar(b []byte) (*Calendar, error) {
	var c Calendar
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fault.Field("body", "is not a calendar: "+err.Error())
	}
	if err := c.Prepare(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Prepare validates the calendar and builds its lookup tables. It must be
// called before use (ParseCalendar calls it).
func (c *Calendar) Prepare() error {
	var fs fault.Fields
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil || c.TimeZone == "" {
		fs.Add("time_zone", "must be an IANA time zone such as Asia/Shanghai")
	}
	c.loc = loc
	checkPeriods := func(path string, ps []Period) {
		for i, p := range ps {
			if p.Start < 0 || p.End > 24*60 || p.Start >= p.End {
				fs.Add(fmt.Sprintf("%s[%d]", path, i), "must end after it starts, within the day")
			}
			if i > 0 && p.Start < ps[i-1].End {
				fs.Add(fmt.Sprintf("%s[%d]", path, i), "must start after the previous period ends")
			}
		}
	}
	working := false
	for key, ps := range c.Week {
		i := slices.Index(weekdayKeys[:], key)
		if i < 0 {
			fs.Add("week."+key, "must be one of mon, tue, wed, thu, fri, sat, sun")
			continue
		}
		checkPeriods("week."+key, ps)
		c.week[i] = ps
		working = working || len(ps) > 0
	}
	if !working {
		fs.Add("week", "must have working periods on at least one day")
	}
	c.holidays = map[int]bool{}
	for i, d := range c.Holidays {
		k, err := parseDateKey(d)
		if err != nil {
			fs.Add(fmt.Sprintf("holidays[%d]", i), "must be a date YYYY-MM-DD")
			continue
		}
		c.holidays[k] = true
	}
	c.makeUp = map[int][]Period{}
	for i, m := range c.MakeUpDays {
		path := fmt.Sprintf("make_up_days[%d]", i)
		k, err := parseDateKey(m.Date)
		if err != nil {
			fs.Add(path+".date", "must be a date YYYY-MM-DD")
		} else if c.holidays[k] {
			fs.Add(path+".date", "is also a holiday")
		}
		checkPeriods(path+".periods", m.Periods)
		ps := m.Periods
		if len(ps) == 0 {
			ps = c.week[time.Monday]
		}
		c.makeUp[k] = ps
	}
	return fs.Err()
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// PeriodsOn returns the working periods of a local date: none on a holiday,
// the make-up periods on a make-up day, else the weekday's.
// Out-of-range days are normalised (the 32nd of January is the 1st of
// February), as time.Date does.
func (c *Calendar) PeriodsOn(y int, m time.Month, d int) []Period {
	y, m, d = time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Date()
	key := dateKey(y, m, d)
	if c.holidays[key] {
		return nil
	}
	if ps, ok := c.makeUp[key]; ok {
		return ps
	}
	return c.week[time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()]
}

// at is the instant of a local date's wall-clock time. A wall time that a
// DST change skips moves forward (Go's time.Date rule); "24:00" is the next
// day's midnight.
func (c *Calendar) at(y int, m time.Month, d int, t TimeOfDay) time.Time {
	return time.Date(y, m, d, 0, int(t), 0, 0, c.loc)
}

// workingIntervals calls f with each working interval that ends after from,
// in order, clipped to start no earlier than from, until f returns false.
func (c *Calendar) workingIntervals(from time.Time, f func(start, end time.Time) bool) {
	local := from.In(c.loc)
	y, m, d := local.Date()
	for day := 0; day < maxSearchDays; day++ {
		// time.Date normalises d+day across months and years.
		dy, dm, dd := time.Date(y, m, d+day, 12, 0, 0, 0, time.UTC).Date()
		for _, p := range c.PeriodsOn(dy, dm, dd) {
			s, e := c.at(dy, dm, dd, p.Start), c.at(dy, dm, dd, p.End)
			if !e.After(from) {
				continue
			}
			if s.Before(from) {
				s = from
			}
			if !f(s, e) {
				return
			}
		}
	}
}

// AddWorking returns the instant when d of working time has passed after
// t. Zero d returns t; the zero time means the calendar has not that much
// working time in the next three years (holidays everywhere).
func (c *Calendar) AddWorking(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	var due time.Time
	c.workingIntervals(t, func(s, e time.Time) bool {
		if avail := e.Sub(s); d > avail {
			d -= avail
			return true
		}
		due = s.Add(d)
		return false
	})
	return due
}

// WorkingBetween returns the working time in [a, b).
func (c *Calendar) WorkingBetween(a, b time.Time) time.Duration {
	var total time.Duration
	if !b.After(a) {
		return 0
	}
	c.workingIntervals(a, func(s, e time.Time) bool {
		if !s.Before(b) {
			return false
		}
		if e.After(b) {
			e = b
		}
		total += e.Sub(s)
		return true
	})
	return total
}

// String names the calendar for logs.
func (c *Calendar) String() string {
	return fmt.Sprintf("calendar %s (%s, %s)", c.ID, c.TimeZone, strings.Join(c.Holidays, ","))
}
