package segment_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"clientele/shared/segment"
	"clientele/shared/segment/membergen"
)

var asOfTime = time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)

func day(daysAgo int) time.Time { return asOfTime.AddDate(0, 0, -daysAgo) }

// buyer is a consenting member registered 1000 days ago whose first
// purchase was firstAgo days ago and last lastAgo days ago.
func buyer(id string, firstAgo, lastAgo int, purchaseDays int32, net int64) segment.Member {
	return segment.Member{ID: id, RegisteredAt: day(1000), FirstPurchaseAt: day(firstAgo), LastPurchaseAt: day(lastAgo),
		PurchaseDays: purchaseDays, NetSpend: net, LifetimeSpend: net, ProfilingConsent: true}
}

func planFor(t *testing.T, cfg segment.Config, ms []segment.Member) (*segment.Plan, segment.AsOf) {
	t.Helper()
	a := segment.AsOfTime(asOfTime)
	p := segment.NewPartial(cfg)
	for i := range ms {
		if err := ms[i].Validate(asOfTime); err != nil {
			t.Fatalf("member %s: %v", ms[i].ID, err)
		}
		p.Add(&ms[i], a)
	}
	plan, err := segment.NewPlan("run-1", cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	return plan, a
}

func TestQuintileScoreTieRule(t *testing.T) {
	t.Parallel()
	cuts := [4]float64{1, 1, 2, 3} // e.g. frequency with 40 %+ one-purchase members
	cases := []struct {
		v       float64
		f, r    int8
		comment string
	}{
		{0, 1, 5, "below every cut"},
		{1, 1, 5, "equal to a cut takes the lower score (R: the more recent)"},
		{1.5, 3, 3, "above both cuts at 1"},
		{2, 3, 3, "equal to the third cut"},
		{3, 4, 2, "equal to the last cut"},
		{4, 5, 1, "above every cut"},
	}
	for _, c := range cases {
		if got := segment.QuintileScore(c.v, &cuts); got != c.f {
			t.Errorf("QuintileScore(%v) = %d, want %d (%s)", c.v, got, c.f, c.comment)
		}
		if got := segment.RecencyScore(c.v, &cuts); got != c.r {
			t.Errorf("RecencyScore(%v) = %d, want %d (%s)", c.v, got, c.r, c.comment)
		}
	}
}

func TestScoringTiesOnePurchaseNoneAndConsent(t *testing.T) {
	t.Parallel()
	cfg := segment.DefaultConfig()
	var ms []segment.Member
	// 10 identical buyers: ties everywhere
	for i := 0; i < 10; i++ {
		ms = append(ms, buyer("tie"+string(rune('0'+i)), 300, 20, 3, 50000))
	}
	ms = append(ms,
		buyer("once-recent", 5, 5, 1, 9000),
		buyer("once-old", 700, 700, 1, 9000),
		buyer("best", 600, 1, 30, 900000),
		segment.Member{ID: "never", RegisteredAt: day(40), ProfilingConsent: true},
		segment.Member{ID: "refused", RegisteredAt: day(400), FirstPurchaseAt: day(300), LastPurchaseAt: day(2), PurchaseDays: 9, NetSpend: 1e6, LifetimeSpend: 1e6},
	)
	plan, a := planFor(t, cfg, ms)
	if plan.Cuts.Buyers != 13 || plan.Members != 14 || plan.NoConsent != 1 {
		t.Fatalf("plan counts buyers %d members %d no-consent %d, want 13 14 1", plan.Cuts.Buyers, plan.Members, plan.NoConsent)
	}
	// 13 buyers is too few to fit: both models fall back, and say so
	if plan.Purchase.Info.Status != segment.FitFallback || plan.Spend.Info.Status != segment.FitFallback {
		t.Fatalf("fits %v / %v, want fallbacks", plan.Purchase.Info, plan.Spend.Info)
	}
	sc := segment.NewScorer(plan)
	res := map[string]segment.Result{}
	for i := range ms {
		r, ok := sc.Score(&ms[i], a)
		if ms[i].ID == "refused" {
			if ok {
				t.Errorf("a member who refused profiling was scored: %+v", r)
			}
			continue
		}
		if !ok {
			t.Fatalf("%s not scored", ms[i].ID)
		}
		res[ms[i].ID] = r
	}
	tie := res["tie0"]
	for i := 1; i < 10; i++ {
		r := res["tie"+string(rune('0'+i))]
		if r.RScore != tie.RScore || r.FScore != tie.FScore || r.MScore != tie.MScore || !r.SameLabels(&tie) {
			t.Errorf("tied members scored differently: %+v vs %+v", r, tie)
		}
	}
	cases := []struct {
		id      string
		r, f, m int8
		seg     segment.Segment
		tier    segment.Tier
		stage   segment.Stage
		rule    string
	}{
		// ties hold 10 of 13 buyers, so every cut point is the tied value
		// and the whole block takes the score of a value equal to a cut:
		// the lower one for F and M (1), the more recent one for R (5)
		{"tie0", 5, 1, 1, segment.NewCustomers, segment.TierLow, segment.StageActive, segment.RuleActive},
		{"once-recent", 5, 1, 1, segment.NewCustomers, segment.TierLow, segment.StageNew, segment.RuleNew},
		{"once-old", 1, 1, 1, segment.Lost, segment.TierLow, segment.StageChurned, segment.RuleChurned},
		{"best", 5, 5, 5, segment.Champions, segment.TierHigh, segment.StageLoyal, segment.RuleLoyal},
		{"never", 0, 0, 0, "", segment.TierLow, segment.StagePotential, segment.RuleNeverBought},
	}
	for _, c := range cases {
		r := res[c.id]
		if r.RScore != c.r || r.FScore != c.f || r.MScore != c.m || r.RFMSegment != c.seg || r.ValueTier != c.tier ||
			r.LifecycleStage != c.stage || r.Reasons.LifecycleRule != c.rule {
			t.Errorf("%s: got R%d F%d M%d %q %s %s (%s); want R%d F%d M%d %q %s %s (%s)\ncuts %+v", c.id,
				r.RScore, r.FScore, r.MScore, r.RFMSegment, r.ValueTier, r.LifecycleStage, r.Reasons.LifecycleRule,
				c.r, c.f, c.m, c.seg, c.tier, c.stage, c.rule, plan.Cuts)
		}
	}
	// reasons carry the deciding values and cut points
	best := res["best"]
	if best.Reasons.PurchaseDays != 30 || best.Reasons.Monetary != 900000 || best.Reasons.RecencyDays != 1 ||
		best.Reasons.MonetaryCuts == nil || *best.Reasons.MonetaryCuts != plan.Cuts.Monetary ||
		best.Reasons.PurchaseModel != segment.ModelFallback || best.Reasons.SpendModel != segment.ModelFallback || best.RunID != "run-1" {
		t.Errorf("best's reasons %+v", best.Reasons)
	}
	// the fallback rule: p_alive decays linearly to 0 at churned_after_days
	if got := res["once-old"].PAlive; got != 0 {
		t.Errorf("once-old p_alive %v, want 0 past the churn threshold", got)
	}
	if got, want := best.PAlive, 1-1.0/365; got != want || best.ChurnRisk != 1-want {
		t.Errorf("best p_alive %v churn %v, want %v", got, best.ChurnRisk, want)
	}
	never := res["never"]
	if never.PAlive != 0 || never.CLV12m != 0 || never.Reasons.PurchaseModel != segment.ModelNone || never.Reasons.TenureDays != 40 {
		t.Errorf("never: %+v", never)
	}
	if _, err := json.Marshal(best); err != nil {
		t.Errorf("result does not encode: %v", err)
	}
}

func TestEmptyRun(t *testing.T) {
	t.Parallel()
	plan, a := planFor(t, segment.DefaultConfig(), nil)
	if plan.Cuts.Buyers != 0 || plan.Purchase.Info.Status != segment.FitFallback || plan.Spend.Info.Status != segment.FitFallback {
		t.Fatalf("empty plan %+v", plan)
	}
	// a member registered after the run's partial was built still scores
	m := segment.Member{ID: "late", RegisteredAt: day(1), ProfilingConsent: true}
	r, ok := segment.NewScorer(plan).Score(&m, a)
	if !ok || r.LifecycleStage != segment.StagePotential {
		t.Errorf("got %+v", r)
	}
}

func TestLifecycleThresholdsAreConfigurable(t *testing.T) {
	t.Parallel()
	cfg := segment.DefaultConfig()
	cfg.AtRiskAfterDays, cfg.ChurnedAfterDays, cfg.NewWithinDays, cfg.LoyalMinPurchaseDays = 30, 60, 10, 3
	cases := []struct {
		m     segment.Member
		stage segment.Stage
	}{
		{buyer("a", 100, 61, 2, 100), segment.StageChurned},
		{buyer("b", 100, 60, 2, 100), segment.StageAtRisk}, // equal to the threshold is not past it
		{buyer("c", 100, 31, 2, 100), segment.StageAtRisk},
		{buyer("d", 10, 5, 2, 100), segment.StageNew},
		{buyer("e", 100, 5, 3, 100), segment.StageLoyal},
		{buyer("f", 100, 5, 2, 100), segment.StageActive},
	}
	ms := make([]segment.Member, len(cases))
	for i, c := range cases {
		ms[i] = c.m
	}
	plan, a := planFor(t, cfg, ms)
	sc := segment.NewScorer(plan)
	for _, c := range cases {
		if r, _ := sc.Score(&c.m, a); r.LifecycleStage != c.stage {
			t.Errorf("%s: stage %s (%s), want %s", c.m.ID, r.LifecycleStage, r.Reasons.LifecycleRule, c.stage)
		}
	}
	bad := cfg
	bad.ChurnedAfterDays = 10
	if err := bad.Validate(); err == nil {
		t.Error("churned_after_days below at_risk_after_days was accepted")
	}
}

func TestSegmentMapCoversEveryCellAndName(t *testing.T) {
	t.Parallel()
	seen := map[segment.Segment]int{}
	for r := int8(1); r <= 5; r++ {
		for f := int8(1); f <= 5; f++ {
			for m := int8(1); m <= 5; m++ {
				s := segment.SegmentOf(r, f, m)
				if s == "" {
					t.Fatalf("cell %d%d%d has no segment", r, f, m)
				}
				seen[s]++
			}
		}
	}
	for _, rule := range segment.SegmentMap {
		if seen[rule.Segment] == 0 {
			t.Errorf("%s is never reached", rule.Segment)
		}
	}
	if len(segment.SegmentMap) != 11 {
		t.Errorf("%d named segments, want the 11 of the rfm package", len(segment.SegmentMap))
	}
	cases := []struct {
		r, f, m int8
		want    segment.Segment
	}{
		{5, 5, 5, segment.Champions}, {4, 4, 4, segment.Champions}, {2, 3, 3, segment.LoyalCustomers},
		{5, 1, 1, segment.NewCustomers}, {3, 1, 1, segment.Promising}, {5, 2, 3, segment.PotentialLoyalist},
		{2, 2, 2, segment.NeedAttention}, {3, 1, 2, segment.PotentialLoyalist}, {2, 1, 2, segment.AboutToSleep},
		{1, 5, 5, segment.CantLoseThem}, {1, 3, 4, segment.AtRisk}, {2, 5, 2, segment.AtRisk},
		{1, 1, 1, segment.Lost}, {1, 2, 1, segment.Hibernating}, {5, 1, 5, segment.Others}, {0, 1, 1, ""}, {6, 1, 1, ""},
	}
	for _, c := range cases {
		if got := segment.SegmentOf(c.r, c.f, c.m); got != c.want {
			t.Errorf("SegmentOf(%d,%d,%d) = %q, want %q", c.r, c.f, c.m, got, c.want)
		}
	}
}

func TestValueTierShares(t *testing.T) {
	t.Parallel()
	cfg := segment.DefaultConfig()
	cfg.HighShare, cfg.MediumShare = 0.1, 0.4
	ms := make([]segment.Member, 200)
	for i := range ms {
		ms[i] = buyer("v"+string(rune('A'+i%26))+string(rune('A'+i/26)), 100, 10, 2, int64(1000+i*10)) // distinct spend
	}
	plan, a := planFor(t, cfg, ms)
	sc := segment.NewScorer(plan)
	count := map[segment.Tier]int{}
	for i := range ms {
		r, _ := sc.Score(&ms[i], a)
		count[r.ValueTier]++
	}
	if count[segment.TierHigh] != 20 || count[segment.TierMedium] != 80 || count[segment.TierLow] != 100 {
		t.Errorf("tiers %v, want high 20, medium 80, low 100", count)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		mut   func(*segment.Member)
		field string
	}{
		{func(m *segment.Member) { m.ID = "" }, "member_id"},
		{func(m *segment.Member) { m.PurchaseDays = -1 }, "purchase_days"},
		{func(m *segment.Member) { m.LastPurchaseAt = m.FirstPurchaseAt.AddDate(0, 0, -1) }, "last_purchase_at"},
		{func(m *segment.Member) { m.LastPurchaseAt = asOfTime.Add(time.Hour) }, "last_purchase_at"},
		{func(m *segment.Member) { m.PurchaseDays = 500 }, "purchase_days"},
		{func(m *segment.Member) { m.NetSpend = m.LifetimeSpend + 1 }, "net_spend"},
		{func(m *segment.Member) { m.FirstPurchaseAt = time.Time{} }, "first_purchase_at"},
	}
	for _, c := range cases {
		m := buyer("x", 100, 10, 3, 500)
		c.mut(&m)
		err := m.Validate(asOfTime)
		if err == nil || !containsField(err, c.field) {
			t.Errorf("want an error naming %s, got %v", c.field, err)
		}
	}
}

func containsField(err error, field string) bool {
	return strings.Contains(err.Error(), "["+field+":")
}

// TestSketchCutsAgreeWithExact: on the same generated members, cut points
// read from KLL sketches put at least 99 % of buyers in the same quintile
// (and tier) as the exact cut points.
func TestSketchCutsAgreeWithExact(t *testing.T) {
	t.Parallel()
	gen := membergen.Default(11, asOfTime)
	ms := gen.Members(0, 40_000)
	exactCfg := segment.DefaultConfig()
	exactCfg.SampleSize = 0 // cut points only; no model fit
	exactCfg.ExactLimit = 1 << 30
	sketchCfg := segment.DefaultConfig()
	sketchCfg.SampleSize = 0
	sketchCfg.ExactLimit = 0 // every summary is a sketch from the first value
	exact, a := planFor(t, exactCfg, ms)
	sketch, _ := planFor(t, sketchCfg, ms)
	if !exact.Cuts.Exact || sketch.Cuts.Exact {
		t.Fatalf("modes: exact %v, sketch %v", exact.Cuts.Exact, sketch.Cuts.Exact)
	}
	se, ss := segment.NewScorer(exact), segment.NewScorer(sketch)
	var n, sameR, sameF, sameM, sameTier int
	for i := range ms {
		re, ok := se.Score(&ms[i], a)
		if !ok || re.RScore == 0 {
			continue
		}
		rs, _ := ss.Score(&ms[i], a)
		n++
		if re.RScore == rs.RScore {
			sameR++
		}
		if re.FScore == rs.FScore {
			sameF++
		}
		if re.MScore == rs.MScore {
			sameM++
		}
		if re.ValueTier == rs.ValueTier {
			sameTier++
		}
	}
	t.Logf("%d buyers; same quintile R %.4f F %.4f M %.4f, same tier %.4f", n,
		float64(sameR)/float64(n), float64(sameF)/float64(n), float64(sameM)/float64(n), float64(sameTier)/float64(n))
	t.Logf("exact cuts %+v\nsketch cuts %+v", exact.Cuts, sketch.Cuts)
	for name, same := range map[string]int{"R": sameR, "F": sameF, "M": sameM, "tier": sameTier} {
		if float64(same) < 0.99*float64(n) {
			t.Errorf("%s: only %d of %d buyers in the same class", name, same, n)
		}
	}
}

// TestStoredPlanScoresTheSame: the plan goes to storage as JSON and the
// phase-2 workers score from the stored copy; they must get the same
// results, and a partial stored as bytes merges to the same plan.
func TestStoredPlanScoresTheSame(t *testing.T) {
	t.Parallel()
	gen := membergen.Default(4, asOfTime)
	ms := gen.Members(0, 3000)
	cfg := segment.DefaultConfig()
	a := segment.AsOfTime(asOfTime)
	// phase 1 over three "segments", each stored as bytes
	merged := segment.NewPartial(cfg)
	for s := 0; s < 3; s++ {
		part := segment.NewPartial(cfg)
		for i := s; i < len(ms); i += 3 {
			part.Add(&ms[i], a)
		}
		b, err := part.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back segment.Partial
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		merged.Merge(&back)
	}
	plan, err := segment.NewPlan("run-2", cfg, merged)
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := planFor(t, cfg, ms)
	if plan.Cuts != direct.Cuts || plan.Purchase.Params != direct.Purchase.Params || plan.Spend.Params != direct.Spend.Params {
		t.Fatalf("segmented plan differs from the direct one:\n%+v\n%+v", plan, direct)
	}
	if plan.Purchase.Info.Status != segment.FitOK || plan.Spend.Info.Status != segment.FitOK {
		t.Fatalf("fits: %+v / %+v", plan.Purchase.Info, plan.Spend.Info)
	}
	stored, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	var loaded segment.Plan
	if err := json.Unmarshal(stored, &loaded); err != nil {
		t.Fatal(err)
	}
	s1, s2 := segment.NewScorer(plan), segment.NewScorer(&loaded)
	for i := range ms {
		r1, ok1 := s1.Score(&ms[i], a)
		r2, ok2 := s2.Score(&ms[i], a)
		j1, _ := json.Marshal(r1)
		j2, _ := json.Marshal(r2)
		if ok1 != ok2 || string(j1) != string(j2) {
			t.Fatalf("member %s scores differently from the stored plan:\n%s\n%s", ms[i].ID, j1, j2)
		}
	}
	// Direct is the same computation in one call
	dplan, results, err := segment.Direct("run-2", cfg, ms, a)
	if err != nil || dplan.Cuts != plan.Cuts || dplan.Purchase.Params != plan.Purchase.Params || len(results) != int(plan.Members) {
		t.Fatalf("Direct: %v, %d results for %d members", err, len(results), plan.Members)
	}
	for _, r := range results[:50] {
		j1, _ := json.Marshal(r)
		for i := range ms {
			if ms[i].ID == r.MemberID {
				r2, _ := s1.Score(&ms[i], a)
				if j2, _ := json.Marshal(r2); string(j1) != string(j2) {
					t.Fatalf("Direct differs for %s:\n%s\n%s", r.MemberID, j1, j2)
				}
			}
		}
	}
	// a fallback plan (empty run) is storable too
	empty, _ := planFor(t, cfg, nil)
	if _, err := json.Marshal(empty); err != nil {
		t.Errorf("empty plan does not encode: %v", err)
	}
}

func TestMonetaryBasis(t *testing.T) {
	t.Parallel()
	// same lifetime net spend; only "recent" spent within the window
	var ms []segment.Member
	for i := 0; i < 10; i++ {
		m := buyer("old"+strconv.Itoa(i), 900, 20, 3, 100000)
		m.WindowSpend = 1000
		r := buyer("recent"+strconv.Itoa(i), 900, 20, 3, 100000)
		r.WindowSpend = 90000
		ms = append(ms, m, r)
	}
	for _, c := range []struct {
		basis            segment.MonetaryBasis
		wantOld, wantNew int8
	}{
		{segment.MonetaryNetSpend, 1, 1},    // all tied
		{segment.MonetaryWindowSpend, 1, 3}, // cuts 1000, 1000, 90000, 90000
	} {
		cfg := segment.DefaultConfig()
		cfg.MonetaryBasis = c.basis
		plan, a := planFor(t, cfg, ms)
		sc := segment.NewScorer(plan)
		old, _ := sc.Score(&ms[0], a)
		recent, _ := sc.Score(&ms[1], a)
		if old.MScore != c.wantOld || recent.MScore != c.wantNew || recent.Reasons.MonetaryBasis != c.basis {
			t.Errorf("%s: M old %d recent %d (reasons %+v), want %d %d", c.basis, old.MScore, recent.MScore, recent.Reasons, c.wantOld, c.wantNew)
		}
	}
	bad := segment.DefaultConfig()
	bad.MonetaryBasis = "gross"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "[monetary_basis:") {
		t.Errorf("unknown basis: %v", err)
	}
}

// Days are calendar days in the brand's time zone: a purchase at 23:30 UTC
// is already the next day in Shanghai.
func TestFactsCountCalendarDaysInTheBrandZone(t *testing.T) {
	t.Parallel()
	shanghai := time.FixedZone("CST", 8*3600)
	asOf := time.Date(2026, 12, 1, 1, 0, 0, 0, shanghai) // 2026-11-30 17:00 UTC
	m := segment.Member{ID: "z", RegisteredAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		FirstPurchaseAt: time.Date(2026, 11, 1, 15, 59, 0, 0, time.UTC),  // 23:59 on Nov 1 in Shanghai
		LastPurchaseAt:  time.Date(2026, 11, 29, 16, 30, 0, 0, time.UTC), // 00:30 on Nov 30 in Shanghai
		PurchaseDays:    3, ProfilingConsent: true}
	cases := []struct {
		zone               *time.Location
		recency, age, span int32
	}{
		{shanghai, 1, 30, 29}, // Dec 1 − Nov 30; Dec 1 − Nov 1; Nov 30 − Nov 1
		{time.UTC, 1, 29, 28}, // Nov 30 − Nov 29; Nov 30 − Nov 1; Nov 29 − Nov 1
	}
	for _, c := range cases {
		f := segment.AsOfTime(asOf.In(c.zone)).Facts(&m)
		if f.RecencyDays != c.recency || f.AgeDays != c.age || f.SpanDays != c.span {
			t.Errorf("%s: recency %d age %d span %d, want %d %d %d", c.zone, f.RecencyDays, f.AgeDays, f.SpanDays, c.recency, c.age, c.span)
		}
	}
}
