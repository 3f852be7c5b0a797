package survey_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"syscall"
	"testing"
	"time"

	"clientele/shared/survey"
)

// cpuTime is the process's user + system CPU time: on a machine shared
// with other work, CPU time per operation is steadier than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs f under b.Loop and reports its CPU time per operation.
func loop(b *testing.B, f func()) {
	b.Helper()
	start := cpuTime()
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// yearOfAggregates holds one survey's daily aggregates over a year and a
// half across 50 stores and two channels, 6 responses per store and day.
func yearOfAggregates(b *testing.B) ([]survey.Definition, *survey.Aggregates, int) {
	b.Helper()
	hist := history(b)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	agg := survey.NewAggregates(loc)
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2025, 1, 1, 2, 0, 0, 0, loc)
	n := 0
	for day := range 540 {
		for s := range 50 {
			for i := range 6 {
				nps := rng.IntN(11)
				answers := []survey.AnswerInput{
					ans("recommend", strconv.Itoa(nps)),
					ans("satisfied", strconv.Itoa(1+rng.IntN(5))),
					ans("easy", strconv.Itoa(1+rng.IntN(7))),
					ans("staff", strconv.Itoa(1+rng.IntN(5))),
					ans("found", `"friend"`),
				}
				r, err := survey.ValidateResponse(hist[0], survey.ResponseInput{Answers: answers}, survey.Respondent{
					MemberID: "m", OrderID: fmt.Sprint(day, s, i), Store: fmt.Sprintf("S%02d", s),
					Channel: channels[i%2], At: start.Add(time.Duration(day*24+i*2) * time.Hour),
				})
				if err != nil {
					b.Fatal(err)
				}
				agg.Add(hist[0], r)
				n++
			}
		}
	}
	return hist, agg, n
}

// BenchmarkScoresQuery reads one survey over a year (2025-03-15 to
// 2026-03-15, so both edges are partial months) across 50 stores.
func BenchmarkScoresQuery(b *testing.B) {
	hist, agg, _ := yearOfAggregates(b)
	f := survey.Filter{From: survey.DateDay(2025, 3, 15), To: survey.DateDay(2026, 3, 15)}
	q := survey.Query{Survey: "sv1", Question: "recommend", Versions: []int{1}, Filter: f}
	b.Run("nps-tally", func(b *testing.B) {
		loop(b, func() {
			t := agg.Tally(q)
			survey.NPSScore(&t, 30)
		})
	})
	b.Run("all-scores", func(b *testing.B) {
		loop(b, func() { agg.Scores(hist, 1, f, true) })
	})
	b.Run("drivers", func(b *testing.B) {
		loop(b, func() { agg.Drivers(hist, 1, f, true) })
	})
	b.Run("trend-month", func(b *testing.B) {
		loop(b, func() { agg.Trend(q, survey.NPS, survey.Monthly, 30) })
	})
	b.Run("trend-week", func(b *testing.B) {
		loop(b, func() { agg.Trend(q, survey.NPS, survey.Weekly, 30) })
	})
	b.Run("ranking-50-stores", func(b *testing.B) {
		loop(b, func() { agg.Ranking(q, survey.NPS, 30) })
	})
	b.Run("changes-50-stores-bh", func(b *testing.B) {
		loop(b, func() { agg.Changes(q, survey.NPS, 30) })
	})
	b.Run("full-scores-response", func(b *testing.B) {
		// What GET /v1/surveys/{id}/scores computes: every score, the
		// drivers, a monthly trend, the ranking and the changes.
		loop(b, func() {
			agg.Scores(hist, 1, f, true)
			agg.Drivers(hist, 1, f, true)
			agg.Trend(q, survey.NPS, survey.Monthly, 30)
			agg.Ranking(q, survey.NPS, 30)
			agg.Changes(q, survey.NPS, 30)
		})
	})
}

// BenchmarkScoring measures responses scored per second in process:
// decode the body, validate it against its version, and add its
// contribution to the day and month cells.
func BenchmarkScoring(b *testing.B) {
	hist := history(b)
	agg := survey.NewAggregates(time.UTC)
	body := []byte(`{"answers":[{"question":"recommend","value":9},{"question":"satisfied","value":4},{"question":"easy","value":6},{"question":"staff","value":5},{"question":"found","value":"ad"},{"question":"bought","value":["shoes","bags"]},{"question":"why","value":"quick and kind"}]}`)
	at := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	i := 0
	start := cpuTime()
	for b.Loop() {
		var in survey.ResponseInput
		if err := json.Unmarshal(body, &in); err != nil {
			b.Fatal(err)
		}
		r, err := survey.ValidateResponse(hist[0], in, survey.Respondent{MemberID: "m", OrderID: "o", Store: stores[i%4], Channel: "store", At: at.Add(time.Duration(i) * time.Minute)})
		if err != nil {
			b.Fatal(err)
		}
		agg.Add(hist[0], r)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "responses/s")
	b.ReportMetric(float64(b.N)/(cpuTime()-start).Seconds(), "responses/cpu-s")
}

// BenchmarkLinkToken measures issuing and verifying one link token.
func BenchmarkLinkToken(b *testing.B) {
	s, _ := survey.NewSigner("a", map[string][]byte{"a": keyA})
	loop(b, func() {
		tok, _, err := s.Issue("sv1", "m1", "o1", now, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Verify(tok, now, survey.Expect{Survey: "sv1"}); err != nil {
			b.Fatal(err)
		}
	})
}
