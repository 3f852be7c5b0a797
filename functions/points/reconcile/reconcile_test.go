package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamotest"
	"clientele/shared/env"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/logging"
	"clientele/shared/points"
	"clientele/shared/sweep"
)

var db *dynamodb.Client

func TestMain(m *testing.M) {
	dynamotest.Main(m, "points-reconcile", func(_ context.Context, c *dynamodb.Client) error {
		db = c
		return nil
	})
}

var seq atomic.Int64

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func newStore(t testing.TB) *dynamo.PointsStore {
	t.Helper()
	table := fmt.Sprintf("reconcile-%d-%d", time.Now().UnixNano(), seq.Add(1))
	if err := dynamo.CreateTable(context.Background(), db, table); err != nil {
		t.Fatal(err)
	}
	return &dynamo.PointsStore{Client: db, Table: table, Policy: points.DefaultPolicy(), Now: func() time.Time { return t0 }}
}

// segmentQueue stands in for the points-reconcile-sweep queue.
type segmentQueue struct {
	mu   sync.Mutex
	msgs []sweep.Message
}

func (q *segmentQueue) PublishSegments(_ context.Context, ms []sweep.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, ms...)
	return nil
}

func (q *segmentQueue) pop() (sweep.Message, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.msgs) == 0 {
		return sweep.Message{}, false
	}
	m := q.msgs[0]
	q.msgs = q.msgs[1:]
	return m, true
}

// runs counts the runs made on each table, so that each gets a day of
// its own (one run per day).
var runs sync.Map

// sweeper builds the reconciliation over the store's table at the given
// day: three scan segments, pages of 25 items.
func sweeper(s *dynamo.PointsStore, l Ledger, o Options, day time.Time, logs *bytes.Buffer) (*Handler, *segmentQueue) {
	q := &segmentQueue{}
	var w io.Writer = io.Discard
	if logs != nil {
		w = logs
	}
	return &Handler{Ledger: l, Log: logging.New(w, service), Options: o,
		Runs: &dynamo.SweepStore{Client: db, Table: s.Table}, Segments: q,
		Accounts: &dynamo.PointsAccountReader{Client: db, Table: s.Table},
		Config:   sweep.Config{Segments: 3, PageSize: 25, Timeout: time.Hour},
		Now:      func() time.Time { return day }}, q
}

// sqsEventOf is the SQS event the event source mapping delivers for m.
func sqsEventOf(t testing.TB, m sweep.Message) json.RawMessage {
	t.Helper()
	body, _ := json.Marshal(m)
	raw, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: fmt.Sprintf("msg-%d", seq.Add(1)),
		Body: string(body), EventSource: "aws:sqs"}}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// deliver hands one segment message to the function as an SQS event and
// reports whether it succeeded.
func deliver(t testing.TB, ctx context.Context, h *Handler, m sweep.Message) bool {
	t.Helper()
	out, err := h.Handle(ctx, sqsEventOf(t, m))
	if err != nil {
		t.Fatalf("segment %d: %v", m.Segment, err)
	}
	return len(out.(events.SQSEventResponse).BatchItemFailures) == 0
}

// drain delivers the queued segment messages until none is left,
// redelivering failed ones.
func drain(t testing.TB, h *Handler, q *segmentQueue) {
	t.Helper()
	for i := 0; ; i++ {
		m, ok := q.pop()
		if !ok {
			return
		}
		if i > 1000 {
			t.Fatal("the segment queue does not drain")
		}
		if !deliver(t, context.Background(), h, m) {
			q.PublishSegments(context.Background(), []sweep.Message{m})
		}
	}
}

// reconcileAll runs the scheduled reconciliation of every member on a day
// of its own: the schedule's trigger, then every segment, and returns the
// merged report.
func reconcileAll(t testing.TB, s *dynamo.PointsStore, o Options) Report {
	t.Helper()
	n, _ := runs.LoadOrStore(s.Table, new(atomic.Int64))
	day := t0.AddDate(0, 0, int(n.(*atomic.Int64).Add(1)))
	h, q := sweeper(s, s, o, day, nil)
	out, err := h.Handle(context.Background(), json.RawMessage(`{"job":"reconcile"}`))
	if err != nil {
		t.Fatal(err)
	}
	if tr := out.(Trigger); !tr.Started || tr.Segments != 3 {
		t.Fatalf("trigger: %+v", tr)
	}
	drain(t, h, q)
	rep, err := h.Summary(context.Background(), sweep.RunKey{Kind: SweepKind, Day: day.Format(time.DateOnly)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Complete {
		t.Fatalf("the run did not complete: %+v", rep)
	}
	return rep
}

func apply(t *testing.T, s *dynamo.PointsStore, id string, fn func(a *points.Account) (points.Change, error)) {
	t.Helper()
	if _, _, err := s.Apply(context.Background(), id, fn, points.Write{}); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
}

func grant(s *dynamo.PointsStore, id string, amount int64, at time.Time) func(a *points.Account) (points.Change, error) {
	return func(a *points.Account) (points.Change, error) {
		e, err := a.Grant(points.Entry{ID: event.NewID(at), MemberID: id, Kind: points.Bonus, Reason: "goodwill", Amount: amount, At: at}, s.Policy)
		return points.Change{Entries: []points.Entry{e}}, err
	}
}

func spend(id string, amount int64, at time.Time) func(a *points.Account) (points.Change, error) {
	return func(a *points.Account) (points.Change, error) {
		e, err := a.Spend(points.Entry{ID: event.NewID(at), MemberID: id, Kind: points.Redeem, Amount: amount, At: at})
		return points.Change{Entries: []points.Entry{e}}, err
	}
}

// seed writes a varied ledger: member a bought, spent and returned
// everything (debt), then earned the debt back; b's lot expired; c has
// pending points.
func seed(t *testing.T, s *dynamo.PointsStore) {
	t.Helper()
	at := t0.AddDate(0, -1, 0)
	apply(t, s, "a", func(a *points.Account) (points.Change, error) {
		e, o := a.EarnPurchase(points.Purchase{OrderID: "O-a", MemberID: "a", Channel: "online", Currency: "CNY", At: at,
			Lines: []points.PurchaseLine{{LineID: "1", SKU: "S", Quantity: 2, Amount: 30000}}}, event.NewID(at), s.Policy, at)
		return points.Change{Entries: []points.Entry{*e}, Order: &o, NewOrder: true}, nil
	})
	apply(t, s, "a", func(a *points.Account) (points.Change, error) { a.Mature(t0); return points.Change{}, nil })
	apply(t, s, "a", spend("a", 250, t0))
	apply(t, s, "a", func(a *points.Account) (points.Change, error) {
		o, err := s.Order(context.Background(), "O-a")
		if err != nil {
			return points.Change{}, err
		}
		e, err := a.ReverseReturn(points.Return{ReturnID: "R-a", OrderID: "O-a", Lines: []points.ReturnLine{{LineID: "1", Quantity: 2}}}, &o, event.NewID(t0), s.Policy, t0)
		return points.Change{Entries: []points.Entry{*e}, Order: &o}, err
	})
	apply(t, s, "a", grant(s, "a", 400, t0)) // repays the 250 debt, 150 left
	apply(t, s, "b", grant(s, "b", 80, t0.AddDate(-3, 0, 0)))
	apply(t, s, "b", grant(s, "b", 20, t0))
	apply(t, s, "b", func(a *points.Account) (points.Change, error) {
		return points.Change{Entries: a.ExpireDue(t0, func() string { return event.NewID(t0) })}, nil
	})
	apply(t, s, "c", func(a *points.Account) (points.Change, error) {
		e, o := a.EarnPurchase(points.Purchase{OrderID: "O-c", MemberID: "c", Channel: "app", Currency: "CNY", At: t0,
			Lines: []points.PurchaseLine{{LineID: "1", SKU: "S", Quantity: 1, Amount: 9900}}}, event.NewID(t0), s.Policy, t0)
		return points.Change{Entries: []points.Entry{*e}, Order: &o, NewOrder: true}, nil
	})
}

func TestCleanLedgerReconcilesAndReportsLiability(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	seed(t, s)
	rep := reconcileAll(t, s, Options{})
	if rep.MembersChecked != 3 || rep.ViolationCount != 0 || len(rep.Violations) != 0 || !rep.Complete {
		t.Fatalf("report %+v", rep)
	}
	// a: 150 available; b: 20 (80 expired); c: 99 pending.
	if want := (Liability{Available: 170, Pending: 99, Outstanding: 269}); rep.Liability != want {
		t.Errorf("liability %+v, want %+v", rep.Liability, want)
	}
	one, err := Reconcile(context.Background(), s, "c")
	if err != nil || one.MembersChecked != 1 || one.Liability.Pending != 99 || one.Liability.Available != 0 {
		t.Errorf("one member: %+v %v", one, err)
	}
	if _, err := Reconcile(context.Background(), s, "nobody"); !fault.Is(err, fault.NotFound) {
		t.Errorf("unknown member: %v", err)
	}
}

func TestPlantedInconsistenciesAreFound(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	seed(t, s)
	ctx := context.Background()
	apply(t, s, "d", grant(s, "d", 60, t0))
	apply(t, s, "d", grant(s, "d", 40, t0.Add(time.Hour)))
	apply(t, s, "e", grant(s, "e", 10, t0))
	key := func(pk, sk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
	}
	// b's balance cache is bumped without an entry.
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.Table), Key: key("ACCOUNT#b", "ACCOUNT"),
		UpdateExpression:          aws.String("SET available = available + :n"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: "50"}}}); err != nil {
		t.Fatal(err)
	}
	// c gets an entry that consumes a lot no credit created.
	bogus, _ := json.Marshal(points.Entry{ID: "01ZZZZZZZZZZZZZZZZZZZZZZZZ", MemberID: "c", Kind: points.Redeem, Amount: -5,
		Lots: []points.LotUse{{Lot: "01NOSUCHLOT000000000000000", Amount: 5}}, At: t0})
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "ACCOUNT#c"}, "sk": &types.AttributeValueMemberS{Value: "ENTRY#01ZZZZZZZZZZZZZZZZZZZZZZZZ"},
		"entry": &types.AttributeValueMemberS{Value: string(bogus)}}}); err != nil {
		t.Fatal(err)
	}
	// d's points move from one lot to another, as a buggy operation would
	// do: the cache still equals the lots and the entries (Apply's own check
	// passes), only the lot replay can tell.
	apply(t, s, "d", func(a *points.Account) (points.Change, error) {
		a.Lots[0].Remaining -= 10 // 60 → 50
		a.Lots[1].Amount += 10    // 40 → 50
		a.Lots[1].Remaining += 10
		return points.Change{}, nil
	})
	// e's only entry is deleted.
	es, _ := s.AllEntries(ctx, "e")
	if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: key("ACCOUNT#e", "ENTRY#"+es[0].ID)}); err != nil {
		t.Fatal(err)
	}

	rep := reconcileAll(t, s, Options{Recheck: 1})
	byMember := map[string][]string{}
	for _, v := range rep.Violations {
		byMember[v.MemberID] = append(byMember[v.MemberID], v.Problem)
	}
	expect := map[string][]string{
		"b": {"balance: account b: available 70", "entries sum to 20, the balance nets 70"},
		"c": {"lot 01NOSUCHLOT000000000000000, which no credit created", "entries sum to 94, the balance nets 99"},
		"d": {"holds 50, its credit entry created 40", "has 50 remaining, the ledger leaves 60"},
		"e": {"open lot", "has no credit entry", "entries sum to 0, the balance nets 10"},
	}
	for m, wants := range expect {
		all := strings.Join(byMember[m], "\n")
		for _, w := range wants {
			if !strings.Contains(all, w) {
				t.Errorf("%s: no problem mentions %q; got:\n%s", m, w, all)
			}
		}
	}
	if _, ok := byMember["a"]; ok {
		t.Errorf("a is consistent, got %v", byMember["a"])
	}
	if rep.MembersChecked != 5 || rep.ViolationCount != len(rep.Violations) || !rep.Complete {
		t.Errorf("report %+v", rep)
	}
	// The liability is what the accounts hold, as they are.
	if want := (Liability{Available: 150 + 70 + 100 + 10, Pending: 99, Outstanding: 330 + 99}); rep.Liability != want {
		t.Errorf("liability %+v, want %+v", rep.Liability, want)
	}

	// The handler fails the invocation so the error alarm fires, and logs
	// every violation.
	var logs bytes.Buffer
	h, _ := sweeper(s, s, Options{Recheck: 1}, t0, &logs)
	if _, err := h.Handle(ctx, json.RawMessage(`{"member_id":"d"}`)); err == nil {
		t.Error("violations must fail the invocation")
	}
	if !strings.Contains(logs.String(), `"msg":"ledger violation","service":"points-reconcile","stage":"local","member_id":"d"`) {
		t.Errorf("violation not logged:\n%s", logs.String())
	}
	if rep, err := h.Handle(ctx, json.RawMessage(`{"job":"reconcile","member_id":"a"}`)); err != nil || rep.(Report).MembersChecked != 1 {
		t.Errorf("clean member: %+v %v", rep, err)
	}
	for _, bad := range []string{`{"job":"nightly"}`, `{"job":"reconcile","member_id":"a","resume":"2026-03-10"}`,
		`{"job":"reconcile","resume":"soon"}`, `{"job":"reconcile","segments":4}`, `[1]`} {
		if _, err := h.Handle(ctx, json.RawMessage(bad)); !fault.Is(err, fault.Invalid) {
			t.Errorf("payload %s: %v", bad, err)
		}
	}
}

func TestWritesDuringReconciliationAreNotViolations(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	const members = 6
	for i := range members {
		apply(t, s, fmt.Sprintf("m%d", i), grant(s, fmt.Sprintf("m%d", i), 1000, t0))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var writes atomic.Int64
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("m%d", (i+w)%members)
				fn := grant(s, id, 7, t0)
				if i%2 == 1 {
					fn = spend(id, 5, t0)
				}
				if _, _, err := s.Apply(ctx, id, fn, points.Write{}); err == nil {
					writes.Add(1)
				}
			}
		})
	}
	verified := 0
	for range 4 {
		rep := reconcileAll(t, s, Options{})
		if rep.ViolationCount != 0 || rep.MembersChecked != members {
			t.Errorf("concurrent writes reported as violations: %+v", rep)
		}
		verified += members - len(rep.Unsettled)
	}
	cancel()
	wg.Wait()
	if writes.Load() == 0 || verified == 0 {
		t.Fatalf("%d writes raced with the reconciliation, %d accounts verified", writes.Load(), verified)
	}
	t.Logf("%d writes during 4 reconciliations; %d of %d account checks verified", writes.Load(), verified, 4*members)
}

// cancelAfter is a Ledger that cancels the delivery after n reads of a
// ledger, as a crash or the Lambda deadline would.
type cancelAfter struct {
	Ledger
	n      atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelAfter) AllEntries(ctx context.Context, id string) ([]points.Entry, error) {
	if c.n.Add(-1) < 0 {
		c.cancel()
	}
	return c.Ledger.AllEntries(ctx, id)
}

// TestKilledSegmentIsRedeliveredAndCountedOnce: a segment's delivery killed
// in the middle of its pages fails and is redelivered; the run's totals
// count every account exactly once. A second trigger the same day starts
// nothing, and a late redelivery changes nothing.
func TestKilledSegmentIsRedeliveredAndCountedOnce(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	const members = 30
	for i := range members {
		apply(t, s, fmt.Sprintf("m%02d", i), grant(s, fmt.Sprintf("m%02d", i), int64(i+1), t0))
	}
	day := t0.AddDate(1, 0, 0)
	h, q := sweeper(s, s, Options{}, day, nil)
	ctx := context.Background()
	if out, err := h.Handle(ctx, json.RawMessage(`{"job":"reconcile"}`)); err != nil || !out.(Trigger).Started {
		t.Fatalf("trigger: %+v %v", out, err)
	}
	killCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	killer := &cancelAfter{Ledger: s, cancel: cancel}
	killer.n.Store(4)
	killed, _ := sweeper(s, killer, Options{}, day, nil)
	killed.Segments = q
	killed.Config.PageSize = 4 // the kill lands after some checkpointed pages
	m, _ := q.pop()
	if deliver(t, killCtx, killed, m) || killer.n.Load() >= 0 {
		t.Fatal("the delivery was not killed")
	}
	q.PublishSegments(ctx, []sweep.Message{m}) // SQS redelivers it
	drain(t, h, q)
	rep, err := h.Summary(ctx, sweep.RunKey{Kind: SweepKind, Day: day.Format(time.DateOnly)})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(members * (members + 1) / 2); !rep.Complete || rep.MembersChecked != members || rep.Liability.Available != want || rep.ViolationCount != 0 {
		t.Errorf("report %+v, want %d members holding %d", rep, members, want)
	}
	if out, err := h.Handle(ctx, json.RawMessage(`{"job":"reconcile"}`)); err != nil || out.(Trigger).Started || out.(Trigger).Status != sweep.Succeeded {
		t.Errorf("second trigger: %+v %v", out, err)
	}
	if _, ok := q.pop(); ok {
		t.Error("a second trigger fanned out")
	}
	if !deliver(t, ctx, h, m) {
		t.Error("a late redelivery failed")
	}
	if again, _ := h.Summary(ctx, sweep.RunKey{Kind: SweepKind, Day: day.Format(time.DateOnly)}); again.MembersChecked != members {
		t.Errorf("a late redelivery changed the totals: %+v", again)
	}
}

// TestRunPastItsDeadlineFailsAndResumes: a lost segment leaves the run
// running until a trigger past its deadline marks it failed; resuming
// re-enqueues only the missing segment and the totals come out whole.
func TestRunPastItsDeadlineFailsAndResumes(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for i := range 10 {
		apply(t, s, fmt.Sprintf("m%d", i), grant(s, fmt.Sprintf("m%d", i), 10, t0))
	}
	now := t0.AddDate(2, 0, 0)
	h, q := sweeper(s, s, Options{}, now, nil)
	h.Now = func() time.Time { return now }
	ctx := context.Background()
	if _, err := h.Handle(ctx, json.RawMessage(`{"job":"reconcile"}`)); err != nil {
		t.Fatal(err)
	}
	lost, _ := q.pop()
	drain(t, h, q)
	now = now.Add(2 * time.Hour)
	out, err := h.Handle(ctx, json.RawMessage(`{"job":"reconcile"}`))
	if tr, _ := out.(Trigger); err != nil || tr.Status != sweep.Failed || len(tr.Missing) != 1 || tr.Missing[0] != lost.Segment {
		t.Fatalf("past the deadline: %+v %v", out, err)
	}
	day := t0.AddDate(2, 0, 0).Format(time.DateOnly)
	if out, err = h.Handle(ctx, json.RawMessage(`{"job":"reconcile","resume":"`+day+`"}`)); err != nil || !out.(Trigger).Resumed {
		t.Fatalf("resume: %+v %v", out, err)
	}
	drain(t, h, q)
	rep, err := h.Summary(ctx, sweep.RunKey{Kind: SweepKind, Day: day})
	if err != nil || !rep.Complete || rep.MembersChecked != 10 || rep.Liability.Available != 100 {
		t.Errorf("after the resume: %+v %v", rep, err)
	}
}

// TestDomainOperationsKeepTheLedgerConsistent drives random sequences of
// the domain's operations on an account and checks the ledger after each.
func TestDomainOperationsKeepTheLedgerConsistent(t *testing.T) {
	t.Parallel()
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		p := points.DefaultPolicy()
		p.ExpiryMonths = 1 + rng.IntN(3)
		p.ExpiryRound = []points.Rounding{points.NoRounding, points.MonthEnd, points.YearEnd}[rng.IntN(3)]
		if rng.IntN(2) == 0 {
			p.Reversal = points.Forfeit
		}
		now := t0
		a := points.NewAccount("m", p, now)
		var entries []points.Entry
		var orders []*points.Order
		n := 0
		id := func() string { n++; return fmt.Sprintf("%s-%04d", event.NewID(now)[:10], n) }
		var trail []string
		for step := range 60 {
			switch op := rng.IntN(6); op {
			case 0:
				e, o := a.EarnPurchase(points.Purchase{OrderID: fmt.Sprintf("O%d", step), MemberID: "m", Channel: "online", Currency: "CNY", At: now,
					Lines: []points.PurchaseLine{{LineID: "1", SKU: "A", Quantity: 1 + rng.Int64N(3), Amount: 100 + rng.Int64N(20000)},
						{LineID: "2", SKU: "B", Quantity: 1 + rng.Int64N(3), Amount: 100 + rng.Int64N(5000)}}}, id(), p, now)
				if e != nil {
					entries = append(entries, *e)
				}
				orders = append(orders, &o)
				trail = append(trail, "earn")
			case 1:
				e, err := a.Grant(points.Entry{ID: id(), MemberID: "m", Kind: points.Bonus, Amount: 1 + rng.Int64N(300), At: now}, p)
				if err != nil {
					t.Fatal(err)
				}
				entries = append(entries, e)
				trail = append(trail, "grant")
			case 2:
				if a.Available == 0 {
					continue
				}
				e, err := a.Spend(points.Entry{ID: id(), MemberID: "m", Kind: points.Redeem, Amount: 1 + rng.Int64N(a.Available), At: now})
				if err != nil {
					t.Fatal(err)
				}
				entries = append(entries, e)
				trail = append(trail, "spend")
			case 3:
				if len(orders) == 0 {
					continue
				}
				o := orders[rng.IntN(len(orders))]
				var lines []points.ReturnLine
				for _, l := range o.Lines {
					if left := l.Quantity - l.ReturnedQty; left > 0 && rng.IntN(2) == 0 {
						lines = append(lines, points.ReturnLine{LineID: l.LineID, Quantity: 1 + rng.Int64N(left)})
					}
				}
				if len(lines) == 0 {
					continue
				}
				e, err := a.ReverseReturn(points.Return{ReturnID: id(), OrderID: o.ID, Lines: lines}, o, id(), p, now)
				if err != nil {
					t.Fatal(err)
				}
				if e != nil {
					entries = append(entries, *e)
				}
				trail = append(trail, "return")
			case 4:
				now = now.Add(time.Duration(rng.IntN(40*24)) * time.Hour)
				a.Mature(now)
				entries = append(entries, a.ExpireDue(now, id)...)
				trail = append(trail, "night")
			case 5:
				a.EvaluateDowngrade(p, now)
			}
			if problems := Check(a, entries); len(problems) > 0 {
				t.Fatalf("seed %d after %v: %v", seed, trail, problems)
			}
		}
	}
}

func TestNewHandlerReadsItsEnvironment(t *testing.T) {
	t.Setenv(env.TableVar("points"), "")
	if _, err := newHandler(); err == nil || !strings.Contains(err.Error(), "CLIENTELE_TABLE_POINTS") {
		t.Errorf("missing table: %v", err)
	}
	t.Setenv(env.TableVar("points"), "points")
	if _, err := newHandler(); err == nil || !strings.Contains(err.Error(), env.QueueURLVar(sweepQueue)) {
		t.Errorf("missing segment queue: %v", err)
	}
	t.Setenv(env.QueueURLVar(sweepQueue), "http://127.0.0.1:1/queue/points-reconcile-sweep")
	t.Setenv(env.TimeZone, "Asia/Shanghai")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	h, err := newHandler()
	if err != nil {
		t.Fatal(err)
	}
	if h.Config.Zone.String() != "Asia/Shanghai" {
		t.Errorf("zone %v", h.Config.Zone)
	}
}
