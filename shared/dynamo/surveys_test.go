package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the zones of the tests, whatever the machine has

	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamotest"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/survey"
)

// These are the survey store's contract tests, on DynamoDB Local.

var surveyNow = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func surveyStore(t testing.TB, zone string) *dynamo.SurveyStore {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return &dynamo.SurveyStore{Client: db, Table: table, Zone: loc, Now: func() time.Time { return surveyNow }}
}

func surveyInput(onePer string) survey.DefinitionInput {
	return survey.DefinitionInput{
		Name:       "After your purchase",
		ActiveFrom: "2020-01-01T00:00:00Z",
		Questions: []survey.QuestionInput{
			{ID: "recommend", Kind: "nps", Prompt: "How likely are you to recommend us?", Required: true},
			{ID: "satisfied", Kind: "csat", Prompt: "How satisfied are you with the product?", Dimension: survey.ProductQuality},
			{ID: "easy", Kind: "ces", Prompt: "The company made it easy for me.", Dimension: survey.ShoppingExperience},
			{ID: "staff", Kind: "rating", Prompt: "Rate our staff", Dimension: survey.ServiceQuality},
			{ID: "found", Kind: "single_choice", Prompt: "How did you find us?", Choices: []survey.Choice{{ID: "friend", Label: "A friend"}, {ID: "ad", Label: "An ad"}}},
			{ID: "bought", Kind: "multiple_choice", Prompt: "What did you buy?", Choices: []survey.Choice{{ID: "shoes", Label: "Shoes"}, {ID: "shirts", Label: "Shirts"}, {ID: "bags", Label: "Bags"}}},
			{ID: "why", Kind: "text", Prompt: "Why?", MaxLength: 200},
		},
		OnePer: onePer,
	}
}

func newSurvey(t testing.TB, s *dynamo.SurveyStore, in survey.DefinitionInput) survey.Definition {
	t.Helper()
	d, err := survey.NewDefinition("sv-"+event.NewID(time.Now()), in, surveyNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSurvey(context.Background(), d); err != nil {
		t.Fatalf("create survey: %v", err)
	}
	return d
}

// answers builds a response body: the NPS answer, then csat, ces, rating
// (0 skips), a choice, bought items and a text.
type answers struct {
	nps, csat, ces, rating int
	found                  string
	bought                 []string
	why                    string
}

func (a answers) input() survey.ResponseInput {
	in := survey.ResponseInput{Answers: []survey.AnswerInput{{Question: "recommend", Value: json.RawMessage(strconv.Itoa(a.nps))}}}
	num := func(q string, v int) {
		if v > 0 {
			in.Answers = append(in.Answers, survey.AnswerInput{Question: q, Value: json.RawMessage(strconv.Itoa(v))})
		}
	}
	num("satisfied", a.csat)
	num("easy", a.ces)
	num("staff", a.rating)
	if a.found != "" {
		in.Answers = append(in.Answers, survey.AnswerInput{Question: "found", Value: json.RawMessage(strconv.Quote(a.found))})
	}
	if len(a.bought) > 0 {
		b, _ := json.Marshal(a.bought)
		in.Answers = append(in.Answers, survey.AnswerInput{Question: "bought", Value: b})
	}
	if a.why != "" {
		in.Answers = append(in.Answers, survey.AnswerInput{Question: "why", Value: json.RawMessage(strconv.Quote(a.why))})
	}
	return in
}

func validResponse(t testing.TB, d survey.Definition, a answers, who survey.Respondent) survey.Response {
	t.Helper()
	r, err := survey.ValidateResponse(d, a.input(), who)
	if err != nil {
		t.Fatalf("invalid test response: %v", err)
	}
	return r
}

// npsTally reads, through the store, the survey's NPS tally over 2026 for
// every store and channel.
func npsTally(t testing.TB, s *dynamo.SurveyStore, d survey.Definition) survey.Tally {
	t.Helper()
	q := survey.ScoresQuery{Filter: survey.Filter{From: survey.DateDay(2026, 1, 1), To: survey.DateDay(2027, 1, 1)},
		Version: d.Version, Across: true, Question: "recommend", Granularity: survey.Monthly}
	agg, err := s.LoadScores(context.Background(), []survey.Definition{d}, q)
	if err != nil {
		t.Fatalf("load scores: %v", err)
	}
	return agg.Tally(survey.Query{Survey: d.ID, Question: "recommend", Versions: []int{d.Version}, Filter: q.Filter})
}

func conflictField(t testing.TB, err error, field string) {
	t.Helper()
	e, ok := fault.As(err)
	if !ok || e.Kind != fault.Conflict || len(e.Fields) == 0 || e.Fields[0].Field != field {
		t.Fatalf("got %v, want a conflict naming %q", err, field)
	}
}

func TestSurveyDefinitionVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := surveyStore(t, "UTC")
	d := newSurvey(t, s, surveyInput("member"))
	if err := s.CreateSurvey(ctx, d); err == nil {
		t.Fatal("creating the same survey twice succeeded")
	} else {
		conflictField(t, err, "id")
	}
	got, rev, err := s.Survey(ctx, d.ID)
	if err != nil || got.Version != 1 || rev != 1 || !reflect.DeepEqual(got.Questions, d.Questions) {
		t.Fatalf("Survey = v%d rev %d, %v", got.Version, rev, err)
	}

	// Concurrent edits of the started version from the same revision: one
	// makes version 2, the others conflict.
	const editors = 8
	errs := make([]error, editors)
	var wg sync.WaitGroup
	for i := range editors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := surveyInput("member")
			in.Name = fmt.Sprintf("edit %d", i)
			next, created, err := survey.Edit(got, in, surveyNow)
			if err != nil || !created || next.Version != 2 {
				errs[i] = fmt.Errorf("edit: v%d created %v: %v", next.Version, created, err)
				return
			}
			errs[i] = s.SaveSurveyVersion(ctx, next, rev)
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("edits %d and %d both won", won, i)
		case err == nil:
			won = i
		default:
			conflictField(t, err, "version")
		}
	}
	if won < 0 {
		t.Fatal("no edit won")
	}
	hist, err := s.SurveyHistory(ctx, d.ID)
	if err != nil || len(hist) != 2 || hist[0].Name != d.Name || hist[1].Name != fmt.Sprintf("edit %d", won) {
		t.Fatalf("history = %d versions, %v", len(hist), err)
	}
	latest, rev2, err := s.Survey(ctx, d.ID)
	if err != nil || latest.Version != 2 || rev2 != 2 {
		t.Fatalf("after the edit: v%d rev %d, %v", latest.Version, rev2, err)
	}
	// A stale revision is refused.
	next, _, _ := survey.Edit(latest, surveyInput("member"), surveyNow)
	if err := s.SaveSurveyVersion(ctx, next, rev); err == nil {
		t.Fatal("an edit from a stale revision was saved")
	}
}

func TestSurveyEditBeforeStartKeepsVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := surveyStore(t, "UTC")
	in := surveyInput("member")
	in.ActiveFrom = "2027-01-01T00:00:00Z"
	d := newSurvey(t, s, in)
	in.Name = "Renamed before it opens"
	next, created, err := survey.Edit(d, in, surveyNow)
	if err != nil || created {
		t.Fatalf("edit: created %v, %v", created, err)
	}
	if err := s.SaveSurveyVersion(ctx, next, 1); err != nil {
		t.Fatal(err)
	}
	hist, err := s.SurveyHistory(ctx, d.ID)
	if err != nil || len(hist) != 1 || hist[0].Name != in.Name {
		t.Fatalf("history = %+v, %v", hist, err)
	}
}

func TestSurveyDefinitionFootprint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := surveyStore(t, "UTC")
	// The largest choice survey the domain accepts: 50 questions of 50
	// choices. Its cells are split over parts; a response choosing every
	// choice of every question is recorded and counted.
	in := survey.DefinitionInput{Name: "Everything", ActiveFrom: "2020-01-01T00:00:00Z", OnePer: "member"}
	var body survey.ResponseInput
	for i := range survey.MaxQuestions {
		q := survey.QuestionInput{ID: fmt.Sprintf("question_number_%02d_with_a_long_slug", i), Kind: "multiple_choice", Prompt: "Which?"}
		var all []string
		for j := range survey.MaxChoices {
			id := fmt.Sprintf("choice_%02d_with_a_long_identifier", j)
			q.Choices = append(q.Choices, survey.Choice{ID: id, Label: id})
			all = append(all, id)
		}
		in.Questions = append(in.Questions, q)
		raw, _ := json.Marshal(all)
		body.Answers = append(body.Answers, survey.AnswerInput{Question: q.ID, Value: raw})
	}
	d := newSurvey(t, s, in)
	f := dynamo.Footprint(d)
	if f.Parts < 2 || f.Items > dynamo.MaxTransactItems {
		t.Fatalf("footprint %+v: want several parts within %d items", f, dynamo.MaxTransactItems)
	}
	r, err := survey.ValidateResponse(d, body, survey.Respondent{MemberID: "m1", Store: "S1", Channel: "store", At: surveyNow})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordResponse(ctx, dynamo.SurveyResponseWrite{ID: "big-" + d.ID, Definition: d, Response: r}); err != nil {
		t.Fatalf("record: %v", err)
	}
	q := survey.ScoresQuery{Filter: survey.Filter{From: survey.DateDay(2026, 3, 1), To: survey.DateDay(2026, 4, 1)}, Version: 1, Across: true, Granularity: survey.Monthly}
	agg, err := s.LoadScores(ctx, []survey.Definition{d}, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []int{0, 27, 49} {
		tl := agg.Tally(survey.Query{Survey: d.ID, Question: d.Questions[x].ID, Versions: []int{1}, Filter: q.Filter})
		if tl.Answered != 1 || len(tl.Choices) != survey.MaxChoices || tl.Choices[d.Questions[x].Choices[49].ID] != 1 {
			t.Errorf("question %d: answered %d, %d choices", x, tl.Answered, len(tl.Choices))
		}
	}

	// Long texts would not fit one item: refused, naming the questions.
	in = surveyInput("member")
	for i := range 20 {
		in.Questions = append(in.Questions, survey.QuestionInput{ID: fmt.Sprintf("text_%d", i), Kind: "text", Prompt: "Tell us", MaxLength: survey.MaxTextLength})
	}
	big, err := survey.NewDefinition("sv-big-"+event.NewID(time.Now()), in, surveyNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSurvey(ctx, big); !fault.Is(err, fault.Invalid) || !strings.Contains(fmt.Sprint(err.(*fault.Error).Fields), "questions") {
		t.Fatalf("a survey whose responses overflow an item: %v", err)
	}
	// More choice questions than the domain allows would pass the
	// transaction's 100 items.
	huge := d
	huge.Questions = append(append([]survey.Question{}, d.Questions...), d.Questions...)
	if f := dynamo.Footprint(huge); f.Items <= dynamo.MaxTransactItems {
		t.Fatalf("footprint of 100 questions × 50 choices: %+v", f)
	}
	if err := dynamo.CheckDefinition(huge); !fault.Is(err, fault.Invalid) {
		t.Fatalf("CheckDefinition of 100 × 50 choices: %v", err)
	}
}

func TestSurveyRedeliveryCountsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := surveyStore(t, "Asia/Shanghai")
	// A table of its own, so its outbox holds only this test's events.
	own, err := dynamotest.NewTable(ctx, db, "survey-outbox")
	if err != nil {
		t.Fatal(err)
	}
	s.Table = own
	d := newSurvey(t, s, surveyInput("order"))
	r := validResponse(t, d, answers{nps: 9, csat: 5, ces: 6, why: "great"}, survey.Respondent{MemberID: "m1", OrderID: "o1", Store: "S1", Channel: "store", At: surveyNow})
	w := dynamo.SurveyResponseWrite{ID: "r-" + d.ID, Definition: d, Response: r, Nonce: "n-" + d.ID, NonceExpires: surveyNow.Add(time.Hour)}
	// Each delivery brings its own follow-up event (a worker builds a new
	// envelope each time); only the first one's reaches the outbox.
	var events []string
	for i := range 4 {
		ev, err := event.New("survey.follow_up_requested", "test", time.Now(), map[string]string{"response_id": w.ID})
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev.ID)
		w.Events = []event.Envelope{ev}
		dup, err := s.RecordResponse(ctx, w)
		if err != nil || dup != (i > 0) {
			t.Fatalf("delivery %d: duplicate %v, %v", i+1, dup, err)
		}
	}
	pending, err := (&dynamo.Outbox{Client: db, Table: own}).Pending(ctx, time.Now().Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	inOutbox := map[string]bool{}
	for _, e := range pending {
		inOutbox[e.ID] = true
	}
	if !inOutbox[events[0]] || inOutbox[events[1]] || inOutbox[events[2]] || inOutbox[events[3]] {
		t.Fatalf("outbox holds %v of the deliveries' events %v, want only the first", inOutbox, events)
	}
	if tl := npsTally(t, s, d); tl.Answered != 1 || tl.Counts[9] != 1 {
		t.Fatalf("after 3 redeliveries: answered %d, counts %v", tl.Answered, tl.Counts)
	}
	// Another content under the same id: a conflict naming the field.
	other := w
	other.Response = validResponse(t, d, answers{nps: 3}, survey.Respondent{MemberID: "m1", OrderID: "o1", Store: "S1", Channel: "store", At: surveyNow})
	_, err = s.RecordResponse(ctx, other)
	conflictField(t, err, "answers[0]")
	other.Response = r
	other.Response.Store = "S2"
	_, err = s.RecordResponse(ctx, other)
	conflictField(t, err, "store")
	if tl := npsTally(t, s, d); tl.Answered != 1 {
		t.Fatalf("a refused response changed the count: %d", tl.Answered)
	}
}

func TestSurveyConcurrentResponsesCountExactly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := surveyStore(t, "Europe/Paris")
	d := newSurvey(t, s, surveyInput("order"))
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	want := survey.NewAggregates(s.Zone)
	for i := range n {
		// The same day, store and channel: every transaction touches the
		// same cells.
		r := validResponse(t, d, answers{nps: i % 11, csat: 1 + i%5, bought: []string{"bags"}},
			survey.Respondent{MemberID: fmt.Sprint("m", i), OrderID: fmt.Sprint("o", i), Store: "S1", Channel: "app", At: surveyNow.Add(time.Duration(i) * time.Minute)})
		want.Add(d, r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if dup, err := s.RecordResponse(ctx, dynamo.SurveyResponseWrite{ID: fmt.Sprintf("r%d-%s", i, d.ID), Definition: d, Response: r}); err != nil || dup {
				errs <- fmt.Errorf("response %d: duplicate %v, %v", i, dup, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := npsTally(t, s, d)
	exp := want.Tally(survey.Query{Survey: d.ID, Question: "recommend", Versions: []int{1},
		Filter: survey.Filter{From: survey.DateDay(2026, 1, 1), To: survey.DateDay(2027, 1, 1)}})
	if got.Answered != n || !reflect.DeepEqual(got, exp) {
		t.Fatalf("32 concurrent responses: got %+v, want %+v", got, exp)
	}

	// 32 concurrent copies of one response count once.
	r := validResponse(t, d, answers{nps: 10}, survey.Respondent{MemberID: "mx", OrderID: "ox", Store: "S1", Channel: "app", At: surveyNow})
	var firsts sync.WaitGroup
	var mu sync.Mutex
	recorded := 0
	for range n {
		firsts.Add(1)
		go func() {
			defer firsts.Done()
			dup, err := s.RecordResponse(ctx, dynamo.SurveyResponseWrite{ID: "copy-" + d.ID, Definition: d, Response: r})
			if err != nil {
				t.Errorf("copy: %v", err)
				return
			}
			if !dup {
				mu.Lock()
				recorded++
				mu.Unlock()
			}
		}()
	}
	firsts.Wait()
	if recorded != 1 {
		t.Errorf("%d copies were recorded as new, want 1", recorded)
	}
	if tl := npsTally(t, s, d); tl.Answered != n+1 || tl.Counts[10] != got.Counts[10]+1 {
		t.Fatalf("after 32 copies: answered %d (want %d), promoters at 10: %d", tl.Answered, n+1, tl.Counts[10])
	}
}

func TestSurveySecondResponseAndReusedNonceRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := surveyStore(t, "UTC")
	for _, per := range []string{"member", "order"} {
		d := newSurvey(t, s, surveyInput(per))
		who := survey.Respondent{MemberID: "m1", OrderID: "o1", Store: "S1", Channel: "online", At: surveyNow}
		first := validResponse(t, d, answers{nps: 7}, who)
		if _, err := s.RecordResponse(ctx, dynamo.SurveyResponseWrite{ID: "a-" + d.ID, Definition: d, Response: first, Nonce: "na-" + d.ID}); err != nil {
			t.Fatal(err)
		}
		second := validResponse(t, d, answers{nps: 2}, who)
		_, err := s.RecordResponse(ctx, dynamo.SurveyResponseWrite{ID: "b-" + d.ID, Definition: d, Response: second, Nonce: "nb-" + d.ID})
		conflictField(t, err, per+"_id")
		// A new order by another member, but the first link's nonce.
		who.MemberID, who.OrderID = "m2", "o2"
		third := validResponse(t, d, answers{nps: 8}, who)
		_, err = s.RecordResponse(ctx, dynamo.SurveyResponseWrite{ID: "c-" + d.ID, Definition: d, Response: third, Nonce: "na-" + d.ID})
		conflictField(t, err, "token")
		if tl := npsTally(t, s, d); tl.Answered != 1 || tl.Counts[7] != 1 {
			t.Fatalf("%s: refused responses were counted: %+v", per, tl)
		}
		// The refused ones left nothing: the same member/order and nonce
		// pass on another survey... and the refused ids are free.
		if _, err := s.SurveyResponse(ctx, "b-"+d.ID); !fault.Is(err, fault.NotFound) {
			t.Fatalf("%s: a refused response was stored: %v", per, err)
		}
		if _, err := s.RecordResponse(ctx, dynamo.SurveyResponseWrite{ID: "c-" + d.ID, Definition: d, Response: third, Nonce: "nc-" + d.ID}); err != nil {
			t.Fatalf("%s: a fresh nonce: %v", per, err)
		}
	}
}

func TestSurveyEraseAndExport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := surveyStore(t, "UTC")
	member := "m-" + event.NewID(time.Now())
	var ws []dynamo.SurveyResponseWrite
	for i, per := range []string{"member", "order"} {
		d := newSurvey(t, s, surveyInput(per))
		r := validResponse(t, d, answers{nps: 4, csat: 2, why: fmt.Sprint("my name is Ann, call me ", i)},
			survey.Respondent{MemberID: member, OrderID: fmt.Sprint("o", i), Store: "S1", Channel: "store", At: surveyNow})
		w := dynamo.SurveyResponseWrite{ID: fmt.Sprintf("e%d-%s", i, d.ID), Definition: d, Response: r}
		if _, err := s.RecordResponse(ctx, w); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	exp, err := s.MemberResponses(ctx, member)
	if err != nil || len(exp) != 2 {
		t.Fatalf("export: %d responses, %v", len(exp), err)
	}
	for _, x := range exp {
		if a, ok := x.Response.Answer("why"); !ok || !strings.HasPrefix(a.Text, "my name is Ann") || x.Response.MemberID != member {
			t.Errorf("export %s: %+v", x.ID, x.Response)
		}
	}
	n, err := s.EraseMember(ctx, member)
	if err != nil || n != 2 {
		t.Fatalf("erase: %d, %v", n, err)
	}
	if exp, err := s.MemberResponses(ctx, member); err != nil || len(exp) != 0 {
		t.Fatalf("export after erasure: %d responses, %v", len(exp), err)
	}
	for _, w := range ws {
		got, err := s.SurveyResponse(ctx, w.ID)
		if err != nil || !got.Erased || got.Response.MemberID != "" {
			t.Fatalf("erased response: %+v, %v", got, err)
		}
		if _, ok := got.Response.Answer("why"); ok {
			t.Errorf("the text answer survived erasure")
		}
		if a, ok := got.Response.Answer("recommend"); !ok || *a.Value != 4 {
			t.Errorf("the NPS answer was lost: %+v", got.Response.Answers)
		}
		// A redelivery of the original is a no-op, and the counts stay.
		if dup, err := s.RecordResponse(ctx, w); err != nil || !dup {
			t.Errorf("redelivery after erasure: duplicate %v, %v", dup, err)
		}
		if tl := npsTally(t, s, w.Definition); tl.Answered != 1 || tl.Counts[4] != 1 {
			t.Errorf("counts after erasure: %+v", tl)
		}
	}
	// Erasure runs again harmlessly.
	if n, err := s.EraseMember(ctx, member); err != nil || n != 0 {
		t.Fatalf("second erasure: %d, %v", n, err)
	}
}

// TestSurveyScoresThroughStoreEqualRecomputation records random responses
// (two versions, stores, channels, skips, 14 months in a zone with a
// 45-minute offset) through the store and checks that scores reports
// computed on the cells the store loads equal reports computed on
// aggregates of the raw responses, and that the headline count equals a
// plain count of the raw responses.
func TestSurveyScoresThroughStoreEqualRecomputation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := surveyStore(t, "Asia/Kathmandu")
	d1 := newSurvey(t, s, surveyInput("order"))
	in := surveyInput("order")
	in.Questions[1].Prompt = "How satisfied are you with what you bought?"
	d2, created, err := survey.Edit(d1, in, surveyNow)
	if err != nil || !created {
		t.Fatal(err)
	}
	if err := s.SaveSurveyVersion(ctx, d2, 1); err != nil {
		t.Fatal(err)
	}
	hist := []survey.Definition{d1, d2}
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	stores := []string{"S01", "S02", "S03", "S04", "S05"}
	channels := []string{"store", "online", "app"}
	start := time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC)
	want := survey.NewAggregates(s.Zone)
	var raw []survey.Response
	var writes []dynamo.SurveyResponseWrite
	for i := range 80 {
		d := hist[rng.IntN(2)]
		pick := func(lo, hi int) int {
			if rng.IntN(4) == 0 {
				return 0
			}
			return lo + rng.IntN(hi-lo+1)
		}
		a := answers{nps: rng.IntN(11), csat: pick(1, 5), ces: pick(1, 7), rating: pick(1, 5)}
		if rng.IntN(2) == 0 {
			a.found = []string{"friend", "ad"}[rng.IntN(2)]
		}
		for _, b := range []string{"shoes", "shirts", "bags"} {
			if rng.IntN(2) == 0 {
				a.bought = append(a.bought, b)
			}
		}
		at := start.Add(time.Duration(rng.Int64N(430*86400)) * time.Second)
		r := validResponse(t, d, a, survey.Respondent{MemberID: fmt.Sprint("m", i), OrderID: fmt.Sprint("o", i),
			Store: stores[rng.IntN(len(stores))], Channel: channels[rng.IntN(len(channels))], At: at})
		want.Add(d, r)
		raw = append(raw, r)
		writes = append(writes, dynamo.SurveyResponseWrite{ID: fmt.Sprintf("p%d-%s", i, d1.ID), Definition: d, Response: r})
	}
	work := make(chan dynamo.SurveyResponseWrite)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range work {
				if _, err := s.RecordResponse(ctx, w); err != nil {
					t.Errorf("record: %v", err)
				}
			}
		}()
	}
	for _, w := range writes {
		work <- w
	}
	close(work)
	wg.Wait()

	stored, err := s.SurveyHistory(ctx, d1.ID)
	if err != nil || len(stored) != 2 {
		t.Fatalf("history: %d, %v", len(stored), err)
	}
	cached := surveyStore(t, "Asia/Kathmandu")
	cached.Cells = dynamo.NewSurveyCellCache(time.Hour, 10000)
	queries := []map[string]string{
		{"from": "2025-11-01", "to": "2027-01-01"},
		{"from": "2026-01-01", "to": "2027-01-01", "granularity": "week"},
		{"from": "2025-12-17", "to": "2026-03-05", "granularity": "day", "store": "S02,S04"},
		{"from": "2026-02-10", "to": "2026-11-20", "channel": "app", "across_versions": "false", "version": "1"},
		{"from": "2026-03-01", "to": "2026-09-01", "question": "satisfied", "store": "S01", "channel": "store"},
		{"from": "2025-06-01", "to": "2025-07-01"},
	}
	for _, p := range queries {
		p["tz"] = "Asia/Kathmandu"
		q, err := survey.ParseScoresQuery(p, stored, s.Zone)
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		agg, err := s.LoadScores(ctx, stored, q)
		if err != nil {
			t.Fatalf("%v: load: %v", p, err)
		}
		got, _ := json.Marshal(agg.Report(stored, q))
		exp, _ := json.Marshal(want.Report(hist, q))
		if string(got) != string(exp) {
			t.Errorf("%v: the report through the store differs\n got: %s\nwant: %s", p, got, exp)
		}
		// The same through a store with a cell cache, cold and warm.
		for _, pass := range []string{"cold", "warm"} {
			cagg, err := cached.LoadScores(ctx, stored, q)
			if err != nil {
				t.Fatalf("%v: cached load: %v", p, err)
			}
			if got, _ := json.Marshal(cagg.Report(stored, q)); string(got) != string(exp) {
				t.Errorf("%v: the report through the cell cache (%s) differs\n got: %s\nwant: %s", p, pass, got, exp)
			}
		}
		// The headline's n, counted straight from the raw responses.
		vs := survey.Versions(stored, q.Question, q.Version, q.Across)
		count := 0
		for _, r := range raw {
			local := r.At.In(s.Zone).Format(time.DateOnly)
			if local < p["from"] || local >= p["to"] || (p["channel"] != "" && r.Channel != p["channel"]) ||
				(p["store"] != "" && !strings.Contains(","+p["store"]+",", ","+r.Store+",")) ||
				!slices.Contains(vs, r.Version) {
				continue
			}
			if _, ok := r.Answer(q.Question); ok {
				count++
			}
		}
		head := agg.Tally(survey.Query{Survey: d1.ID, Question: q.Question, Versions: vs, Filter: q.Filter})
		if int(head.Answered) != count {
			t.Errorf("%v: headline answered %d, raw responses %d", p, head.Answered, count)
		}
	}
}
