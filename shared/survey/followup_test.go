package survey_test

import (
	"testing"

	"clientele/shared/survey"
)

func TestFollowUpFor(t *testing.T) {
	t.Parallel()
	d := mustDefinition(t, postPurchase())
	respond := func(answers ...survey.AnswerInput) survey.Response {
		t.Helper()
		r, err := survey.ValidateResponse(d, survey.ResponseInput{Answers: answers}, buyer)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, c := range []struct {
		name     string
		r        survey.Response
		triggers []survey.Trigger
	}{
		{"promoter", respond(ans("recommend", "9"), ans("satisfied", "3")), nil},
		{"passive", respond(ans("recommend", "7")), nil},
		{"detractor at 6", respond(ans("recommend", "6"), ans("why", `"slow"`)), []survey.Trigger{{Reason: survey.ReasonDetractor, Question: "recommend", Value: 6}}},
		{"low csat", respond(ans("recommend", "8"), ans("satisfied", "2")), []survey.Trigger{{Reason: survey.ReasonLowCSAT, Question: "satisfied", Value: 2}}},
		{"both", respond(ans("recommend", "0"), ans("satisfied", "1")), []survey.Trigger{{Reason: survey.ReasonDetractor, Question: "recommend", Value: 0}, {Reason: survey.ReasonLowCSAT, Question: "satisfied", Value: 1}}},
	} {
		f, ok := survey.FollowUpFor(d, c.r)
		if ok != (c.triggers != nil) || len(f.Triggers) != len(c.triggers) {
			t.Errorf("%s: follow-up %v %+v, want triggers %+v", c.name, ok, f, c.triggers)
			continue
		}
		for i := range c.triggers {
			if f.Triggers[i] != c.triggers[i] {
				t.Errorf("%s: trigger %+v, want %+v", c.name, f.Triggers[i], c.triggers[i])
			}
		}
		if ok && (f.Survey != "sv1" || f.OrderID != "o1" || f.MemberID != "m1" || f.Store != "S01") {
			t.Errorf("%s: follow-up does not link the response: %+v", c.name, f)
		}
	}
	f, _ := survey.FollowUpFor(d, respond(ans("recommend", "6"), ans("why", `"slow"`)))
	if len(f.Texts) != 1 || f.Texts[0].Text != "slow" || f.Texts[0].Prompt != "Why?" {
		t.Errorf("texts %+v", f.Texts)
	}

	full := respond(ans("recommend", "9"), ans("satisfied", "5"), ans("easy", "7"), ans("staff", "5"),
		ans("found", `"ad"`), ans("bought", `["bags"]`), ans("why", `"great"`))
	if !full.Completed() || respond(ans("recommend", "9")).Completed() {
		t.Error("completed means every question answered")
	}
}
