package sweep_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"clientele/shared/fault"
	"clientele/shared/sweep"
)

func TestDayFollowsTheZone(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		at   time.Time
		zone *time.Location
		want string
	}{
		{time.Date(2026, 12, 1, 16, 30, 0, 0, time.UTC), shanghai, "2026-12-02"}, // 00:30 local
		{time.Date(2026, 12, 1, 16, 30, 0, 0, time.UTC), time.UTC, "2026-12-01"},
		{time.Date(2026, 12, 1, 15, 59, 59, 0, time.UTC), shanghai, "2026-12-01"}, // 23:59:59 local
		{time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC), newYork, "2026-11-30"},
		{time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC), nil, "2026-12-01"},
	}
	for _, c := range cases {
		if got := sweep.Day(c.at, c.zone); got != c.want {
			t.Errorf("Day(%v, %v) = %s, want %s", c.at, c.zone, got, c.want)
		}
	}
}

func TestSegmentCount(t *testing.T) {
	t.Parallel()
	cases := []struct {
		items, per int64
		lo, hi     int
		want       int
	}{
		{0, 40_000, 0, 0, 1},
		{1, 40_000, 0, 0, 1},
		{40_000, 40_000, 0, 0, 1},
		{40_001, 40_000, 0, 0, 2},
		{10_000_000, 40_000, 0, 0, 250},
		{10_000_000, 40_000, 0, 128, 128},
		{1_000, 40_000, 4, 64, 4},
		{100_000_000_000, 1, 0, 0, sweep.MaxSegments},
		{5_000, 0, 3, 0, 3},
	}
	for _, c := range cases {
		if got := sweep.SegmentCount(c.items, c.per, c.lo, c.hi); got != c.want {
			t.Errorf("SegmentCount(%d, %d, %d, %d) = %d, want %d", c.items, c.per, c.lo, c.hi, got, c.want)
		}
	}
}

func TestMessageValidateNamesTheField(t *testing.T) {
	t.Parallel()
	ok := sweep.Message{Kind: "segmentation", Day: "2026-12-01", Phase: 1, Segment: 3, TotalSegments: 4}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid message: %v", err)
	}
	cases := []struct {
		field string
		edit  func(*sweep.Message)
	}{
		{"kind", func(m *sweep.Message) { m.Kind = "" }},
		{"day", func(m *sweep.Message) { m.Day = "2026-13-01" }},
		{"phase", func(m *sweep.Message) { m.Phase = 3 }},
		{"segment", func(m *sweep.Message) { m.Segment = 4 }},
		{"segment", func(m *sweep.Message) { m.Segment = -1 }},
		{"total_segments", func(m *sweep.Message) { m.TotalSegments = 0 }},
	}
	for _, c := range cases {
		m := ok
		c.edit(&m)
		err := m.Validate()
		e, isFault := fault.As(err)
		if !fault.Is(err, fault.Invalid) || !isFault || !slices.ContainsFunc(e.Fields, func(f fault.FieldError) bool { return f.Field == c.field }) {
			t.Errorf("%+v: %v, want a problem naming %s", m, err, c.field)
		}
	}
}

func TestRunMissingAndComplete(t *testing.T) {
	t.Parallel()
	r := sweep.Run{TotalSegments: 5, Phases: 2, Phase: 1}
	r.Done[0] = []int{0, 2, 3}
	if got := r.MissingIn(1); !slices.Equal(got, []int{1, 4}) {
		t.Errorf("MissingIn(1) = %v", got)
	}
	if got := r.MissingIn(2); !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Errorf("MissingIn(2) = %v", got)
	}
	if r.PhaseComplete(1) || !r.DoneIn(1, 3) || r.DoneIn(1, 4) || r.DoneIn(3, 0) {
		t.Errorf("DoneIn/PhaseComplete wrong for %v", r.Done)
	}
	r.Done[0] = []int{0, 1, 2, 3, 4}
	if !r.PhaseComplete(1) || len(r.MissingIn(1)) != 0 {
		t.Errorf("complete phase reported incomplete")
	}
}

func ExampleDay() {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	at := time.Date(2026, 12, 1, 16, 30, 0, 0, time.UTC)
	fmt.Println(sweep.Day(at, time.UTC), sweep.Day(at, shanghai))
	fmt.Println(sweep.RunKey{Kind: "points-nightly", Day: sweep.Day(at, shanghai)}.ID())
	// Output:
	// 2026-12-01 2026-12-02
	// points-nightly-2026-12-02
}

func TestDecodeMessage(t *testing.T) {
	t.Parallel()
	m, err := sweep.DecodeMessage([]byte(`{"kind":"points-nightly","day":"2026-12-02","phase":1,"segment":7,"total_segments":16}`))
	if err != nil || m != (sweep.Message{Kind: "points-nightly", Day: "2026-12-02", Phase: 1, Segment: 7, TotalSegments: 16}) {
		t.Errorf("decode: %+v, %v", m, err)
	}
	for _, bad := range []string{
		``, `[]`, `{"kind":"x","day":"2026-12-02","phase":1,"segment":0,"total_segments":1,"extra":1}`,
		`{"kind":"x","day":"2026-12-02","phase":1,"segment":0,"total_segments":1} {}`,
		`{"kind":"x","day":"2026-12-02","phase":1,"segment":1,"total_segments":1}`,
	} {
		if _, err := sweep.DecodeMessage([]byte(bad)); !fault.Is(err, fault.Invalid) {
			t.Errorf("DecodeMessage(%q) = %v, want invalid", bad, err)
		}
	}
}
