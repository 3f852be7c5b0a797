package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"clientele/infra/topology"
	"clientele/shared/dynamo"
	"clientele/shared/segment/membergen"
)

// loadPopulation writes n generated members (segment/membergen, seed) and
// their points statistics straight into the members and points tables of
// the DynamoDB at endpoint, as the points worker would have left them, in
// chunks of 1 000 on workers goroutines: a population for segmentation
// runs (make seed-population). Member i of a seed is always the same, so
// a second load rewrites the same items.
func loadPopulation(ctx context.Context, endpoint string, seed uint64, n, workers int, out io.Writer) error {
	db := dynamo.NewLocalClient(endpoint)
	asOf := time.Now().Add(-time.Hour)
	gen := membergen.Default(seed, asOf)
	const chunk = 1000
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	start := time.Now()
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := range next {
				ms := gen.Members(from, min(from+chunk, n))
				if err := dynamo.LoadPopulation(ctx, db, topology.MembersTable, topology.PointsTable, ms, asOf); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				done += len(ms)
				if done%(20*chunk) == 0 || done == n {
					fmt.Fprintf(out, "loaded %d of %d members (%.0f/s)\n", done, n, float64(done)/time.Since(start).Seconds())
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for from := 0; from < n; from += chunk {
		select {
		case next <- from:
		case err := <-errs:
			close(next)
			wg.Wait()
			return err
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	fmt.Fprintf(out, "%d members with seed %d in %s; start a segmentation run with POST /v1/segmentation/runs or the segmentation-nightly schedule\n", n, seed, time.Since(start).Round(time.Second))
	return nil
}
