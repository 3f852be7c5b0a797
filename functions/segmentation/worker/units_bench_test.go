package main

import (
	"context"
	"math/rand/v2"
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
// default) with the default configuration (32 segments, pages of
// 20 000): the first night, which writes every result, and the next
// night, which reads everyone and rewrites what a day changed — a day in
// which a share SEGMENTATION_UNITS_BUYING (0.003 by default) of the members
// bought something, as many as bought in the generated population's last day. Per member:
//
//	first-rru, first-wru  the first night
//	rru, wru              the next night: reading members, facts and
//	                      results, writing results and events
//	aws-wru               wru with transactions at DynamoDB's 2 units a
//	                      KB (DynamoDB Local reports 4: dynamo.Units)
//	sweep-rru, sweep-wru  the next night's run and checkpoints (the sweep
//	                      store: a page's checkpoint carries the segment's
//	                      partial, so these fall with larger pages)
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
	buying := 0.003
	if v, err := strconv.ParseFloat(os.Getenv("SEGMENTATION_UNITS_BUYING"), 64); err == nil && v >= 0 && v <= 1 {
		buying = v
	}
	start := time.Date(2026, 11, 30, 18, 40, 0, 0, time.UTC)
	for range b.N {
		f, pop := newFixture(b, n, start.Add(-time.Hour))
		f.cfg = segment.DefaultRunConfig()
		m, ms := &dynamo.Meter{}, &dynamo.Meter{}
		f.client = dynamodb.New(db.Options(), m.Attach)
		f.sweepClient = dynamodb.New(db.Options(), ms.Attach)
		b.ResetTimer()
		f.run(b, start, 1, 0)
		first, firstSweep := m.Units(), ms.Units()
		// The day's buyers: one purchase each, at noon (the points worker
		// would have updated their accounts and so their facts).
		rng := rand.New(rand.NewPCG(3, 4))
		var bought []segment.Member
		for i := range pop {
			if rng.Float64() < buying {
				bought = append(bought, buy(pop[i], start.Add(12*time.Hour), int64(5000+rng.IntN(50000))))
			}
		}
		if err := dynamo.LoadPopulation(context.Background(), db, f.members, f.points, bought, start.AddDate(0, 0, 1)); err != nil {
			b.Fatal(err)
		}
		f.run(b, start.AddDate(0, 0, 1), 2, 0)
		next, sweep := m.Since(first), ms.Since(firstSweep)
		b.StopTimer()
		b.ReportMetric(first.Read/float64(n), "first-rru/member")
		b.ReportMetric(first.Write/float64(n), "first-wru/member")
		b.ReportMetric(next.Read/float64(n), "rru/member")
		b.ReportMetric(next.Write/float64(n), "wru/member")
		b.ReportMetric(next.AWSWrite()/float64(n), "aws-wru/member")
		b.ReportMetric(float64(next.Calls), "calls/night")
		b.ReportMetric(sweep.Read/float64(n), "sweep-rru/member")
		b.ReportMetric(sweep.Write/float64(n), "sweep-wru/member")
		rep, err := (&dynamo.SegmentationStore{Client: db, Table: f.seg}).LatestReport(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(bought))/float64(n), "bought/member")
		b.ReportMetric(float64(rep.Counts.Written)/float64(n), "rewritten/member")
		b.ReportMetric(float64(rep.Counts.LabelsChanged)/float64(n), "relabelled/member")
	}
}

// buy is m after one more purchase of value minor units at `at`, on a
// day of its own.
func buy(m segment.Member, at time.Time, value int64) segment.Member {
	if m.PurchaseDays == 0 {
		m.FirstPurchaseAt = at
	}
	m.LastPurchaseAt = at
	m.PurchaseDays++
	m.NetSpend += value
	m.LifetimeSpend += value
	m.WindowSpend += value
	return m
}
