package segment

import (
	"encoding/csv"
	"strconv"
)

// CSVColumns are the columns of a segment's members as CSV, in order.
var CSVColumns = []string{"member_id", "run_id", "r_score", "f_score", "m_score", "rfm_segment", "value_tier", "lifecycle_stage",
	"p_alive", "churn_risk", "expected_purchases_90d", "expected_order_value", "clv_12m"}

// WriteCSV writes results as CSV rows (with the header when header is set).
func WriteCSV(w *csv.Writer, rs []Result, header bool) error {
	if header {
		if err := w.Write(CSVColumns); err != nil {
			return err
		}
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	for _, r := range rs {
		err := w.Write([]string{r.MemberID, r.RunID, strconv.Itoa(int(r.RScore)), strconv.Itoa(int(r.FScore)), strconv.Itoa(int(r.MScore)),
			string(r.RFMSegment), string(r.ValueTier), string(r.LifecycleStage), f(r.PAlive), f(r.ChurnRisk), f(r.ExpectedPurchases90d),
			f(r.ExpectedOrderValue), f(r.CLV12m)})
		if err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}
