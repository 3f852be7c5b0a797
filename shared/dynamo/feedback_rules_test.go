package dynamo_test

import (
	"context"
	"testing"
	"time"

	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamotest"
	"clientele/shared/fault"
	"clientele/shared/feedback"
)

// TestRulesetStore: the first put needs revision 0, later ones the revision
// in force; a stale revision or a reused version (the default's included)
// is a conflict naming the field and changes nothing; every version stays
// readable.
func TestRulesetStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A table of its own: the ruleset in force is one item per table.
	tbl, err := dynamotest.NewTable(ctx, db, "rules-test")
	if err != nil {
		t.Fatal(err)
	}
	s := &dynamo.FeedbackStore{Client: db, Table: tbl}
	if _, err := s.ActiveRuleset(ctx); !fault.Is(err, fault.NotFound) {
		t.Fatalf("a new table has rules: %v", err)
	}
	now := time.Now().UTC()
	v1 := feedback.DefaultRuleset()
	v1.Version = "brand-1"
	got, err := s.PutRuleset(ctx, v1, 0, "staff:a", now)
	if err != nil || got.Revision != 1 {
		t.Fatalf("first put: %+v %v", got.Revision, err)
	}
	field := func(err error) string {
		if e, ok := fault.As(err); ok && e.Kind == fault.Conflict && len(e.Fields) > 0 {
			return e.Fields[0].Field
		}
		return ""
	}
	v2 := v1
	v2.Version = "brand-2"
	v2.Rules = v1.Rules[:10]
	if _, err := s.PutRuleset(ctx, v2, 0, "staff:b", now); field(err) != "If-Match" {
		t.Errorf("stale revision: %v", err)
	}
	if _, err := s.PutRuleset(ctx, v1, 1, "staff:b", now); field(err) != "version" {
		t.Errorf("reused version: %v", err)
	}
	def := feedback.DefaultRuleset()
	if _, err := s.PutRuleset(ctx, def, 1, "staff:b", now); field(err) != "version" {
		t.Errorf("the default's version: %v", err)
	}
	if _, err := s.PutRuleset(ctx, v2, 1, "staff:b", now); err != nil {
		t.Fatal(err)
	}
	cur, err := s.ActiveRuleset(ctx)
	if err != nil || cur.Ruleset.Version != "brand-2" || cur.Revision != 2 || len(cur.Ruleset.Rules) != 10 || cur.UpdatedBy != "staff:b" {
		t.Errorf("in force: %+v %v", cur, err)
	}
	old, err := s.RulesetVersion(ctx, "brand-1")
	if err != nil || len(old.Ruleset.Rules) != len(v1.Rules) {
		t.Errorf("brand-1 kept: %v", err)
	}
	bad := v2
	bad.Version = "brand-3"
	bad.Rules = append([]feedback.Rule{{ID: "Bad Id", Any: []string{"x"}, Priority: feedback.P1}}, v2.Rules...)
	if _, err := s.PutRuleset(ctx, bad, 2, "staff:b", now); !fault.Is(err, fault.Invalid) {
		t.Errorf("an invalid ruleset: %v", err)
	}
}
