package main

import (
	"reflect"
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
