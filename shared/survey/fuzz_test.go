package survey_test

import (
	"encoding/json"
	"regexp"
	"testing"

	"clientele/shared/fault"
	"clientele/shared/survey"
)

var responsePath = regexp.MustCompile(`^(answers(\[\d+\]\.(question|value))?|survey|store|channel|member_id|order_id)$`)

// FuzzValidateResponse: any body either validates into a response whose
// answers are in range, or fails as Invalid naming known JSON paths.
func FuzzValidateResponse(f *testing.F) {
	for _, s := range []string{
		`{"answers":[{"question":"recommend","value":9}]}`,
		`{"answers":[{"question":"recommend","value":9},{"question":"bought","value":["shoes","bags"]},{"question":"why","value":"ok"}]}`,
		`{"answers":[{"question":"recommend","value":1e1},{"question":"found","value":null}]}`,
		`{"answers":[{"question":"easy","value":-0},{"question":"recommend"}]}`,
	} {
		f.Add([]byte(s))
	}
	d := mustDefinition(f, postPurchase())
	f.Fuzz(func(t *testing.T, body []byte) {
		var in survey.ResponseInput
		if json.Unmarshal(body, &in) != nil {
			return
		}
		r, err := survey.ValidateResponse(d, in, buyer)
		if err != nil {
			e, ok := fault.As(err)
			if !ok || e.Kind != fault.Invalid || len(e.Fields) == 0 {
				t.Fatalf("err = %v, want Invalid with fields", err)
			}
			for _, fe := range e.Fields {
				if !responsePath.MatchString(fe.Field) {
					t.Fatalf("field %q is not a JSON path of the body", fe.Field)
				}
			}
			return
		}
		for _, a := range r.Answers {
			q, _ := d.Question(a.Question)
			if lo, hi, ok := q.Kind.Scale(); ok && (a.Value == nil || *a.Value < lo || *a.Value > hi) {
				t.Fatalf("answer %+v out of %s's scale", a, q.Kind)
			}
		}
		// Every question is either answered or skipped, once.
		if len(r.Answers)+len(r.Skipped) != len(d.Questions) {
			t.Fatalf("%d answers + %d skipped != %d questions", len(r.Answers), len(r.Skipped), len(d.Questions))
		}
		// Its contribution adds one answer or one skip per question.
		for q, tl := range survey.Contribution(d, r) {
			if tl.Answered+tl.Skipped != 1 {
				t.Fatalf("question %s counted %d times", q, tl.Answered+tl.Skipped)
			}
		}
	})
}
