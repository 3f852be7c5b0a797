package survey_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"clientele/shared/survey"
)

func TestParseScoresQuery(t *testing.T) {
	t.Parallel()
	hist := history(t)
	sh, _ := time.LoadLocation("Asia/Shanghai")
	q, err := survey.ParseScoresQuery(map[string]string{"from": "2026-01-01", "to": "2026-04-01"}, hist, sh)
	if err != nil {
		t.Fatal(err)
	}
	if q.Version != 2 || !q.Across || q.Question != "recommend" || q.Granularity != survey.Monthly || q.Stores != nil || q.Channel != "" {
		t.Errorf("defaults: %+v", q)
	}
	q, err = survey.ParseScoresQuery(map[string]string{"from": "2026-01-01", "to": "2026-02-01", "tz": "Asia/Shanghai",
		"store": "S01,S02", "channel": "app", "dimension": "delivery_time", "version": "1", "across_versions": "false",
		"question": "easy", "granularity": "day"}, hist, sh)
	if fs := fieldsOf(t, err); len(fs) != 1 || !strings.Contains(fs["dimension"], "delivery_time") {
		t.Errorf("unknown dimension: %v", fs)
	}
	q, err = survey.ParseScoresQuery(map[string]string{"from": "2026-01-01", "to": "2026-02-01", "tz": "Asia/Shanghai",
		"store": "S01,S02", "channel": "app", "dimension": "delivery", "version": "1", "across_versions": "false",
		"question": "easy", "granularity": "day"}, hist, sh)
	if err == nil {
		t.Fatal("delivery is not a dimension of the test survey")
	}
	q, err = survey.ParseScoresQuery(map[string]string{"from": "2026-01-01", "to": "2026-02-01", "tz": "Asia/Shanghai",
		"store": "S01,S02", "channel": "app", "dimension": "service_quality", "version": "1", "across_versions": "false",
		"question": "easy", "granularity": "day"}, hist, sh)
	if err != nil || q.Version != 1 || q.Across || q.Question != "easy" || !slices.Equal(q.Stores, []string{"S01", "S02"}) || q.Granularity != survey.Daily {
		t.Errorf("explicit: %+v %v", q, err)
	}
	_, err = survey.ParseScoresQuery(map[string]string{"from": "2026-13-01", "to": "2025-01-01", "tz": "UTC", "store": "S 1",
		"channel": "fax", "version": "7", "across_versions": "maybe", "question": "why", "granularity": "hour"}, hist, sh)
	fs := fieldsOf(t, err)
	for _, f := range []string{"from", "tz", "store", "channel", "version", "across_versions", "question", "granularity"} {
		if fs[f] == "" {
			t.Errorf("missing %s in %v", f, fs)
		}
	}
	_, err = survey.ParseScoresQuery(map[string]string{"from": "2025-01-01", "to": "2026-03-01", "granularity": "day"}, hist, sh)
	if !strings.Contains(fieldsOf(t, err)["granularity"], "at most 400") {
		t.Errorf("a 424-day daily trend: %v", err)
	}
}

func TestReport(t *testing.T) {
	t.Parallel()
	hist := history(t)
	agg := survey.NewAggregates(time.UTC)
	i := 0
	add := func(v int, store string, at time.Time, nps, csat int, n int) {
		for range n {
			i++
			r, err := survey.ValidateResponse(hist[v-1], survey.ResponseInput{Answers: []survey.AnswerInput{
				ans("recommend", strconv.Itoa(nps)), ans("satisfied", strconv.Itoa(csat)), ans("easy", "5"),
			}}, survey.Respondent{MemberID: "m", OrderID: fmt.Sprint(i), Store: store, Channel: "store", At: at})
			if err != nil {
				t.Fatal(err)
			}
			agg.Add(hist[v-1], r)
		}
	}
	jan, feb := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC), time.Date(2026, 2, 5, 8, 0, 0, 0, time.UTC)
	add(1, "S01", jan, 10, 5, 20)
	add(1, "S01", jan, 2, 2, 20)
	add(2, "S01", feb, 10, 5, 35)
	add(2, "S02", feb, 6, 3, 5)
	q, err := survey.ParseScoresQuery(map[string]string{"from": "2026-02-01", "to": "2026-03-01"}, hist, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	r := agg.Report(hist, q)
	scores := map[string]survey.QuestionScore{}
	for _, s := range r.Scores {
		scores[s.Question] = s
	}
	// NPS is unchanged across versions (merged), csat was reworded in v2
	// (v2 only); February has only v2 answers either way.
	if s := scores["recommend"]; !slices.Equal(s.Versions, []int{1, 2}) || s.Score.N != 40 || s.Score.Value != 75 {
		t.Errorf("nps %+v", s)
	}
	if s := scores["satisfied"]; !slices.Equal(s.Versions, []int{2}) || s.Score.N != 40 || s.Score.Value != 87.5 {
		t.Errorf("csat %+v", s)
	}
	if s := scores["staff"]; s.Score.Status != survey.Insufficient || s.Score.Skipped != 40 || s.Score.N != 0 {
		t.Errorf("unanswered rating %+v", s)
	}
	if _, ok := scores["found"]; ok {
		t.Error("choice questions have no score")
	}
	// January (31 days before February's 28: 4 Jan – 1 Feb): NPS 0 over 40.
	if r.Change.Status != survey.OK || r.Change.Difference != 75 || !r.Change.Significant || r.Change.Test != survey.TestNPS {
		t.Errorf("change %+v", r.Change)
	}
	if len(r.Ranking) != 2 || r.Ranking[0].Store != "S01" || r.Ranking[1].Rank != 0 {
		t.Errorf("ranking %+v", r.Ranking)
	}
	if len(r.Trend) != 1 || r.Trend[0].Score.N != 40 {
		t.Errorf("trend %+v", r.Trend)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"from":"2026-02-01"`, `"to":"2026-03-01"`, `"tz":"UTC"`, `"headline":"recommend"`, `"value":75`, `"test":"two-sample z-test on NPS`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report JSON lacks %s: %s", want, b)
		}
	}

	// The same report restricted to a dimension scores only its questions.
	q.Dimension = survey.ProductQuality
	if r := agg.Report(hist, q); len(r.Scores) != 1 || r.Scores[0].Question != "satisfied" || len(r.Drivers) != 1 {
		t.Errorf("dimension report: %+v", r.Scores)
	}
}

func TestLoadCells(t *testing.T) {
	t.Parallel()
	hist := history(t)
	src := survey.NewAggregates(time.UTC)
	for i := range 300 {
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 29 * time.Hour)
		r, err := survey.ValidateResponse(hist[0], survey.ResponseInput{Answers: []survey.AnswerInput{ans("recommend", strconv.Itoa(i%11))}},
			survey.Respondent{MemberID: "m", OrderID: fmt.Sprint(i), Store: stores[i%4], Channel: "app", At: at})
		if err != nil {
			t.Fatal(err)
		}
		src.Add(hist[0], r)
	}
	// A store reads the cells of one series and loads them.
	dst := survey.NewAggregates(time.UTC)
	key := survey.SeriesKey{Survey: "sv1", Version: 1, Question: "recommend", Store: survey.All, Channel: survey.All}
	base := survey.Query{Survey: "sv1", Question: "recommend", Versions: []int{1}}
	for d := survey.DateDay(2026, 1, 1); d < survey.DateDay(2027, 1, 1); d++ {
		q := base
		q.From, q.To = d, d+1
		if t := src.Tally(q); t.Answered > 0 {
			dst.LoadDay(key, d, t)
		}
		if d == d.Month().First() {
			q.From, q.To = d, d.Month().Next().First()
			dst.LoadMonth(key, d.Month(), src.Tally(q))
		}
	}
	q := base
	q.From, q.To = survey.DateDay(2026, 2, 10), survey.DateDay(2026, 11, 3)
	if got, want := dst.Tally(q), src.Tally(q); !reflect.DeepEqual(got, want) || want.Answered == 0 {
		t.Errorf("loaded cells tally %+v, want %+v", got, want)
	}
}
