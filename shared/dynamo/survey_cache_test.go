package dynamo_test

import (
	"context"
	"testing"
	"time"

	"clientele/shared/dynamo"
	"clientele/shared/survey"
)

// TestCellCacheServesClosedPeriodsOnly: with a cell cache, a second scores
// load serves the cells of a closed month (ended more than ClosedAfter
// ago) from the cache, and reads the recent days again; without one, both
// come from the table. The closed month's change is an import, the one way
// closed cells change.
func TestCellCacheServesClosedPeriodsOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cached := surveyStore(t, "Asia/Shanghai")
	cached.Cells = dynamo.NewSurveyCellCache(time.Hour, 1000)
	plain := surveyStore(t, "Asia/Shanghai")
	d := newSurvey(t, cached, surveyInput("order"))
	hist := []survey.Definition{d}
	closedDay, openDay := survey.DateDay(2026, 1, 15), survey.DayOf(surveyNow, cached.Zone)-1
	importAt := func(day survey.Day, nps int) {
		t.Helper()
		r := validResponse(t, d, answers{nps: nps}, survey.Respondent{MemberID: "m", OrderID: "o", Store: "S1", Channel: "store",
			At: day.Start(cached.Zone).Add(12 * time.Hour)})
		c := survey.Contribution(d, r)
		k := survey.SeriesKey{Survey: d.ID, Version: d.Version, Store: survey.All, Channel: survey.All}
		// Replaces the cells: the tally of this one response.
		items := append(dynamo.SurveyCellItems(d, k, day, false, c), dynamo.SurveyCellItems(d, k, day, true, c)...)
		if err := dynamo.PutSurveyCells(ctx, cached, items); err != nil {
			t.Fatal(err)
		}
	}
	importAt(closedDay, 10)
	importAt(openDay, 10)
	q, err := survey.ParseScoresQuery(map[string]string{"from": "2026-01-01", "to": (openDay + 1).String(), "tz": "Asia/Shanghai",
		"granularity": "month"}, hist, cached.Zone)
	if err != nil {
		t.Fatal(err)
	}
	// promoters in January (closed) and in March (open), as loaded.
	load := func(s *dynamo.SurveyStore) (jan, mar int64) {
		t.Helper()
		agg, err := s.LoadScores(ctx, hist, q)
		if err != nil {
			t.Fatal(err)
		}
		tr := agg.Report(hist, q).Trend
		return tr[0].Score.Counts["promoters"], tr[len(tr)-1].Score.Counts["promoters"] + tr[len(tr)-1].Score.Counts["detractors"]*100
	}
	if jan, mar := load(cached); jan != 1 || mar != 1 {
		t.Fatalf("first load: January %d promoters, March %d", jan, mar)
	}
	// Both cells now hold a detractor instead.
	importAt(closedDay, 0)
	importAt(openDay, 0)
	if jan, mar := load(cached); jan != 1 || mar != 100 {
		t.Errorf("cached load: January %d promoters (want the cached 1), March %d (want the fresh detractor: 100)", jan, mar)
	}
	if jan, mar := load(plain); jan != 0 || mar != 100 {
		t.Errorf("uncached load: January %d promoters, March %d; want 0 and 100", jan, mar)
	}
}
