package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
	"clientele/shared/fault"
	"clientele/shared/logging"
	"clientele/shared/member"
	"clientele/shared/points"
	"clientele/shared/sweep"
)

// The nightly tests run against DynamoDB Local (or the endpoint in
// CLIENTELE_TEST_DYNAMODB_ENDPOINT); each test gets its own tables, since
// the run scans them whole.

var db *dynamodb.Client

func TestMain(m *testing.M) {
	dynamotest.Main(m, "points-nightly", func(_ context.Context, c *dynamodb.Client) error {
		db = c
		return nil
	})
}

// clock is a controllable time source shared by the store and the run.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }
func day(s string, hour int) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Add(time.Duration(hour) * time.Hour)
}

type recorder struct {
	mu  sync.Mutex
	evs []event.Envelope
}

func (r *recorder) Publish(_ context.Context, evs ...event.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, evs...)
	return nil
}

// expiring returns the points.expiring events published so far, as
// "lot days-ahead" strings, and forgets them.
func (r *recorder) expiring(t *testing.T) []event.PointsExpiring {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event.PointsExpiring
	for _, e := range r.evs {
		if e.Type != event.TypePointsExpiring {
			t.Errorf("published %s", e.Type)
			continue
		}
		var d event.PointsExpiring
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	r.evs = nil
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

type fixture struct {
	n       *Nightly
	store   *dynamo.PointsStore
	members *dynamo.MemberStore
	pub     *recorder
	clock   *clock
	table   string
	queue   *segmentQueue
}

// segmentQueue stands in for the points-nightly-sweep queue.
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

func (q *segmentQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

var seq atomic.Int64

// newFixture builds a nightly run over fresh tables: three scan segments,
// pages of four items, so that runs cross segments and pages.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	suffix := fmt.Sprintf("%d-%d", time.Now().UnixNano(), seq.Add(1))
	pointsTable, membersTable := "nightly-points-"+suffix, "nightly-members-"+suffix
	for _, name := range []string{pointsTable, membersTable} {
		if err := dynamo.CreateTable(ctx, db, name); err != nil {
			t.Fatal(err)
		}
	}
	c := &clock{}
	policy := points.DefaultPolicy()
	store := &dynamo.PointsStore{Client: db, Table: pointsTable, Policy: policy, Now: c.Now}
	pub := &recorder{}
	f := &fixture{store: store, members: &dynamo.MemberStore{Client: db, Table: membersTable, Key: []byte("k")},
		pub: pub, clock: c, table: pointsTable, queue: &segmentQueue{}}
	f.n = f.nightly(store, membersTable)
	return f
}

// nightly builds the function over the fixture's tables with the given
// ledger (a test may wrap the store).
func (f *fixture) nightly(l Ledger, membersTable string) *Nightly {
	return &Nightly{Ledger: l, Members: &MemberTable{Client: db, Table: membersTable},
		Outbox: &dynamo.Outbox{Client: db, Table: f.table}, Publisher: f.pub, Policy: f.store.Policy,
		Log: logging.New(&lockedBuffer{}, service), Now: f.clock.Now, Service: service,
		Runs: &dynamo.SweepStore{Client: db, Table: f.table}, Segments: f.queue,
		Accounts: &dynamo.PointsAccountReader{Client: db, Table: f.table},
		Config:   sweep.Config{Segments: 3, PageSize: 4, Timeout: time.Hour}}
}

// sqsEventOf is the SQS event the event source mapping delivers for m.
func sqsEventOf(t testing.TB, m sweep.Message) json.RawMessage {
	t.Helper()
	body, _ := json.Marshal(m)
	raw, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: fmt.Sprintf("msg-%d", seq.Add(1)),
		Body: string(body), EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:points-nightly-sweep"}}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// deliver hands one segment message to the function as an SQS event and
// reports whether it succeeded (the message is then deleted).
func (f *fixture) deliver(t testing.TB, ctx context.Context, n *Nightly, m sweep.Message) bool {
	t.Helper()
	out, err := n.Handle(ctx, sqsEventOf(t, m))
	if err != nil {
		t.Fatalf("segment %d: %v", m.Segment, err)
	}
	return len(out.(events.SQSEventResponse).BatchItemFailures) == 0
}

// drain delivers the queued segment messages until none is left; a failed
// delivery is redelivered.
func (f *fixture) drain(t testing.TB) {
	t.Helper()
	for i := 0; ; i++ {
		m, ok := f.queue.pop()
		if !ok {
			return
		}
		if i > 1000 {
			t.Fatal("the segment queue does not drain")
		}
		if !f.deliver(t, context.Background(), f.n, m) {
			f.queue.PublishSegments(context.Background(), []sweep.Message{m})
		}
	}
}

// trigger fires the schedule at time at.
func (f *fixture) trigger(t testing.TB, at time.Time) Trigger {
	t.Helper()
	f.clock.Set(at)
	out, err := f.n.Handle(context.Background(), json.RawMessage(`{"job":"nightly"}`))
	if err != nil {
		t.Fatalf("nightly at %s: %v", at, err)
	}
	return out.(Trigger)
}

// night runs the job at time at: the schedule starts the day's run and
// the segments are processed until the run is done.
func (f *fixture) night(t *testing.T, at time.Time) Result {
	t.Helper()
	tr := f.trigger(t, at)
	if !tr.Started || tr.Segments != 3 {
		t.Fatalf("nightly at %s did not start a run: %+v", at, tr)
	}
	f.drain(t)
	res, err := f.n.Summary(context.Background(), sweep.RunKey{Kind: SweepKind, Day: at.Format(time.DateOnly)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Complete || res.Day != at.Format(time.DateOnly) {
		t.Fatalf("nightly at %s: %+v", at, res)
	}
	return res
}

// again fires the schedule once more the same day: it starts nothing.
func (f *fixture) again(t *testing.T, at time.Time) {
	t.Helper()
	if tr := f.trigger(t, at); tr.Started || tr.Status != sweep.Succeeded || f.queue.len() != 0 {
		t.Errorf("a second trigger at %s: %+v, %d messages", at, tr, f.queue.len())
	}
}

// apply changes an account at time at, as another function would.
func (f *fixture) apply(t *testing.T, id string, at time.Time, fn func(a *points.Account, now time.Time) []points.Entry) {
	t.Helper()
	f.clock.Set(at)
	if _, _, err := f.store.Apply(context.Background(), id, func(a *points.Account) (points.Change, error) {
		return points.Change{Entries: fn(a, at)}, nil
	}, points.Write{}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) grant(t *testing.T, id string, at time.Time, amount int64) {
	t.Helper()
	f.apply(t, id, at, func(a *points.Account, now time.Time) []points.Entry {
		e, err := a.Grant(points.Entry{ID: event.NewID(now), MemberID: id, Kind: points.Bonus, Reason: "goodwill", Amount: amount, SourceID: "t:" + event.NewID(now), At: now}, f.store.Policy)
		if err != nil {
			t.Fatal(err)
		}
		return []points.Entry{e}
	})
}

func (f *fixture) account(t *testing.T, id string) *points.Account {
	t.Helper()
	a, err := f.store.Account(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
	es, err := f.store.AllEntries(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, e := range es {
		sum += e.Amount
	}
	if sum != a.Net() {
		t.Errorf("%s: entries sum to %d, balance nets %d", id, sum, a.Net())
	}
	return a
}

func TestPendingPointsMatureAfterTheReturnWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bought := day("2026-03-10", 12)
	f.apply(t, "m1", bought, func(a *points.Account, now time.Time) []points.Entry {
		e, _ := a.EarnPurchase(points.Purchase{OrderID: "O-1", MemberID: "m1", Channel: "online", Currency: "CNY", At: now,
			Lines: []points.PurchaseLine{{LineID: "1", SKU: "S", Quantity: 1, Amount: 17900}}}, event.NewID(now), f.store.Policy, now)
		return []points.Entry{*e}
	})
	written := f.account(t, "m1").Version
	// Nothing is due inside the window: the account is not even written.
	if res := f.night(t, day("2026-03-24", 1)); res.Matured != 0 || res.Members != 1 || res.Idle != 1 {
		t.Errorf("inside the window: %+v", res)
	}
	if a := f.account(t, "m1"); a.Pending != 179 || a.Available != 0 || a.Version != written {
		t.Errorf("inside the window: %+v", a)
	}
	res := f.night(t, day("2026-03-25", 1))
	if res.Matured != 179 || res.Members != 1 || res.Idle != 0 {
		t.Errorf("after the window: %+v", res)
	}
	before := f.account(t, "m1")
	if before.Pending != 0 || before.Available != 179 {
		t.Errorf("after the window: %+v", before)
	}
	// The hourly triggers of the same day start nothing.
	for _, h := range []int{2, 3, 4} {
		f.again(t, day("2026-03-25", h))
	}
	if after := f.account(t, "m1"); after.Version != before.Version {
		t.Errorf("a re-run wrote the account: version %d → %d", before.Version, after.Version)
	}
}

func TestExpiryWarnsOnceAtThirtyAndSevenDaysThenExpires(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// Default policy: 24 months, rounded to month end.
	f.grant(t, "m1", day("2024-01-15", 9), 300) // expires 2026-02-01
	f.grant(t, "m1", day("2024-02-20", 9), 500) // expires 2026-03-01
	f.grant(t, "m1", day("2025-06-01", 9), 700) // expires 2027-07-01
	// The member spends 100: from the lot that expires first.
	f.apply(t, "m1", day("2025-12-01", 9), func(a *points.Account, now time.Time) []points.Entry {
		e, err := a.Spend(points.Entry{ID: event.NewID(now), MemberID: "m1", Kind: points.Redeem, Amount: 100, Reason: "coupon", At: now})
		if err != nil {
			t.Fatal(err)
		}
		return []points.Entry{e}
	})
	lots := f.account(t, "m1").Lots
	first, second := lots[0].ID, lots[1].ID

	type want struct {
		day      string
		warnings []string // "lot/days/amount"
		expired  int
	}
	for _, w := range []want{
		{"2025-12-31", nil, 0},                          // 32 days ahead
		{"2026-01-02", []string{first + "/30/200"}, 0},  // within 30 days
		{"2026-01-03", nil, 0},                          // already warned
		{"2026-01-25", []string{first + "/7/200"}, 0},   // within 7 days
		{"2026-01-31", []string{second + "/30/500"}, 0}, // the second lot's 30 days
		{"2026-02-01", nil, 1},                          // the first lot expires at 00:00
		{"2026-02-22", []string{second + "/7/500"}, 0},  // 7 days
		{"2026-03-01", nil, 1},                          // the second expires
		{"2026-03-02", nil, 0},                          // nothing left to do
	} {
		res := f.night(t, day(w.day, 1))
		var got []string
		for _, d := range f.pub.expiring(t) {
			if d.MemberID != "m1" {
				t.Errorf("warning for %s", d.MemberID)
			}
			got = append(got, fmt.Sprintf("%s/%d/%d", d.Lot, d.DaysAhead, d.Amount))
		}
		if !slices.Equal(got, w.warnings) || res.Warnings != len(w.warnings) || res.ExpiredEntries != w.expired {
			t.Errorf("%s: warnings %v (%d) expired %d, want %v and %d expired", w.day, got, res.Warnings, res.ExpiredEntries, w.warnings, w.expired)
		}
		// A second trigger the same day changes nothing.
		f.again(t, day(w.day, 3))
		if evs := f.pub.expiring(t); len(evs) != 0 {
			t.Errorf("%s re-run published %d warnings", w.day, len(evs))
		}
	}
	a := f.account(t, "m1")
	if a.Available != 700 || len(a.Lots) != 1 {
		t.Errorf("after expiry: available %d lots %+v", a.Available, a.Lots)
	}
	es, _ := f.store.AllEntries(context.Background(), "m1")
	var expired []int64
	for _, e := range es {
		if e.Kind == points.Expire {
			expired = append(expired, e.Amount)
		}
	}
	slices.Sort(expired)
	if !slices.Equal(expired, []int64{-500, -200}) {
		t.Errorf("expiry entries %v, want -200 (the unspent rest) and -500", expired)
	}
	if left, _ := (&dynamo.Outbox{Client: db, Table: f.table}).Pending(context.Background(), day("2027-01-01", 0), 10); len(left) != 0 {
		t.Errorf("outbox still holds %d published events", len(left))
	}
}

func TestManyLotsAreSpreadOverSeveralTransactions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// More lots expiring at once than one transaction can expire (100
	// items), e.g. a frequent buyer's month of coffees.
	const lots = 120
	for half := range 2 {
		f.apply(t, "m1", day("2024-05-03", 9+half), func(a *points.Account, now time.Time) []points.Entry {
			var out []points.Entry
			for i := half * lots / 2; i < (half+1)*lots/2; i++ {
				e, _ := a.Grant(points.Entry{ID: event.NewID(now), MemberID: "m1", Kind: points.Bonus, Reason: "survey",
					Amount: int64(i + 1), SourceID: fmt.Sprintf("s-%d", i), At: now}, f.store.Policy)
				out = append(out, e)
			}
			return out
		}) // all expire 2026-06-01
	}
	if res := f.night(t, day("2026-05-10", 1)); res.Warnings != lots || res.Members != 1 {
		t.Errorf("warnings: %+v", res)
	}
	if evs := f.pub.expiring(t); len(evs) != lots {
		t.Errorf("published %d warnings", len(evs))
	}
	res := f.night(t, day("2026-06-01", 1))
	if res.ExpiredEntries != lots || res.ExpiredPoints != lots*(lots+1)/2 || res.Members != 1 || res.Warnings != 0 {
		t.Errorf("expiry: %+v", res)
	}
	if a := f.account(t, "m1"); a.Available != 0 || len(a.Lots) != 0 || a.NightlyDone != "2026-06-01" {
		t.Errorf("account %+v", a)
	}
}

func TestDowngradeOneStepAfterGrace(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// 6000 qualifying points in January 2025: gold (5000).
	f.apply(t, "m1", day("2025-01-15", 12), func(a *points.Account, now time.Time) []points.Entry {
		e, _ := a.EarnPurchase(points.Purchase{OrderID: "O-big", MemberID: "m1", Channel: "store", Store: "SH01", Currency: "CNY", At: now,
			Lines: []points.PurchaseLine{{LineID: "1", SKU: "S", Quantity: 1, Amount: 600000}}}, event.NewID(now), f.store.Policy, now)
		return []points.Entry{*e}
	})
	if a := f.account(t, "m1"); a.Tier != "gold" {
		t.Fatalf("tier %s", a.Tier)
	}
	steps := []struct {
		day  string
		tier string
		down int
	}{
		{"2025-12-31", "gold", 0},   // January 2025 still in the rolling 12 months
		{"2026-01-01", "gold", 0},   // out of the window: grace starts
		{"2026-01-30", "gold", 0},   // 29 days
		{"2026-01-31", "silver", 1}, // 30 days: one step down, not to member
		{"2026-02-01", "silver", 0}, // the next step waits another grace period
		{"2026-03-02", "member", 1},
		{"2026-03-03", "member", 0},
	}
	for _, s := range steps {
		res := f.night(t, day(s.day, 1))
		a := f.account(t, "m1")
		if a.Tier != s.tier || res.Downgrades != s.down {
			t.Errorf("%s: tier %s, %d downgrades; want %s, %d", s.day, a.Tier, res.Downgrades, s.tier, s.down)
		}
		f.again(t, day(s.day, 2))
		if a := f.account(t, "m1"); a.Tier != s.tier {
			t.Errorf("%s: a second trigger changed the tier to %s", s.day, a.Tier)
		}
	}
	a := f.account(t, "m1")
	var path []string
	for _, c := range a.TierHistory {
		path = append(path, c.From+">"+c.To+":"+c.Reason)
	}
	if !slices.Equal(path, []string{"member>gold:upgrade", "gold>silver:downgrade", "silver>member:downgrade"}) {
		t.Errorf("tier history %v", path)
	}
}

func (f *fixture) member(t *testing.T, birthday string, erased bool) string {
	t.Helper()
	ctx := context.Background()
	at := day("2025-06-01", 9)
	m := member.Member{ID: event.NewID(at), Status: member.Active, Birthday: birthday, ReferralCode: member.NewReferralCode(),
		SignupChannel: member.ChannelStore, CreatedAt: at, UpdatedAt: at, Version: 1}
	if err := f.members.Create(ctx, m, nil, member.Write{}); err != nil {
		t.Fatal(err)
	}
	if erased {
		if _, err := f.members.Erase(ctx, m.ID, at, member.Write{}); err != nil {
			t.Fatal(err)
		}
	}
	return m.ID
}

func TestBirthdayBonusOncePerYear(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	today := f.member(t, "1990-03-10", false)
	other := f.member(t, "1990-03-11", false)
	gone := f.member(t, "1991-03-10", true)
	leap := f.member(t, "2000-02-29", false)
	f.grant(t, today, day("2026-01-05", 9), 10) // has an account already; the others get one

	granted := func(id string) int64 {
		t.Helper()
		a, err := f.store.Account(context.Background(), id)
		if err != nil {
			return 0
		}
		es, _ := f.store.AllEntries(context.Background(), id)
		var n int64
		for _, e := range es {
			if e.Reason == "birthday" {
				n += e.Amount
			}
		}
		if a.Available < n {
			t.Errorf("%s: available %d < birthday bonuses %d", id, a.Available, n)
		}
		return n
	}
	for _, run := range []struct {
		at      time.Time
		bonuses int
	}{
		{day("2026-03-10", 1), 1},
		{day("2026-03-11", 1), 1}, // the other member
		{day("2027-03-10", 1), 1}, // next year again
		{day("2027-02-28", 1), 1}, // 2027 has no 29 February
		{day("2028-02-28", 1), 0}, // 2028 has
		{day("2028-02-29", 1), 1},
	} {
		if res := f.night(t, run.at); res.BirthdayBonuses != run.bonuses {
			t.Errorf("%s: %d birthday bonuses, want %d", run.at, res.BirthdayBonuses, run.bonuses)
		}
		f.again(t, run.at.Add(time.Hour)) // same day: nothing more
	}
	for id, want := range map[string]int64{today: 400, other: 200, gone: 0, leap: 400} {
		if got := granted(id); got != want {
			t.Errorf("%s got %d birthday points, want %d", id, got, want)
		}
	}
}

// stopAfter is a Ledger that cancels the delivery after n Applies, as a
// crash or the Lambda deadline would.
type stopAfter struct {
	Ledger
	n      atomic.Int64
	cancel context.CancelFunc
}

func (s *stopAfter) Apply(ctx context.Context, id string, fn func(*points.Account) (points.Change, error), w points.Write) (*points.Account, points.Change, error) {
	if s.n.Add(-1) < 0 {
		s.cancel()
	}
	return s.Ledger.Apply(ctx, id, fn, w)
}

// expiring grants members 10 points each that expire on 2026-02-01.
func (f *fixture) expiring(t *testing.T, members int) []string {
	t.Helper()
	var ids []string
	for i := range members {
		id := fmt.Sprintf("m%02d", i)
		f.grant(t, id, day("2024-01-05", 9), 10)
		ids = append(ids, id)
	}
	return ids
}

// expiredOnce checks that every member's lot expired exactly once: one
// expire entry of 10 points, nothing left, the day recorded.
func (f *fixture) expiredOnce(t *testing.T, ids []string, wantDay string) {
	t.Helper()
	for _, id := range ids {
		a := f.account(t, id)
		es, err := f.store.AllEntries(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var expired []int64
		for _, e := range es {
			if e.Kind == points.Expire {
				expired = append(expired, e.Amount)
			}
		}
		// Version 1 is the grant; the nightly run writes the account once.
		if a.NightlyDone != wantDay || a.Available != 0 || !slices.Equal(expired, []int64{-10}) || a.Version != 2 {
			t.Errorf("%s: nightly done %q, available %d, expiries %v, version %d", id, a.NightlyDone, a.Available, expired, a.Version)
		}
	}
}

// TestKilledDeliveryIsRedeliveredAndFinishes: a segment's delivery killed
// in the middle of its pages fails (SQS redelivers it); the redelivery
// continues from the last checkpoint, redoes the unfinished page without
// processing its finished accounts twice, and misses none.
func TestKilledDeliveryIsRedeliveredAndFinishes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ids := f.expiring(t, 24)
	at := day("2026-02-01", 1)
	if tr := f.trigger(t, at); !tr.Started || f.queue.len() != 3 {
		t.Fatalf("trigger: %+v, %d messages", tr, f.queue.len())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopping := &stopAfter{Ledger: f.store, cancel: cancel}
	stopping.n.Store(5)
	killed := f.nightly(stopping, f.n.Members.(*MemberTable).Table)
	m, _ := f.queue.pop()
	if f.deliver(t, ctx, killed, m) {
		t.Fatal("the killed delivery reported success")
	}
	if stopping.n.Load() >= 0 {
		t.Fatal("the delivery was not killed: its segment has too few accounts")
	}
	f.queue.PublishSegments(context.Background(), []sweep.Message{m}) // SQS redelivers it
	f.drain(t)
	res, err := f.n.Summary(context.Background(), sweep.RunKey{Kind: SweepKind, Day: "2026-02-01"})
	if err != nil {
		t.Fatal(err)
	}
	// The killed delivery finished some accounts after its last checkpoint:
	// the redelivery finds them done (skipped), the rest it processes.
	if !res.Complete || res.Members+res.SkippedDone != len(ids) || res.SkippedDone > 5 || res.Failed != 0 {
		t.Errorf("summary %+v", res)
	}
	f.expiredOnce(t, ids, "2026-02-01")
	// A redelivery of a finished segment changes nothing.
	if !f.deliver(t, context.Background(), f.n, m) || f.queue.len() != 0 {
		t.Error("a late redelivery failed or fanned out again")
	}
	f.expiredOnce(t, ids, "2026-02-01")
}

// TestShortOfTimeADeliveryContinues: a delivery whose invocation is
// running out of time checkpoints, republishes its message and returns;
// the next delivery continues where it stopped.
func TestShortOfTimeADeliveryContinues(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.n.Config.Reserve = time.Hour // every delivery is "short of time" after one page
	ids := f.expiring(t, 12)
	f.trigger(t, day("2026-02-01", 1))
	deliveries := 0
	for {
		m, ok := f.queue.pop()
		if !ok {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if !f.deliver(t, ctx, f.n, m) {
			t.Fatalf("delivery %d failed", deliveries)
		}
		cancel()
		deliveries++
	}
	if deliveries <= 3 {
		t.Errorf("%d deliveries: the segments did not continue across deliveries", deliveries)
	}
	res, err := f.n.Summary(context.Background(), sweep.RunKey{Kind: SweepKind, Day: "2026-02-01"})
	if err != nil || !res.Complete || res.Members != len(ids) || res.SkippedDone != 0 {
		t.Errorf("summary %+v, %v", res, err)
	}
	f.expiredOnce(t, ids, "2026-02-01")
}

// TestRunPastItsDeadlineFailsAndResumes: segments lost (say, in the DLQ)
// leave the run running until a trigger past its deadline marks it failed
// with the missing segments; the resume payload re-enqueues only those.
func TestRunPastItsDeadlineFailsAndResumes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ids := f.expiring(t, 12)
	at := day("2026-02-01", 1)
	f.trigger(t, at)
	first, _ := f.queue.pop()
	if !f.deliver(t, context.Background(), f.n, first) {
		t.Fatal("segment failed")
	}
	f.queue.mu.Lock()
	f.queue.msgs = nil // the other two are lost
	f.queue.mu.Unlock()
	if tr := f.trigger(t, at.Add(30*time.Minute)); tr.Status != sweep.Running || tr.Started {
		t.Errorf("before the deadline: %+v", tr)
	}
	tr := f.trigger(t, at.Add(61*time.Minute))
	want := []int{0, 1, 2}
	want = slices.DeleteFunc(want, func(s int) bool { return s == first.Segment })
	if tr.Status != sweep.Failed || !slices.Equal(tr.Missing, want) || f.queue.len() != 0 {
		t.Fatalf("past the deadline: %+v", tr)
	}
	ctx := context.Background()
	for _, bad := range []string{`{"job":"nightly","resume":"1 Feb"}`, `{"job":"nightly","resume":"2026-02-01","x":1}`} {
		if _, err := f.n.Handle(ctx, json.RawMessage(bad)); !fault.Is(err, fault.Invalid) {
			t.Errorf("payload %s: %v", bad, err)
		}
	}
	if _, err := f.n.Handle(ctx, json.RawMessage(`{"job":"nightly","resume":"2026-01-01"}`)); !fault.Is(err, fault.NotFound) {
		t.Errorf("resuming a day without a run: %v", err)
	}
	out, err := f.n.Handle(ctx, json.RawMessage(`{"job":"nightly","resume":"2026-02-01"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(Trigger); !r.Resumed || r.Status != sweep.Running || f.queue.len() != len(want) {
		t.Fatalf("resume: %+v, %d messages", r, f.queue.len())
	}
	f.drain(t)
	res, err := f.n.Summary(ctx, sweep.RunKey{Kind: SweepKind, Day: "2026-02-01"})
	if err != nil || !res.Complete || res.Members != len(ids) {
		t.Errorf("after the resume: %+v, %v", res, err)
	}
	f.expiredOnce(t, ids, "2026-02-01")
	if _, err := f.n.Handle(ctx, json.RawMessage(`{"job":"nightly","resume":"2026-02-01"}`)); !fault.Is(err, fault.Conflict) {
		t.Errorf("resuming a succeeded run: %v", err)
	}
}

// TestTheRunDayIsTheBrandsDay: at 17:00 UTC on 31 January it is 01:00 on
// 1 February in Shanghai: the run, the accounts' nightly day and the
// birthdays are those of 1 February.
func TestTheRunDayIsTheBrandsDay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	f.n.Config.Zone = sh
	f.grant(t, "m1", day("2024-01-05", 9), 10) // expires 2026-02-01 00:00 UTC: a 7-day warning is due
	born := f.member(t, "1990-02-01", false)
	eve := f.member(t, "1990-01-31", false)
	at := time.Date(2026, 1, 31, 17, 0, 0, 0, time.UTC)
	tr := f.trigger(t, at)
	if !tr.Started || tr.Run != "points-nightly-2026-02-01" {
		t.Fatalf("trigger: %+v", tr)
	}
	f.drain(t)
	res, err := f.n.Summary(context.Background(), sweep.RunKey{Kind: SweepKind, Day: "2026-02-01"})
	if err != nil || !res.Complete || res.BirthdayBonuses != 1 {
		t.Errorf("summary %+v, %v", res, err)
	}
	if a := f.account(t, born); a.Available != f.store.Policy.BirthdayBonus {
		t.Errorf("born on 1 February: %d points", a.Available)
	}
	if _, err := f.store.Account(context.Background(), eve); !fault.Is(err, fault.NotFound) {
		t.Errorf("born on 31 January got an account: %v", err)
	}
	if a := f.account(t, "m1"); a.NightlyDone != "2026-02-01" {
		t.Errorf("nightly done %q", a.NightlyDone)
	}
	// Later the same UTC day is still 1 February there: no second run.
	f.again(t, at.Add(3*time.Hour))
}

func TestPayloadIsChecked(t *testing.T) {
	t.Parallel()
	n := &Nightly{Log: logging.New(&lockedBuffer{}, service)}
	for _, raw := range []string{`{"job":"reconcile"}`, `[1]`} {
		if _, err := n.Handle(context.Background(), json.RawMessage(raw)); err == nil {
			t.Errorf("payload %s accepted", raw)
		}
	}
}

func TestMonthDays(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{
		"2026-02-28": {"02-28", "02-29"},
		"2028-02-28": {"02-28"},
		"2028-02-29": {"02-29"},
		"2026-03-01": {"03-01"},
		"2026-12-31": {"12-31"},
	} {
		if got := monthDays(day(in, 1)); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", in, got, want)
		}
	}
	for b, want := range map[string]bool{"1990-03-10": true, "1990-03-1": false, "03-10": false, "1990-10-03": false} {
		if celebrates(b, []string{"03-10"}) != want {
			t.Errorf("celebrates(%q) = %v", b, !want)
		}
	}
}

func TestNewNightlyReadsItsEnvironment(t *testing.T) {
	t.Setenv(env.TableVar("points"), "points")
	t.Setenv(env.TableVar("members"), "")
	if _, err := newNightly(); err == nil || !strings.Contains(err.Error(), "CLIENTELE_TABLE_MEMBERS") {
		t.Errorf("missing members table: %v", err)
	}
	t.Setenv(env.TableVar("members"), "members")
	if _, err := newNightly(); err == nil || !strings.Contains(err.Error(), env.QueueURLVar(sweepQueue)) {
		t.Errorf("missing segment queue: %v", err)
	}
	t.Setenv(env.QueueURLVar(sweepQueue), "http://127.0.0.1:1/queue/points-nightly-sweep")
	t.Setenv(env.TimeZone, "Asia/Shanghai")
	t.Setenv(env.EventRoutes, "points.expiring=notification-events")
	t.Setenv(env.QueueURLVar("notification-events"), "http://127.0.0.1:1/queue/notification-events")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	n, err := newNightly()
	if err != nil {
		t.Fatal(err)
	}
	if n.Policy.BirthdayBonus != 200 || n.Members == nil || n.Config.Zone.String() != "Asia/Shanghai" || n.Policy.Zone != n.Config.Zone {
		t.Errorf("nightly = %+v", n)
	}
}
