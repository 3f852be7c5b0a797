package segment_test

import (
	"encoding/json"
	"testing"
	"time"

	"clientele/shared/segment"
	"clientele/shared/segment/membergen"
)

// BenchmarkNightlyWrites estimates what one night rewrites, for the cost
// projection in docs/benchmarks.md: 100 000 generated members scored on
// one day and on the next with the same histories (the drift of the
// models and the day-based rules alone: NeedsWrite with the default
// tolerance, and LabelsChanged), the share of members who bought on the
// last day (whose scores move and who are rewritten anyway), and the
// stored size of a result (JSON, reasons included).
func BenchmarkNightlyWrites(b *testing.B) {
	const n = 100_000
	day1 := time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	gen := membergen.Default(12, day1)
	ms := gen.Members(0, n)
	cfg := segment.DefaultConfig()
	for range b.N {
		_, r1, err := segment.Direct("d1", cfg, ms, segment.AsOfTime(day1))
		if err != nil {
			b.Fatal(err)
		}
		_, r2, err := segment.Direct("d2", cfg, ms, segment.AsOfTime(day2))
		if err != nil {
			b.Fatal(err)
		}
		writes, labels, size := 0, 0, 0
		for i := range r1 {
			if segment.NeedsWrite(&r1[i], &r2[i], segment.DefaultTolerance) {
				writes++
			}
			if segment.LabelsChanged(&r1[i], &r2[i]) {
				labels++
			}
			raw, _ := json.Marshal(r2[i])
			size += len(raw)
		}
		bought := 0
		for i := range ms {
			if ms[i].PurchaseDays > 0 && day1.Sub(ms[i].LastPurchaseAt) < 24*time.Hour {
				bought++
			}
		}
		b.ReportMetric(100*float64(writes)/float64(len(r1)), "%drift-rewritten")
		b.ReportMetric(100*float64(labels)/float64(len(r1)), "%labels-changed")
		b.ReportMetric(100*float64(bought)/float64(len(ms)), "%bought-last-day")
		b.ReportMetric(float64(size)/float64(len(r2)), "result-json-bytes")
	}
}
