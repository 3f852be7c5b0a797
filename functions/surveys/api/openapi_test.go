package main

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"clientele/shared/dynamo"
	"clientele/shared/survey"
)

// TestRouterServesDocumentedRoutes: every operation documented for
// surveys-api is served by this function's router, and nothing else is.
func TestRouterServesDocumentedRoutes(t *testing.T) {
	t.Parallel()
	document(t).CheckServed(t, service, newFixture(t).h.Router().Routes())
}

// TestSchemasMatchTypes: the documented schemas have exactly the fields the
// code reads and writes.
func TestSchemasMatchTypes(t *testing.T) {
	t.Parallel()
	document(t).CheckTypes(t, map[string]reflect.Type{
		"SurveyNew":             reflect.TypeOf(NewSurvey{}),
		"SurveyDefinitionInput": reflect.TypeOf(survey.DefinitionInput{}),
		"SurveyQuestionInput":   reflect.TypeOf(survey.QuestionInput{}),
		"SurveyChoice":          reflect.TypeOf(survey.Choice{}),
		"SurveyTargeting":       reflect.TypeOf(survey.Targeting{}),
		"SurveyDefinition":      reflect.TypeOf(survey.Definition{}),
		"SurveyQuestion":        reflect.TypeOf(survey.Question{}),
		"SurveyView":            reflect.TypeOf(SurveyView{}),
		"SurveyList":            reflect.TypeOf(SurveyList{}),
		"SurveySummary":         reflect.TypeOf(dynamo.SurveySummary{}),
		"SurveyEdited":          reflect.TypeOf(Edited{}),
		"SurveyMemberAnswer":    reflect.TypeOf(MemberAnswer{}),
		"SurveyLinkAnswer":      reflect.TypeOf(LinkAnswer{}),
		"SurveyAnswerInput":     reflect.TypeOf(survey.AnswerInput{}),
		"SurveyAccepted":        reflect.TypeOf(Accepted{}),
		"SurveyQuestionScore":   reflect.TypeOf(survey.QuestionScore{}),
		"SurveyReport":          reflect.TypeOf(survey.Report{}),
		"SurveyTrendPoint":      reflect.TypeOf(survey.Point{}),
		"SurveyRanked":          reflect.TypeOf(survey.Ranked{}),
		"SurveyStoreChange":     reflect.TypeOf(survey.StoreChange{}),
	})
}

// TestUndocumentedCallersAreForbidden: for every operation documented for
// surveys-api, each caller kind it does not list gets 403 and a listed
// kind does not; the public operation (no callers) never answers 403 to a
// caller's token, which API Gateway passes through unchecked.
func TestUndocumentedCallersAreForbidden(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.create(t, "")
	tokens := map[string]token{"member": memberToken("m-" + uniq()), "staff": staffToken,
		"service": {"sub": "pos-client", "scope": "points:write"}}
	checked := 0
	for route, op := range document(t).Operations(t, service) {
		method, path, _ := strings.Cut(route, " ")
		for kind, tok := range tokens {
			resp := f.do(t, call{method: method, route: path, id: id, tok: tok, body: `{"unknown":1}`,
				headers: map[string]string{"If-Match": `"1"`}})
			checked++
			public := len(op.Callers) == 0
			if (op.Allows(kind) || public) && resp.StatusCode == http.StatusForbidden {
				t.Errorf("%s: documented caller %s got 403: %s", route, kind, resp.Body)
			}
			if !op.Allows(kind) && !public && resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: undocumented caller %s got %d, want 403", route, kind, resp.StatusCode)
			}
		}
	}
	if checked < 21 {
		t.Fatalf("checked only %d combinations", checked)
	}
}
