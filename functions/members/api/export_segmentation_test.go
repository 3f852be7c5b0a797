package main

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"clientele/shared/dynamo"
	"clientele/shared/segment"
)

func TestExportIncludesTheSegmentationResult(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	store := &dynamo.SegmentationStore{Client: db, Table: table}
	f.h.Segmentation = store
	m := f.signup(t)
	at := map[string]string{"id": m.ID}
	exp := f.do(t, call{method: "GET", route: "/v1/members/{id}/export", path: "/x", pathParams: at, tok: memberToken(m.ID)})
	if strings.Contains(exp.Body, `"segmentation"`) {
		t.Fatalf("a member never scored exports a segmentation section: %s", exp.Body)
	}
	cuts := [4]float64{3, 30, 90, 200}
	r := segment.Result{RunID: "segmentation-2026-12-01", MemberID: m.ID, RScore: 4, FScore: 1, MScore: 1, RFMSegment: segment.NewCustomers,
		ValueTier: segment.TierLow, LifecycleStage: segment.StageNew, PAlive: 1, ExpectedPurchases90d: 0.4, ExpectedOrderValue: 15000, CLV12m: 21000,
		Reasons: segment.Reasons{RecencyDays: 20, PurchaseDays: 1, Monetary: 15000, MonetaryBasis: segment.MonetaryNetSpend, TenureDays: 60,
			AgeDays: 20, RecencyCuts: &cuts, FrequencyCuts: &cuts, MonetaryCuts: &cuts, LifecycleRule: segment.RuleNew, LifecycleThreshold: 90,
			PurchaseModel: segment.ModelBGNBD, SpendModel: segment.ModelGammaGamma}}
	if err := store.PutResults(context.Background(), []dynamo.Write{{Fresh: &r}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	// The cut points come back from the run's plan.
	plan := &segment.Plan{RunID: r.RunID, Config: segment.DefaultConfig(), Cuts: segment.CutPoints{Recency: cuts, Frequency: cuts, Monetary: cuts}}
	if _, err := store.SavePlan(context.Background(), "2026-12-01", plan); err != nil {
		t.Fatal(err)
	}
	exp = f.do(t, call{method: "GET", route: "/v1/members/{id}/export", path: "/x", pathParams: at, tok: memberToken(m.ID)})
	var doc struct {
		Domains struct {
			Segmentation *segment.Result `json:"segmentation"`
		} `json:"domains"`
	}
	if err := json.Unmarshal([]byte(exp.Body), &doc); err != nil || doc.Domains.Segmentation == nil {
		t.Fatalf("export: %v %s", err, exp.Body)
	}
	if !reflect.DeepEqual(*doc.Domains.Segmentation, r) {
		t.Errorf("segmentation section = %+v, want %+v", *doc.Domains.Segmentation, r)
	}
	// Erasure (the segmentation worker on member.erased) removes it.
	if err := store.DeleteResult(context.Background(), m.ID); err != nil {
		t.Fatal(err)
	}
	exp = f.do(t, call{method: "GET", route: "/v1/members/{id}/export", path: "/x", pathParams: at, tok: memberToken(m.ID)})
	if strings.Contains(exp.Body, `"segmentation"`) {
		t.Errorf("the export still holds the removed result: %s", exp.Body)
	}
}
