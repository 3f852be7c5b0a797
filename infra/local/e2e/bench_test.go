package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"clientele/infra/local"
	"clientele/infra/topology"
	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/idempotency"
	"clientele/shared/member"
)

// BenchmarkColdStart reports, per function, the local cold start: from
// starting the bootstrap process to its first response, over every process
// the stack has started so far. Run alone (-run '^$' -bench ColdStart) it
// measures one idle cold start per function: the first signup (which
// reserves an idempotency key and commits a five-item transaction) and the
// first outbox relay run. "init" is process start to the first request for
// work, Lambda's Init Duration. DynamoDB Local is warmed up first with the
// same kinds of writes, as DynamoDB is always warm on AWS: a cold JVM's first
// transaction alone takes about 100 ms.
func BenchmarkColdStart(b *testing.B) {
	service := token(b, topology.Service, "")
	warmDynamoDB(b)
	// Make sure every function has answered at least once: a signup (its
	// member.registered reaches the points worker), a points read, and
	// every schedule fired.
	r := call(b, http.MethodPost, "/v1/members", service, `{"email":"cold@example.com","signup_channel":"app"}`, "Idempotency-Key", "cold")
	var m struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(r.body, &m)
	call(b, http.MethodGet, "/v1/members/"+m.ID+"/points", token(b, topology.Member, m.ID), "")
	for _, sc := range topology.Clientele().Schedules {
		if err := stack.FireSchedule(b.Context(), sc.Name); err != nil {
			b.Fatal(err)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); len(stack.Stats("points-worker").ColdStarts) == 0; {
		if time.Now().After(deadline) {
			b.Fatal("points-worker never answered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range b.N {
	}
	for _, fn := range stack.FunctionNames() {
		st := stack.Stats(fn)
		if len(st.ColdStarts) == 0 {
			b.Fatalf("%s has not answered", fn)
		}
		cs := slices.Clone(st.ColdStarts)
		slices.Sort(cs)
		in := slices.Clone(st.InitDurations)
		slices.Sort(in)
		b.ReportMetric(ms(percentile(cs, 0.5)), fn+"-cold-ms")
		b.ReportMetric(ms(cs[len(cs)-1]), fn+"-cold-max-ms")
		if len(in) > 0 {
			b.ReportMetric(ms(percentile(in, 0.5)), fn+"-init-ms")
		}
	}
}

// BenchmarkSignup signs members up through the local stack (HTTP → API
// Gateway emulation → members-api binary → DynamoDB Local → SQS) from 8
// concurrent clients and reports throughput and latency percentiles.
func BenchmarkSignup(b *testing.B) {
	service := token(b, topology.Service, "")
	const clients = 8
	var seq atomic.Int64
	seq.Store(time.Now().UnixNano() % 1e7 * 10)
	latencies := make([]time.Duration, 0, b.N)
	var mu sync.Mutex
	var failed atomic.Int64
	work := make(chan struct{}, b.N)
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				n := seq.Add(1)
				body := fmt.Sprintf(`{"email":"bench%d@example.com","phone":"+86135%08d","name":"Bench","signup_channel":"app",
					"consents":[{"purpose":"marketing","channel":"email","granted":true}]}`, n, n%1e8)
				t0 := time.Now()
				r := call(b, http.MethodPost, "/v1/members", service, body, "Idempotency-Key", fmt.Sprintf("bench-%d", n))
				d := time.Since(t0)
				if r.status != http.StatusCreated {
					failed.Add(1)
				}
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d signups failed", failed.Load())
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "signups/s")
	b.ReportMetric(ms(percentile(latencies, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(latencies, 0.99)), "p99-ms")
}

// BenchmarkBinarySize builds every function as it ships to Lambda (arm64,
// stripped, lambda.norpc) and reports the size of each bootstrap.
func BenchmarkBinarySize(b *testing.B) {
	root, err := local.ModuleRoot(".")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for range b.N {
	}
	var names []string
	for _, f := range topology.Clientele().Functions {
		out := filepath.Join(dir, f.Name, "bootstrap")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-tags", "lambda.norpc", "-o", out, "./"+f.Entry)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", f.Name, err, msg)
		}
		fi, err := os.Stat(out)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size())/1e6, f.Name+"-MB")
		names = append(names, f.Name)
	}
	sort.Strings(names)
	b.Logf("built %s", strings.Join(names, ", "))
}

// warmDynamoDB runs the signup's writes directly against DynamoDB Local a
// few times so the JVM has compiled its transaction path.
func warmDynamoDB(b *testing.B) {
	ctx := b.Context()
	db := dynamo.NewLocalClient(stack.DynamoDBEndpoint)
	store := &dynamo.MemberStore{Client: db, Table: topology.MembersTable, Key: []byte("warm-up")}
	idem := &dynamo.IdempotencyStore{Client: db, Table: topology.MembersTable}
	for i := range 30 {
		now := time.Now()
		res := idempotency.Reservation{StorageKey: fmt.Sprintf("warm-%d-%d", now.UnixNano(), i), RequestHash: "h", Token: "t"}
		if _, err := idem.Reserve(ctx, res, now); err != nil {
			b.Fatal(err)
		}
		m := member.Member{ID: event.NewID(now), Status: member.Active, Email: fmt.Sprintf("warm%d%d@example.com", now.UnixNano(), i),
			ReferralCode: member.NewReferralCode(), CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := store.Create(ctx, m, nil, member.Write{Reservation: &res,
			Receipt: func(member.Member) (idempotency.Receipt, error) { return idempotency.Receipt{Status: 201}, nil }}); err != nil {
			b.Fatal(err)
		}
		if _, err := store.Erase(ctx, m.ID, now, member.Write{}); err != nil {
			b.Fatal(err)
		}
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
