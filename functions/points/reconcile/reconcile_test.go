package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

func newStore(t *testing.T) *dynamo.PointsStore {
	t.Helper()
	table := fmt.Sprintf("reconcile-%d-%d", time.Now().UnixNano(), seq.Add(1))
	if err := dynamo.CreateTable(context.Background(), db, table); err != nil {
		t.Fatal(err)
	}
	return &dynamo.PointsStore{Client: db, Table: table, Policy: points.DefaultPolicy(), Now: func() time.Time { return t0 }}
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
	rep, err := Reconcile(context.Background(), s, "")
	if err != nil {
		t.Fatal(err)
	}
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

	rep, err := ReconcileWith(ctx, s, "", Options{Recheck: 1})
	if err != nil {
		t.Fatal(err)
	}
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
	if rep.MembersChecked != 5 || rep.ViolationCount != len(rep.Violations) {
		t.Errorf("report %+v", rep)
	}
	// The liability is what the accounts hold, as they are.
	if want := (Liability{Available: 150 + 70 + 100 + 10, Pending: 99, Outstanding: 330 + 99}); rep.Liability != want {
		t.Errorf("liability %+v, want %+v", rep.Liability, want)
	}

	// The handler fails the invocation so the error alarm fires, and logs
	// every violation.
	var logs bytes.Buffer
	h := &Handler{Ledger: s, Log: logging.New(&logs, service), Options: Options{Recheck: 1}}
	if _, err := h.Handle(ctx, json.RawMessage(`{"member_id":"d"}`)); err == nil {
		t.Error("violations must fail the invocation")
	}
	if !strings.Contains(logs.String(), `"msg":"ledger violation","service":"points-reconcile","stage":"local","member_id":"d"`) {
		t.Errorf("violation not logged:\n%s", logs.String())
	}
	if rep, err := h.Handle(ctx, json.RawMessage(`{"job":"reconcile","member_id":"a"}`)); err != nil || rep.MembersChecked != 1 {
		t.Errorf("clean member: %+v %v", rep, err)
	}
	if _, err := h.Handle(ctx, json.RawMessage(`{"job":"nightly"}`)); !fault.Is(err, fault.Invalid) {
		t.Errorf("wrong job: %v", err)
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
		rep, err := Reconcile(ctx, s, "")
		if err != nil {
			t.Fatal(err)
		}
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

func TestStopsBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	apply(t, s, "a", grant(s, "a", 10, t0))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // inside the margin
	defer cancel()
	rep, err := Reconcile(ctx, s, "")
	if err != nil || rep.Complete || rep.MembersChecked != 0 {
		t.Errorf("%+v %v", rep, err)
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
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	if _, err := newHandler(); err != nil {
		t.Fatal(err)
	}
}
