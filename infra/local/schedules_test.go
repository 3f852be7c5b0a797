package local

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

func TestSchedulesRunOnTheBrandsWallClock(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	functions := map[string]*lambdaFunction{"points-nightly": nil}
	after := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for tz, want := range map[string]time.Time{
		// 01:00 in Shanghai is 17:00 UTC the day before.
		"Asia/Shanghai": time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC),
		"":              time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC),
		// New York is on standard time in December: UTC-5.
		"America/New_York": time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC),
	} {
		s, err := newScheduler(context.Background(), []PlannedSchedule{{Name: "n", Cron: "0 1 * * *", TimeZone: tz, Function: "points-nightly"}}, functions, log)
		if err != nil {
			t.Fatalf("%q: %v", tz, err)
		}
		entries := s.cron.Entries()
		if len(entries) != 1 {
			t.Fatalf("%q: %d entries", tz, len(entries))
		}
		if got := entries[0].Schedule.Next(after); !got.Equal(want) {
			t.Errorf("time zone %q: next run %s, want %s", tz, got.UTC(), want)
		}
	}
	if _, err := newScheduler(context.Background(), []PlannedSchedule{{Name: "n", Cron: "0 1 * * *", TimeZone: "Mars/Olympus", Function: "points-nightly"}}, functions, log); err == nil {
		t.Error("an unknown time zone was accepted")
	}
}
