package survey

import (
	"fmt"
	"time"

	"clientele/shared/fault"
)

// Day is a calendar day in the brand's time zone, counted in days since
// 1970-01-01. Aggregates are kept per Day; a response's Day is the local
// date of its instant.
type Day int32

// DayOf returns the local calendar day of t in loc.
func DayOf(t time.Time, loc *time.Location) Day {
	y, m, d := t.In(loc).Date()
	return DateDay(y, m, d)
}

// DateDay returns the Day of a calendar date.
func DateDay(y int, m time.Month, d int) Day {
	u := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
	if u < 0 && u%86400 != 0 {
		return Day(u/86400 - 1)
	}
	return Day(u / 86400)
}

// ParseDay parses YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, err
	}
	return DateDay(t.Date()), nil
}

// Date returns the calendar date of d.
func (d Day) Date() (int, time.Month, int) {
	return time.Unix(int64(d)*86400, 0).UTC().Date()
}

// Start returns the instant d begins in loc (local midnight, or the first
// instant of the day when a DST change skips midnight).
func (d Day) Start(loc *time.Location) time.Time {
	y, m, dd := d.Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}

func (d Day) String() string {
	y, m, dd := d.Date()
	return fmt.Sprintf("%04d-%02d-%02d", y, int(m), dd)
}

// MarshalText encodes d as YYYY-MM-DD.
func (d Day) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes YYYY-MM-DD.
func (d *Day) UnmarshalText(b []byte) error {
	v, err := ParseDay(string(b))
	if err != nil {
		return fmt.Errorf("must be a date YYYY-MM-DD")
	}
	*d = v
	return nil
}

// Month returns the month d is in.
func (d Day) Month() Month {
	y, m, _ := d.Date()
	return Month(y*12 + int(m) - 1)
}

// WeekStart returns the Monday of d's ISO week.
func (d Day) WeekStart() Day {
	// 1970-01-01 (Day 0) was a Thursday: Monday-based weekday 3.
	wd := (int32(d)%7 + 7 + 3) % 7
	return d - Day(wd)
}

// Month is a calendar month, counted as year·12 + month − 1.
type Month int32

// First returns the first day of m.
func (m Month) First() Day { return DateDay(int(m)/12, time.Month(int(m)%12+1), 1) }

// Next returns the following month.
func (m Month) Next() Month { return m + 1 }

func (m Month) String() string { return fmt.Sprintf("%04d-%02d", int(m)/12, int(m)%12+1) }

// Plan returns what covers the period [from, to) exactly: the month
// roll-ups of the whole months inside it, and the days at its edges. A
// year's query reads 12 months instead of 365 days.
func Plan(from, to Day) (months []Month, days []Day) {
	for d := from; d < to; {
		m := d.Month()
		next := m.Next().First()
		if d == m.First() && next <= to {
			months = append(months, m)
			d = next
			continue
		}
		for end := min(next, to); d < end; d++ {
			days = append(days, d)
		}
	}
	return months, days
}

// MaxPeriodDays bounds a scores query's period.
const MaxPeriodDays = 3 * 366

// ParsePeriod parses a scores query's from and to (YYYY-MM-DD local dates,
// from inclusive, to exclusive) and tz, an IANA time zone that must be the
// zone the aggregates are kept in (zone): local days of another zone have
// other boundaries and cannot be answered exactly from them.
func ParsePeriod(from, to, tz string, zone *time.Location) (Day, Day, error) {
	var fs fault.Fields
	f, err := ParseDay(from)
	if err != nil {
		fs.Add("from", "must be a date YYYY-MM-DD")
	}
	t, err2 := ParseDay(to)
	if err2 != nil {
		fs.Add("to", "must be a date YYYY-MM-DD")
	}
	if err == nil && err2 == nil {
		switch {
		case t <= f:
			fs.Add("to", "must be after from")
		case t-f > MaxPeriodDays:
			fs.Add("to", fmt.Sprintf("the period is at most %d days", MaxPeriodDays))
		}
	}
	if tz != "" && tz != zone.String() {
		if _, err := time.LoadLocation(tz); err != nil {
			fs.Add("tz", "not an IANA time zone")
		} else {
			fs.Add("tz", fmt.Sprintf("scores are kept by local day in %s; query in that time zone", zone))
		}
	}
	return f, t, fs.Err()
}
