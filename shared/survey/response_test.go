package survey_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"clientele/shared/survey"
)

func mustDefinition(t testing.TB, in survey.DefinitionInput) survey.Definition {
	t.Helper()
	d, err := survey.NewDefinition("sv1", in, now)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func ans(q string, v string) survey.AnswerInput {
	return survey.AnswerInput{Question: q, Value: json.RawMessage(v)}
}

var buyer = survey.Respondent{MemberID: "m1", OrderID: "o1", Store: "S01", Channel: "store", At: now}

func TestValidateResponseAccepts(t *testing.T) {
	t.Parallel()
	d := mustDefinition(t, postPurchase())
	in := survey.ResponseInput{Answers: []survey.AnswerInput{
		ans("why", `"  Friendly staff, 很好  "`),
		ans("recommend", `0`),
		ans("easy", `7`),
		ans("bought", `["bags","shoes"]`),
		ans("found", `null`),
		ans("staff", `5.0`),
	}}
	r, err := survey.ValidateResponse(d, in, buyer)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, a := range r.Answers {
		order = append(order, a.Question)
	}
	if want := []string{"recommend", "easy", "staff", "bought", "why"}; !slices.Equal(order, want) {
		t.Errorf("answers in %v, want the definition's order %v", order, want)
	}
	if want := []string{"satisfied", "found"}; !slices.Equal(r.Skipped, want) {
		t.Errorf("skipped = %v, want %v", r.Skipped, want)
	}
	if a, _ := r.Answer("recommend"); a.Value == nil || *a.Value != 0 {
		t.Errorf("nps 0 must be an answer, got %+v", a)
	}
	if a, _ := r.Answer("bought"); !slices.Equal(a.Choices, []string{"shoes", "bags"}) {
		t.Errorf("choices = %v, want the definition's order", a.Choices)
	}
	if a, _ := r.Answer("why"); a.Text != "Friendly staff, 很好" {
		t.Errorf("text = %q, want trimmed", a.Text)
	}
	if r.DedupeKey(d) != "order#o1" || r.Version != 1 || r.Survey != "sv1" {
		t.Errorf("key %q version %d survey %q", r.DedupeKey(d), r.Version, r.Survey)
	}
	e := r.Erase()
	if e.MemberID != "" || slices.ContainsFunc(e.Answers, func(a survey.Answer) bool { return a.Text != "" }) || len(e.Answers) != 4 {
		t.Errorf("erased response keeps %+v", e)
	}
}

func TestValidateResponseFieldErrors(t *testing.T) {
	t.Parallel()
	d := mustDefinition(t, postPurchase())
	valid := func() []survey.AnswerInput { return []survey.AnswerInput{ans("recommend", `9`)} }
	cases := map[string]struct {
		answers []survey.AnswerInput
		who     func(*survey.Respondent)
		field   string
		want    string
	}{
		"nps 11":            {[]survey.AnswerInput{ans("recommend", `11`)}, nil, "answers[0].value", "from 0 to 10"},
		"nps -1":            {[]survey.AnswerInput{ans("recommend", `-1`)}, nil, "answers[0].value", "from 0 to 10"},
		"nps 8.5":           {[]survey.AnswerInput{ans("recommend", `8.5`)}, nil, "answers[0].value", "integer"},
		"nps string":        {[]survey.AnswerInput{ans("recommend", `"9"`)}, nil, "answers[0].value", "integer"},
		"csat 0":            {append(valid(), ans("satisfied", `0`)), nil, "answers[1].value", "from 1 to 5"},
		"ces 8":             {append(valid(), ans("easy", `8`)), nil, "answers[1].value", "from 1 to 7"},
		"required null":     {[]survey.AnswerInput{ans("recommend", `null`)}, nil, "answers[0].value", "is required"},
		"required missing":  {[]survey.AnswerInput{ans("satisfied", `4`)}, nil, "answers", `"recommend" is required`},
		"unknown question":  {append(valid(), ans("colour", `1`)), nil, "answers[1].question", "not a question"},
		"duplicate":         {append(valid(), ans("recommend", `3`)), nil, "answers[1].question", "duplicate of answers[0]"},
		"unknown choice":    {append(valid(), ans("found", `"tv"`)), nil, "answers[1].value", `unknown choice "tv"`},
		"choice not string": {append(valid(), ans("found", `1`)), nil, "answers[1].value", "choice id"},
		"multi unknown":     {append(valid(), ans("bought", `["shoes","hats"]`)), nil, "answers[1].value", `unknown choice "hats" at [1]`},
		"multi twice":       {append(valid(), ans("bought", `["shoes","shoes"]`)), nil, "answers[1].value", "twice"},
		"text too long":     {append(valid(), ans("why", `"`+strings.Repeat("好", 21)+`"`)), nil, "answers[1].value", "at most 20 characters (got 21)"},
		"not yet open":      {valid(), func(w *survey.Respondent) { w.At = time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC) }, "survey", "opens at"},
		"closed":            {valid(), func(w *survey.Respondent) { w.At = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC) }, "survey", "closed at"},
		"other store":       {valid(), func(w *survey.Respondent) { w.Store = "S09" }, "store", "does not target store S09"},
		"no store":          {valid(), func(w *survey.Respondent) { w.Store = "" }, "store", "is required"},
		"other channel":     {valid(), func(w *survey.Respondent) { w.Channel = "online" }, "channel", "does not target channel online"},
		"unknown channel":   {valid(), func(w *survey.Respondent) { w.Channel = "fax" }, "channel", "must be store"},
		"anonymous":         {valid(), func(w *survey.Respondent) { w.MemberID = "" }, "member_id", "anonymous"},
		"no order":          {valid(), func(w *survey.Respondent) { w.OrderID = "" }, "order_id", "one response per order"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			who := buyer
			if c.who != nil {
				c.who(&who)
			}
			_, err := survey.ValidateResponse(d, survey.ResponseInput{Answers: c.answers}, who)
			fs := fieldsOf(t, err)
			if !strings.Contains(fs[c.field], c.want) {
				t.Errorf("fields = %v, want %s: …%s…", fs, c.field, c.want)
			}
		})
	}
}

func TestValidateResponseCollectsEveryError(t *testing.T) {
	t.Parallel()
	d := mustDefinition(t, postPurchase())
	who := buyer
	who.Store = "S77"
	_, err := survey.ValidateResponse(d, survey.ResponseInput{Answers: []survey.AnswerInput{
		ans("satisfied", `9`), ans("easy", `0`), ans("found", `"radio"`),
	}}, who)
	fs := fieldsOf(t, err)
	for _, f := range []string{"store", "answers[0].value", "answers[1].value", "answers[2].value", "answers"} {
		if fs[f] == "" {
			t.Errorf("missing %s in %v", f, fs)
		}
	}
}

func TestValidateResponseAnonymousAndEmpty(t *testing.T) {
	t.Parallel()
	in := postPurchase()
	in.AllowAnonymous = true
	in.Questions[0].Required = false
	d := mustDefinition(t, in)
	who := buyer
	who.MemberID = ""
	r, err := survey.ValidateResponse(d, survey.ResponseInput{Answers: []survey.AnswerInput{ans("recommend", `10`)}}, who)
	if err != nil || r.MemberID != "" || r.DedupeKey(d) != "order#o1" {
		t.Errorf("anonymous response: %+v %v", r, err)
	}
	_, err = survey.ValidateResponse(d, survey.ResponseInput{Answers: []survey.AnswerInput{ans("recommend", `null`), ans("why", `"   "`)}}, who)
	if fieldsOf(t, err)["answers"] == "" {
		t.Errorf("a response that answers nothing must be refused, got %v", err)
	}
}
