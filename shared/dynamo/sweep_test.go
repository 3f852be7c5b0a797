package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamotest"
	"clientele/shared/fault"
	"clientele/shared/sweep"
)

// sweepItem is what the sweep tests scan.
type sweepItem struct {
	PK    string `dynamodbav:"pk"`
	SK    string `dynamodbav:"sk"`
	Value int64  `dynamodbav:"value"`
}

const sweepItems = 3000

var (
	itemsOnce  sync.Once
	itemsTable string
	itemsErr   error
	// itemsWant is the direct computation over the generated items.
	itemsWant tally
)

// sweepTable creates (once) a table with sweepItems items under ITEM# and
// some noise under OTHER# that the reader's prefix must skip.
func sweepTable(t testing.TB) string {
	t.Helper()
	itemsOnce.Do(func() {
		ctx := context.Background()
		itemsTable, itemsErr = dynamotest.NewTable(ctx, db, "sweep-items")
		if itemsErr != nil {
			return
		}
		rng := rand.New(rand.NewPCG(8, 8))
		var reqs []types.WriteRequest
		add := func(pk string, v int64) {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: "ITEM"},
				"value": &types.AttributeValueMemberN{Value: fmt.Sprint(v)},
			}}})
		}
		for i := range sweepItems {
			v := rng.Int64N(1_000_000)
			add(fmt.Sprintf("ITEM#%06d", i), v)
			itemsWant.add(v)
		}
		for i := range 200 {
			add(fmt.Sprintf("OTHER#%06d", i), 1)
		}
		for len(reqs) > 0 {
			n := min(25, len(reqs))
			out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{itemsTable: reqs[:n]}})
			if err != nil {
				itemsErr = err
				return
			}
			reqs = append(reqs[n:], out.UnprocessedItems[itemsTable]...)
		}
	})
	if itemsErr != nil {
		t.Fatalf("sweep items table: %v", itemsErr)
	}
	return itemsTable
}

// tally is the processors' state: count, sum and sum of squares of values.
type tally struct {
	N   int64 `json:"n"`
	Sum int64 `json:"sum"`
	Sq  int64 `json:"sq"`
}

func (t *tally) add(v int64) { t.N++; t.Sum += v; t.Sq += (v % 1000) * (v % 1000) }
func (t *tally) merge(o tally) {
	t.N += o.N
	t.Sum += o.Sum
	t.Sq += o.Sq
}

// crashError is an injected crash.
var crashError = fault.New(fault.Unavailable, "injected crash")

// tallyProcessor sums values per segment (state in the checkpoint) and
// records each segment's final tally per phase. It can crash once at a
// chosen page of a segment, or once before a segment is counted.
type tallyProcessor struct {
	mu      sync.Mutex
	results map[int]map[int]tally // phase → segment → tally
	seen    map[string]int        // item → times processed (all phases)
	// crashAt: phase<<16|segment → the page (0-based) to crash on once.
	crashAt     map[int]int
	crashFinish map[int]bool // phase<<16|segment → crash once in FinishSegment
	pages       map[int]int
}

func newTallyProcessor() *tallyProcessor {
	return &tallyProcessor{results: map[int]map[int]tally{}, seen: map[string]int{}, crashAt: map[int]int{},
		crashFinish: map[int]bool{}, pages: map[int]int{}}
}

func (p *tallyProcessor) ProcessPage(_ context.Context, t sweep.Task, state []byte, items []sweepItem) ([]byte, error) {
	var s tally
	if state != nil {
		if err := json.Unmarshal(state, &s); err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	id := t.Phase<<16 | t.Segment
	page := p.pages[id]
	p.pages[id]++
	if at, ok := p.crashAt[id]; ok && at == page {
		delete(p.crashAt, id)
		p.mu.Unlock()
		return nil, crashError
	}
	for _, it := range items {
		p.seen[it.PK]++
	}
	p.mu.Unlock()
	for _, it := range items {
		s.add(it.Value)
	}
	return json.Marshal(s)
}

func (p *tallyProcessor) FinishSegment(_ context.Context, t sweep.Task, state []byte) error {
	var s tally
	if state != nil {
		if err := json.Unmarshal(state, &s); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.crashFinish[t.Phase<<16|t.Segment] {
		delete(p.crashFinish, t.Phase<<16|t.Segment)
		return crashError
	}
	if p.results[t.Phase] == nil {
		p.results[t.Phase] = map[int]tally{}
	}
	p.results[t.Phase][t.Segment] = s
	return nil
}

func (p *tallyProcessor) total(phase int) tally {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out tally
	for _, s := range p.results[phase] {
		out.merge(s)
	}
	return out
}

// testQueue is an in-memory queue with redelivery: a message whose
// handling fails goes back on the queue.
type testQueue struct {
	mu        sync.Mutex
	ch        chan sweep.Message
	pending   sync.WaitGroup
	published []sweep.Message
}

func newTestQueue() *testQueue { return &testQueue{ch: make(chan sweep.Message, 1<<14)} }

func (q *testQueue) PublishSegments(_ context.Context, msgs []sweep.Message) error {
	q.mu.Lock()
	q.published = append(q.published, msgs...)
	q.mu.Unlock()
	q.pending.Add(len(msgs))
	for _, m := range msgs {
		q.ch <- m
	}
	return nil
}

func (q *testQueue) sent() []sweep.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.published)
}

// drain runs workers goroutines that handle messages until the queue is
// empty, redelivering failed ones, and returns every outcome.
func (q *testQueue) drain(t testing.TB, e *sweep.Engine[sweepItem], workers int) []sweep.Outcome {
	t.Helper()
	var mu sync.Mutex
	var outs []sweep.Outcome
	var failures atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range q.ch {
				o, err := e.Handle(context.Background(), m)
				if err != nil {
					if failures.Add(1) > 1000 {
						t.Errorf("handle %+v: %v", m, err)
						q.pending.Done()
						continue
					}
					q.pending.Add(1)
					q.ch <- m
				} else {
					mu.Lock()
					outs = append(outs, o)
					mu.Unlock()
				}
				q.pending.Done()
			}
		}()
	}
	q.pending.Wait()
	close(q.ch)
	wg.Wait()
	q.ch = make(chan sweep.Message, 1<<14)
	return outs
}

func newEngine(t testing.TB, kind string, cfg sweep.Config) (*sweep.Engine[sweepItem], *testQueue, *tallyProcessor) {
	t.Helper()
	cfg.Kind = kind + fmt.Sprint(time.Now().UnixNano())
	q := newTestQueue()
	p := newTallyProcessor()
	return &sweep.Engine[sweepItem]{
		Config: cfg, Store: &dynamo.SweepStore{Client: db, Table: table}, Queue: q, Processor: p,
		Reader: &dynamo.ScanReader[sweepItem]{Client: db, Table: sweepTable(t), Prefix: "ITEM#"},
	}, q, p
}

func checkTotals(t testing.TB, p *tallyProcessor, phases int) {
	t.Helper()
	for ph := 1; ph <= phases; ph++ {
		if got := p.total(ph); got != itemsWant {
			t.Errorf("phase %d: segments total %+v, direct %+v", ph, got, itemsWant)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.seen) != sweepItems {
		t.Errorf("%d distinct items processed, want %d (prefix filter or missed items)", len(p.seen), sweepItems)
	}
}

func TestSweepRunEqualsDirect(t *testing.T) {
	t.Parallel()
	var merged atomic.Int64
	e, q, p := newEngine(t, "direct", sweep.Config{Phases: 2, Segments: 6, PageSize: 200})
	e.PhaseDone = func(ctx context.Context, r sweep.Run) error {
		if r.Phase == 1 {
			merged.Add(1)
			if got := p.total(1); got != itemsWant {
				t.Errorf("phase 1 ended with %+v processed, want %+v", got, itemsWant)
			}
		}
		return nil
	}
	run, started, err := e.Start(context.Background())
	if err != nil || !started {
		t.Fatalf("start: %v, %v", started, err)
	}
	outs := q.drain(t, e, 4)
	checkTotals(t, p, 2)
	got, err := e.Store.Run(context.Background(), run.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != sweep.Succeeded || got.Phase != 2 || !got.PhaseComplete(1) || !got.PhaseComplete(2) {
		t.Errorf("run = %+v", got)
	}
	if got.Timings[0].Finished.IsZero() || got.Timings[1].Started.IsZero() || got.FinishedAt.IsZero() {
		t.Errorf("timings not recorded: %+v", got)
	}
	if merged.Load() != 1 {
		t.Errorf("phase 1 hook ran %d times", merged.Load())
	}
	var ended int
	for _, o := range outs {
		if o.EndedPhase {
			ended++
		}
	}
	if ended != 2 || len(outs) != 12 {
		t.Errorf("%d outcomes, %d ended a phase; want 12 and 2", len(outs), ended)
	}
	cps, err := e.Store.Checkpoints(context.Background(), run.Key)
	if err != nil {
		t.Fatal(err)
	}
	var items [2]int64
	for _, c := range cps {
		items[c.Phase-1] += c.Items
		if !c.Exhausted {
			t.Errorf("checkpoint %+v not exhausted", c)
		}
	}
	if len(cps) != 12 || items[0] < sweepItems || items[1] < sweepItems {
		t.Errorf("%d checkpoints, items per phase %v", len(cps), items)
	}
}

// A segment that crashes mid-way (checkpoint saved, not counted), one
// that crashes after its last page (before the count), a phase hook that
// crashes after the last count, and a redelivery of already counted
// segments: the totals still equal the direct computation.
func TestSweepRedeliveryAfterCrashDoesNotDoubleCount(t *testing.T) {
	t.Parallel()
	e, q, p := newEngine(t, "crash", sweep.Config{Phases: 2, Segments: 4, PageSize: 100})
	p.crashAt[1<<16|1] = 3
	p.crashAt[2<<16|2] = 1
	p.crashFinish[1<<16|3] = true
	var hookCrashed atomic.Bool
	var hookRuns atomic.Int64
	e.PhaseDone = func(ctx context.Context, r sweep.Run) error {
		hookRuns.Add(1)
		if r.Phase == 1 && hookCrashed.CompareAndSwap(false, true) {
			return crashError
		}
		return nil
	}
	run, _, err := e.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	q.drain(t, e, 1)
	checkTotals(t, p, 2)
	if len(p.crashAt) != 0 || len(p.crashFinish) != 0 || !hookCrashed.Load() {
		t.Fatalf("crashes not all injected: %v %v %v", p.crashAt, p.crashFinish, hookCrashed.Load())
	}
	// The hook crashed once at the end of phase 1 and ran again on the
	// redelivery; phase 2's ran once.
	if hookRuns.Load() != 3 {
		t.Errorf("phase hook ran %d times, want 3", hookRuns.Load())
	}
	// Counted segments redelivered: nothing processed, nothing counted.
	before := p.total(2)
	for s := range 4 {
		o, err := e.Handle(context.Background(), sweep.Message{Kind: run.Key.Kind, Day: run.Key.Day, Phase: 2, Segment: s, TotalSegments: 4})
		if err != nil || !o.Skipped || o.Counted || o.Items != 0 || o.EndedPhase {
			t.Errorf("redelivered segment %d: %+v, %v", s, o, err)
		}
	}
	if p.total(2) != before {
		t.Errorf("redelivery changed the result")
	}
	// Redelivery while the run is still running (store-level): the set
	// does not grow and the second call is not counted.
	k := sweep.RunKey{Kind: run.Key.Kind + "-store", Day: run.Key.Day}
	st := e.Store
	if _, _, err := st.CreateRun(context.Background(), sweep.Run{Key: k, TotalSegments: 3, Phases: 1, Phase: 1, Status: sweep.Running}); err != nil {
		t.Fatal(err)
	}
	r1, c1, err1 := st.CompleteSegment(context.Background(), k, 1, 2)
	r2, c2, err2 := st.CompleteSegment(context.Background(), k, 1, 2)
	if err1 != nil || err2 != nil || !c1 || c2 || !slices.Equal(r1.Done[0], []int{2}) || !slices.Equal(r2.Done[0], []int{2}) {
		t.Errorf("complete twice: %v %v %v / %v %v %v", r1.Done, c1, err1, r2.Done, c2, err2)
	}
}

// Many goroutines complete every segment (each twice) at once: exactly
// one call counts the last segment.
func TestSweepExactlyOneSeesLastSegment(t *testing.T) {
	t.Parallel()
	st := &dynamo.SweepStore{Client: db, Table: table}
	k := sweep.RunKey{Kind: fmt.Sprintf("last%d", time.Now().UnixNano()), Day: "2026-12-01"}
	const n = 24
	if _, created, err := st.CreateRun(context.Background(), sweep.Run{Key: k, TotalSegments: n, Phases: 1, Phase: 1, Status: sweep.Running}); err != nil || !created {
		t.Fatal(created, err)
	}
	var last, counted atomic.Int64
	var wg sync.WaitGroup
	for i := range 2 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, c, err := st.CompleteSegment(context.Background(), k, 1, i%n)
			if err != nil {
				t.Error(err)
				return
			}
			if c {
				counted.Add(1)
				if r.PhaseComplete(1) {
					last.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if last.Load() != 1 || counted.Load() != n {
		t.Errorf("%d calls saw the last segment, %d counted; want 1 and %d", last.Load(), counted.Load(), n)
	}
}

// Concurrent workers with every message delivered twice: each phase ends
// exactly once.
func TestSweepDuplicateDeliveriesEndEachPhaseOnce(t *testing.T) {
	t.Parallel()
	e, q, p := newEngine(t, "dup", sweep.Config{Phases: 2, Segments: 8, PageSize: 250})
	dup := &duplicating{q}
	e.Queue = dup
	if _, _, err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	outs := q.drain(t, e, 6)
	var ended, counted int
	for _, o := range outs {
		if o.EndedPhase {
			ended++
		}
		if o.Counted {
			counted++
		}
	}
	if ended != 2 || counted != 16 {
		t.Errorf("%d deliveries ended a phase, %d counted; want 2 and 16", ended, counted)
	}
	checkTotals(t, p, 2)
}

type duplicating struct{ q *testQueue }

func (d *duplicating) PublishSegments(ctx context.Context, msgs []sweep.Message) error {
	return d.q.PublishSegments(ctx, append(slices.Clone(msgs), msgs...))
}

func TestSweepSecondStartSameDayIsNoop(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	e, q, _ := newEngine(t, "once", sweep.Config{Segments: 3})
	e.Now = func() time.Time { return now }
	r1, s1, err1 := e.Start(context.Background())
	now = now.Add(20 * time.Hour) // 22:00 the same day
	r2, s2, err2 := e.Start(context.Background())
	if err1 != nil || err2 != nil || !s1 || s2 || r1.Key != r2.Key || !r2.StartedAt.Equal(r1.StartedAt) {
		t.Fatalf("starts: %+v %v %v / %+v %v %v", r1, s1, err1, r2, s2, err2)
	}
	if n := len(q.sent()); n != 3 {
		t.Errorf("%d messages published, want 3", n)
	}
	latest, err := e.Store.Latest(context.Background(), e.Config.Kind)
	if err != nil || latest.Key != r1.Key {
		t.Errorf("latest = %+v, %v", latest.Key, err)
	}
}

// 00:30 in Shanghai is a new day while UTC is still on the previous one.
func TestSweepZoneDecidesTheDay(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 15, 50, 0, 0, time.UTC) // 23:50 in Shanghai
	e, q, _ := newEngine(t, "zone", sweep.Config{Segments: 2, Zone: shanghai})
	e.Now = func() time.Time { return now }
	utc, _, _ := newEngine(t, "zoneutc", sweep.Config{Segments: 2})
	utc.Now = e.Now
	r1, s1, err1 := e.Start(context.Background())
	u1, _, _ := utc.Start(context.Background())
	now = time.Date(2026, 12, 1, 16, 30, 0, 0, time.UTC) // 00:30 on 2 December in Shanghai
	r2, s2, err2 := e.Start(context.Background())
	u2, us2, _ := utc.Start(context.Background())
	if err1 != nil || err2 != nil || !s1 || !s2 {
		t.Fatalf("starts: %v %v %v %v", s1, err1, s2, err2)
	}
	if r1.Key.Day != "2026-12-01" || r2.Key.Day != "2026-12-02" || r2.Zone != "Asia/Shanghai" {
		t.Errorf("Shanghai days %s, %s (zone %s)", r1.Key.Day, r2.Key.Day, r2.Zone)
	}
	if u1.Key.Day != "2026-12-01" || u2.Key != u1.Key || us2 {
		t.Errorf("UTC days %s, %s (second started %v)", u1.Key.Day, u2.Key.Day, us2)
	}
	if n := len(q.sent()); n != 4 {
		t.Errorf("%d messages for two Shanghai runs, want 4", n)
	}
}

// A run past its deadline is failed with its missing segments; a late
// message changes nothing; resume re-enqueues only the missing ones and
// the run then equals the direct computation.
func TestSweepDeadlineFailsAndResumeFinishes(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e, q, p := newEngine(t, "deadline", sweep.Config{Segments: 5, PageSize: 300, Timeout: time.Hour})
	e.Now = clock
	run, _, err := e.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	msgs := q.sent()
	q.ch = make(chan sweep.Message, 1<<14) // the first fan-out is lost but for segments 0 and 2
	for _, s := range []int{0, 2} {
		if o, err := e.Handle(context.Background(), msgs[s]); err != nil || !o.Counted {
			t.Fatalf("segment %d: %+v, %v", s, o, err)
		}
	}
	// Segment 3 gets half way before the deadline.
	p.crashAt[1<<16|3] = 2
	if _, err := e.Handle(context.Background(), msgs[3]); err == nil {
		t.Fatal("segment 3 did not crash")
	}
	if r, err := e.Check(context.Background(), run.Key); err != nil || r.Status != sweep.Running {
		t.Fatalf("before the deadline: %+v, %v", r.Status, err)
	}
	mu.Lock()
	now = now.Add(61 * time.Minute)
	mu.Unlock()
	failed, err := e.Check(context.Background(), run.Key)
	if err != nil || failed.Status != sweep.Failed || !slices.Equal(failed.Missing, []int{1, 3, 4}) || failed.FinishedAt.IsZero() {
		t.Fatalf("after the deadline: %+v, %v", failed, err)
	}
	if o, err := e.Handle(context.Background(), msgs[1]); err != nil || !o.Skipped || o.Items != 0 {
		t.Errorf("late message on a failed run: %+v, %v", o, err)
	}
	if _, err := e.Resume(context.Background(), failed.Key); err != nil {
		t.Fatal(err)
	}
	resent := q.sent()[len(msgs):]
	var segs []int
	for _, m := range resent {
		segs = append(segs, m.Segment)
	}
	if !slices.Equal(segs, []int{1, 3, 4}) {
		t.Errorf("resume re-enqueued %v, want [1 3 4]", segs)
	}
	q.pending.Add(-len(msgs)) // the lost first fan-out is not pending
	q.drain(t, e, 2)
	done, err := e.Store.Run(context.Background(), run.Key)
	if err != nil || done.Status != sweep.Succeeded || done.Resumes != 1 || len(done.Missing) != 0 {
		t.Errorf("after resume: %+v, %v", done, err)
	}
	checkTotals(t, p, 1)
	if _, err := e.Resume(context.Background(), run.Key); !fault.Is(err, fault.Conflict) {
		t.Errorf("resuming a succeeded run: %v", err)
	}
}

// A delivery short of time checkpoints, republishes itself and stops; the
// run still equals the direct computation.
func TestSweepContinuesWhenShortOfTime(t *testing.T) {
	t.Parallel()
	e, q, p := newEngine(t, "continue", sweep.Config{Segments: 2, PageSize: 500, Reserve: 2 * time.Hour})
	if _, _, err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Every delivery has an hour left, less than the reserve: one page each.
	handle := &deadlineEngine{e}
	var outs []sweep.Outcome
	for len(q.ch) > 0 {
		m := <-q.ch
		q.pending.Done()
		o, err := handle.Handle(m)
		if err != nil {
			t.Fatal(err)
		}
		if o.Pages > 1 {
			t.Errorf("delivery processed %d pages, want 1", o.Pages)
		}
		outs = append(outs, o)
	}
	var continued, counted int
	for _, o := range outs {
		if o.Continued {
			continued++
		}
		if o.Counted {
			counted++
		}
	}
	if continued < 4 || counted != 2 {
		t.Errorf("%d continued deliveries, %d counted; want >= 4 and 2", continued, counted)
	}
	checkTotals(t, p, 1)
}

type deadlineEngine struct{ e *sweep.Engine[sweepItem] }

func (d *deadlineEngine) Handle(m sweep.Message) (sweep.Outcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	return d.e.Handle(ctx, m)
}

// With no fixed fan-out, the table's size decides it.
func TestSweepFanOutFromTableSize(t *testing.T) {
	t.Parallel()
	e, q, _ := newEngine(t, "size", sweep.Config{ItemsPerSegment: 1000, MaxSegments: 64})
	e.Sizer = &dynamo.TableSizer{Client: db, Table: sweepTable(t)}
	run, _, err := e.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 3 000 items and 200 others: ceil(3 200 / 1 000).
	if run.TotalSegments != 4 || len(q.sent()) != 4 {
		t.Errorf("%d segments, %d messages; want 4", run.TotalSegments, len(q.sent()))
	}
}

// BenchmarkSweepSegment measures one segment's throughput on DynamoDB
// Local: scan pages of 500, a processor that tallies, a checkpoint per
// page, and the completion.
func BenchmarkSweepSegment(b *testing.B) {
	sweepTable(b)
	var items int64
	start := time.Now()
	for range b.N {
		e, q, _ := newEngine(b, "bench", sweep.Config{Segments: 1, PageSize: 500})
		if _, _, err := e.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		for _, o := range q.drain(b, e, 1) {
			items += o.Items
		}
	}
	b.ReportMetric(float64(items)/time.Since(start).Seconds(), "items/s")
}

// Schedulers firing at once start one run and fan it out once.
func TestSweepConcurrentStartsStartOneRun(t *testing.T) {
	t.Parallel()
	e, q, _ := newEngine(t, "race", sweep.Config{Segments: 5})
	now := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	e.Now = func() time.Time { return now }
	var started atomic.Int64
	var wg sync.WaitGroup
	keys := make([]sweep.RunKey, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, s, err := e.Start(context.Background())
			if err != nil {
				t.Error(err)
			}
			if s {
				started.Add(1)
			}
			keys[i] = r.Key
		}()
	}
	wg.Wait()
	if started.Load() != 1 || len(q.sent()) != 5 {
		t.Errorf("%d starts, %d messages; want 1 and 5", started.Load(), len(q.sent()))
	}
	for _, k := range keys {
		if k != keys[0] {
			t.Errorf("starts returned different runs: %v", keys)
		}
	}
}

func TestSweepCheckpointStateBounded(t *testing.T) {
	t.Parallel()
	st := &dynamo.SweepStore{Client: db, Table: table}
	k := sweep.RunKey{Kind: fmt.Sprintf("big%d", time.Now().UnixNano()), Day: "2026-12-01"}
	err := st.SaveCheckpoint(context.Background(), k, sweep.Checkpoint{Phase: 1, Segment: 0, State: make([]byte, dynamo.MaxCheckpointState+1), Pages: 1}, 0)
	if !fault.Is(err, fault.Internal) {
		t.Errorf("oversized state: %v", err)
	}
	ok := sweep.Checkpoint{Phase: 1, Segment: 0, Cursor: "c", State: []byte("s"), Items: 10, Pages: 1}
	if err := st.SaveCheckpoint(context.Background(), k, ok, 0); err != nil {
		t.Fatal(err)
	}
	// A second delivery that started from the same position loses.
	if err := st.SaveCheckpoint(context.Background(), k, ok, 0); !fault.Is(err, fault.Conflict) {
		t.Errorf("stale save: %v", err)
	}
	got, err := st.Checkpoint(context.Background(), k, 1, 0)
	if err != nil || got.Cursor != "c" || string(got.State) != "s" || got.Items != 10 || got.Pages != 1 {
		t.Errorf("checkpoint = %+v, %v", got, err)
	}
}

// Fail lists exactly the segments missing when it is applied: a segment
// completing between the read and the update makes it refuse.
func TestSweepFailRefusesAStaleMissingList(t *testing.T) {
	t.Parallel()
	st := &dynamo.SweepStore{Client: db, Table: table}
	k := sweep.RunKey{Kind: fmt.Sprintf("stale%d", time.Now().UnixNano()), Day: "2026-12-01"}
	ctx := context.Background()
	if _, _, err := st.CreateRun(ctx, sweep.Run{Key: k, TotalSegments: 3, Phases: 1, Phase: 1, Status: sweep.Running}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CompleteSegment(ctx, k, 1, 0); err != nil {
		t.Fatal(err)
	}
	// Read: 1 and 2 missing; meanwhile 2 completes.
	if _, _, err := st.CompleteSegment(ctx, k, 1, 2); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Fail(ctx, k, 1, []int{1, 2}, time.Now()); err != nil || ok {
		t.Errorf("stale fail applied: %v, %v", ok, err)
	}
	if ok, err := st.Fail(ctx, k, 1, []int{1}, time.Now()); err != nil || !ok {
		t.Errorf("exact fail refused: %v, %v", ok, err)
	}
	r, err := st.Run(ctx, k)
	if err != nil || r.Status != sweep.Failed || !slices.Equal(r.Missing, []int{1}) {
		t.Errorf("run = %+v, %v", r, err)
	}
	// A run with nothing done fails with every segment missing.
	k2 := sweep.RunKey{Kind: k.Kind + "-none", Day: k.Day}
	if _, _, err := st.CreateRun(ctx, sweep.Run{Key: k2, TotalSegments: 2, Phases: 1, Phase: 1, Status: sweep.Running}); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Fail(ctx, k2, 1, []int{0, 1}, time.Now()); err != nil || !ok {
		t.Errorf("fail with nothing done: %v, %v", ok, err)
	}
}
