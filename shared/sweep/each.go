package sweep

import (
	"context"
	"sync"
)

// DefaultWorkers is how many items of a page Each handles at once when the
// caller names no number.
const DefaultWorkers = 8

// Each calls fn for every item, at most workers at a time (DefaultWorkers
// when workers ≤ 0). The first error cancels the context the others get,
// starts no more items and is returned; so is the caller's context's
// error. A processor uses it for the items of a page: a failed page is
// redone whole on redelivery, so fn must be safe to repeat.
func Each[T any](ctx context.Context, workers int, items []T, fn func(context.Context, T) error) error {
	if workers <= 0 {
		workers = DefaultWorkers
	}
	work, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan T)
	)
	for range min(workers, len(items)) {
		wg.Go(func() {
			for it := range next {
				if err := fn(work, it); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
	for _, it := range items {
		if work.Err() != nil {
			break
		}
		next <- it
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
