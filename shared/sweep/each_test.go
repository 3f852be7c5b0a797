package sweep

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestEachCallsEveryItemWithinTheBound(t *testing.T) {
	t.Parallel()
	items := make([]int, 100)
	for i := range items {
		items[i] = i
	}
	var sum, running, peak atomic.Int64
	err := Each(context.Background(), 3, items, func(_ context.Context, v int) error {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		sum.Add(int64(v))
		running.Add(-1)
		return nil
	})
	if err != nil || sum.Load() != 4950 || peak.Load() > 3 {
		t.Fatalf("err %v, sum %d (want 4950), peak %d (at most 3)", err, sum.Load(), peak.Load())
	}
}

func TestEachStopsAtTheFirstError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	items := make([]int, 1000)
	var calls atomic.Int64
	err := Each(context.Background(), 2, items, func(ctx context.Context, _ int) error {
		if calls.Add(1) == 5 {
			return boom
		}
		return ctx.Err()
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	if c := calls.Load(); c >= 1000 {
		t.Fatalf("%d calls: the error did not stop the page", c)
	}
}

func TestEachReturnsTheCallersCancellation(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Each(ctx, 4, []int{1, 2, 3}, func(context.Context, int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}
