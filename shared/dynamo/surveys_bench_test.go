package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"clientele/shared/dynamo"
	"clientele/shared/survey"
)

// BenchmarkSurveyRecord records distinct responses into DynamoDB Local
// from 1 and 8 concurrent writers: 50 stores, 2 channels, 30 days. Every
// response's transaction adds to its survey's every-store cells, so the
// writers contend on those items.
func BenchmarkSurveyRecord(b *testing.B) {
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) { benchmarkRecord(b, writers) })
	}
}

func benchmarkRecord(b *testing.B, writers int) {
	ctx := context.Background()
	s := surveyStore(b, "Asia/Shanghai")
	d := newSurvey(b, s, surveyInput("order"))
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				r, err := survey.ValidateResponse(d, answers{nps: rng.IntN(11), csat: 1 + rng.IntN(5), ces: 1 + rng.IntN(7), bought: []string{"shoes"}}.input(),
					survey.Respondent{MemberID: fmt.Sprint("m", i), OrderID: fmt.Sprint("o", i), Store: fmt.Sprintf("S%02d", rng.IntN(50)),
						Channel: []string{"store", "online"}[rng.IntN(2)], At: surveyNow.Add(-time.Duration(rng.IntN(30*24)) * time.Hour)})
				if err != nil {
					b.Error(err)
					return
				}
				if _, err := s.RecordResponse(ctx, dynamo.SurveyResponseWrite{ID: fmt.Sprintf("b%d-%s", i, d.ID), Definition: d, Response: r}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "responses/s")
}

var yearOfCells struct {
	once sync.Once
	s    *dynamo.SurveyStore
	hist []survey.Definition
	// want holds the reports computed on the raw responses, by period
	// (the in-memory aggregates are dropped: their heap would weigh on
	// every GC of the measured loop).
	want map[[2]string]string
	err  error
}

var yearQueries = [][2]string{{"2025-03-15", "2026-03-15"}, {"2025-03-01", "2026-03-01"}}

// loadYearOfCells writes two years and a month of daily cells (with their
// month roll-ups) for one survey across 50 stores: the every-channel series
// of each store and of every store, one response per store and day.
func loadYearOfCells(b *testing.B) (*dynamo.SurveyStore, []survey.Definition, map[[2]string]string) {
	yearOfCells.once.Do(func() {
		ctx := context.Background()
		s := surveyStore(b, "Asia/Shanghai")
		d := newSurvey(b, s, surveyInput("order"))
		want := survey.NewAggregates(s.Zone)
		type cellKey struct {
			k     survey.SeriesKey
			day   survey.Day
			month bool
		}
		cells := map[cellKey]map[string]survey.Tally{}
		add := func(k survey.SeriesKey, day survey.Day, month bool, c map[string]survey.Tally) {
			ck := cellKey{k, day, month}
			if month {
				ck.day = day.Month().First()
			}
			m := cells[ck]
			if m == nil {
				m = map[string]survey.Tally{}
				cells[ck] = m
			}
			for q, t := range c {
				cur := m[q]
				cur.Merge(&t)
				m[q] = cur
			}
		}
		rng := rand.New(rand.NewPCG(1, 2))
		from, to := survey.DateDay(2024, 3, 1), survey.DateDay(2026, 4, 1)
		for st := range 50 {
			store := fmt.Sprintf("S%02d", st)
			for day := from; day < to; day++ {
				a := answers{nps: rng.IntN(11), csat: 1 + rng.IntN(5), ces: 1 + rng.IntN(7), rating: 1 + rng.IntN(5)}
				r, err := survey.ValidateResponse(d, a.input(), survey.Respondent{MemberID: "m", OrderID: "o", Store: store, Channel: "store",
					At: day.Start(s.Zone).Add(12 * time.Hour)})
				if err != nil {
					yearOfCells.err = err
					return
				}
				want.Add(d, r)
				c := survey.Contribution(d, r)
				for _, k := range []survey.SeriesKey{{Survey: d.ID, Version: 1, Store: store, Channel: survey.All}, {Survey: d.ID, Version: 1, Store: survey.All, Channel: survey.All}} {
					add(k, day, false, c)
					add(k, day, true, c)
				}
			}
			if err := dynamo.RegisterSurveyStore(ctx, s, d.ID, 1, store); err != nil {
				yearOfCells.err = err
				return
			}
		}
		var items []dynamo.CellItem
		for ck, ts := range cells {
			items = append(items, dynamo.SurveyCellItems(d, ck.k, ck.day, ck.month, ts)...)
		}
		if err := dynamo.PutSurveyCells(ctx, s, items); err != nil {
			yearOfCells.err = err
			return
		}
		hist := []survey.Definition{d}
		yearOfCells.want = map[[2]string]string{}
		for _, p := range yearQueries {
			q, err := survey.ParseScoresQuery(map[string]string{"from": p[0], "to": p[1], "tz": "Asia/Shanghai"}, hist, s.Zone)
			if err != nil {
				yearOfCells.err = err
				return
			}
			raw, _ := json.Marshal(want.Report(hist, q))
			yearOfCells.want[p] = string(raw)
		}
		yearOfCells.s, yearOfCells.hist = s, hist
	})
	if yearOfCells.err != nil {
		b.Fatal(yearOfCells.err)
	}
	return yearOfCells.s, yearOfCells.hist, yearOfCells.want
}

// BenchmarkSurveyLoadYear reads, from DynamoDB Local, the cells of a scores
// query over one year for one survey across 50 stores (the every-store
// series for scores, trend and change, and each store's series for the
// ranking and per-store changes; previous year included), and computes
// the report on them.
func BenchmarkSurveyLoadYear(b *testing.B) {
	s, hist, want := loadYearOfCells(b)
	ctx := context.Background()
	for i, name := range []string{"partial-months", "whole-months"} {
		p := yearQueries[i]
		b.Run(name, func(b *testing.B) {
			q, err := survey.ParseScoresQuery(map[string]string{"from": p[0], "to": p[1], "tz": "Asia/Shanghai"}, hist, s.Zone)
			if err != nil {
				b.Fatal(err)
			}
			agg, err := s.LoadScores(ctx, hist, q)
			if err != nil {
				b.Fatal(err)
			}
			got, _ := json.Marshal(agg.Report(hist, q))
			if string(got) != want[p] {
				b.Fatalf("the report on loaded cells differs from the report on the raw responses")
			}
			loads := make([]time.Duration, 0, b.N)
			totals := make([]time.Duration, 0, b.N)
			cpu0 := processCPU()
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				agg, err := s.LoadScores(ctx, hist, q)
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				_ = agg.Report(hist, q)
				loads = append(loads, t1.Sub(t0))
				totals = append(totals, time.Since(t0))
			}
			pct := func(ds []time.Duration, p float64) float64 {
				slices.Sort(ds)
				return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
			}
			// The client's own CPU (decoding cells, computing the report);
			// the rest of the wall time is DynamoDB Local's.
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(b.N), "client-cpu-ms/op")
			b.ReportMetric(pct(loads, 0.50), "load-p50-ms")
			b.ReportMetric(pct(loads, 0.99), "load-p99-ms")
			b.ReportMetric(pct(totals, 0.50), "report-p50-ms")
			b.ReportMetric(pct(totals, 0.99), "report-p99-ms")
		})
	}
}

// processCPU is the CPU time this process used so far (user + system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
