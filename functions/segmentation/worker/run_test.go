package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamotest"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/metrics"
	"clientele/shared/segment"
	"clientele/shared/segment/membergen"
	"clientele/shared/sweep"
)

// The worker's tests run against DynamoDB Local (dynamotest): real tables,
// the real sweep store, reader and results store; the queue and the event
// publisher are in memory so the test can redeliver, duplicate and crash.
var db *dynamodb.Client

func TestMain(m *testing.M) {
	dynamotest.Main(m, "segmentation-worker", func(_ context.Context, c *dynamodb.Client) error {
		db = c
		return nil
	})
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newSegmentationTable creates a table shaped like the topology's
// segmentation table (pk/sk and the by-segment index).
func newSegmentationTable(t testing.TB) string {
	t.Helper()
	name, err := dynamotest.NewTable(context.Background(), db, "segmentation")
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// memQueue is the segmentation-sweep queue in memory.
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

func (q *memQueue) take() []sweep.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.msgs
	q.msgs = nil
	return out
}

// eventLog records published events.
type eventLog struct {
	mu  sync.Mutex
	evs []event.Envelope
}

func (l *eventLog) Publish(_ context.Context, evs ...event.Envelope) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, evs...)
	return nil
}

var errCrash = errors.New("injected crash")

// crashing wraps the processor: after a page's writes committed, a share
// of deliveries dies before the checkpoint (so the page is redone), and
// a share of phase hooks dies before or after its work.
type crashing struct {
	*Processor
	mu   sync.Mutex
	rng  *rand.Rand
	rate float64
}

func (c *crashing) roll() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.Float64() < c.rate
}

func (c *crashing) ProcessPage(ctx context.Context, t sweep.Task, state []byte, items []dynamo.MemberStats) ([]byte, error) {
	out, err := c.Processor.ProcessPage(ctx, t, state, items)
	if err == nil && c.roll() {
		return nil, errCrash
	}
	return out, err
}

func (c *crashing) PhaseDone(ctx context.Context, r sweep.Run) error {
	if c.roll() {
		return errCrash
	}
	if err := c.Processor.PhaseDone(ctx, r); err != nil {
		return err
	}
	if c.roll() {
		return errCrash
	}
	return nil
}

// fixture is a population in DynamoDB Local and a worker over it.
type fixture struct {
	// client is the run's DynamoDB client (db unless a benchmark meters
	// it); sweepClient, when set, the sweep store's (runs, checkpoints).
	client, sweepClient  *dynamodb.Client
	members, points, seg string
	cfg                  segment.RunConfig
	zone                 *time.Location
	events               *eventLog
}

func newFixture(t testing.TB, n int, asOf time.Time) (*fixture, []segment.Member) {
	t.Helper()
	ctx := context.Background()
	f := &fixture{client: db, seg: newSegmentationTable(t), events: &eventLog{}}
	var err error
	if f.members, err = dynamotest.NewTable(ctx, db, "members"); err != nil {
		t.Fatal(err)
	}
	if f.points, err = dynamotest.NewTable(ctx, db, "points"); err != nil {
		t.Fatal(err)
	}
	f.zone, _ = time.LoadLocation("Asia/Shanghai")
	f.cfg = segment.DefaultRunConfig()
	f.cfg.Segments, f.cfg.PageSize = 5, 130
	pop := membergen.Default(7, asOf).Members(0, n)
	if err := dynamo.LoadPopulation(ctx, db, f.members, f.points, pop, asOf); err != nil {
		t.Fatal(err)
	}
	// The members table holds more than profiles (consent history,
	// uniqueness claims): the scan skips them, so a page takes several
	// Scan calls.
	var noise []types.WriteRequest
	for i := range pop {
		noise = append(noise, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "MEMBER#" + pop[i].ID}, "sk": &types.AttributeValueMemberS{Value: "CONSENT#2026-01-01#x"}}}})
	}
	for len(noise) > 0 {
		n := min(25, len(noise))
		out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{f.members: noise[:n]}})
		if err != nil {
			t.Fatal(err)
		}
		noise = append(noise[n:], out.UnprocessedItems[f.members]...)
	}
	return f, pop
}

// run runs the day's run of now to its end through the in-memory queue:
// workers deliver messages concurrently, a share of them twice at once,
// and redeliver every message whose delivery failed (crash rate rate).
func (f *fixture) run(t testing.TB, now time.Time, seed uint64, rate float64) sweep.Run {
	t.Helper()
	ctx := context.Background()
	db := f.client
	store := &dynamo.SegmentationStore{Client: db, Table: f.seg}
	var emitted bytes.Buffer
	p := &Processor{Config: f.cfg, Store: store, Publisher: f.events, Outbox: &dynamo.Outbox{Client: db, Table: f.seg},
		Log: quiet, Service: service, Now: func() time.Time { return now }, Metrics: metrics.New(&emitted, metrics.Namespace, nil)}
	c := &crashing{Processor: p, rng: rand.New(rand.NewPCG(seed, 1)), rate: rate}
	q := &memQueue{}
	sweepDB := db
	if f.sweepClient != nil {
		sweepDB = f.sweepClient
	}
	e := newEngine(f.cfg, f.zone, &dynamo.SweepStore{Client: sweepDB, Table: f.seg}, q,
		&dynamo.MemberStatsReader{Client: db, Members: f.members, Points: f.points}, p)
	e.Processor, e.PhaseDone, e.Now = c, c.PhaseDone, func() time.Time { return now }
	h := &Handler{Engine: e, Eraser: store, Log: quiet}
	res, err := h.Nightly(ctx)
	if err != nil || !res.Started {
		t.Fatalf("nightly: %+v %v", res, err)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	for round := 0; ; round++ {
		msgs := q.take()
		if len(msgs) == 0 {
			break
		}
		if round > 200 {
			t.Fatal("the run does not end")
		}
		var deliveries []sweep.Message
		for _, m := range msgs {
			deliveries = append(deliveries, m)
			if rng.Float64() < 0.2 {
				deliveries = append(deliveries, m) // delivered twice, concurrently
			}
		}
		var wg sync.WaitGroup
		for _, m := range deliveries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.Handle(ctx, m); err != nil {
					if !errors.Is(err, errCrash) && !fault.Is(err, fault.Conflict) && !fault.Is(err, fault.Unavailable) {
						t.Errorf("segment %d phase %d: %v", m.Segment, m.Phase, err)
					}
					_ = q.PublishSegments(ctx, []sweep.Message{m}) // redelivered
				}
			}()
		}
		wg.Wait()
	}
	r, err := e.Store.Run(ctx, sweep.RunKey{Kind: segment.SweepKind, Day: sweep.Day(now, f.zone)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != sweep.Succeeded {
		t.Fatalf("run %s ended %s", r.Key.ID(), r.Status)
	}
	// The run reported its completion (once, or again when the hook was
	// redone after a crash).
	if !strings.Contains(emitted.String(), `"RunCompleted":1`) || !strings.Contains(emitted.String(), `"run":"`+r.Key.ID()+`"`) {
		t.Errorf("no RunCompleted metric for %s: %s", r.Key.ID(), emitted.String())
	}
	return r
}

// stored reads every stored result through the store (which puts the
// run's cut points back into the reasons).
func (f *fixture) stored(t *testing.T) map[string]segment.Result {
	t.Helper()
	ctx := context.Background()
	store := &dynamo.SegmentationStore{Client: db, Table: f.seg}
	out := map[string]segment.Result{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(f.seg), FilterExpression: aws.String("begins_with(pk, :r)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: "RESULTS#"}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			var rec struct {
				MemberID string `dynamodbav:"member_id"`
			}
			if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
				t.Fatal(err)
			}
			r, err := store.Result(ctx, rec.MemberID)
			if err != nil {
				t.Fatal(err)
			}
			out[r.MemberID] = r
		}
	}
	return out
}

// direct computes the run in memory from the same statistics, adapted the
// way the worker adapts them.
func (f *fixture) direct(t *testing.T, r sweep.Run, pop []segment.Member, refused, erased map[string]bool) (*segment.Plan, map[string]segment.Result) {
	t.Helper()
	at, day, err := asOf(r)
	if err != nil {
		t.Fatal(err)
	}
	var ms []segment.Member
	for i := range pop {
		st := dynamo.PopulationStats(&pop[i], at)
		in := dynamo.MemberStats{ID: pop[i].ID, RegisteredAt: pop[i].RegisteredAt, ProfilingRefused: !pop[i].ProfilingConsent || refused[pop[i].ID],
			Erased: erased[pop[i].ID]}
		if pop[i].PurchaseDays > 0 {
			in.Stats = &st
		}
		ms = append(ms, toMember(&in, at, f.cfg.WindowMonths))
	}
	plan, rs, err := segment.Direct(r.Key.ID(), f.cfg.Config, ms, day)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]segment.Result{}
	for _, x := range rs {
		out[x.MemberID] = roundTrip(t, x)
	}
	return plan, out
}

// roundTrip is r as stored (JSON), so comparisons see what a reader sees.
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

// TestRunEqualsDirectComputation runs two nights over 1 000 generated
// members on DynamoDB Local — five segments, pages redone after their
// writes committed, phase hooks crashing, duplicated concurrent
// deliveries — and holds the stored results, the report and the
// member.segment_changed events to the same computation done directly in
// memory: the first night stores every consenting member's result; the
// second, 45 days later after some members refused profiling and some were
// erased, rewrites exactly the results that changed materially, removes
// the refused and erased members' results and publishes one event per
// change of segment, tier or stage and per refusal — never two.
func TestRunEqualsDirectComputation(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 30, 18, 40, 0, 0, time.UTC) // 02:40 on 1 December in Shanghai
	f, pop := newFixture(t, 1000, start.Add(-time.Hour))
	ctx := context.Background()

	run1 := f.run(t, start, 1, 0.15)
	if run1.Key.Day != "2026-12-01" {
		t.Errorf("run day %s, want the Shanghai day 2026-12-01", run1.Key.Day)
	}
	plan1, want1 := f.direct(t, run1, pop, nil, nil)
	if !plan1.Cuts.Exact || plan1.Purchase.Info.Status != segment.FitOK || plan1.Spend.Info.Status != segment.FitOK {
		t.Fatalf("the reference plan should be exact and fitted: %+v %+v %+v", plan1.Cuts, plan1.Purchase.Info, plan1.Spend.Info)
	}
	got1 := f.stored(t)
	if len(got1) != len(want1) {
		t.Fatalf("night 1 stored %d results, direct computation %d", len(got1), len(want1))
	}
	for id, w := range want1 {
		if g, ok := got1[id]; !ok || !reflect.DeepEqual(g, w) {
			t.Fatalf("member %s:\nstored %+v\ndirect %+v", id, g, w)
		}
	}
	if n := len(f.events.evs); n != 0 {
		t.Errorf("night 1 published %d events; first results publish none", n)
	}
	store := &dynamo.SegmentationStore{Client: db, Table: f.seg}
	rep, err := store.LatestReport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts.Scored != uint64(len(want1)) || rep.Counts.Written != uint64(len(want1)) || rep.Counts.Transitions[segment.NewMemberKey] == nil {
		t.Errorf("night 1 report: %+v", rep.Counts)
	}
	storedPlan, err := store.Plan(ctx, run1.Key.Day)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(storedPlan.Cuts, plan1.Cuts) || storedPlan.Purchase.Params != plan1.Purchase.Params {
		t.Errorf("stored plan differs from the direct one:\n%+v\n%+v", storedPlan.Cuts, plan1.Cuts)
	}

	// Night 2: some members refuse profiling, some are erased.
	refused, erased := map[string]bool{}, map[string]bool{}
	for i := range pop {
		switch {
		case i%29 == 3 && pop[i].ProfilingConsent:
			refused[pop[i].ID] = true
			pop[i].ProfilingConsent = false
		case i%53 == 5:
			erased[pop[i].ID] = true
		}
	}
	var changedPop []segment.Member
	for i := range pop {
		if refused[pop[i].ID] {
			changedPop = append(changedPop, pop[i])
		}
	}
	if err := dynamo.LoadPopulation(ctx, db, f.members, f.points, changedPop, start); err != nil {
		t.Fatal(err)
	}
	for id := range erased {
		if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(f.members),
			Key:              map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "MEMBER#" + id}, "sk": &types.AttributeValueMemberS{Value: "PROFILE"}},
			UpdateExpression: aws.String("SET #s = :e"), ExpressionAttributeNames: map[string]string{"#s": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberS{Value: "erased"}}}); err != nil {
			t.Fatal(err)
		}
	}
	run2 := f.run(t, start.AddDate(0, 0, 45), 2, 0.15)
	_, fresh2 := f.direct(t, run2, pop, refused, erased)
	wantStored := map[string]segment.Result{}
	wantEvents := map[string]bool{}
	var wantWritten, wantChanged uint64
	for id, fr := range fresh2 {
		old, had := got1[id]
		switch {
		case !had:
			wantStored[id] = fr
		case segment.NeedsWrite(&old, &fr, f.cfg.Tolerance):
			wantStored[id] = fr
			wantWritten++
			if segment.LabelsChanged(&old, &fr) {
				wantEvents[id] = true
				wantChanged++
			}
		default:
			wantStored[id] = old
		}
	}
	for id := range refused {
		if _, had := got1[id]; had {
			wantEvents[id] = true
		}
	}
	got2 := f.stored(t)
	if len(got2) != len(wantStored) {
		t.Errorf("night 2 stored %d results, want %d", len(got2), len(wantStored))
	}
	for id, w := range wantStored {
		if g, ok := got2[id]; !ok || !reflect.DeepEqual(g, w) {
			t.Fatalf("member %s after night 2:\nstored %+v\nwant   %+v", id, g, w)
		}
	}
	if wantChanged == 0 || len(refused) == 0 || len(erased) == 0 {
		t.Fatalf("the second night changes nothing worth testing: %d label changes, %d refusals, %d erasures", wantChanged, len(refused), len(erased))
	}
	t.Logf("night 2: %d results, %d rewritten, %d label changes, %d refusals, %d erasures, %d events; report %+v",
		len(fresh2), wantWritten, wantChanged, len(refused), len(erased), len(f.events.evs), rep2Counts(t, store))
	seen := map[string]int{}
	for _, ev := range f.events.evs {
		var d event.SegmentChanged
		if err := json.Unmarshal(ev.Data, &d); err != nil || ev.Type != event.TypeMemberSegmentChanged {
			t.Fatalf("event %s: %v", ev.Type, err)
		}
		seen[d.MemberID]++
		old := got1[d.MemberID]
		if d.Old != labelsOf(&old) || d.RunID != run2.Key.ID() || d.Reason == "" || len(d.Changed) == 0 {
			t.Errorf("event of %s: %+v (stored before: %+v)", d.MemberID, d, labelsOf(&old))
		}
		if refused[d.MemberID] {
			if d.New != nil {
				t.Errorf("refusal of %s published new labels %+v", d.MemberID, d.New)
			}
			continue
		}
		nr := fresh2[d.MemberID]
		if d.New == nil || *d.New != labelsOf(&nr) {
			t.Errorf("event of %s: new %+v, want %+v", d.MemberID, d.New, labelsOf(&nr))
		}
	}
	for id := range wantEvents {
		if seen[id] != 1 {
			t.Errorf("member %s: %d events, want exactly 1", id, seen[id])
		}
	}
	for id, n := range seen {
		if !wantEvents[id] {
			t.Errorf("member %s: %d unexpected events", id, n)
		}
	}
	rep2, err := store.LatestReport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.RunID != run2.Key.ID() || rep2.Counts.Scored != uint64(len(fresh2)) || rep2.Counts.Written != wantWritten ||
		rep2.Counts.LabelsChanged != wantChanged || rep2.Counts.Removed == 0 {
		t.Errorf("night 2 report %s: %+v; want scored %d written %d labels changed %d", rep2.RunID, rep2.Counts, len(fresh2), wantWritten, wantChanged)
	}
	var transitions uint64
	for _, row := range rep2.Counts.Transitions {
		for _, n := range row {
			transitions += n
		}
	}
	if transitions != rep2.Counts.Scored {
		t.Errorf("transitions sum to %d, scored %d", transitions, rep2.Counts.Scored)
	}
	// The outbox is empty: every event was published and cleared.
	left, err := (&dynamo.Outbox{Client: db, Table: f.seg}).Pending(ctx, start.AddDate(1, 0, 0), 10)
	if err != nil || len(left) != 0 {
		t.Errorf("outbox holds %d events (%v)", len(left), err)
	}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range erased {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range ids {
		if _, ok := got2[id]; ok {
			t.Errorf("erased member %s still has a result", id)
		}
	}
}

func rep2Counts(t *testing.T, s *dynamo.SegmentationStore) string {
	r, err := s.LatestReport(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("scored %d written %d changed %d removed %d", r.Counts.Scored, r.Counts.Written, r.Counts.LabelsChanged, r.Counts.Removed)
}
