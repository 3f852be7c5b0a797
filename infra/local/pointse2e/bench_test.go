package pointse2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"clientele/infra/topology"
	"clientele/shared/event"
	"clientele/shared/points"
)

// BenchmarkWorkerPurchases puts b.N purchases (spread over 20 members) on
// the points queue and measures how fast the local event source mapping and
// the points-worker binary apply them, exactly once each.
func BenchmarkWorkerPurchases(b *testing.B) {
	run := event.NewID(time.Now())
	members := make([]string, 20)
	for i := range members {
		members[i] = fmt.Sprintf("bw-%s-%02d", run, i)
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		send(b, event.TypePointsPurchase, purchaseOf(members[i%len(members)], fmt.Sprintf("BW-%s-%d", run, i), 10000))
	}
	for _, m := range members {
		want := int64(b.N / len(members))
		if b.N%len(members) > slices.Index(members, m) {
			want++
		}
		if want == 0 {
			continue
		}
		await(b, m, "purchases applied", func(a *points.Account) bool { return a.Stats.TotalOrders == want })
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "purchases/s")
}

// BenchmarkHotMemberRedemption: 16 clients redeem 1 point at a time on one
// member, each with its own Idempotency-Key, through HTTP.
func BenchmarkHotMemberRedemption(b *testing.B) {
	member := signup(b)
	send(b, event.TypePointsPurchase, purchaseOf(member, "HOT-"+member, 10000000))          // 100 000 points
	await(b, member, "seed", func(a *points.Account) bool { return a.Available == 100100 }) // + welcome bonus
	own := api.Token(b, topology.Member, member)
	const clients = 16
	work := make(chan int, b.N)
	for i := range b.N {
		work <- i
	}
	close(work)
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	failed := 0
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t0 := time.Now()
				st, _ := api.Call(b, "POST", "/v1/members/"+member+"/points/redemptions", own, `{"amount":1,"reason":"bench"}`, "Idempotency-Key", fmt.Sprintf("h%d-%s", i, member))
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				if st != 201 {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed > 0 {
		b.Fatalf("%d redemptions failed", failed)
	}
	a, err := store().Account(context.Background(), member)
	if err != nil || a.Available != 100100-int64(b.N) {
		b.Fatalf("available %d after %d redemptions (%v)", a.Available, b.N, err)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := max(0, min(len(lat)-1, int(p*float64(len(lat))+0.5)-1))
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "redemptions/s")
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
