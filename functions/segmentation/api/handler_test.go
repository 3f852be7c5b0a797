package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"clientele/shared/apigw"
	"clientele/shared/apigw/openapicheck"
	"clientele/shared/bucket"
	"clientele/shared/bucket/buckettest"
	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamotest"
	"clientele/shared/event"
	"clientele/shared/queue/queuetest"
	"clientele/shared/segment"
	"clientele/shared/sweep"
)

var db *dynamodb.Client

func TestMain(m *testing.M) {
	dynamotest.Main(m, "segmentation-api", func(_ context.Context, c *dynamodb.Client) error {
		db = c
		return nil
	})
}

func newSegmentationTable(t testing.TB) string {
	t.Helper()
	name, err := dynamotest.NewTable(context.Background(), db, "segmentation")
	if err != nil {
		t.Fatal(err)
	}
	return name
}

type memQueue struct {
	mu   sync.Mutex
	msgs []sweep.Message
}

func (q *memQueue) PublishSegments(_ context.Context, msgs []sweep.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, msgs...)
	return nil
}

type fixture struct {
	h      *Handler
	store  *dynamo.SegmentationStore
	runs   *dynamo.SweepStore
	queue  *memQueue
	events *queuetest.Recorder
	now    time.Time
}

var zone, _ = time.LoadLocation("Asia/Shanghai")

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	seg := newSegmentationTable(t)
	members, err := dynamotest.NewTable(ctx, db, "members")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{events: &queuetest.Recorder{}, store: &dynamo.SegmentationStore{Client: db, Table: seg}, runs: &dynamo.SweepStore{Client: db, Table: seg},
		queue: &memQueue{}, now: time.Date(2026, 11, 30, 19, 0, 0, 0, time.UTC)}
	reg := f.now.AddDate(-1, 0, 0)
	pop := []segment.Member{{ID: "m-ok", RegisteredAt: reg, ProfilingConsent: true}, {ID: "m-refused", RegisteredAt: reg}}
	for i := range 7 {
		pop = append(pop, segment.Member{ID: fmt.Sprintf("champ-%02d", i), RegisteredAt: reg, ProfilingConsent: true})
	}
	if err := dynamo.LoadPopulation(ctx, db, members, "", pop, f.now); err != nil {
		t.Fatal(err)
	}
	engine := &sweep.Engine[dynamo.MemberStats]{
		Config: sweep.Config{Kind: segment.SweepKind, Phases: 2, Segments: 3, Timeout: time.Hour, Zone: zone},
		Store:  f.runs, Queue: f.queue, Now: func() time.Time { return f.now },
	}
	f.h = &Handler{Results: f.store, Runs: f.runs, Starter: engine, Members: &dynamo.MemberStore{Client: db, Table: members},
		Cursors: apigw.Cursors{Key: []byte("test-key")}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Exports: newExportsBucket(t), Now: func() time.Time { return f.now },
		Publisher: f.events, Outbox: &dynamo.Outbox{Client: db, Table: seg}}
	return f
}

func result(id string, seg segment.Segment) segment.Result {
	cuts := [4]float64{10, 20, 30, 40}
	return segment.Result{RunID: "segmentation-2026-12-01", MemberID: id, RScore: 5, FScore: 4, MScore: 5, RFMSegment: seg,
		ValueTier: segment.TierHigh, LifecycleStage: segment.StageLoyal, PAlive: 0.93, ChurnRisk: 0.07, ExpectedPurchases90d: 1.4,
		ExpectedOrderValue: 31000, CLV12m: 160000, Reasons: segment.Reasons{RecencyDays: 4, PurchaseDays: 9, Monetary: 280000,
			MonetaryBasis: segment.MonetaryNetSpend, TenureDays: 365, AgeDays: 300, SpanDays: 296, RecencyCuts: &cuts, FrequencyCuts: &cuts,
			MonetaryCuts: &cuts, TierHigh: 200000, TierMedium: 90000, LifecycleRule: segment.RuleLoyal, LifecycleThreshold: 4,
			PurchaseModel: segment.ModelBGNBD, SpendModel: segment.ModelGammaGamma}}
}

func (f *fixture) seed(t *testing.T) {
	t.Helper()
	var ws []dynamo.Write
	for _, id := range []string{"m-ok", "m-refused", "champ-00", "champ-01", "champ-02", "champ-03", "champ-04", "champ-05", "champ-06"} {
		seg := segment.Champions
		if id == "m-ok" {
			seg = segment.CantLoseThem
		}
		r := result(id, seg)
		ws = append(ws, dynamo.Write{Fresh: &r})
	}
	if err := f.store.PutResults(context.Background(), ws, f.now); err != nil {
		t.Fatal(err)
	}
	// The results' cut points live in their run's plan.
	cuts := [4]float64{10, 20, 30, 40}
	plan := &segment.Plan{RunID: "segmentation-2026-12-01", Config: segment.DefaultConfig(),
		Cuts: segment.CutPoints{Recency: cuts, Frequency: cuts, Monetary: cuts, TierHigh: 200000, TierMedium: 90000}}
	if _, err := f.store.SavePlan(context.Background(), "2026-12-01", plan); err != nil {
		t.Fatal(err)
	}
}

type token map[string]string

var (
	staffToken   = token{"sub": "staff-1", "scope": "staff", "cognito:groups": "[staff]"}
	serviceToken = token{"sub": "pos-client", "scope": "points:write"}
)

type call struct {
	method, route string
	params        map[string]string
	query         map[string]string
	headers       map[string]string
	body          string
	tok           token
}

func (f *fixture) do(t *testing.T, c call) apigw.Response {
	t.Helper()
	path := c.route
	for k, v := range c.params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: c.method + " " + c.route, RawPath: path, Body: c.body,
		Headers: map[string]string{}, PathParameters: c.params, QueryStringParameters: c.query}
	req.RequestContext.HTTP.Method = c.method
	req.RequestContext.HTTP.Path = path
	req.RequestContext.RequestID = fmt.Sprintf("req-%d", time.Now().UnixNano())
	if c.body != "" {
		req.Headers["content-type"] = "application/json"
	}
	for k, v := range c.headers {
		req.Headers[strings.ToLower(k)] = v
	}
	if c.tok != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: c.tok}}
	}
	resp, err := f.h.Router().Serve(context.Background(), req)
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	doc(t).CheckResponse(t, req.RouteKey, resp.StatusCode, resp.Headers["Content-Type"])
	if err := validator(t).CheckLambda(req, c.tok != nil, resp); err != nil {
		t.Error(err)
	}
	return resp
}

var (
	docOnce sync.Once
	spec    openapicheck.Document
	kinOnce = sync.OnceValues(func() (*openapicheck.Validator, error) {
		return openapicheck.LoadValidator("../../../docs/openapi.json")
	})
)

func doc(t testing.TB) openapicheck.Document {
	docOnce.Do(func() { spec = openapicheck.Load(t, "../../../docs/openapi.json") })
	return spec
}

func validator(t testing.TB) *openapicheck.Validator {
	v, err := kinOnce()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func decode[T any](t *testing.T, resp apigw.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("%d %s: %v", resp.StatusCode, resp.Body, err)
	}
	return v
}

// problemFields returns the fields a problem+json response names.
func problemFields(t *testing.T, resp apigw.Response) []string {
	t.Helper()
	if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
		t.Fatalf("content type %q for %d %s", ct, resp.StatusCode, resp.Body)
	}
	var p struct {
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &p)
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

func TestRouterServesDocumentedRoutes(t *testing.T) {
	t.Parallel()
	doc(t).CheckServed(t, service, newFixture(t).h.Router().Routes())
}

func TestSchemasMatchTypes(t *testing.T) {
	t.Parallel()
	doc(t).CheckTypes(t, map[string]reflect.Type{
		"SegmentationResult":        reflect.TypeOf(segment.Result{}),
		"SegmentationReasons":       reflect.TypeOf(segment.Reasons{}),
		"SegmentationReport":        reflect.TypeOf(segment.Report{}),
		"SegmentationTally":         reflect.TypeOf(segment.Tally{}),
		"SegmentationCuts":          reflect.TypeOf(segment.CutPoints{}),
		"SegmentationFitInfo":       reflect.TypeOf(segment.FitInfo{}),
		"SegmentationBGNBD":         reflect.TypeOf(segment.BGNBD{}),
		"SegmentationGammaGamma":    reflect.TypeOf(segment.GammaGamma{}),
		"SegmentationBGNBDFit":      reflect.TypeOf(segment.BGNBDFit{}),
		"SegmentationGammaGammaFit": reflect.TypeOf(segment.GammaGammaFit{}),
		"SegmentationConfig":        reflect.TypeOf(segment.Config{}),
		"SegmentationMembersPage":   reflect.TypeOf(SegmentMembersPage{}),
		"SegmentationRun":           reflect.TypeOf(Run{}),
		"SegmentationTiming":        reflect.TypeOf(Timing{}),
		"SegmentationProgress":      reflect.TypeOf(Progress{}),
		"SegmentationStartRun":      reflect.TypeOf(StartRun{}),
		"SegmentationExport":        reflect.TypeOf(SegmentExport{}),
		"SegmentationStartExport":   reflect.TypeOf(StartExport{}),
	})
}

// TestOnlyStaffMayCall: every operation refuses member and service
// tokens with 403, whatever else is wrong with the request.
func TestOnlyStaffMayCall(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	checked := 0
	for route, op := range doc(t).Operations(t, service) {
		method, path, _ := strings.Cut(route, " ")
		params := map[string]string{"id": "m-ok", "name": "champions"}
		for kind, tok := range map[string]token{"member": {"sub": "m-ok"}, "service": serviceToken} {
			if op.Allows(kind) {
				t.Errorf("%s allows %s", route, kind)
			}
			if resp := f.do(t, call{method: method, route: path, params: params, tok: tok}); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s as %s: %d", route, kind, resp.StatusCode)
			}
			checked++
		}
	}
	if checked != 14 {
		t.Errorf("checked %d calls, want 14 (7 operations, 2 kinds)", checked)
	}
}

func TestMemberSegment(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	get := func(id string) apigw.Response {
		return f.do(t, call{method: "GET", route: "/v1/members/{id}/segment", params: map[string]string{"id": id}, tok: staffToken})
	}
	if resp := get("m-ok"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("before any run: %d %s", resp.StatusCode, resp.Body)
	}
	f.seed(t)
	resp := get("m-ok")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	want := result("m-ok", segment.CantLoseThem)
	if got := decode[segment.Result](t, resp); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	var body map[string]any
	_ = json.Unmarshal([]byte(resp.Body), &body)
	doc(t).CheckBody(t, "SegmentationResult", body)
	// A member who refused profiling has a stored result until the next
	// run removes it; the API already hides it.
	for _, id := range []string{"m-refused", "nobody", "bad id!"} {
		if resp := get(id); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d %s", id, resp.StatusCode, resp.Body)
		}
	}
}

func TestSegmentsReport(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	get := func() apigw.Response { return f.do(t, call{method: "GET", route: "/v1/segments", tok: staffToken}) }
	if resp := get(); resp.StatusCode != http.StatusNotFound {
		t.Errorf("before the first run: %d", resp.StatusCode)
	}
	tally := segment.NewTally()
	a, b := result("a", segment.Champions), result("b", segment.AtRisk)
	tally.Add(nil, &a, segment.DefaultTolerance)
	tally.Add(&a, &b, segment.DefaultTolerance)
	plan := &segment.Plan{RunID: "segmentation-2026-12-01", Config: segment.DefaultConfig(), Members: 2, NoConsent: 1,
		Cuts:     segment.CutPoints{Recency: [4]float64{1, 2, 3, 4}, Buyers: 2, Exact: true},
		Purchase: segment.BGNBDFit{Params: segment.BGNBD{R: 0.8, Alpha: 50, A: 0.9, B: 1.4}, Info: segment.FitInfo{Status: segment.FitOK, SampleSize: 2, StdErrLog: []float64{0.1, 0.2, 0.3, 0.4}}},
		Spend:    segment.GammaGammaFit{Info: segment.FitInfo{Status: segment.FitFallback, Reason: "sample of 2 members is below 30"}}}
	rep := segment.NewReport("2026-12-01", f.now, plan, tally)
	if err := f.store.SaveReport(context.Background(), rep); err != nil {
		t.Fatal(err)
	}
	older := rep
	older.Day, older.RunID = "2026-11-30", "segmentation-2026-11-30"
	if err := f.store.SaveReport(context.Background(), older); err != nil {
		t.Fatal(err)
	}
	resp := get()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	got := decode[segment.Report](t, resp)
	if got.RunID != "segmentation-2026-12-01" || got.Counts.Transitions["Champions"]["At Risk"] != 1 || got.Counts.Scored != 2 ||
		got.Purchase.Params.Alpha != 50 || got.Spend.Info.Reason == "" {
		t.Errorf("report %+v", got)
	}
}

func TestSegmentMembersPagesInJSONAndCSV(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.seed(t)
	list := func(query map[string]string, headers map[string]string) apigw.Response {
		return f.do(t, call{method: "GET", route: "/v1/segments/{name}/members", params: map[string]string{"name": "champions"},
			query: query, headers: headers, tok: staffToken})
	}
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		q := map[string]string{"limit": "3"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		resp := list(q, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		page := decode[SegmentMembersPage](t, resp)
		if page.Segment != "Champions" {
			t.Errorf("segment %q", page.Segment)
		}
		for _, r := range page.Members {
			ids = append(ids, r.MemberID)
		}
		if cursor = page.NextCursor; cursor == "" || pages > 5 {
			break
		}
	}
	want := []string{"champ-00", "champ-01", "champ-02", "champ-03", "champ-04", "champ-05", "champ-06", "m-refused"}
	if !slices.Equal(ids, want) {
		t.Errorf("listed %v, want %v", ids, want)
	}
	// CSV: a header row, one row per member, the next page in Link.
	resp := list(map[string]string{"limit": "5"}, map[string]string{"Accept": "text/csv, application/json;q=0.5"})
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Headers["Content-Type"], "text/csv") {
		t.Fatalf("%d %v", resp.StatusCode, resp.Headers)
	}
	rows, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
	if err != nil || len(rows) != 6 || rows[0][0] != "member_id" || rows[1][0] != "champ-00" || rows[1][5] != "Champions" || rows[1][8] != "0.93" {
		t.Errorf("CSV %q (%v)", rows, err)
	}
	if link := resp.Headers["Link"]; !strings.HasPrefix(link, "</v1/segments/champions/members?cursor=") || !strings.HasSuffix(link, `>; rel="next"`) {
		t.Errorf("Link %q", link)
	}
	// Other segments, unknown names and bad input.
	resp = f.do(t, call{method: "GET", route: "/v1/segments/{name}/members", params: map[string]string{"name": "cant_lose_them"}, tok: staffToken})
	if page := decode[SegmentMembersPage](t, resp); len(page.Members) != 1 || page.Members[0].MemberID != "m-ok" {
		t.Errorf("can't lose them: %s", resp.Body)
	}
	resp = f.do(t, call{method: "GET", route: "/v1/segments/{name}/members", params: map[string]string{"name": "lost"}, tok: staffToken})
	if page := decode[SegmentMembersPage](t, resp); resp.StatusCode != http.StatusOK || len(page.Members) != 0 {
		t.Errorf("lost: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := f.do(t, call{method: "GET", route: "/v1/segments/{name}/members", params: map[string]string{"name": "Champions"}, tok: staffToken}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown name: %d", resp.StatusCode)
	}
	otherCursor := f.h.Cursors.Encode(membersScope("lost"), map[string]string{"after": "champ-01"})
	for _, tc := range []struct {
		query map[string]string
		want  []string
	}{
		{map[string]string{"limit": "0"}, []string{"limit"}},
		{map[string]string{"limit": "x"}, []string{"limit"}},
		{map[string]string{"cursor": "forged"}, []string{"cursor"}},
		{map[string]string{"cursor": otherCursor}, []string{"cursor"}},
		{map[string]string{"limit": "1001", "cursor": "forged"}, []string{"limit", "cursor"}},
	} {
		resp := list(tc.query, nil)
		if got := problemFields(t, resp); resp.StatusCode != http.StatusBadRequest || !slices.Equal(got, tc.want) {
			t.Errorf("%v: %d naming %v, want 400 naming %v", tc.query, resp.StatusCode, got, tc.want)
		}
	}
}

func TestStartAndReadRuns(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	start := func(body string, headers map[string]string) apigw.Response {
		return f.do(t, call{method: "POST", route: "/v1/segmentation/runs", body: body, headers: headers, tok: staffToken})
	}
	resp := start("", nil)
	if resp.StatusCode != http.StatusAccepted || resp.Headers["Location"] != "/v1/segmentation/runs/segmentation-2026-12-01" {
		t.Fatalf("start: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	if run := decode[Run](t, resp); run.Status != "running" || run.TotalSegments != 3 || run.Day != "2026-12-01" {
		t.Errorf("run %+v", run)
	}
	if len(f.queue.msgs) != 3 {
		t.Errorf("fan-out of %d messages, want 3", len(f.queue.msgs))
	}
	// A second start the same day starts nothing.
	if resp := start("{}", nil); resp.StatusCode != http.StatusOK || len(f.queue.msgs) != 3 {
		t.Errorf("second start: %d, %d messages", resp.StatusCode, len(f.queue.msgs))
	}
	key := sweep.RunKey{Kind: segment.SweepKind, Day: "2026-12-01"}
	// Progress: segment 1 of phase 1 checkpointed and counted.
	ctx := context.Background()
	if err := f.runs.SaveCheckpoint(ctx, key, sweep.Checkpoint{Phase: 1, Segment: 1, Items: 40, Pages: 1, Exhausted: true, UpdatedAt: f.now}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.runs.CompleteSegment(ctx, key, 1, 1); err != nil {
		t.Fatal(err)
	}
	resp = f.do(t, call{method: "GET", route: "/v1/segmentation/runs/{id}", params: map[string]string{"id": key.ID()}, tok: staffToken})
	run := decode[Run](t, resp)
	if resp.StatusCode != http.StatusOK || len(run.Segments) != 1 || run.Segments[0].Items != 40 || run.Timings[0].SegmentsDone != 1 {
		t.Errorf("run: %d %s", resp.StatusCode, resp.Body)
	}
	// Failed at its deadline: POST resumes the missing segments only.
	if ok, err := f.runs.Fail(ctx, key, 1, []int{0, 2}, f.now.Add(2*time.Hour)); err != nil || !ok {
		t.Fatal(ok, err)
	}
	f.now = f.now.Add(2 * time.Hour)
	resp = start("", nil)
	if run := decode[Run](t, resp); resp.StatusCode != http.StatusAccepted || run.Status != "running" || run.Resumes != 1 {
		t.Errorf("resume: %d %s", resp.StatusCode, resp.Body)
	}
	if len(f.queue.msgs) != 5 || f.queue.msgs[3].Segment != 0 || f.queue.msgs[4].Segment != 2 {
		t.Errorf("resumed messages %+v", f.queue.msgs[3:])
	}
	for _, id := range []string{"segmentation-2026-11-30", "points-nightly-2026-12-01", "segmentation-yesterday"} {
		resp := f.do(t, call{method: "GET", route: "/v1/segmentation/runs/{id}", params: map[string]string{"id": id}, tok: staffToken})
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", id, resp.StatusCode)
		}
	}
	if resp := start(`{"segments":4}`, nil); resp.StatusCode != http.StatusBadRequest || !slices.Equal(problemFields(t, resp), []string{"segments"}) {
		t.Errorf("unknown field: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := start(`{}`, map[string]string{"Content-Type": "text/plain"}); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text body: %d", resp.StatusCode)
	}
}

// newExportsBucket is an exports bucket on an in-process S3-compatible server.
func newExportsBucket(t *testing.T) *bucket.Store { return buckettest.New(t, "exports") }

// TestExportIsRequestedThenLinked: POST stores a running export and asks
// the worker for it (one segmentation.export_requested); GET reports it
// running, then — once the worker wrote the object and recorded it —
// succeeded, with a link that fetches the CSV.
func TestExportIsRequestedThenLinked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.seed(t)
	exp := func(name, body string) apigw.Response {
		return f.do(t, call{method: "POST", route: "/v1/segments/{name}/exports", params: map[string]string{"name": name}, body: body, tok: staffToken})
	}
	get := func(name, id string) apigw.Response {
		return f.do(t, call{method: "GET", route: "/v1/segments/{name}/exports/{id}", params: map[string]string{"name": name, "id": id}, tok: staffToken})
	}
	resp := exp("champions", "")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	started := decode[SegmentExport](t, resp)
	if started.Segment != "Champions" || started.Status != "running" || started.URL != "" || resp.Headers["Location"] != "/v1/segments/champions/exports/"+started.ID {
		t.Errorf("started %+v, Location %q", started, resp.Headers["Location"])
	}
	reqs := f.events.OfType(event.TypeSegmentExportRequested)
	var d event.SegmentExportRequested
	if len(reqs) != 1 || json.Unmarshal(reqs[0].Data, &d) != nil || d.ExportID != started.ID {
		t.Fatalf("export requests published: %+v", reqs)
	}
	if r := get("champions", started.ID); r.StatusCode != http.StatusOK || decode[SegmentExport](t, r).Status != "running" {
		t.Errorf("running export: %d %s", r.StatusCode, r.Body)
	}
	// What the worker does: the segment as the list's CSV, then the record.
	rec, err := f.store.Export(context.Background(), started.ID)
	if err != nil || !strings.HasPrefix(rec.Key, "segments/champions/2026-11-30/") || rec.Segment != "Champions" {
		t.Fatalf("record %+v %v", rec, err)
	}
	list := f.do(t, call{method: "GET", route: "/v1/segments/{name}/members", params: map[string]string{"name": "champions"},
		query: map[string]string{"limit": "1000"}, headers: map[string]string{"Accept": "text/csv"}, tok: staffToken})
	w := f.h.Exports.Create(context.Background(), rec.Key, "text/csv")
	if _, err := io.WriteString(w, list.Body); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 { // recording it twice (a redelivery) is harmless
		if err := f.store.FinishExport(context.Background(), rec.ID, 8, w.Size, f.now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	r := get("champions", started.ID)
	got := decode[SegmentExport](t, r)
	if r.StatusCode != http.StatusOK || got.Status != "succeeded" || got.Rows != 8 || got.Key != rec.Key || !got.ExpiresAt.Equal(f.now.Add(time.Hour)) {
		t.Fatalf("finished export: %d %+v", r.StatusCode, got)
	}
	link, err := http.Get(got.URL)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(link.Body)
	link.Body.Close()
	if link.StatusCode != http.StatusOK || string(raw) != list.Body || int64(len(raw)) != got.Bytes {
		t.Errorf("the link fetched %d, %d bytes: %s", link.StatusCode, len(raw), raw)
	}
	// Another segment's path, an unknown id, an unknown segment: 404.
	for _, c := range [][2]string{{"lost", started.ID}, {"champions", "01NOSUCHEXPORT"}, {"nobody", started.ID}} {
		if r := get(c[0], c[1]); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %v: %d", c, r.StatusCode)
		}
	}
	if resp := exp("nobody", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown segment: %d", resp.StatusCode)
	}
	if resp := exp("champions", `{"format":"xlsx"}`); resp.StatusCode != http.StatusBadRequest || !slices.Equal(problemFields(t, resp), []string{"format"}) {
		t.Errorf("unknown field: %d %s", resp.StatusCode, resp.Body)
	}
	if n := len(f.events.OfType(event.TypeSegmentExportRequested)); n != 1 {
		t.Errorf("%d export requests after the refused ones, want 1", n)
	}
}
