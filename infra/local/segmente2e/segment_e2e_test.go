// Package segmente2e runs a nightly segmentation end to end through the
// local stack: POST /v1/segmentation/runs on the HTTP API, the
// segmentation-sweep queue in goaws with its event source mapping, the real
// segmentation-worker binary (several instances at once) and DynamoDB
// Local — while the test kills worker processes mid-run and sends
// duplicates of segment messages — and holds the stored results to the
// same computation done directly in memory (segment.Direct).
package segmente2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"clientele/infra/local"
	"clientele/infra/topology"
	"clientele/shared/apigw/openapicheck"
	"clientele/shared/dynamo"
	"clientele/shared/segment"
	"clientele/shared/segment/membergen"
	"clientele/shared/sweep"
)

var (
	stack *local.Stack
	root  string
)

// config: six scan segments of pages of 60 members, so a few thousand
// members make many checkpoints per segment; a sample of 5 000 (each
// segment's partial must fit its checkpoint) holds every buyer.
// SEGMENTE2E_CONFIG replaces it (benchmarks with the default page size).
var config = `{"segments":6,"page_size":60,"sample_size":5000}`

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	if c := os.Getenv("SEGMENTE2E_CONFIG"); c != "" {
		config = c
	}
	var err error
	root, err = local.ModuleRoot(".")
	if err == nil {
		// The tests start runs themselves: without the nightly schedule, a
		// run cannot start on its own before the population is loaded.
		system := topology.Clientele()
		system.Schedules = slices.DeleteFunc(system.Schedules, func(s topology.Schedule) bool { return s.Name == "segmentation-nightly" })
		stack, err = local.Start(ctx, local.Config{
			Root: root, System: system, APIAddr: "127.0.0.1:0", SQSAddr: "127.0.0.1:0",
			Log: logSink(), VisibilityTimeout: 3 * time.Second,
			ExtraEnv: map[string]string{"CLIENTELE_SEGMENTATION_CONFIG": config},
		})
	}
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the local stack:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = stack.Close()
	os.Exit(code)
}

var clientFor = openapicheck.ClientFor("../../../docs/openapi.json")

func call(t testing.TB, method, path, body string, out any) int {
	t.Helper()
	tok, err := stack.Token(topology.Staff, "staff-e2e", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, stack.APIURL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := clientFor(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

// run is the part of GET /v1/segmentation/runs/{id} the test reads.
type run struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Phase     int       `json:"phase"`
	Zone      string    `json:"zone"`
	StartedAt time.Time `json:"started_at"`
	Timings   []struct {
		Phase        int     `json:"phase"`
		Seconds      float64 `json:"seconds"`
		SegmentsDone int     `json:"segments_done"`
	} `json:"timings"`
	Segments []struct {
		Phase, Segment int
		Items          int64
	} `json:"segments"`
}

// workerPIDs lists the running processes of the segmentation worker's
// binary.
func workerPIDs(t testing.TB) []int {
	t.Helper()
	want := filepath.Join(root, "bin", "local", "segmentation-worker", "bootstrap")
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == want {
			out = append(out, pid)
		}
	}
	return out
}

// TestNightlyRunThroughTheLocalStack loads 3 000 generated members (and
// their points statistics) into DynamoDB Local, starts today's run through
// the API and, while it runs, kills the worker's processes three times
// and sends 20 duplicate segment messages for both phases; the stored
// results must equal segment.Direct over the same members, the report
// must count them, and the run must have ended both phases.
func TestNightlyRunThroughTheLocalStack(t *testing.T) {
	ctx := context.Background()
	db := dynamo.NewLocalClient(stack.DynamoDBEndpoint)
	asOf := time.Now().Add(-time.Hour)
	pop := membergen.Default(11, asOf).Members(0, 3000)
	if err := dynamo.LoadPopulation(ctx, db, topology.MembersTable, topology.PointsTable, pop, asOf); err != nil {
		t.Fatal(err)
	}

	var started run
	if code := call(t, "POST", "/v1/segmentation/runs", "", &started); code != http.StatusAccepted {
		t.Fatalf("start: %d", code)
	}
	if code := call(t, "POST", "/v1/segmentation/runs", "{}", nil); code != http.StatusOK {
		t.Errorf("a second start the same day: %d, want 200", code)
	}
	day := strings.TrimPrefix(started.ID, segment.SweepKind+"-")

	// Chaos while it runs: kill worker processes, send duplicates.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	killed, duplicates := 0, 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		q := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(stack.SQSEndpoint),
			Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
		rng := rand.New(rand.NewPCG(3, 3))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(150 * time.Millisecond):
			}
			if i%4 == 1 && killed < 3 {
				if pids := workerPIDs(t); len(pids) > 0 {
					_ = syscall.Kill(pids[rng.IntN(len(pids))], syscall.SIGKILL)
					killed++
				}
			}
			if duplicates < 20 {
				m := sweep.Message{Kind: segment.SweepKind, Day: day, Phase: 1 + rng.IntN(2), Segment: rng.IntN(6), TotalSegments: 6}
				body, _ := json.Marshal(m)
				if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(stack.QueueURL(topology.SegmentationSweep)),
					MessageBody: aws.String(string(body))}); err == nil {
					duplicates++
				}
			}
		}
	}()
	var final run
	deadline := time.Now().Add(4 * time.Minute)
	for {
		if code := call(t, "GET", "/v1/segmentation/runs/"+started.ID, "", &final); code != http.StatusOK {
			t.Fatalf("run: %d", code)
		}
		if final.Status != "running" || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if final.Status != "succeeded" {
		t.Fatalf("run %s ended %s in phase %d: %+v", final.ID, final.Status, final.Phase, final.Timings)
	}
	t.Logf("run %s: phase 1 %.1f s, phase 2 %.1f s; %d worker processes killed, %d duplicate messages",
		final.ID, final.Timings[0].Seconds, final.Timings[1].Seconds, killed, duplicates)
	if killed == 0 {
		t.Error("no worker process was killed: the run ended before the chaos began")
	}
	var items [3]int64
	for _, s := range final.Segments {
		items[s.Phase] += s.Items
	}
	if items[1] < int64(len(pop)) || items[2] < int64(len(pop)) {
		t.Errorf("the segments scanned %d and %d items, want every one of %d members in each phase", items[1], items[2], len(pop))
	}

	// The reference: segment.Direct over the same statistics.
	zone, _ := time.LoadLocation(final.Zone)
	at := final.StartedAt.In(zone)
	cfg, err := segment.ParseRunConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	var ms []segment.Member
	for i := range pop {
		var st = dynamo.PopulationStats(&pop[i], asOf)
		stp := &st
		if pop[i].PurchaseDays == 0 {
			stp = nil
		}
		ms = append(ms, segment.MemberOf(pop[i].ID, pop[i].RegisteredAt, pop[i].ProfilingConsent, stp, at, cfg.WindowMonths))
	}
	plan, want, err := segment.Direct(final.ID, cfg.Config, ms, segment.AsOfTime(at))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Purchase.Info.Status != segment.FitOK {
		t.Errorf("the reference BG/NBD fit fell back: %s", plan.Purchase.Info.Reason)
	}
	got := storedResults(t, db)
	if len(got) != len(want) {
		t.Fatalf("stored %d results, direct computation %d", len(got), len(want))
	}
	for _, w := range want {
		// Stored without the run's cut points (the plan holds them; reading
		// through the API puts them back, as checked below).
		w = roundTrip(t, w)
		w.Reasons.RecencyCuts, w.Reasons.FrequencyCuts, w.Reasons.MonetaryCuts = nil, nil, nil
		if g, ok := got[w.MemberID]; !ok || !reflect.DeepEqual(g, w) {
			t.Fatalf("member %s:\nstored %+v\ndirect %+v", w.MemberID, g, w)
		}
	}
	var rep segment.Report
	if code := call(t, "GET", "/v1/segments", "", &rep); code != http.StatusOK || rep.RunID != final.ID || rep.Counts.Scored != uint64(len(want)) {
		t.Errorf("report: %d %s scored %d, want %d", code, rep.RunID, rep.Counts.Scored, len(want))
	}
	// A full export of a segment lands in the local S3 (gofakes3) and its
	// presigned link fetches a CSV with a row per member of the segment.
	var exp struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Rows   int    `json:"rows"`
		URL    string `json:"url"`
	}
	if code := call(t, "POST", "/v1/segments/champions/exports", "", &exp); code != http.StatusAccepted || exp.Status != "running" {
		t.Fatalf("export: %d %+v", code, exp)
	}
	// The worker writes it; the export reads succeeded then.
	for deadline := time.Now().Add(time.Minute); exp.Status != "succeeded"; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("export still %s after a minute", exp.Status)
		}
		if code := call(t, "GET", "/v1/segments/champions/exports/"+exp.ID, "", &exp); code != http.StatusOK {
			t.Fatalf("export status: %d", code)
		}
	}
	link, err := http.Get(exp.URL)
	if err != nil {
		t.Fatal(err)
	}
	csvBody, _ := io.ReadAll(link.Body)
	link.Body.Close()
	if champions := rep.Counts.Segments[string(segment.Champions)]; link.StatusCode != http.StatusOK || uint64(exp.Rows) != champions ||
		strings.Count(string(csvBody), "\n") != exp.Rows+1 {
		t.Errorf("export: %d rows, %d lines fetched (%d), report counts %d champions", exp.Rows, strings.Count(string(csvBody), "\n"), link.StatusCode, champions)
	}
	for _, w := range want[:20] {
		var one segment.Result
		if code := call(t, "GET", "/v1/members/"+w.MemberID+"/segment", "", &one); code != http.StatusOK || !reflect.DeepEqual(one, roundTrip(t, w)) {
			t.Errorf("GET segment of %s: %d %+v", w.MemberID, code, one)
		}
	}
}

func roundTrip(t *testing.T, r segment.Result) segment.Result {
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out segment.Result
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func storedResults(t *testing.T, db *dynamodb.Client) map[string]segment.Result {
	t.Helper()
	out := map[string]segment.Result{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(topology.SegmentationTable), FilterExpression: aws.String("begins_with(pk, :r)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: "RESULTS#"}}})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			var rec struct {
				Result string `dynamodbav:"result"`
			}
			if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
				t.Fatal(err)
			}
			var r segment.Result
			if err := json.Unmarshal([]byte(rec.Result), &r); err != nil {
				t.Fatal(err)
			}
			out[r.MemberID] = r
		}
	}
	return out
}

// logSink is where the stack logs: nowhere, unless SEGMENTE2E_LOG names a
// file (to see the functions' logs when the test fails).
func logSink() io.Writer {
	if p := os.Getenv("SEGMENTE2E_LOG"); p != "" {
		if f, err := os.Create(p); err == nil {
			return f
		}
	}
	return io.Discard
}
