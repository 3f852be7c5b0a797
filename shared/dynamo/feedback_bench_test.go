package dynamo_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/feedback"
)

// BenchmarkFeedbackCreate creates cases on DynamoDB Local the way intake
// does: a source key and a fingerprint (three dedupe reads, one transaction
// of 13 items: case, source, fingerprint and its two neighbour checks, four
// list-index items, a due item, three report counters). Serial is one
// client; Parallel runs GOMAXPROCS×4 clients into 8 stores.
func BenchmarkFeedbackCreate(b *testing.B) {
	s := feedbackStore()
	ctx := context.Background()
	run := uniq("B")
	var seq atomic.Int64
	create := func(b *testing.B) {
		i := seq.Add(1)
		at := time.Now().UTC()
		member := event.NewID(at)
		sub, err := feedback.NewSubmission(feedback.IntakeInput{Channel: "app", Text: fmt.Sprintf("The zip broke on day %d", i),
			Store: fmt.Sprintf("%s-%d", run, i%8), MemberID: member}, feedback.Caller{Kind: feedback.CallerService}, "CN")
		if err != nil {
			b.Error(err)
			return
		}
		c := feedback.NewCase(event.NewID(at), sub, at)
		if _, created, err := s.Create(ctx, c, dynamo.CaseDedupe{Source: fmt.Sprintf("idem:%s:%d", run, i), Fingerprint: sub.Fingerprint}, dynamo.CaseWrite{}); err != nil || !created {
			b.Errorf("create: %v %v", created, err)
		}
	}
	b.Run("Serial", func(b *testing.B) {
		for b.Loop() {
			create(b)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cases/s")
	})
	b.Run("Parallel", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				create(b)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cases/s")
	})
}
