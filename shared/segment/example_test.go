package segment_test

import (
	"fmt"
	"time"

	"clientele/shared/segment"
)

// Quintile scores from cut points, with the tie rule: a value equal to a
// cut point takes the lower score, so equal values always score alike.
func ExampleQuintileScore() {
	cuts := [4]float64{1, 2, 2, 5} // purchase days at ranks 0.2, 0.4, 0.6, 0.8
	for _, days := range []float64{1, 2, 3, 5, 6} {
		fmt.Printf("F(%v) = %d\n", days, segment.QuintileScore(days, &cuts))
	}
	// Output:
	// F(1) = 1
	// F(2) = 2
	// F(3) = 4
	// F(5) = 4
	// F(6) = 5
}

// Fewer days since the last purchase is better: R inverts the scale.
func ExampleRecencyScore() {
	cuts := [4]float64{30, 90, 180, 365}
	for _, days := range []float64{0, 30, 31, 400} {
		fmt.Printf("R(%v days) = %d\n", days, segment.RecencyScore(days, &cuts))
	}
	// Output:
	// R(0 days) = 5
	// R(30 days) = 5
	// R(31 days) = 4
	// R(400 days) = 1
}

func ExampleSegmentOf() {
	fmt.Println(segment.SegmentOf(5, 5, 5))
	fmt.Println(segment.SegmentOf(5, 1, 1))
	fmt.Println(segment.SegmentOf(1, 5, 5))
	fmt.Println(segment.SegmentOf(1, 1, 1))
	fmt.Printf("%q\n", segment.SegmentOf(0, 0, 0)) // no purchase, no segment
	// Output:
	// Champions
	// New Customers
	// Can't Lose Them
	// Lost
	// ""
}

// A whole run in miniature: phase 1 summarises the members, the plan
// reads cut points and fits the models (here too few members, so both
// fall back and say why), phase 2 scores each member. With three buyers
// the cut at rank 0.8 is the largest value, so no one can exceed it: no
// score of 5 for F and M and no high tier (small runs show the tie rule's
// edges; thousands of members do not).
func ExampleScorer() {
	asOf := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	ago := func(days int) time.Time { return asOf.AddDate(0, 0, -days) }
	members := []segment.Member{
		{ID: "ana", RegisteredAt: ago(900), FirstPurchaseAt: ago(800), LastPurchaseAt: ago(3), PurchaseDays: 12, NetSpend: 420000, LifetimeSpend: 450000, ProfilingConsent: true},
		{ID: "bo", RegisteredAt: ago(60), FirstPurchaseAt: ago(20), LastPurchaseAt: ago(20), PurchaseDays: 1, NetSpend: 15000, LifetimeSpend: 15000, ProfilingConsent: true},
		{ID: "cy", RegisteredAt: ago(700), FirstPurchaseAt: ago(650), LastPurchaseAt: ago(400), PurchaseDays: 5, NetSpend: 210000, LifetimeSpend: 210000, ProfilingConsent: true},
		{ID: "di", RegisteredAt: ago(10), ProfilingConsent: true},
		{ID: "ed", RegisteredAt: ago(300), FirstPurchaseAt: ago(200), LastPurchaseAt: ago(100), PurchaseDays: 2, NetSpend: 30000, LifetimeSpend: 30000},
	}
	cfg := segment.DefaultConfig()
	at := segment.AsOfTime(asOf)
	partial := segment.NewPartial(cfg)
	for i := range members {
		partial.Add(&members[i], at)
	}
	plan, _ := segment.NewPlan("2026-11-30", cfg, partial)
	fmt.Println("BG/NBD:", plan.Purchase.Info.Status, "-", plan.Purchase.Info.Reason)
	scorer := segment.NewScorer(plan)
	for i := range members {
		r, ok := scorer.Score(&members[i], at)
		if !ok {
			fmt.Printf("%s: not scored (no profiling consent)\n", members[i].ID)
			continue
		}
		fmt.Printf("%s: R%d F%d M%d %q %s %s p_alive=%.2f\n", r.MemberID, r.RScore, r.FScore, r.MScore,
			r.RFMSegment, r.ValueTier, r.LifecycleStage, r.PAlive)
	}
	// Output:
	// BG/NBD: fallback - sample of 3 members is below 30
	// ana: R5 F4 M4 "Champions" medium loyal p_alive=0.99
	// bo: R4 F1 M1 "New Customers" low new p_alive=0.95
	// cy: R2 F2 M2 "Need Attention" low churned p_alive=0.00
	// di: R0 F0 M0 "" low potential p_alive=0.00
	// ed: not scored (no profiling consent)
}
