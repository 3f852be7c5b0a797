package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamotest"
	"clientele/shared/env"
	"clientele/shared/event"
	"clientele/shared/logging"
	"clientele/shared/points"
)

// The worker's tests run against DynamoDB Local (or the endpoint in
// CLIENTELE_TEST_DYNAMODB_ENDPOINT); each test gets its own table.

var db *dynamodb.Client

func TestMain(m *testing.M) {
	dynamotest.Main(m, "points-worker", func(_ context.Context, c *dynamodb.Client) error {
		db = c
		return nil
	})
}

// Member ids used in testdata/sqs-batch.json.
const (
	memberA  = "01JNZ7Q8R9S0T1V2W3X4Y5Z6A7" // registers (referred by referrer), buys, returns, answers a survey
	referrer = "01JNYZ0K3M5P7Q9S1T3V5W7X9Y"
	orderID  = "POS-SH01-20260310-0042"
)

var start = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// clock is a controllable time source shared by the store and the handler.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) Now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Add(d time.Duration) {
	c.ns.Add(int64(d))
}

// recorder is a Publisher that keeps what it was asked to publish.
type recorder struct {
	mu   sync.Mutex
	evs  []event.Envelope
	fail bool
}

func (r *recorder) Publish(_ context.Context, evs ...event.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("queue down")
	}
	r.evs = append(r.evs, evs...)
	return nil
}

func (r *recorder) ofType(typ string) []event.Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event.Envelope
	for _, e := range r.evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type fixture struct {
	h     *Handler
	store *dynamo.PointsStore
	pub   *recorder
	clock *clock
	table string
	logs  *lockedBuffer
}

var tableSeq atomic.Int64

func newFixture(t *testing.T) *fixture {
	t.Helper()
	table := fmt.Sprintf("points-worker-%d-%d", time.Now().UnixNano(), tableSeq.Add(1))
	if err := dynamo.CreateTable(context.Background(), db, table); err != nil {
		t.Fatal(err)
	}
	c := newClock(start)
	policy := points.DefaultPolicy()
	store := &dynamo.PointsStore{Client: db, Table: table, Policy: policy, Now: c.Now}
	pub := &recorder{}
	logs := &lockedBuffer{}
	h := &Handler{Store: store, Intake: store, Eraser: store, Outbox: &dynamo.Outbox{Client: db, Table: table}, Publisher: pub, Policy: policy,
		Log: logging.New(logs, service), Now: c.Now, Service: service}
	return &fixture{h: h, store: store, pub: pub, clock: c, table: table, logs: logs}
}

// batch reads testdata/sqs-batch.json: one message per event type, keyed by
// the event type.
func batch(t *testing.T) map[string]events.SQSMessage {
	t.Helper()
	raw, err := os.ReadFile("testdata/sqs-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	out := map[string]events.SQSMessage{}
	for _, m := range ev.Records {
		out[*m.MessageAttributes["type"].StringValue] = m
	}
	return out
}

// message wraps an envelope in an SQS message (as the event source does).
func message(t *testing.T, id string, e event.Envelope) events.SQSMessage {
	t.Helper()
	body, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return events.SQSMessage{MessageId: id, Body: string(body), Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
}

func envelope(t *testing.T, typ string, data any) event.Envelope {
	t.Helper()
	e, err := event.New(typ, "test", start, data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// deliver runs one batch and returns the ids of the failed messages.
func (f *fixture) deliver(t *testing.T, msgs ...events.SQSMessage) []string {
	t.Helper()
	resp, err := f.h.Handle(context.Background(), events.SQSEvent{Records: msgs})
	if err != nil {
		t.Fatalf("Handle returned an error (the whole batch would be retried): %v", err)
	}
	var ids []string
	for _, fl := range resp.BatchItemFailures {
		ids = append(ids, fl.ItemIdentifier)
	}
	return ids
}

func (f *fixture) account(t *testing.T, member string) *points.Account {
	t.Helper()
	a, err := f.store.Account(context.Background(), member)
	if err != nil {
		t.Fatalf("account %s: %v", member, err)
	}
	return a
}

// state is what a member's ledger looks like, independent of generated ids.
type state struct {
	Available, Pending, Debt, Lifetime, Orders int64
	// The purchase statistics: lifetime and net spend, purchase days,
	// first and last purchase.
	Spend, NetSpend, PurchaseDays int64
	FirstPurchase, LastPurchase   string
	Tier, ReferredBy              string
	ReferralPaid                  bool
	Lots                          []string
	Entries                       []string
}

func (f *fixture) state(t *testing.T, member string) state {
	t.Helper()
	a := f.account(t, member)
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
	s := state{Available: a.Available, Pending: a.Pending, Debt: a.Debt, Lifetime: a.LifetimeEarned, Orders: a.Stats.TotalOrders,
		Tier: a.Tier, ReferredBy: a.ReferredBy, ReferralPaid: a.ReferralPaid,
		Spend: a.Stats.LifetimeSpend, NetSpend: a.Stats.NetSpend, PurchaseDays: int64(a.Stats.PurchaseDays),
		FirstPurchase: a.Stats.FirstPurchaseAt.Format(time.RFC3339), LastPurchase: a.Stats.LastPurchaseAt.Format(time.RFC3339)}
	for _, l := range a.Lots {
		s.Lots = append(s.Lots, fmt.Sprintf("%d/%d pending=%v expires=%s", l.Remaining, l.Amount, l.Pending(), l.ExpiresAt.Format(time.DateOnly)))
	}
	sort.Strings(s.Lots)
	es, err := f.store.AllEntries(context.Background(), member)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, e := range es {
		sum += e.Amount
		s.Entries = append(s.Entries, fmt.Sprintf("%s %s %+d %s", e.Kind, e.Reason, e.Amount, e.SourceID))
	}
	sort.Strings(s.Entries)
	if sum != a.Net() {
		t.Errorf("%s: entries sum to %d, balance nets %d", member, sum, a.Net())
	}
	return s
}

func ids(ms ...events.SQSMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.MessageId
	}
	return out
}

func TestEveryMessageThreeTimesOutOfOrderEqualsOnce(t *testing.T) {
	t.Parallel()
	b := batch(t)
	reg, buy, ret, bon, era := b[event.TypeMemberRegistered], b[event.TypePointsPurchase], b[event.TypePointsReturn],
		b[event.TypePointsBonusRequested], b[event.TypeMemberErased]

	// Once, in the natural order.
	once := newFixture(t)
	for _, m := range []events.SQSMessage{reg, buy, ret, bon, era} {
		if failed := once.deliver(t, m); len(failed) != 0 {
			t.Fatalf("single delivery of %s failed", *m.MessageAttributes["type"].StringValue)
		}
	}
	for _, e := range once.pub.ofType(event.TypePointsBonusRequested) {
		if failed := once.deliver(t, message(t, "referral", e)); len(failed) != 0 {
			t.Fatal("referral bonus failed")
		}
	}

	// Three times, out of order: the return overtakes its purchase, which
	// parks it until the purchase is applied (no message fails).
	f := newFixture(t)
	if failed := f.deliver(t, ret, bon, era, buy, reg); len(failed) != 0 {
		t.Fatalf("first round failed %v; the return that overtook its purchase must be parked", failed)
	}
	if failed := f.deliver(t, reg, ret, buy, era, bon); len(failed) != 0 {
		t.Fatalf("second round failed %v", failed)
	}
	if failed := f.deliver(t, buy, bon, reg, ret, era); len(failed) != 0 {
		t.Fatalf("third round failed %v", failed)
	}
	if failed := f.deliver(t, ret); len(failed) != 0 {
		t.Fatalf("fourth delivery of the return failed %v", failed)
	}
	refs := f.pub.ofType(event.TypePointsBonusRequested)
	if len(refs) != 1 {
		t.Fatalf("referral bonus requested %d times, want once", len(refs))
	}
	for range 3 {
		if failed := f.deliver(t, message(t, "referral", refs[0])); len(failed) != 0 {
			t.Fatal("referral bonus failed")
		}
	}

	for _, m := range []string{memberA, referrer} {
		got, want := f.state(t, m), once.state(t, m)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s after redelivery:\n%+v\nafter one delivery:\n%+v", m, got, want)
		}
	}
	// The expected numbers, from the default policy: 129 + 50 points
	// pending for the order, 25 reversed by returning one of two units of
	// line 2, the welcome bonus 100 and the survey bonus 50 available.
	a := f.state(t, memberA)
	if a.Available != 150 || a.Pending != 154 || a.Debt != 0 || a.Orders != 1 || a.ReferredBy != referrer || !a.ReferralPaid {
		t.Errorf("member = %+v", a)
	}
	// Statistics, kept with the purchase and the return: 129.00 + 2 × 25.00
	// spent, one 25.00 unit back, one purchase day.
	if a.Spend != 17900 || a.NetSpend != 15400 || a.PurchaseDays != 1 ||
		a.FirstPurchase != "2026-03-10T11:00:00Z" || a.LastPurchase != "2026-03-10T11:00:00Z" {
		t.Errorf("statistics = %+v", a)
	}
	if r := f.account(t, referrer); r.Available != 200 {
		t.Errorf("referrer has %d available, want the 200 referral bonus", r.Available)
	}
	o, err := f.store.Order(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Returns, []string{"RET-SH01-0007"}) || o.Lines[1].ReturnedQty != 1 || o.Lines[1].Reversed != 25 || o.Version != 2 {
		t.Errorf("order = %+v", o)
	}
	// Published events were cleared from the outbox.
	if left, _ := (&dynamo.Outbox{Client: db, Table: f.table}).Pending(context.Background(), start.Add(time.Hour), 10); len(left) != 0 {
		t.Errorf("outbox still holds %d events", len(left))
	}
}

func TestPoisonMessagesFailAloneInTheirBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := batch(t)
	good := []events.SQSMessage{b[event.TypeMemberRegistered], b[event.TypePointsPurchase], b[event.TypePointsBonusRequested]}
	withData := func(id, typ string, data any) events.SQSMessage { return message(t, id, envelope(t, typ, data)) }
	v2 := envelope(t, event.TypePointsBonusRequested, event.BonusRequested{MemberID: memberA, Reason: "survey", Amount: 5, SourceID: "s-v2"})
	v2.Version = 2
	poison := []events.SQSMessage{
		{MessageId: "not-json", Body: "{not json"},
		{MessageId: "no-data", Body: `{"id":"01JP3Z","type":"points.purchase","version":1}`},
		withData("unknown-type", "points.teleported", map[string]string{"member_id": memberA}),
		message(t, "version-2", v2),
		withData("negative-amount", event.TypePointsPurchase, points.Purchase{OrderID: "O-neg", MemberID: memberA, Channel: "online",
			Currency: "CNY", Lines: []points.PurchaseLine{{SKU: "X", Quantity: 1, Amount: -500}}}),
		withData("unknown-currency", event.TypePointsPurchase, points.Purchase{OrderID: "O-xyz", MemberID: memberA, Channel: "online",
			Currency: "XYZ", Lines: []points.PurchaseLine{{SKU: "X", Quantity: 1, Amount: 500}}}),
		withData("bonus-too-big", event.TypePointsBonusRequested, event.BonusRequested{MemberID: memberA, Reason: "goodwill", Amount: 10001, SourceID: "g-1"}),
		withData("bonus-zero", event.TypePointsBonusRequested, event.BonusRequested{MemberID: memberA, Reason: "goodwill", Amount: 0, SourceID: "g-2"}),
		withData("bonus-reason", event.TypePointsBonusRequested, event.BonusRequested{MemberID: memberA, Reason: "because", Amount: 10, SourceID: "g-3"}),
		withData("bonus-no-source", event.TypePointsBonusRequested, event.BonusRequested{MemberID: memberA, Reason: "survey", Amount: 10}),
		withData("return-unknown-line", event.TypePointsReturn, points.Return{ReturnID: "R-9", OrderID: orderID, Lines: []points.ReturnLine{{LineID: "7", Quantity: 1}}}),
		withData("return-too-many", event.TypePointsReturn, points.Return{ReturnID: "R-10", OrderID: orderID, Lines: []points.ReturnLine{{LineID: "1", Quantity: 2}}}),
		withData("return-other-member", event.TypePointsReturn, points.Return{ReturnID: "R-11", OrderID: orderID, MemberID: referrer, Lines: []points.ReturnLine{{LineID: "1", Quantity: 1}}}),
		withData("registered-no-member", event.TypeMemberRegistered, event.MemberRegistered{}),
	}
	// Poison interleaved with good messages; the good ones come first for
	// the returns (their order must exist for the line checks to run).
	msgs := append(slices.Clone(good), poison...)
	for range 5 { // the queue's maxReceiveCount
		failed := f.deliver(t, msgs...)
		if !slices.Equal(failed, ids(poison...)) {
			t.Fatalf("failed %v\nwant exactly the poison messages %v", failed, ids(poison...))
		}
	}
	a := f.state(t, memberA)
	if a.Available != 150 || a.Pending != 179 {
		t.Errorf("good messages not applied exactly once: %+v", a)
	}
	if _, err := f.store.Order(context.Background(), "O-neg"); err == nil {
		t.Error("an invalid purchase was recorded")
	}
	if !strings.Contains(f.logs.String(), `"request_id":"not-json"`) || !strings.Contains(f.logs.String(), "will reach the DLQ") {
		t.Errorf("poison not logged with its message id:\n%s", f.logs.String())
	}
}

func TestReturnBeforePurchaseIsParkedUntilThePurchaseArrives(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := batch(t)
	ret, buy := b[event.TypePointsReturn], b[event.TypePointsPurchase]
	for range 3 {
		// Failing it would send it to the DLQ after maxReceiveCount.
		if failed := f.deliver(t, ret); len(failed) != 0 {
			t.Fatalf("a return for an order not applied yet must be parked, not failed: %v", failed)
		}
	}
	if !strings.Contains(f.logs.String(), "return parked until its order is applied") {
		t.Error("the deferred return was not logged as parked")
	}
	if failed := f.deliver(t, buy, ret); len(failed) != 0 {
		t.Fatalf("failed %v", failed)
	}
	if a := f.state(t, memberA); a.Pending != 154 || len(a.Entries) != 2 {
		t.Errorf("after purchase and return: %+v", a)
	}
}

func TestReturnOfEverythingAfterRedemptionRecordsDebt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	b := batch(t)
	if failed := f.deliver(t, b[event.TypePointsPurchase]); len(failed) != 0 {
		t.Fatal(failed)
	}
	// The return window ends; the member spends what matured.
	f.clock.Add(15 * 24 * time.Hour)
	if _, _, err := f.store.Apply(ctx, memberA, func(a *points.Account) (points.Change, error) {
		a.Mature(f.clock.Now())
		e, err := a.Spend(points.Entry{ID: event.NewID(f.clock.Now()), MemberID: memberA, Kind: points.Redeem, Amount: 150, Reason: "voucher", At: f.clock.Now()})
		return points.Change{Entries: []points.Entry{e}}, err
	}, points.Write{}); err != nil {
		t.Fatal(err)
	}
	full := message(t, "full-return", envelope(t, event.TypePointsReturn, points.Return{ReturnID: "R-all", OrderID: orderID,
		Lines: []points.ReturnLine{{LineID: "1", Quantity: 1}, {LineID: "2", Quantity: 2}}}))
	for range 3 { // a redelivered full return must succeed, not fail its line checks
		if failed := f.deliver(t, full); len(failed) != 0 {
			t.Fatalf("failed %v: %s", failed, f.logs.String())
		}
	}
	a := f.state(t, memberA)
	if a.Available != 0 || a.Pending != 0 || a.Debt != 150 || a.Lifetime != 0 {
		t.Errorf("after returning everything: %+v", a)
	}
}

func TestReferralPaidWhenRegistrationArrivesAfterFirstPurchase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := batch(t)
	if failed := f.deliver(t, b[event.TypePointsPurchase], b[event.TypeMemberRegistered]); len(failed) != 0 {
		t.Fatal(failed)
	}
	second := message(t, "second-order", envelope(t, event.TypePointsPurchase, points.Purchase{OrderID: "O-2", MemberID: memberA,
		Channel: "online", Currency: "CNY", Lines: []points.PurchaseLine{{SKU: "S", Quantity: 1, Amount: 1000}}}))
	if failed := f.deliver(t, second, b[event.TypeMemberRegistered]); len(failed) != 0 {
		t.Fatal(failed)
	}
	refs := f.pub.ofType(event.TypePointsBonusRequested)
	if len(refs) != 1 {
		t.Fatalf("referral requested %d times, want once", len(refs))
	}
	var d event.BonusRequested
	_ = json.Unmarshal(refs[0].Data, &d)
	if d != (event.BonusRequested{MemberID: referrer, Reason: "referral", Amount: 200, SourceID: "referral:" + memberA}) {
		t.Errorf("referral request = %+v", d)
	}
	// The same referral requested twice (e.g. relayed again with another
	// event id) pays once: it deduplicates on the source id.
	again := refs[0]
	again.ID = event.NewID(start)
	if failed := f.deliver(t, message(t, "r1", refs[0]), message(t, "r2", again)); len(failed) != 0 {
		t.Fatal(failed)
	}
	if r := f.account(t, referrer); r.Available != 200 {
		t.Errorf("referrer has %d", r.Available)
	}
}

func TestConcurrentRedeliveriesEarnOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := batch(t)
	var wg sync.WaitGroup
	var failures atomic.Int64
	for range 8 {
		wg.Go(func() {
			resp, _ := f.h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{b[event.TypePointsPurchase], b[event.TypeMemberRegistered]}})
			failures.Add(int64(len(resp.BatchItemFailures)))
		})
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Errorf("%d deliveries failed; racing redeliveries must succeed as no-ops", n)
	}
	a := f.state(t, memberA)
	if a.Available != 100 || a.Pending != 179 || a.Orders != 1 || len(a.Entries) != 2 {
		t.Errorf("after 8 concurrent deliveries: %+v", a)
	}
	if n := len(f.pub.ofType(event.TypePointsBonusRequested)); n != 1 {
		t.Errorf("referral requested %d times", n)
	}
}

func TestUnpublishedReferralStaysInOutbox(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.pub.fail = true
	b := batch(t)
	if failed := f.deliver(t, b[event.TypeMemberRegistered], b[event.TypePointsPurchase]); len(failed) != 0 {
		t.Fatalf("a publish failure after the commit must not fail the message: %v", failed)
	}
	left, err := (&dynamo.Outbox{Client: db, Table: f.table}).Pending(context.Background(), start.Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].Type != event.TypePointsBonusRequested {
		t.Fatalf("outbox = %+v, want the referral request for the relay", left)
	}
}

func TestDeadlineLeavesUnstartedMessagesForRedelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := batch(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second) // less than the margin
	defer cancel()
	msgs := []events.SQSMessage{b[event.TypeMemberRegistered], b[event.TypePointsPurchase]}
	resp, err := f.h.Handle(ctx, events.SQSEvent{Records: msgs})
	if err != nil || len(resp.BatchItemFailures) != 2 {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	if _, err := f.store.Account(context.Background(), memberA); err == nil {
		t.Error("a message was applied after the deadline margin")
	}
}

func TestLogsCarryEventIDsAndNoPersonalData(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := batch(t)
	f.deliver(t, b[event.TypeMemberRegistered], b[event.TypePointsPurchase], b[event.TypeMemberErased])
	logs := f.logs.String()
	for _, typ := range []string{event.TypeMemberRegistered, event.TypePointsPurchase, event.TypeMemberErased} {
		e, _ := event.Parse([]byte(b[typ].Body))
		if !strings.Contains(logs, `"request_id":"`+e.ID+`"`) {
			t.Errorf("no log record for %s carries its event id", typ)
		}
	}
	for _, leak := range []string{"ARHS001", "12900", "SH01"} {
		if strings.Contains(logs, leak) {
			t.Errorf("log leaks message content %q:\n%s", leak, logs)
		}
	}
}

func TestNewHandlerReadsItsEnvironment(t *testing.T) {
	t.Setenv(env.TableVar("points"), "")
	if _, err := newHandler(); err == nil || !strings.Contains(err.Error(), "CLIENTELE_TABLE_POINTS") {
		t.Errorf("missing table: %v", err)
	}
	t.Setenv(env.TableVar("points"), "points")
	t.Setenv(env.PointsPolicy, `{"reversal":"sometimes"}`)
	if _, err := newHandler(); err == nil {
		t.Error("an invalid policy must stop startup")
	}
	t.Setenv(env.PointsPolicy, `{"welcome_bonus":300}`)
	t.Setenv(env.EventRoutes, "points.bonus_requested=points-events")
	t.Setenv(env.QueueURLVar("points-events"), "http://127.0.0.1:1/queue/points-events")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	h, err := newHandler()
	if err != nil {
		t.Fatal(err)
	}
	if h.Policy.WelcomeBonus != 300 || h.Policy.ReferralBonus != 200 {
		t.Errorf("policy = %+v", h.Policy)
	}
}
