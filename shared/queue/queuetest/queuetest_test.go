package queuetest

import (
	"context"
	"sync"
	"testing"

	"clientele/shared/event"
)

func TestRecorderKeepsEveryEventOfConcurrentPublishers(t *testing.T) {
	t.Parallel()
	var r Recorder
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			typ := "a"
			if i%5 == 0 {
				typ = "b"
			}
			_ = r.Publish(context.Background(), event.Envelope{Type: typ})
		})
	}
	wg.Wait()
	if n, a, b := len(r.All()), len(r.OfType("a")), len(r.OfType("b")); n != 50 || a != 40 || b != 10 {
		t.Fatalf("all %d (want 50), a %d (want 40), b %d (want 10)", n, a, b)
	}
}
