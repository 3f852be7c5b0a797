package feedbacke2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"clientele/infra/topology"
	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/feedback"
)

// BenchmarkIntake: 16 clients post feedback through the local API gateway
// (each from its own member, each text new), the function validates,
// stores the case with its dedupe, index, due and report items and queues
// it for triage. The worker triages meanwhile, on the same machine.
func BenchmarkIntake(b *testing.B) {
	const clients = 16
	run := uniq()
	toks := make([]string, clients)
	members := make([]string, clients)
	for i := range toks {
		members[i] = newMember()
		toks[i] = api.Token(b, topology.Member, members[i])
	}
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
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				body := fmt.Sprintf(`{"channel":"app","store":"BENCH-%d","text":"The parcel %s-%d arrived with a broken box and a missing sock"}`, i%50, run, i)
				t0 := time.Now()
				st, _ := api.Call(b, "POST", "/v1/feedback", toks[c], body)
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				if st != 202 {
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
		b.Fatalf("%d intakes failed", failed)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := max(0, min(len(lat)-1, int(p*float64(len(lat))+0.5)-1))
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "intakes/s")
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkWorkerTriage stores b.N new cases directly (no event), then puts
// one feedback.received per case on the queue and measures how fast the
// local event source mapping and the feedback-worker binary triage them
// (rules, team, SLA due item, report counters, cluster lookup).
func BenchmarkWorkerTriage(b *testing.B) {
	s := &dynamo.FeedbackStore{Client: dynamo.NewLocalClient(stack.DynamoDBEndpoint), Table: topology.FeedbackTable}
	now := time.Now().UTC()
	texts := []string{"The zipper broke after two days", "快递员把包裹扔在门口，箱子都压坏了", "App crashes when I open my points",
		"店员态度很差，不理人", "Love the new store layout", "Can I return a jacket bought online in store?"}
	ids := make([]string, b.N)
	for i := range ids {
		in := feedback.IntakeInput{Channel: "app", Text: fmt.Sprintf("%s (%d)", texts[i%len(texts)], i), Store: fmt.Sprintf("WB-%d", i%40),
			Contact: &feedback.Contact{Email: fmt.Sprintf("wb%d@example.com", i)}}
		sub, err := feedback.NewSubmission(in, feedback.Caller{Kind: feedback.CallerStaff}, "CN")
		if err != nil {
			b.Fatal(err)
		}
		c, _, err := s.Create(context.Background(), feedback.NewCase(event.NewID(now), sub, now), dynamo.CaseDedupe{}, dynamo.CaseWrite{})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = c.ID
	}
	b.ResetTimer()
	start := time.Now()
	for _, id := range ids {
		e, _ := event.New(feedback.TypeReceived, "bench", time.Now(), feedback.Received{CaseID: id})
		send(b, e)
	}
	for _, id := range ids {
		awaitCase(b, id, "triaged", func(c *feedback.Case) bool { return c.Triage != nil })
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "triages/s")
}
