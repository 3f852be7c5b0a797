package segment

// Segment is a named RFM segment.
type Segment string

// The named segments of the R package rfm (Aravind Hebbali,
// https://github.com/rsquaredacademy/rfm, vignette "RFM Analysis" and
// rfm_segment()), plus its catch-all "Others" for score cells no row covers.
const (
	Champions         Segment = "Champions"
	LoyalCustomers    Segment = "Loyal Customers"
	PotentialLoyalist Segment = "Potential Loyalist"
	NewCustomers      Segment = "New Customers"
	Promising         Segment = "Promising"
	NeedAttention     Segment = "Need Attention"
	AboutToSleep      Segment = "About To Sleep"
	AtRisk            Segment = "At Risk"
	CantLoseThem      Segment = "Can't Lose Them"
	Hibernating       Segment = "Hibernating"
	Lost              Segment = "Lost"
	Others            Segment = "Others"
)

// SegmentRule is one row of the segment map: inclusive score ranges.
type SegmentRule struct {
	Segment    Segment
	RMin, RMax int8
	FMin, FMax int8
	MMin, MMax int8
	Note       string
}

// SegmentMap is the ordered segment map; the first row whose three ranges
// contain a member's (R, F, M) scores names the member's segment, as in
// rfm_segment() (which assigns a row only to members no earlier row took).
//
// The ranges are those of the rfm package vignette's segment table. Taken
// in the vignette's order, four rows could never match (Potential Loyalist
// swallows New Customers and Promising, At Risk swallows Can't Lose Them,
// and Hibernating and Lost have the same ranges), so this map orders them
// most specific first and narrows Lost to the single lowest cell; each of
// the eleven names is reachable. Cells no row covers are Others, as in the
// package.
var SegmentMap = []SegmentRule{
	{Champions, 4, 5, 4, 5, 4, 5, "bought recently, buy often and spend the most"},
	{LoyalCustomers, 2, 5, 3, 5, 3, 5, "spend good money, responsive to promotions"},
	{NewCustomers, 4, 5, 1, 1, 1, 1, "bought recently, but not often"},
	{Promising, 3, 4, 1, 1, 1, 1, "recent shoppers who have not spent much"},
	{PotentialLoyalist, 3, 5, 1, 3, 1, 3, "recent customers, spent a good amount, bought more than once"},
	{NeedAttention, 2, 3, 2, 3, 2, 3, "above-average recency, frequency and monetary values"},
	{AboutToSleep, 2, 3, 1, 2, 1, 2, "below-average recency, frequency and monetary values"},
	{CantLoseThem, 1, 1, 4, 5, 4, 5, "made big purchases and often, but long ago"},
	{AtRisk, 1, 2, 2, 5, 2, 5, "spent big money, purchased often, but long ago"},
	{Lost, 1, 1, 1, 1, 1, 1, "lowest recency, frequency and monetary scores (package: R, F, M ≤ 2)"},
	{Hibernating, 1, 2, 1, 2, 1, 2, "low spenders, low frequency, purchased long ago"},
}

// segmentTable[r-1][f-1][m-1] is the map precomputed for the 125 cells.
var segmentTable = func() (t [5][5][5]Segment) {
	for r := int8(1); r <= 5; r++ {
		for f := int8(1); f <= 5; f++ {
			for m := int8(1); m <= 5; m++ {
				t[r-1][f-1][m-1] = lookupSegment(r, f, m)
			}
		}
	}
	return t
}()

func lookupSegment(r, f, m int8) Segment {
	for _, s := range SegmentMap {
		if r >= s.RMin && r <= s.RMax && f >= s.FMin && f <= s.FMax && m >= s.MMin && m <= s.MMax {
			return s.Segment
		}
	}
	return Others
}

// SegmentOf names the segment of the scores (each 1–5); "" when any score
// is out of range (a member without purchases has no segment).
func SegmentOf(r, f, m int8) Segment {
	if r < 1 || r > 5 || f < 1 || f > 5 || m < 1 || m > 5 {
		return ""
	}
	return segmentTable[r-1][f-1][m-1]
}
