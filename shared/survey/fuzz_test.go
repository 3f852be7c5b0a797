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

var definitionPath = regexp.MustCompile(`^(name|active_from|active_to|one_per|min_sample|questions|questions\[\d+\]\.(id|kind|prompt|dimension|choices|max_length)|questions\[\d+\]\.choices\[\d+\]\.(id|label)|targeting\.(stores|channels)(\[\d+\])?)$`)

// FuzzNewDefinition: any body either makes a definition whose questions
// keep the invariants, or fails as Invalid naming known JSON paths.
func FuzzNewDefinition(f *testing.F) {
	seed, _ := json.Marshal(postPurchase())
	f.Add(seed)
	f.Add([]byte(`{"name":"x","questions":[{"id":"a","kind":"ces","prompt":"p","dimension":"value"},{"id":"b","kind":"csat","prompt":"q","dimension":"value"}]}`))
	f.Add([]byte(`{"name":"x","one_per":"order","allow_anonymous":true,"min_sample":0,"questions":[{"id":"a","kind":"multiple_choice","prompt":"p","choices":[{"id":"a","label":"A"},{"id":"a","label":""}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var in survey.DefinitionInput
		if json.Unmarshal(body, &in) != nil {
			return
		}
		d, err := survey.NewDefinition("sv1", in, now)
		if err != nil {
			e, ok := fault.As(err)
			if !ok || e.Kind != fault.Invalid || len(e.Fields) == 0 {
				t.Fatalf("err = %v, want Invalid with fields", err)
			}
			for _, fe := range e.Fields {
				if !definitionPath.MatchString(fe.Field) {
					t.Fatalf("field %q is not a JSON path of the body", fe.Field)
				}
			}
			return
		}
		nps, dims := 0, map[string]survey.Kind{}
		for _, q := range d.Questions {
			if q.Kind == survey.NPS {
				nps++
			}
			if q.Kind.Choice() != (len(q.Choices) >= 2) || (q.Kind == survey.Text) != (q.MaxLength > 0) {
				t.Fatalf("question %+v breaks its kind's shape", q)
			}
			if k, seen := dims[q.Dimension]; q.Dimension != "" && seen && k != q.Kind {
				t.Fatalf("dimension %s on two scales", q.Dimension)
			}
			dims[q.Dimension] = q.Kind
		}
		if nps > 1 || d.MinSample < 1 || (d.AllowAnonymous && d.OnePer != survey.PerOrder) {
			t.Fatalf("definition breaks a rule: %+v", d)
		}
	})
}
