package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/jsii-runtime-go"
)

// weekdayNames are EventBridge's day-of-week names, Sunday first; a
// five-field cron numbers them 0 (or 7) to 6, EventBridge 1 to 7, so days are
// rendered by name to leave no doubt.
var weekdayNames = [7]string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}

// eventBridgeCron translates a five-field UTC cron expression (minute hour
// day-of-month month day-of-week, as the topology and the local runner use it)
// into EventBridge's cron fields. awsevents.Schedule_Cron fills in the year and
// the "?" EventBridge requires in whichever day field is left unset.
//
// EventBridge cannot say "this day of the month or this day of the week", so an
// expression restricting both day fields is an error, as is anything outside
// the common syntax (*, lists, ranges, steps, month and day names).
func eventBridgeCron(expr string) (*awsevents.CronOptions, error) {
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return nil, fmt.Errorf("cron %q: want five fields (minute hour day-of-month month day-of-week), got %d", expr, len(fields))
	}
	minute, hour, dayOfMonth, month, dayOfWeek := fields[0], fields[1], fields[2], fields[3], fields[4]
	for _, f := range []struct{ name, value string }{
		{"minute", minute}, {"hour", hour}, {"day-of-month", dayOfMonth},
	} {
		if strings.IndexFunc(f.value, notNumericCron) >= 0 {
			return nil, fmt.Errorf("cron %q: %s %q uses syntax a five-field cron does not have", expr, f.name, f.value)
		}
	}
	options := &awsevents.CronOptions{
		Minute: jsii.String(startSteps(minute, "0")),
		Hour:   jsii.String(startSteps(hour, "0")),
		Month:  jsii.String(startSteps(month, "1")),
	}
	dayOfMonthRestricted := dayOfMonth != "*" && dayOfMonth != "?"
	dayOfWeekRestricted := dayOfWeek != "*" && dayOfWeek != "?"
	switch {
	case dayOfMonthRestricted && dayOfWeekRestricted:
		return nil, fmt.Errorf("cron %q: EventBridge cannot restrict both day-of-month and day-of-week", expr)
	case dayOfWeekRestricted:
		days, err := weekdays(dayOfWeek)
		if err != nil {
			return nil, fmt.Errorf("cron %q: %w", expr, err)
		}
		options.WeekDay = jsii.String(days)
	default:
		options.Day = jsii.String(startSteps(dayOfMonth, "1"))
		if !dayOfMonthRestricted {
			options.Day = jsii.String("*")
		}
	}
	return options, nil
}

// notNumericCron reports a character numeric cron fields do not use.
func notNumericCron(r rune) bool { return !strings.ContainsRune("0123456789,-*/?", r) }

// startSteps rewrites "*/n" as "<first>/n": EventBridge documents increments
// as a start value and a step.
func startSteps(field, first string) string {
	parts := strings.Split(field, ",")
	for i, p := range parts {
		if step, ok := strings.CutPrefix(p, "*/"); ok {
			parts[i] = first + "/" + step
		}
	}
	return strings.Join(parts, ",")
}

// weekdays expands a five-field day-of-week (0-7, SUN-SAT, lists, ranges,
// steps) and renders the set by name in EventBridge's syntax, folding runs
// into ranges: "1-5" becomes "MON-FRI", "0,6" becomes "SUN,SAT".
func weekdays(field string) (string, error) {
	var set [7]bool
	for _, part := range strings.Split(field, ",") {
		spec, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return "", fmt.Errorf("day-of-week step %q is not a positive number", stepText)
			}
			step = n
		}
		low, high := 0, 6
		if spec != "*" {
			lowText, highText, isRange := strings.Cut(spec, "-")
			var err error
			if low, err = weekdayNumber(lowText); err != nil {
				return "", err
			}
			high = low
			if isRange {
				if high, err = weekdayNumber(highText); err != nil {
					return "", err
				}
			} else if hasStep {
				high = 6
			}
			if high == 0 && isRange && low > 0 {
				high = 7 // "5-0" and "5-7" both end on Sunday
			}
			if high < low {
				return "", fmt.Errorf("day-of-week range %q runs backwards", spec)
			}
		}
		for d := low; d <= high; d += step {
			set[d%7] = true
		}
	}
	var runs []string
	for d := 0; d < 7; d++ {
		if !set[d] {
			continue
		}
		end := d
		for end+1 < 7 && set[end+1] {
			end++
		}
		switch {
		case end == d:
			runs = append(runs, weekdayNames[d])
		case end == d+1:
			runs = append(runs, weekdayNames[d], weekdayNames[end])
		default:
			runs = append(runs, weekdayNames[d]+"-"+weekdayNames[end])
		}
		d = end
	}
	return strings.Join(runs, ","), nil
}

// weekdayNumber reads one day of the week as 0 (Sunday) to 7 (Sunday again).
func weekdayNumber(text string) (int, error) {
	for i, name := range weekdayNames {
		if strings.EqualFold(text, name) {
			return i, nil
		}
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 0 || n > 7 {
		return 0, fmt.Errorf("day-of-week %q is neither 0-7 nor SUN-SAT", text)
	}
	return n, nil
}
