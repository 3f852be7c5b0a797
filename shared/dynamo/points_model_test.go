package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/points"
)

// model is an independent, deliberately plain reference ledger: lots in a
// slice, consumed soonest-expiring first, pending lots of the returned order
// first on returns, shortfalls kept as debt.
type model struct {
	lots   []mlot
	debt   int64
	sum    int64 // Σ entries
	orders map[string]*morder
	seq    int
}

type mlot struct {
	id           string
	remaining    int64
	expires      time.Time
	pendingUntil time.Time
	order        string
}

type morder struct {
	qty, earned, returned, reversed []int64
}

func (m *model) totals(now time.Time) (avail, pend int64) {
	for _, l := range m.lots {
		if l.pendingUntil.IsZero() {
			avail += l.remaining
		} else {
			pend += l.remaining
		}
	}
	return
}

func (m *model) sortLots() {
	sort.SliceStable(m.lots, func(i, j int) bool {
		a, b := m.lots[i], m.lots[j]
		if a.expires.IsZero() != b.expires.IsZero() {
			return !a.expires.IsZero()
		}
		if !a.expires.Equal(b.expires) {
			return a.expires.Before(b.expires)
		}
		return a.id < b.id
	})
}

func (m *model) credit(id string, amount int64, expires, pendingUntil time.Time, order string) {
	m.sum += amount
	repay := min(m.debt, amount)
	m.debt -= repay
	if amount-repay > 0 {
		m.lots = append(m.lots, mlot{id, amount - repay, expires, pendingUntil, order})
		m.sortLots()
	}
}

func (m *model) take(want int64, ok func(mlot) bool) int64 {
	var took int64
	for i := range m.lots {
		if took == want {
			break
		}
		if !ok(m.lots[i]) {
			continue
		}
		n := min(m.lots[i].remaining, want-took)
		m.lots[i].remaining -= n
		took += n
	}
	kept := m.lots[:0]
	for _, l := range m.lots {
		if l.remaining > 0 {
			kept = append(kept, l)
		}
	}
	m.lots = kept
	return took
}

// ledgerRun drives the real store on DynamoDB Local and the model with the
// same random operations, comparing them after every step.
type ledgerRun struct {
	store  *dynamo.PointsStore
	policy points.Policy
	member string
	now    time.Time
	m      *model
	seen   []points.Purchase
}

func (r *ledgerRun) id() string {
	r.m.seq++
	return fmt.Sprintf("%s-%05d", event.NewID(r.now), r.m.seq)
}

func (r *ledgerRun) apply(t *rapid.T, fn func(*points.Account) (points.Change, error)) error {
	_, _, err := r.store.Apply(context.Background(), r.member, fn, points.Write{})
	return err
}

func (r *ledgerRun) check(t *rapid.T) {
	a, err := r.store.Account(context.Background(), r.member)
	if fault.Is(err, fault.NotFound) {
		if len(r.m.lots) != 0 || r.m.sum != 0 {
			t.Fatalf("store has no account, model has %d lots", len(r.m.lots))
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
	avail, pend := r.m.totals(r.now)
	if a.Available != avail || a.Pending != pend || a.Debt != r.m.debt {
		t.Fatalf("store available %d pending %d debt %d; model %d %d %d", a.Available, a.Pending, a.Debt, avail, pend, r.m.debt)
	}
	entries, err := r.store.AllEntries(context.Background(), r.member)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, e := range entries {
		sum += e.Amount
	}
	if sum != r.m.sum || sum != a.Net() {
		t.Fatalf("Σ entries %d, model %d, available+pending−debt %d", sum, r.m.sum, a.Net())
	}
}

func (r *ledgerRun) purchase(t *rapid.T) {
	n := rapid.IntRange(1, 3).Draw(t, "lines")
	in := points.Purchase{OrderID: r.id(), MemberID: r.member, Channel: "online", Currency: "CNY", At: r.now}
	mo := &morder{}
	var total int64
	for i := range n {
		qty := rapid.Int64Range(1, 4).Draw(t, "qty")
		amount := rapid.Int64Range(1, 50000).Draw(t, "amount")
		in.Lines = append(in.Lines, points.PurchaseLine{LineID: fmt.Sprint("L", i), SKU: fmt.Sprint("sku", i), Quantity: qty, Amount: amount})
		earned := amount * r.policy.PointsPerUnit / 100 // all tiers multiply by 100% here
		mo.qty, mo.earned = append(mo.qty, qty), append(mo.earned, earned)
		mo.returned, mo.reversed = append(mo.returned, 0), append(mo.reversed, 0)
		total += earned
	}
	entryID := r.id()
	err := r.apply(t, func(a *points.Account) (points.Change, error) {
		e, o := a.EarnPurchase(in, entryID, r.policy, r.now)
		ch := points.Change{Order: &o, NewOrder: true}
		if e != nil {
			ch.Entries = []points.Entry{*e}
		}
		return ch, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.m.orders[in.OrderID] = mo
	if total > 0 {
		r.m.credit(entryID, total, r.policy.ExpiryFor(r.now), r.now.Add(r.policy.ReturnWindow), in.OrderID)
	}
	r.seen = append(r.seen, in)
}

func (r *ledgerRun) redeliver(t *rapid.T) {
	if len(r.seen) == 0 {
		t.Skip("no purchase yet")
	}
	in := rapid.SampledFrom(r.seen).Draw(t, "purchase")
	err := r.apply(t, func(a *points.Account) (points.Change, error) {
		e, o := a.EarnPurchase(in, r.id(), r.policy, r.now)
		ch := points.Change{Order: &o, NewOrder: true}
		if e != nil {
			ch.Entries = []points.Entry{*e}
		}
		return ch, nil
	})
	if !errors.Is(err, points.ErrAlreadyApplied) {
		t.Fatalf("redelivered order %s: %v, want ErrAlreadyApplied", in.OrderID, err)
	}
}

func (r *ledgerRun) returnLine(t *rapid.T) {
	if len(r.seen) == 0 {
		t.Skip("no purchase yet")
	}
	in := rapid.SampledFrom(r.seen).Draw(t, "order")
	mo := r.m.orders[in.OrderID]
	li := rapid.IntRange(0, len(mo.qty)-1).Draw(t, "line")
	left := mo.qty[li] - mo.returned[li]
	if left == 0 {
		t.Skip("line fully returned")
	}
	qty := rapid.Int64Range(1, left).Draw(t, "qty")
	ret := points.Return{ReturnID: r.id(), OrderID: in.OrderID, At: r.now, Lines: []points.ReturnLine{{LineID: fmt.Sprint("L", li), Quantity: qty}}}
	entryID := r.id()
	err := r.apply(t, func(a *points.Account) (points.Change, error) {
		o, err := r.store.Order(context.Background(), in.OrderID)
		if err != nil {
			return points.Change{}, err
		}
		e, err := a.ReverseReturn(ret, &o, entryID, r.policy, r.now)
		if err != nil {
			return points.Change{}, err
		}
		ch := points.Change{Order: &o, Seen: []string{"return:" + ret.ReturnID}}
		if e != nil {
			ch.Entries = []points.Entry{*e}
		}
		return ch, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mo.returned[li] += qty
	worth := mo.earned[li] * mo.returned[li] / mo.qty[li]
	rev := worth - mo.reversed[li]
	mo.reversed[li] = worth
	if rev == 0 {
		return
	}
	r.m.sum -= rev
	took := r.m.take(rev, func(l mlot) bool { return !l.pendingUntil.IsZero() && l.order == in.OrderID })
	took += r.m.take(rev-took, func(l mlot) bool { return l.pendingUntil.IsZero() })
	took += r.m.take(rev-took, func(mlot) bool { return true })
	r.m.debt += rev - took
}

func (r *ledgerRun) redeem(t *rapid.T) {
	avail, _ := r.m.totals(r.now)
	amount := rapid.Int64Range(1, avail+20).Draw(t, "amount")
	err := r.apply(t, func(a *points.Account) (points.Change, error) {
		e, err := a.Spend(points.Entry{ID: r.id(), MemberID: r.member, Kind: points.Redeem, Amount: amount, At: r.now})
		return points.Change{Entries: []points.Entry{e}}, err
	})
	if amount > avail {
		if !fault.Is(err, fault.Conflict) {
			t.Fatalf("overdraft of %d with %d available: %v", amount, avail, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	r.m.sum -= amount
	r.m.take(amount, func(l mlot) bool { return l.pendingUntil.IsZero() })
}

func (r *ledgerRun) adjust(t *rapid.T) {
	amount := rapid.Int64Range(1, 500).Draw(t, "amount")
	id := r.id()
	err := r.apply(t, func(a *points.Account) (points.Change, error) {
		e, err := a.Grant(points.Entry{ID: id, MemberID: r.member, Kind: points.Adjust, Reason: "goodwill", Amount: amount, At: r.now}, r.policy)
		return points.Change{Entries: []points.Entry{e}}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	r.m.credit(id, amount, r.policy.ExpiryFor(r.now), time.Time{}, "")
}

func (r *ledgerRun) timeJump(t *rapid.T) {
	days := rapid.IntRange(1, 400).Draw(t, "days")
	r.now = r.now.AddDate(0, 0, days)
	var n int
	err := r.apply(t, func(a *points.Account) (points.Change, error) {
		a.Mature(r.now)
		es := a.ExpireDue(r.now, func() string { n++; return fmt.Sprintf("%s-x%03d", event.NewID(r.now), n) })
		return points.Change{Entries: es}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.m.lots {
		if !r.m.lots[i].pendingUntil.IsZero() && !r.now.Before(r.m.lots[i].pendingUntil) {
			r.m.lots[i].pendingUntil = time.Time{}
		}
	}
	for _, l := range append([]mlot(nil), r.m.lots...) {
		if !l.expires.IsZero() && !r.now.Before(l.expires) {
			r.m.sum -= r.m.take(l.remaining, func(x mlot) bool { return x.id == l.id })
		}
	}
}

var memberSeq atomic.Int64

// TestLedgerMatchesModel: random sequences of purchases, redeliveries,
// returns, redemptions, adjustments and time jumps against the real store on
// DynamoDB Local, compared with the model after every step, with the
// invariants checked after every step.
func TestLedgerMatchesModel(t *testing.T) {
	t.Parallel()
	policy := points.DefaultPolicy()
	policy.ExpiryMonths, policy.ExpiryRound = 6, points.NoRounding
	for i := range policy.Tiers {
		policy.Tiers[i].MultiplierPct = 100
	}
	rapid.Check(t, func(t *rapid.T) {
		start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
		r := &ledgerRun{policy: policy, now: start, m: &model{orders: map[string]*morder{}},
			member: fmt.Sprintf("model-%d-%d", time.Now().UnixNano(), memberSeq.Add(1))}
		r.store = &dynamo.PointsStore{Client: db, Table: table, Policy: policy, Now: func() time.Time { return r.now }}
		t.Repeat(map[string]func(*rapid.T){
			"purchase":  r.purchase,
			"redeliver": r.redeliver,
			"return":    r.returnLine,
			"redeem":    r.redeem,
			"adjust":    r.adjust,
			"timeJump":  r.timeJump,
			"":          r.check,
		})
	})
}

// TestConcurrentRedeemAndEarn: 32 goroutines redeem and earn on one member
// at once. No overdraft, no lost update, and the final state is what the
// successful operations add up to.
func TestConcurrentRedeemAndEarn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	policy := points.DefaultPolicy()
	policy.ReturnWindow = 0
	store := &dynamo.PointsStore{Client: db, Table: table, Policy: policy}
	member := fmt.Sprintf("hot-%d", time.Now().UnixNano())
	now := time.Now()
	if _, _, err := store.Apply(ctx, member, func(a *points.Account) (points.Change, error) {
		e, err := a.Grant(points.Entry{ID: event.NewID(now), MemberID: member, Kind: points.Bonus, Reason: "welcome", Amount: 1000, At: now}, policy)
		return points.Change{Entries: []points.Entry{e}}, err
	}, points.Write{}); err != nil {
		t.Fatal(err)
	}
	var redeemed, earned atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 3 {
				if i%2 == 0 {
					amount := int64(40 + i)
					_, _, err := store.Apply(ctx, member, func(a *points.Account) (points.Change, error) {
						e, err := a.Spend(points.Entry{ID: event.NewID(time.Now()), MemberID: member, Kind: points.Redeem, Amount: amount, At: time.Now()})
						return points.Change{Entries: []points.Entry{e}}, err
					}, points.Write{})
					switch {
					case err == nil:
						redeemed.Add(amount)
					case fault.Is(err, fault.Conflict):
					default:
						errs <- err
					}
				} else {
					in := points.Purchase{OrderID: fmt.Sprintf("%s-o-%d-%d", member, i, j), MemberID: member, Channel: "online", Currency: "CNY",
						At: time.Now(), Lines: []points.PurchaseLine{{LineID: "a", SKU: "a", Quantity: 1, Amount: 1000}}}
					// A purchase that loses every optimistic retry is redelivered by
					// the queue; the test does the same with the same order id.
					var ch points.Change
					var err error
					for try := 0; try < 10; try++ {
						_, ch, err = store.Apply(ctx, member, func(a *points.Account) (points.Change, error) {
							e, o := a.EarnPurchase(in, event.NewID(time.Now()), policy, time.Now())
							return points.Change{Entries: []points.Entry{*e}, Order: &o, NewOrder: true}, nil
						}, points.Write{})
						if !fault.Is(err, fault.Conflict) {
							break
						}
					}
					if err != nil {
						errs <- err
						continue
					}
					earned.Add(ch.Entries[0].Amount)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
	a, err := store.Account(ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
	want := 1000 + earned.Load() - redeemed.Load()
	if a.Available != want || a.Available < 0 {
		t.Errorf("available %d, want 1000 + %d − %d = %d", a.Available, earned.Load(), redeemed.Load(), want)
	}
	entries, _ := store.AllEntries(ctx, member)
	var sum int64
	for _, e := range entries {
		sum += e.Amount
	}
	if sum != a.Net() {
		t.Errorf("Σ entries %d ≠ balance %d", sum, a.Net())
	}
	if redeemed.Load() == 0 || earned.Load() == 0 {
		t.Errorf("the race did not exercise both sides: redeemed %d earned %d", redeemed.Load(), earned.Load())
	}
}
