package main

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/survey"
)

// TestExportIncludesSurveyResponses: a member's survey responses are in
// the export's surveys section, and a member without any has none.
func TestExportIncludesSurveyResponses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	surveys := &dynamo.SurveyStore{Client: db, Table: table}
	f.h.Surveys = surveys
	m := f.signup(t)
	at := map[string]string{"id": m.ID}
	exp := f.do(t, call{method: "GET", route: "/v1/members/{id}/export", path: "/x", pathParams: at, tok: memberToken(m.ID)})
	if strings.Contains(exp.Body, `"surveys"`) {
		t.Fatalf("a member without responses exports a surveys section: %s", exp.Body)
	}
	ctx := context.Background()
	now := time.Now().UTC()
	d, err := survey.NewDefinition("export-"+strings.ToLower(event.NewID(now)[16:]), survey.DefinitionInput{Name: "Visit",
		ActiveFrom: now.Add(-time.Hour).Format(time.RFC3339), Questions: []survey.QuestionInput{
			{ID: "nps", Kind: "nps", Prompt: "Recommend us?", Required: true}, {ID: "why", Kind: "text", Prompt: "Why?"}}}, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := surveys.CreateSurvey(ctx, d); err != nil {
		t.Fatal(err)
	}
	r, err := survey.ValidateResponse(d, survey.ResponseInput{Answers: []survey.AnswerInput{
		{Question: "nps", Value: json.RawMessage(`7`)}, {Question: "why", Value: json.RawMessage(`"Friendly staff"`)}}},
		survey.Respondent{MemberID: m.ID, Channel: "store", At: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := surveys.RecordResponse(ctx, dynamo.SurveyResponseWrite{ID: "X" + event.NewID(now), Definition: d, Response: r}); err != nil {
		t.Fatal(err)
	}
	exp = f.do(t, call{method: "GET", route: "/v1/members/{id}/export", path: "/x", pathParams: at, tok: memberToken(m.ID)})
	var doc struct {
		Domains struct {
			Surveys *SurveysExport `json:"surveys"`
		} `json:"domains"`
	}
	if err := json.Unmarshal([]byte(exp.Body), &doc); err != nil || doc.Domains.Surveys == nil {
		t.Fatalf("export: %v %s", err, exp.Body)
	}
	got := doc.Domains.Surveys.Responses
	if len(got) != 1 || got[0].Response.Survey != d.ID || len(got[0].Response.Answers) != 2 || got[0].Response.Answers[1].Text != "Friendly staff" {
		t.Errorf("surveys section = %+v", got)
	}
}

// TestSurveysExportSchemaMatchesTypes: the documented surveys section has
// exactly the fields of its Go types.
func TestSurveysExportSchemaMatchesTypes(t *testing.T) {
	t.Parallel()
	loadOpenAPI(t).CheckTypes(t, map[string]reflect.Type{
		"SurveysExport":        reflect.TypeOf(SurveysExport{}),
		"SurveyResponseExport": reflect.TypeOf(SurveyResponseExport{}),
		"SurveyResponse":       reflect.TypeOf(survey.Response{}),
		"SurveyAnswer":         reflect.TypeOf(survey.Answer{}),
	})
}
