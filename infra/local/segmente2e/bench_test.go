package segmente2e

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"clientele/infra/topology"
	"clientele/shared/dynamo"
	"clientele/shared/segment/membergen"
)

// BenchmarkNightlyRun times one nightly run through the local stack (six
// segments, up to four worker processes, DynamoDB Local) over
// SEGMENTE2E_MEMBERS generated members (default 20 000; each iteration is
// one run, so use -benchtime 1x): loading (four loaders at once), phase 1
// (Query each shard's profiles and purchase facts, summarise), phase 2
// (Query them and the stored results again, score, write every result — a
// first run writes them all) and the total.
//
//	SEGMENTE2E_MEMBERS=100000 SEGMENTE2E_CONFIG='{"segments":6,"sample_size":5000}' \
//	  go test -run '^$' -bench NightlyRun -benchtime 1x -timeout 60m ./infra/local/segmente2e/
func BenchmarkNightlyRun(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("SEGMENTE2E_MEMBERS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	db := dynamo.NewLocalClient(stack.DynamoDBEndpoint)
	asOf := time.Now().Add(-time.Hour)
	gen := membergen.Default(21, asOf)
	loadStart := time.Now()
	chunks := make(chan int)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for from := range chunks {
				if err := dynamo.LoadPopulation(ctx, db, topology.MembersTable, topology.PointsTable, gen.Members(from, min(from+5000, n)), asOf); err != nil {
					errs <- err
					for range chunks {
					}
					return
				}
			}
			errs <- nil
		}()
	}
	for from := 0; from < n; from += 5000 {
		chunks <- from
	}
	close(chunks)
	for range 4 {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	load := time.Since(loadStart)
	b.ResetTimer()
	for range b.N {
		var started, final run
		if code := call(b, "POST", "/v1/segmentation/runs", "", &started); code != http.StatusAccepted {
			b.Fatalf("start: %d (one run per day: use -benchtime 1x)", code)
		}
		begin := time.Now()
		for {
			if code := call(b, "GET", "/v1/segmentation/runs/"+started.ID, "", &final); code != http.StatusOK {
				b.Fatalf("run: %d", code)
			}
			if final.Status != "running" {
				break
			}
			time.Sleep(time.Second)
		}
		if final.Status != "succeeded" {
			b.Fatalf("run ended %s", final.Status)
		}
		total := time.Since(begin)
		p1, p2 := final.Timings[0].Seconds, final.Timings[1].Seconds
		b.ReportMetric(float64(n), "members")
		b.ReportMetric(load.Seconds(), "load-s")
		b.ReportMetric(p1, "phase1-s")
		b.ReportMetric(p2, "phase2-s")
		b.ReportMetric(total.Seconds(), "run-s")
		b.ReportMetric(float64(n)/p1, "phase1-members/s")
		b.ReportMetric(float64(n)/p2, "phase2-members/s")
	}
}
