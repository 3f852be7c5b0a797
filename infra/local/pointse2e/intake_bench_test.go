package pointse2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"clientele/infra/topology"
	"clientele/shared/points"
)

// BenchmarkHotOrderReturns: 16 clients return one unit each of the same
// order line through HTTP, so every request reserves on the same order
// item (the intake's hot spot).
func BenchmarkHotOrderReturns(b *testing.B) {
	member := signup(b)
	pos := api.Token(b, topology.Service, "")
	order := "HOTRET-" + member
	p := points.Purchase{OrderID: order, MemberID: member, Channel: "online", Currency: "CNY",
		Lines: []points.PurchaseLine{{LineID: "1", SKU: "S", Quantity: 100000, Amount: 10000000}}}
	body, _ := json.Marshal(p)
	if st, out := api.Call(b, "POST", "/v1/purchases", pos, string(body)); st != 202 {
		b.Fatalf("purchase: %d %v", st, out)
	}
	await(b, member, "order applied", func(a *points.Account) bool { return a.Stats.TotalOrders == 1 })
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
		wg.Go(func() {
			for i := range work {
				r, _ := json.Marshal(points.Return{ReturnID: fmt.Sprintf("HR%d-%s", i, member), OrderID: order,
					Lines: []points.ReturnLine{{LineID: "1", Quantity: 1}}})
				t0 := time.Now()
				st, _ := api.Call(b, "POST", "/v1/returns", pos, string(r))
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				if st != 202 {
					failed++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed > 0 && b.N <= 100000 {
		b.Fatalf("%d of %d returns refused", failed, b.N)
	}
	slices.Sort(lat)
	pct := func(q float64) float64 {
		i := max(0, min(len(lat)-1, int(q*float64(len(lat))+0.5)-1))
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "returns/s")
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
