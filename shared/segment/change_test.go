package segment_test

import (
	"testing"

	"clientele/shared/segment"
)

func TestNeedsWrite(t *testing.T) {
	t.Parallel()
	base := segment.Result{MemberID: "m", RScore: 4, FScore: 3, MScore: 3, RFMSegment: segment.LoyalCustomers,
		ValueTier: segment.TierMedium, LifecycleStage: segment.StageActive, PAlive: 0.8, ChurnRisk: 0.2,
		ExpectedPurchases90d: 1.2, ExpectedOrderValue: 25000, CLV12m: 110000,
		Reasons: segment.Reasons{PurchaseModel: segment.ModelBGNBD, SpendModel: segment.ModelGammaGamma}}
	cases := []struct {
		name   string
		mut    func(*segment.Result)
		write  bool
		labels bool
	}{
		{"unchanged", func(*segment.Result) {}, false, false},
		{"a day later: small drift", func(r *segment.Result) { r.PAlive, r.CLV12m, r.RunID = 0.79, 109000, "next"; r.Reasons.RecencyDays++ }, false, false},
		{"p_alive moved", func(r *segment.Result) { r.PAlive = 0.77 }, true, false},
		{"value moved 6 %", func(r *segment.Result) { r.CLV12m = 103000 }, true, false},
		{"tiny values flap", func(r *segment.Result) { r.ExpectedPurchases90d = 1.2 + 0.009 }, false, false},
		{"score changed", func(r *segment.Result) { r.MScore = 4 }, true, false},
		{"segment changed", func(r *segment.Result) { r.RFMSegment = segment.NeedAttention }, true, true},
		{"tier changed", func(r *segment.Result) { r.ValueTier = segment.TierHigh }, true, true},
		{"stage changed", func(r *segment.Result) { r.LifecycleStage = segment.StageAtRisk }, true, true},
		{"model fell back", func(r *segment.Result) { r.Reasons.PurchaseModel = segment.ModelFallback }, true, false},
	}
	for _, c := range cases {
		n := base
		c.mut(&n)
		if got := segment.NeedsWrite(&base, &n, segment.DefaultTolerance); got != c.write {
			t.Errorf("%s: NeedsWrite = %v, want %v", c.name, got, c.write)
		}
		if got := segment.LabelsChanged(&base, &n); got != c.labels {
			t.Errorf("%s: LabelsChanged = %v, want %v", c.name, got, c.labels)
		}
	}
	if !segment.NeedsWrite(nil, &base, segment.DefaultTolerance) {
		t.Error("a first result is not written")
	}
}

func TestTallyCountsAndMerges(t *testing.T) {
	t.Parallel()
	champ := segment.Result{RScore: 5, FScore: 5, MScore: 5, RFMSegment: segment.Champions, ValueTier: segment.TierHigh, LifecycleStage: segment.StageLoyal, PAlive: 0.9}
	atRisk := segment.Result{RScore: 2, FScore: 4, MScore: 4, RFMSegment: segment.AtRisk, ValueTier: segment.TierHigh, LifecycleStage: segment.StageAtRisk, PAlive: 0.4}
	none := segment.Result{ValueTier: segment.TierLow, LifecycleStage: segment.StagePotential}

	a, b := segment.NewTally(), segment.NewTally()
	if w, l := a.Add(nil, &champ, segment.DefaultTolerance); !w || l {
		t.Errorf("first result: write %v labels %v, want a write and no event", w, l)
	}
	if w, l := a.Add(&champ, &atRisk, segment.DefaultTolerance); !w || !l {
		t.Errorf("champion → at risk: write %v labels %v", w, l)
	}
	if w, l := b.Add(&champ, &champ, segment.DefaultTolerance); w || l {
		t.Errorf("unchanged: write %v labels %v", w, l)
	}
	b.Add(nil, &none, segment.DefaultTolerance)
	b.Remove()
	a.Merge(b)
	if a.Scored != 4 || a.Written != 3 || a.LabelsChanged != 1 || a.Removed != 1 {
		t.Errorf("counts %+v", a)
	}
	if a.Segments[string(segment.Champions)] != 2 || a.Segments[string(segment.AtRisk)] != 1 || a.Segments[segment.NoSegmentKey] != 1 ||
		a.Tiers[segment.TierHigh] != 3 || a.Stages[segment.StagePotential] != 1 {
		t.Errorf("labels %v %v %v", a.Segments, a.Tiers, a.Stages)
	}
	tr := a.Transitions
	if tr[segment.NewMemberKey][string(segment.Champions)] != 1 || tr[string(segment.Champions)][string(segment.AtRisk)] != 1 ||
		tr[string(segment.Champions)][string(segment.Champions)] != 1 || tr[segment.NewMemberKey][segment.NoSegmentKey] != 1 {
		t.Errorf("transitions %v", tr)
	}
}
