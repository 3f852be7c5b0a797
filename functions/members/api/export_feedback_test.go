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
	"clientele/shared/feedback"
)

func TestFeedbackExportSchemaMatchesTypes(t *testing.T) {
	t.Parallel()
	loadOpenAPI(t).CheckTypes(t, map[string]reflect.Type{
		"FeedbackExport":     reflect.TypeOf(FeedbackExport{}),
		"FeedbackExportCase": reflect.TypeOf(FeedbackExportCase{}),
	})
}

func TestExportIncludesTheMembersFeedbackCases(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	store := &dynamo.FeedbackStore{Client: db, Table: table}
	f.h.Feedback = store
	m := f.signup(t)
	at := map[string]string{"id": m.ID}
	exp := f.do(t, call{method: "GET", route: "/v1/members/{id}/export", path: "/x", pathParams: at, tok: memberToken(m.ID)})
	if strings.Contains(exp.Body, `"feedback"`) {
		t.Fatalf("a member without cases exports a feedback section: %s", exp.Body)
	}
	now := time.Now().UTC()
	open := func(memberID, text string) *feedback.Case {
		s, err := feedback.NewSubmission(feedback.IntakeInput{Channel: "app", Text: text, SKU: "SKU-9"},
			feedback.Caller{Kind: feedback.CallerMember, MemberID: memberID}, "CN")
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := store.Create(context.Background(), feedback.NewCase(event.NewID(now), s, now), dynamo.CaseDedupe{Fingerprint: s.Fingerprint}, dynamo.CaseWrite{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	mine := open(m.ID, "The strap tore on the first day")
	open(f.signup(t).ID, "Someone else's complaint")
	exp = f.do(t, call{method: "GET", route: "/v1/members/{id}/export", path: "/x", pathParams: at, tok: memberToken(m.ID)})
	var doc struct {
		Domains struct {
			Feedback *FeedbackExport `json:"feedback"`
		} `json:"domains"`
	}
	if err := json.Unmarshal([]byte(exp.Body), &doc); err != nil || doc.Domains.Feedback == nil {
		t.Fatalf("export: %v %s", err, exp.Body)
	}
	cases := doc.Domains.Feedback.Cases
	if len(cases) != 1 || cases[0].ID != mine.ID || cases[0].Text != mine.Text || len(cases[0].History) == 0 {
		t.Errorf("feedback section %+v", cases)
	}
}
