package segment

import "math"

// Tolerance says how much a member's model outputs may drift before a
// stored result is rewritten. Every buyer's p_alive and expected values
// move a little every night (one more day without a purchase), so writing
// each drift would rewrite every member every night; phase 2 writes a
// result only when it changed materially.
type Tolerance struct {
	// PAlive is the absolute change of p_alive (and churn_risk) that
	// counts.
	PAlive float64 `json:"p_alive"`
	// Relative is the relative change of expected purchases, expected
	// order value or clv_12m that counts; Absolute the absolute change
	// below which none counts (so values near zero do not flap).
	Relative float64 `json:"relative"`
	Absolute float64 `json:"absolute"`
}

// DefaultTolerance rewrites a result when p_alive moves by 0.02 or an
// expected value by 5 % (and at least 0.01).
var DefaultTolerance = Tolerance{PAlive: 0.02, Relative: 0.05, Absolute: 0.01}

// LabelsChanged reports whether segment, tier or stage differ: the change
// that publishes member.segment_changed.
func LabelsChanged(stored, fresh *Result) bool { return !fresh.SameLabels(stored) }

// NeedsWrite reports whether fresh must replace stored: when stored is
// nil, any label or score differs, the model sources differ, or a model
// output moved beyond tol. Reasons are not compared (they change with
// every day); a stored result's reasons are those of its last write, and
// its run_id says which run wrote it.
func NeedsWrite(stored, fresh *Result, tol Tolerance) bool {
	if stored == nil {
		return true
	}
	if LabelsChanged(stored, fresh) || stored.RScore != fresh.RScore || stored.FScore != fresh.FScore || stored.MScore != fresh.MScore ||
		stored.Reasons.PurchaseModel != fresh.Reasons.PurchaseModel || stored.Reasons.SpendModel != fresh.Reasons.SpendModel {
		return true
	}
	if math.Abs(stored.PAlive-fresh.PAlive) >= tol.PAlive {
		return true
	}
	for _, p := range [][2]float64{
		{stored.ExpectedPurchases90d, fresh.ExpectedPurchases90d},
		{stored.ExpectedOrderValue, fresh.ExpectedOrderValue},
		{stored.CLV12m, fresh.CLV12m},
	} {
		d := math.Abs(p[0] - p[1])
		if d >= tol.Absolute && d >= tol.Relative*math.Max(math.Abs(p[0]), math.Abs(p[1])) {
			return true
		}
	}
	return false
}
