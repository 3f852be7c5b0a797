package main

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"clientele/shared/dynamo"
	"clientele/shared/segment"
)

// BenchmarkNightUnits measures what a nightly run costs in DynamoDB
// capacity units, as DynamoDB Local charges them (dynamo.Meter), over a
// generated population of SEGMENTATION_UNITS_MEMBERS members (20 000 by
// default) with the default configuration (32 segments, pages of 5 000):
// the first night, which writes every result, and the next night, which
// reads everyone and rewrites what a day changed. Per member:
//
//	first-rru, first-wru  the first night
//	rru, wru              the next night: what a brand pays each night
//
// A fixed part does not grow with members: every one of the 1 024 shards
// is Queried in each phase (at least half a unit a Query), which at 20 000
// members is a large share of rru and at 10 million a negligible one;
// docs/benchmarks.md separates the two.
func BenchmarkNightUnits(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("SEGMENTATION_UNITS_MEMBERS")); err == nil && v > 0 {
		n = v
	}
	start := time.Date(2026, 11, 30, 18, 40, 0, 0, time.UTC)
	for range b.N {
		f, _ := newFixture(b, n, start.Add(-time.Hour))
		f.cfg = segment.DefaultRunConfig()
		m := &dynamo.Meter{}
		f.client = dynamodb.New(db.Options(), m.Attach)
		b.ResetTimer()
		f.run(b, start, 1, 0)
		first := m.Units()
		f.run(b, start.AddDate(0, 0, 1), 2, 0)
		next := m.Since(first)
		b.StopTimer()
		b.ReportMetric(first.Read/float64(n), "first-rru/member")
		b.ReportMetric(first.Write/float64(n), "first-wru/member")
		b.ReportMetric(next.Read/float64(n), "rru/member")
		b.ReportMetric(next.Write/float64(n), "wru/member")
		b.ReportMetric(float64(next.Calls), "calls/night")
		rep, err := (&dynamo.SegmentationStore{Client: db, Table: f.seg}).LatestReport(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rep.Counts.Written)/float64(n), "rewritten/member")
		b.ReportMetric(float64(rep.Counts.LabelsChanged)/float64(n), "relabelled/member")
	}
}
