package dynamo

import (
	"bytes"
	"compress/flate"
	"testing"
	"time"

	"clientele/shared/points"
)

// TestAccountsStoredBeforeTheStatisticsDecodeUpgraded: an account item
// written before points.StatsVersion (its compressed state's statistics
// without "v" and the new fields) decodes with the statistics upgraded and
// marked estimated; one written now decodes exactly as written.
func TestAccountsStoredBeforeTheStatisticsDecodeUpgraded(t *testing.T) {
	t.Parallel()
	p := points.DefaultPolicy()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	a := typicalAccount(p, now)
	rec, err := toAccountRecord(a)
	if err != nil {
		t.Fatal(err)
	}
	back, err := fromAccountRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if back.Stats.V != points.StatsVersion || back.Stats.Estimated || back.Stats.PurchaseDays != 12 || back.Stats.NetSpend != 12*59900 ||
		!back.Stats.LastPurchaseAt.Equal(a.Stats.LastPurchaseAt) {
		t.Errorf("current statistics after a round trip: %+v", back.Stats)
	}

	legacy := `{"lots":[],"stats":{"last_purchase_at":"2026-10-22T10:00:00Z","first_order_at":"2025-11-22T10:00:00Z",` +
		`"orders":{"2026-10":1,"2026-09":1},"spend":{"2026-10":59900,"2026-09":59900},"currency":"CNY","total_orders":12}}`
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestCompression)
	zw.Write([]byte(legacy))
	zw.Close()
	rec.State = buf.Bytes()
	old, err := fromAccountRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	st := old.Stats
	if st.V != points.StatsVersion || !st.Estimated || st.PurchaseDays != 12 || st.LifetimeSpend != 2*59900 || st.NetSpend != 2*59900 ||
		!st.FirstPurchaseAt.Equal(time.Date(2025, 11, 22, 10, 0, 0, 0, time.UTC)) || !st.LastPurchaseAt.Equal(time.Date(2026, 10, 22, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("legacy statistics upgraded to %+v", st)
	}
}
