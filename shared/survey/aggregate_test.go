package survey_test

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the property test's zones, whatever the machine has

	"pgregory.net/rapid"

	"clientele/shared/survey"
)

// history returns two versions of an open survey: version 2 rewords the
// csat question, every other question is unchanged.
func history(t testing.TB) []survey.Definition {
	t.Helper()
	in := postPurchase()
	in.ActiveFrom, in.ActiveTo = "2020-01-01T00:00:00Z", ""
	in.Targeting = survey.Targeting{}
	in.OnePer = "order"
	v1, err := survey.NewDefinition("sv1", in, now)
	if err != nil {
		t.Fatal(err)
	}
	in.Questions[1].Prompt = "How satisfied are you with what you bought?"
	v2, _, err := survey.Edit(v1, in, now)
	if err != nil {
		t.Fatal(err)
	}
	return []survey.Definition{v1, v2}
}

var (
	zones    = []string{"UTC", "Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham", "Australia/Lord_Howe", "America/St_Johns", "Pacific/Kiritimati", "Pacific/Pago_Pago"}
	stores   = []string{"S01", "S02", "S03", "S04"}
	channels = []string{"store", "online", "app"}
	// span is the instants responses fall in: across month and year ends.
	spanFrom = time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC)
	spanDays = 430
)

// drawResponse draws a valid response (through ValidateResponse) to one of
// the versions.
func drawResponse(t *rapid.T, hist []survey.Definition, i int) (survey.Definition, survey.Response) {
	d := hist[rapid.IntRange(0, len(hist)-1).Draw(t, "version")]
	skip := func(name string) bool { return rapid.IntRange(0, 3).Draw(t, name) == 0 }
	answers := []survey.AnswerInput{ans("recommend", strconv.Itoa(rapid.IntRange(0, 10).Draw(t, "nps")))}
	if !skip("skip csat") {
		answers = append(answers, ans("satisfied", strconv.Itoa(rapid.IntRange(1, 5).Draw(t, "csat"))))
	}
	if !skip("skip ces") {
		answers = append(answers, ans("easy", strconv.Itoa(rapid.IntRange(1, 7).Draw(t, "ces"))))
	}
	if !skip("skip rating") {
		answers = append(answers, ans("staff", strconv.Itoa(rapid.IntRange(1, 5).Draw(t, "rating"))))
	}
	if !skip("skip found") {
		answers = append(answers, ans("found", strconv.Quote(rapid.SampledFrom([]string{"friend", "ad"}).Draw(t, "found"))))
	}
	if !skip("skip bought") {
		picked := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"shoes", "shirts", "bags"}), 1, 3, func(s string) string { return s }).Draw(t, "bought")
		b, _ := json.Marshal(picked)
		answers = append(answers, ans("bought", string(b)))
	}
	if !skip("skip why") {
		answers = append(answers, ans("why", `"fine"`))
	}
	answers = rapid.Permutation(answers).Draw(t, "order")
	at := spanFrom.Add(time.Duration(rapid.Int64Range(0, int64(spanDays)*86400-1).Draw(t, "second")) * time.Second)
	who := survey.Respondent{MemberID: "m", OrderID: fmt.Sprint("o", i), At: at,
		Store: rapid.SampledFrom(stores).Draw(t, "store"), Channel: rapid.SampledFrom(channels).Draw(t, "channel")}
	r, err := survey.ValidateResponse(d, survey.ResponseInput{Answers: answers}, who)
	if err != nil {
		t.Fatalf("a generated response is invalid: %v", err)
	}
	return d, r
}

// recompute tallies a question straight from raw responses, choosing by
// the local date's text (independently of Day arithmetic).
func recompute(hist []survey.Definition, rs []survey.Response, loc *time.Location, q survey.Query) survey.Tally {
	from, to := q.From.String(), q.To.String()
	var out survey.Tally
	for _, r := range rs {
		local := r.At.In(loc).Format(time.DateOnly)
		if local < from || local >= to || !slices.Contains(q.Versions, r.Version) ||
			(q.Channel != "" && q.Channel != r.Channel) || (len(q.Stores) > 0 && !slices.Contains(q.Stores, r.Store)) {
			continue
		}
		d := hist[r.Version-1]
		qq, _ := d.Question(q.Question)
		var nps *int
		if a, ok := r.Answer("recommend"); ok {
			nps = a.Value
		}
		if a, ok := r.Answer(q.Question); ok {
			out.Record(qq, &a, nps)
		} else {
			out.Record(qq, nil, nps)
		}
	}
	return out
}

func TestQueryEqualsRecomputation(t *testing.T) {
	t.Parallel()
	hist := history(t)
	questions := []string{"recommend", "satisfied", "easy", "staff", "found", "bought", "why"}
	rapid.Check(t, func(t *rapid.T) {
		loc, err := time.LoadLocation(rapid.SampledFrom(zones).Draw(t, "zone"))
		if err != nil {
			t.Fatal(err)
		}
		agg := survey.NewAggregates(loc)
		n := rapid.IntRange(0, 120).Draw(t, "responses")
		var rs []survey.Response
		for i := range n {
			d, r := drawResponse(t, hist, i)
			agg.Add(d, r)
			rs = append(rs, r)
		}
		first := survey.DayOf(spanFrom, loc) - 1
		for range 8 {
			from := first + survey.Day(rapid.IntRange(0, spanDays+2).Draw(t, "from"))
			to := from + survey.Day(rapid.IntRange(1, spanDays+2).Draw(t, "length"))
			qid := rapid.SampledFrom(questions).Draw(t, "question")
			v := rapid.IntRange(1, 2).Draw(t, "query version")
			q := survey.Query{Survey: "sv1", Question: qid,
				Versions: survey.Versions(hist, qid, v, rapid.Bool().Draw(t, "across")),
				Filter: survey.Filter{From: from, To: to,
					Stores:  rapid.SliceOfNDistinct(rapid.SampledFrom(stores), 0, 3, func(s string) string { return s }).Draw(t, "stores"),
					Channel: rapid.SampledFrom(append([]string{""}, channels...)).Draw(t, "channel")}}
			got, want := agg.Tally(q), recompute(hist, rs, loc, q)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("query %+v (%s–%s in %s):\n got %+v\nwant %+v", q, q.From, q.To, loc, got, want)
			}
			// The trend's buckets partition the period exactly.
			g := rapid.SampledFrom([]survey.Granularity{survey.Daily, survey.Weekly, survey.Monthly}).Draw(t, "granularity")
			var sum survey.Tally
			for _, b := range survey.Buckets(from, to, g) {
				bq := q
				bq.From, bq.To = b[0], b[1]
				bt := agg.Tally(bq)
				sum.Merge(&bt)
			}
			if !reflect.DeepEqual(sum, want) {
				t.Fatalf("%s buckets sum to %+v, want %+v", g, sum, want)
			}
			// Scores come from the same tally: the scores query is the
			// recomputation's score.
			qq, _ := hist[v-1].Question(qid)
			if qq.Kind.Scaled() {
				scores := agg.Scores(hist, v, q.Filter, len(q.Versions) > 1)
				ws, _ := survey.ScoreOf(qq.Kind, &want, hist[v-1].MinSample)
				if gs := scores[qid]; gs.N != ws.N || gs.Skipped != ws.Skipped || gs.Status != ws.Status ||
					(gs.Status == survey.OK && gs.Value != ws.Value) || !reflect.DeepEqual(gs.Counts, ws.Counts) {
					t.Fatalf("score %+v, want %+v", gs, ws)
				}
			}
		}
	})
}

func TestPlan(t *testing.T) {
	t.Parallel()
	day := func(s string) survey.Day {
		d, err := survey.ParseDay(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	months, days := survey.Plan(day("2026-01-15"), day("2027-01-20"))
	if len(months) != 11 || months[0].String() != "2026-02" || months[10].String() != "2026-12" {
		t.Errorf("months = %v", months)
	}
	if len(days) != 17+19 || days[0].String() != "2026-01-15" || days[16].String() != "2026-01-31" || days[17].String() != "2027-01-01" || days[35].String() != "2027-01-19" {
		t.Errorf("days = %v", days)
	}
	months, days = survey.Plan(day("2024-02-01"), day("2024-03-01"))
	if len(months) != 1 || months[0].String() != "2024-02" || len(days) != 0 {
		t.Errorf("a whole leap February: %v %v", months, days)
	}
	if m, d := survey.Plan(day("2024-03-01"), day("2024-03-01")); m != nil || d != nil {
		t.Errorf("empty period: %v %v", m, d)
	}
	rapid.Check(t, func(t *rapid.T) {
		from := survey.Day(rapid.IntRange(-800, 30000).Draw(t, "from"))
		to := from + survey.Day(rapid.IntRange(0, 900).Draw(t, "length"))
		months, days := survey.Plan(from, to)
		covered := map[survey.Day]int{}
		for _, m := range months {
			for d := m.First(); d < m.Next().First(); d++ {
				covered[d]++
			}
		}
		for _, d := range days {
			covered[d]++
		}
		if len(covered) != int(to-from) {
			t.Fatalf("covers %d days, want %d", len(covered), to-from)
		}
		for d, c := range covered {
			if c != 1 || d < from || d >= to {
				t.Fatalf("day %s covered %d times (period %s–%s)", d, c, from, to)
			}
		}
		if len(days) > 62 {
			t.Fatalf("%d edge days", len(days))
		}
	})
}

func TestDayOfTimeZones(t *testing.T) {
	t.Parallel()
	// 2026-03-31 23:30 in Shanghai is 15:30 UTC; 00:15 on 2026-04-01 in
	// Kathmandu (+05:45) is 18:30 UTC on 2026-03-31.
	sh, _ := time.LoadLocation("Asia/Shanghai")
	ka, _ := time.LoadLocation("Asia/Kathmandu")
	if d := survey.DayOf(time.Date(2026, 3, 31, 15, 30, 0, 0, time.UTC), sh); d.String() != "2026-03-31" || d.Month().String() != "2026-03" {
		t.Errorf("Shanghai day %s", d)
	}
	if d := survey.DayOf(time.Date(2026, 3, 31, 18, 30, 0, 0, time.UTC), ka); d.String() != "2026-04-01" || d.Month().String() != "2026-04" {
		t.Errorf("Kathmandu day %s", d)
	}
	if d, _ := survey.ParseDay("2026-12-03"); d.WeekStart().String() != "2026-11-30" {
		t.Errorf("week of Thursday 2026-12-03 starts %s, want Monday 2026-11-30", d.WeekStart())
	}
	if d, _ := survey.ParseDay("1969-12-31"); d != -1 || d.String() != "1969-12-31" {
		t.Errorf("day before the epoch: %d %s", d, d)
	}
}

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	f, to, err := survey.ParsePeriod("2026-01-01", "2026-02-01", "Asia/Shanghai", sh)
	if err != nil || to-f != 31 {
		t.Fatalf("%v %v %v", f, to, err)
	}
	for _, c := range []struct{ from, to, tz, field, want string }{
		{"2026-01-01", "2026-01-01", "", "to", "after from"},
		{"01/01/2026", "2026-01-02", "", "from", "YYYY-MM-DD"},
		{"2026-01-01", "2030-01-01", "", "to", "at most"},
		{"2026-01-01", "2026-01-02", "Mars/Olympus", "tz", "not an IANA"},
		{"2026-01-01", "2026-01-02", "Europe/Paris", "tz", "Asia/Shanghai"},
	} {
		_, _, err := survey.ParsePeriod(c.from, c.to, c.tz, sh)
		if fs := fieldsOf(t, err); !strings.Contains(fs[c.field], c.want) {
			t.Errorf("%+v: fields %v", c, fs)
		}
	}
}

// respond adds n responses with the given NPS value at store on day.
func respond(t *testing.T, agg *survey.Aggregates, d survey.Definition, store string, at time.Time, nps, n int) {
	t.Helper()
	for i := range n {
		r, err := survey.ValidateResponse(d, survey.ResponseInput{Answers: []survey.AnswerInput{ans("recommend", strconv.Itoa(nps))}},
			survey.Respondent{MemberID: "m", OrderID: fmt.Sprint(store, at, nps, i), Store: store, Channel: "store", At: at})
		if err != nil {
			t.Fatal(err)
		}
		agg.Add(d, r)
	}
}

func TestRankingTrendAndChanges(t *testing.T) {
	t.Parallel()
	d := history(t)[0]
	agg := survey.NewAggregates(time.UTC)
	jan := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	feb := time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)
	// S01: NPS 40 then 40. S02: 10 then 80 (a real change). S03: too few.
	respond(t, agg, d, "S01", jan, 10, 28)
	respond(t, agg, d, "S01", jan, 8, 16)
	respond(t, agg, d, "S01", jan, 3, 12)
	respond(t, agg, d, "S01", feb, 10, 28)
	respond(t, agg, d, "S01", feb, 8, 16)
	respond(t, agg, d, "S01", feb, 3, 12)
	respond(t, agg, d, "S02", jan, 9, 20)
	respond(t, agg, d, "S02", jan, 7, 10)
	respond(t, agg, d, "S02", jan, 5, 15)
	respond(t, agg, d, "S02", feb, 9, 40)
	respond(t, agg, d, "S02", feb, 0, 5)
	respond(t, agg, d, "S03", feb, 10, 29)

	febQ := survey.Query{Survey: "sv1", Question: "recommend", Versions: []int{1},
		Filter: survey.Filter{From: survey.DateDay(2026, 2, 1), To: survey.DateDay(2026, 3, 1)}}
	rank := agg.Ranking(febQ, survey.NPS, 30)
	if len(rank) != 3 || rank[0].Store != "S02" || rank[0].Rank != 1 || rank[1].Store != "S01" || rank[1].Rank != 2 ||
		rank[2].Store != "S03" || rank[2].Rank != 0 || rank[2].Score.Status != survey.Insufficient {
		t.Fatalf("ranking %+v", rank)
	}
	if math.Abs(rank[0].Score.Value-(40.0-5)/45*100) > 1e-9 || math.Abs(rank[1].Score.Value-(28.0-12)/56*100) > 1e-9 {
		t.Errorf("scores %v %v", rank[0].Score.Value, rank[1].Score.Value)
	}

	ch := agg.Changes(febQ, survey.NPS, 30)
	// Previous period of February (28 days): 4 January – 1 February.
	byStore := map[string]survey.Comparison{}
	for _, c := range ch {
		byStore[c.Store] = c.Comparison
	}
	if c := byStore["S01"]; c.Status != survey.OK || c.Difference != 0 || c.Significant {
		t.Errorf("S01 unchanged: %+v", c)
	}
	if c := byStore["S02"]; c.Status != survey.OK || !c.Significant || c.Adjusted < c.PValue || c.Test != survey.TestNPS {
		t.Errorf("S02 changed: %+v", c)
	}
	if c := byStore["S03"]; c.Status != survey.Insufficient {
		t.Errorf("S03 too few: %+v", c)
	}

	q := febQ
	q.From = survey.DateDay(2026, 1, 1)
	trend := agg.Trend(q, survey.NPS, survey.Monthly, 30)
	if len(trend) != 2 || trend[0].Score.N != 56+45 || trend[1].Score.N != 56+45+29 {
		t.Errorf("monthly trend %+v", trend)
	}
	weeks := agg.Trend(q, survey.NPS, survey.Weekly, 1)
	if weeks[0].From.String() != "2026-01-01" || weeks[0].To.String() != "2026-01-05" || weeks[len(weeks)-1].To != q.To {
		t.Errorf("weeks start %s–%s, end %s", weeks[0].From, weeks[0].To, weeks[len(weeks)-1].To)
	}
}

func TestDriversFromAggregates(t *testing.T) {
	t.Parallel()
	hist := history(t)
	d := hist[0]
	agg := survey.NewAggregates(time.UTC)
	at := time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC)
	// Delivery-free survey: product quality (csat) tracks NPS exactly;
	// service (rating) runs against it; shopping experience (ces) is flat.
	for i := range 40 {
		nps := i % 11
		csat := 1 + nps*4/10
		rating := 5 - nps*4/10
		r, err := survey.ValidateResponse(d, survey.ResponseInput{Answers: []survey.AnswerInput{
			ans("recommend", strconv.Itoa(nps)), ans("satisfied", strconv.Itoa(csat)), ans("staff", strconv.Itoa(rating)), ans("easy", "4"),
		}}, survey.Respondent{MemberID: "m", OrderID: fmt.Sprint(i), Store: "S01", Channel: "app", At: at})
		if err != nil {
			t.Fatal(err)
		}
		agg.Add(d, r)
	}
	ds := agg.Drivers(hist, 1, survey.Filter{From: survey.DateDay(2026, 5, 1), To: survey.DateDay(2026, 6, 1)}, false)
	if len(ds) != 3 || ds[0].Dimension != survey.ProductQuality || ds[0].Correlation < 0.9 ||
		ds[1].Dimension != survey.ServiceQuality || ds[1].Correlation > -0.9 ||
		ds[2].Dimension != survey.ShoppingExperience || !math.IsNaN(ds[2].Correlation) || ds[2].Mean != 4 || ds[2].N != 40 {
		t.Errorf("drivers %+v", ds)
	}
	// Across versions: csat was reworded in v2, so v2's product quality
	// driver sees none of v1's answers; the unchanged rating sees all.
	ds = agg.Drivers(hist, 2, survey.Filter{From: survey.DateDay(2026, 5, 1), To: survey.DateDay(2026, 6, 1)}, true)
	for _, x := range ds {
		if x.Dimension == survey.ProductQuality && x.N != 0 || x.Dimension == survey.ServiceQuality && x.N != 40 {
			t.Errorf("across versions: %+v", x)
		}
	}
}
