package main

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"clientele/shared/dynamo"
	"clientele/shared/feedback"
)

// TestRouterServesDocumentedRoutes: every operation documented for
// feedback-api is served by this function's router, and nothing else is.
func TestRouterServesDocumentedRoutes(t *testing.T) {
	t.Parallel()
	documented(t).CheckServed(t, service, newFixture(t).h.Router().Routes())
}

// TestSchemasMatchTypes: the documented schemas have exactly the fields
// the code reads and writes.
func TestSchemasMatchTypes(t *testing.T) {
	t.Parallel()
	documented(t).CheckTypes(t, map[string]reflect.Type{
		"FeedbackInput":         reflect.TypeOf(feedback.IntakeInput{}),
		"FeedbackContact":       reflect.TypeOf(feedback.Contact{}),
		"FeedbackAccepted":      reflect.TypeOf(Accepted{}),
		"FeedbackCase":          reflect.TypeOf(CaseView{}),
		"FeedbackCluster":       reflect.TypeOf(ClusterView{}),
		"FeedbackHistoryEntry":  reflect.TypeOf(feedback.HistoryEntry{}),
		"FeedbackSLA":           reflect.TypeOf(feedback.SLAState{}),
		"FeedbackSLAClock":      reflect.TypeOf(feedback.SLAClock{}),
		"FeedbackTriage":        reflect.TypeOf(feedback.Result{}),
		"FeedbackBurstDecision": reflect.TypeOf(feedback.BurstDecision{}),
		"FeedbackCaseSummary":   reflect.TypeOf(dynamo.CaseSummary{}),
		"FeedbackCasesPage":     reflect.TypeOf(CasesPage{}),
		"FeedbackAssignInput":   reflect.TypeOf(AssignInput{}),
		"FeedbackStatusInput":   reflect.TypeOf(StatusInput{}),
		"FeedbackNoteInput":     reflect.TypeOf(NoteInput{}),
		"FeedbackReplyInput":    reflect.TypeOf(ReplyInput{}),
		"FeedbackResolveInput":  reflect.TypeOf(ResolveInput{}),
		"FeedbackRule":          reflect.TypeOf(feedback.Rule{}),
		"FeedbackRuleset":       reflect.TypeOf(feedback.Ruleset{}),
		"FeedbackRules":         reflect.TypeOf(RulesView{}),
		"FeedbackDryRunInput":   reflect.TypeOf(DryRunInput{}),
		"FeedbackDryRun":        reflect.TypeOf(feedback.DryRun{}),
		"FeedbackFiring":        reflect.TypeOf(feedback.Firing{}),
		"FeedbackClustersPage":  reflect.TypeOf(ClustersPage{}),
		"FeedbackQuantiles":     reflect.TypeOf(Quantiles{}),
		"FeedbackReport":        reflect.TypeOf(Report{}),
	})
}

// TestUndocumentedCallersAreForbidden: for every operation documented for
// feedback-api, each caller kind it does not list gets 403 and a listed
// kind does not.
func TestUndocumentedCallersAreForbidden(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := newMember()
	tokens := map[string]token{"member": memberToken(m), "staff": staffToken, "service": serviceToken}
	checked := 0
	for route, op := range documented(t).Operations(t, service) {
		method, path, _ := strings.Cut(route, " ")
		for kind, tok := range tokens {
			resp := f.do(t, call{method: method, route: path, tok: tok, pathParams: map[string]string{"id": m, "week": "2026-W49"}, body: `{"unknown":1}`})
			checked++
			if op.Allows(kind) && resp.StatusCode == http.StatusForbidden {
				t.Errorf("%s: documented caller %s got 403: %s", route, kind, resp.Body)
			}
			if !op.Allows(kind) && resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: undocumented caller %s got %d, want 403", route, kind, resp.StatusCode)
			}
		}
	}
	if checked < 14*3 {
		t.Fatalf("checked only %d combinations", checked)
	}
}
