package main

import (
	"path/filepath"
	"testing"
	"time"
)

func TestHistoryEndStaysTheFirstRunsDay(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 3, 4, 5, 0, time.UTC)
	earlier := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		flag    string
		earlier time.Time
		want    time.Time
		fails   bool
	}{
		{"", time.Time{}, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), false},
		{"", earlier, earlier, false},
		{"2026-11-25", earlier, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), false},
		{"2026-12-02", time.Time{}, time.Time{}, true},
		{"yesterday", time.Time{}, time.Time{}, true},
	}
	for _, c := range cases {
		got, err := historyEnd(c.flag, c.earlier, now)
		if (err != nil) != c.fails || !got.Equal(c.want) {
			t.Errorf("historyEnd(%q, %s) = %s, %v; want %s (fails %v)", c.flag, c.earlier, got, err, c.want, c.fails)
		}
	}
}

func TestStateSurvivesASaveAndLoad(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data", "seed-4.json")
	st, err := loadState(path, 4)
	if err != nil || len(st.Members) != 0 {
		t.Fatalf("a missing state file: %v, %v", st, err)
	}
	st.Until = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	st.update("s4-m0001", func(m *memberState) { m.ID, m.ReferralCode, m.Purchases = "01J-ID", "ABCDEFGH", true })
	if err := st.save(path); err != nil {
		t.Fatal(err)
	}
	again, err := loadState(path, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.read("s4-m0001"); got.ID != "01J-ID" || got.ReferralCode != "ABCDEFGH" || !got.Purchases || got.Returns {
		t.Errorf("reloaded %+v", got)
	}
	if !again.Until.Equal(st.Until) {
		t.Errorf("until %s, want %s", again.Until, st.Until)
	}
	if _, err := loadState(path, 5); err == nil {
		t.Error("seed 5 loaded seed 4's state")
	}
}
