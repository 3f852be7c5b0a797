package surveyse2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"clientele/infra/topology"
	"clientele/shared/dynamo"
	"clientele/shared/survey"
)

// BenchmarkLinkResponsesScored posts b.N link answers through the public
// route (16 clients) and waits until the surveys-worker binary has scored
// every one: HTTP, surveys-api, the survey queue, the event source mapping
// and one DynamoDB transaction per response.
func BenchmarkLinkResponsesScored(b *testing.B) {
	id := "bench-scored-" + uniq()
	createSurvey(b, id)
	signer := links(b)
	bodies := make([]string, b.N)
	for i := range b.N {
		tok, _, err := signer.IssueFor(survey.Claims{Survey: id, Member: fmt.Sprintf("bm-%d", i), Order: fmt.Sprintf("BO-%s-%d", id, i),
			Store: fmt.Sprintf("S%02d", i%50), Channel: "store"}, time.Now(), time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = fmt.Sprintf(`{"token":%q,"answers":[{"question":"nps","value":%d},{"question":"csat","value":%d}]}`, tok, i%11, 1+i%5)
	}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if st, out := api.Call(b, "POST", "/v1/survey-responses", "", bodies[i]); st != 202 {
					b.Errorf("answer: %d %v", st, out)
					return
				}
			}
		})
	}
	wg.Wait()
	accepted := time.Since(start)
	awaitN(b, id, int64(b.N))
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/accepted.Seconds(), "accepted/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "scored/s")
}

// yearFrom and yearTo bound the benchmark's query (whole months); the
// cells cover the previous year too, which the change and per-store
// changes read.
var (
	yearFrom, yearTo = survey.DateDay(2025, 3, 1), survey.DateDay(2026, 3, 1)
	cellsFrom        = survey.DateDay(2024, 3, 1)
)

// seedYear creates a survey over HTTP and imports two years of daily cells
// (with their month roll-ups) for 50 stores, one response per store and
// day, into the local stack's table; it returns the survey id and the
// report computed in memory on the same responses.
func seedYear(b *testing.B) (string, []byte) {
	b.Helper()
	ctx := context.Background()
	id := "bench-year-" + uniq()
	body := `{"id":"` + id + `","name":"Store visit","active_from":"2024-01-01T00:00:00Z","questions":[` +
		`{"id":"nps","kind":"nps","prompt":"Recommend us?","required":true},` +
		`{"id":"csat","kind":"csat","prompt":"Satisfied with the staff?","dimension":"service_quality"},` +
		`{"id":"ease","kind":"ces","prompt":"Easy to shop?","dimension":"shopping_experience"},` +
		`{"id":"quality","kind":"rating","prompt":"Product quality","dimension":"product_quality"}]}`
	if st, out := api.Call(b, "POST", "/v1/surveys", api.Token(b, topology.Staff, "bench"), body); st != 201 {
		b.Fatalf("create: %d %v", st, out)
	}
	s := surveyStore()
	d, _, err := s.Survey(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
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
	for st := range 50 {
		store := fmt.Sprintf("S%02d", st)
		for day := cellsFrom; day < yearTo; day++ {
			in := survey.ResponseInput{Answers: []survey.AnswerInput{
				{Question: "nps", Value: json.RawMessage(fmt.Sprint(rng.IntN(11)))},
				{Question: "csat", Value: json.RawMessage(fmt.Sprint(1 + rng.IntN(5)))},
				{Question: "ease", Value: json.RawMessage(fmt.Sprint(1 + rng.IntN(7)))},
				{Question: "quality", Value: json.RawMessage(fmt.Sprint(1 + rng.IntN(5)))},
			}}
			r, err := survey.ValidateResponse(d, in, survey.Respondent{MemberID: "m", Store: store, Channel: "store", At: day.Start(s.Zone).Add(12 * time.Hour)})
			if err != nil {
				b.Fatal(err)
			}
			want.Add(d, r)
			c := survey.Contribution(d, r)
			for _, rk := range survey.RollUps(store, "store") {
				k := survey.SeriesKey{Survey: d.ID, Version: d.Version, Store: rk[0], Channel: rk[1]}
				add(k, day, false, c)
				add(k, day, true, c)
			}
		}
		if err := dynamo.RegisterSurveyStore(ctx, s, d.ID, d.Version, store); err != nil {
			b.Fatal(err)
		}
	}
	var items []dynamo.CellItem
	for ck, ts := range cells {
		items = append(items, dynamo.SurveyCellItems(d, ck.k, ck.day, ck.month, ts)...)
	}
	if err := dynamo.PutSurveyCells(ctx, s, items); err != nil {
		b.Fatal(err)
	}
	hist := []survey.Definition{d}
	q, err := survey.ParseScoresQuery(map[string]string{"from": yearFrom.String(), "to": yearTo.String(), "tz": s.Zone.String()}, hist, s.Zone)
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := json.Marshal(want.Report(hist, q))
	return id, raw
}

var seeded struct {
	once sync.Once
	id   string
	want []byte
}

// BenchmarkScoresYear50Stores: GET /v1/surveys/{id}/scores over one year
// (whole months: month roll-ups only) for one survey with daily aggregates
// across 50 stores, through the local gateway and the surveys-api binary,
// warm. The first answer is checked against the report computed in memory
// on the raw responses.
func BenchmarkScoresYear50Stores(b *testing.B) {
	seeded.once.Do(func() { seeded.id, seeded.want = seedYear(b) })
	url := fmt.Sprintf("%s/v1/surveys/%s/scores?from=%s&to=%s&tz=%s", stack.APIURL, seeded.id, yearFrom, yearTo, topology.Clientele().TimeZone)
	tok := api.Token(b, topology.Staff, "bench")
	get := func() ([]byte, time.Duration) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("scores: %d %s", resp.StatusCode, raw)
		}
		return raw, time.Since(t0)
	}
	got, _ := get()
	var a, w any
	_ = json.Unmarshal(got, &a)
	_ = json.Unmarshal(seeded.want, &w)
	ga, _ := json.Marshal(a)
	gw, _ := json.Marshal(w)
	if string(ga) != string(gw) {
		b.Fatalf("the scores route's report differs from the report on the raw responses:\n%s\n%s", ga, gw)
	}
	for range 5 { // warm the function's instances
		get()
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		_, d := get()
		lat = append(lat, d)
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
