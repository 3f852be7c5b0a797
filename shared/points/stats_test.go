package points

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// statsEvent is one purchase or return as the worker applies it, at `now`.
type statsEvent struct {
	now      time.Time
	purchase *Purchase
	ret      *Return
	order    int // index of the purchase a return belongs to
}

var statsZones = []string{"UTC", "Asia/Shanghai", "America/New_York", "Pacific/Kiritimati"}

// TestStatsEqualRecomputation drives an account through random purchases
// and partial or full returns, applied in the order the worker happens to
// process them (random, within the intake rules: purchases back-dated up to
// the policy's window, returns within the return window, each waiting up to
// 14 days in the queue), with redeliveries and transactions that fail after
// the domain ran (thrown away). The statistics must equal a recomputation
// from the list of purchases and returns that were applied.
func TestStatsEqualRecomputation(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		zone, err := time.LoadLocation(rapid.SampledFrom(statsZones).Draw(t, "zone"))
		if err != nil {
			t.Fatal(err)
		}
		p := DefaultPolicy()
		p.Zone = zone
		p.ReturnWindow = time.Duration(rapid.IntRange(1, 30).Draw(t, "return window days")) * 24 * time.Hour
		p.BackdateWindow = time.Duration(rapid.IntRange(0, 90).Draw(t, "backdate days")) * 24 * time.Hour
		start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		queueDelay := func(label string) time.Duration {
			return time.Duration(rapid.Int64Range(0, int64(14*24*time.Hour)).Draw(t, label))
		}

		var events []statsEvent
		var purchases []Purchase
		var applied []time.Time // when each purchase's event is processed
		n := rapid.IntRange(1, 25).Draw(t, "purchases")
		for i := range n {
			// Purchases over about 18 months, several on a day sometimes.
			at := start.Add(time.Duration(rapid.Int64Range(0, int64(540*24*time.Hour)).Draw(t, "at")))
			if i > 0 && rapid.IntRange(0, 3).Draw(t, "same day as before") == 0 {
				at = purchases[i-1].At.Add(time.Duration(rapid.IntRange(-3, 3).Draw(t, "hours apart")) * time.Hour)
			}
			nl := rapid.IntRange(1, 3).Draw(t, "lines")
			in := Purchase{OrderID: fmt.Sprintf("O%03d", i), MemberID: "m", Channel: "online", Currency: "CNY", At: at.UTC()}
			for l := range nl {
				in.Lines = append(in.Lines, PurchaseLine{LineID: fmt.Sprint(l), SKU: "s", Quantity: rapid.Int64Range(1, 4).Draw(t, "qty"),
					Amount: rapid.Int64Range(1, 100_000).Draw(t, "amount")})
			}
			posted := at.Add(time.Duration(rapid.Int64Range(0, int64(p.BackdateWindow)).Draw(t, "posted after")))
			now := posted.Add(queueDelay("purchase delay"))
			purchases = append(purchases, in)
			applied = append(applied, now)
			events = append(events, statsEvent{now: now, purchase: &purchases[len(purchases)-1]})
		}
		// Returns: each within the return window of its purchase, never more
		// units than were bought.
		for i, in := range purchases {
			left := map[string]int64{}
			for _, l := range in.Lines {
				left[l.LineID] = l.Quantity
			}
			for r := range rapid.IntRange(0, 3).Draw(t, "returns") {
				ret := Return{ReturnID: fmt.Sprintf("R%03d-%d", i, r), OrderID: in.OrderID, MemberID: "m"}
				for _, l := range in.Lines {
					if left[l.LineID] == 0 || !rapid.Bool().Draw(t, "return line") {
						continue
					}
					q := rapid.Int64Range(1, left[l.LineID]).Draw(t, "return qty")
					if rapid.Bool().Draw(t, "whole line") {
						q = left[l.LineID]
					}
					left[l.LineID] -= q
					ret.Lines = append(ret.Lines, ReturnLine{LineID: l.LineID, Quantity: q})
				}
				if len(ret.Lines) == 0 {
					continue
				}
				ret.At = in.At.Add(time.Duration(rapid.Int64Range(0, int64(p.ReturnWindow)).Draw(t, "returned after")))
				now := ret.At.Add(queueDelay("return delay"))
				if !now.After(applied[i]) { // the worker parks a return until its order is applied
					now = applied[i].Add(time.Second)
				}
				events = append(events, statsEvent{now: now, ret: &ret, order: i})
			}
		}
		// Redeliveries: some events come again, later.
		for _, k := range rapid.SliceOfN(rapid.IntRange(0, len(events)-1), 0, 5).Draw(t, "redelivered") {
			e := events[k]
			e.now = e.now.Add(time.Duration(rapid.Int64Range(1, int64(72*time.Hour)).Draw(t, "redelivered after")))
			events = append(events, e)
		}
		sort.SliceStable(events, func(i, j int) bool { return events[i].now.Before(events[j].now) })

		a := NewAccount("m", p, start.Add(-time.Hour))
		orders := map[string]*Order{}
		applyOnce := func(a *Account, e statsEvent) error {
			if e.purchase != nil {
				if _, dup := orders[e.purchase.OrderID]; dup {
					return ErrAlreadyApplied // the store's conditional put of the order
				}
				_, o, err := a.Earn(*e.purchase, "E-"+e.purchase.OrderID, p, e.now)
				if err == nil {
					orders[o.ID] = &o
				}
				return err
			}
			o := orders[e.ret.OrderID]
			_, err := a.ReverseReturn(*e.ret, o, "E-"+e.ret.ReturnID, p, e.now)
			return err
		}
		appliedReturns := map[string]Return{}
		var last time.Time
		for _, e := range events {
			last = e.now
			// A transaction that fails after the domain ran: its changes are
			// thrown away (the store writes nothing).
			if rapid.IntRange(0, 5).Draw(t, "failed transaction") == 0 {
				c := cloneAccount(a)
				savedOrders := map[string]*Order{}
				for k, o := range orders {
					oc := *o
					oc.Lines, oc.Returns = slices.Clone(o.Lines), slices.Clone(o.Returns)
					savedOrders[k] = &oc
				}
				_ = applyOnce(c, e)
				orders = savedOrders
			}
			err := applyOnce(a, e)
			if err == ErrAlreadyApplied {
				continue
			}
			if err != nil {
				t.Fatalf("event at %s: %v", e.now, err)
			}
			if e.ret != nil {
				appliedReturns[e.ret.ReturnID] = *e.ret
			}
		}
		want := recomputeStats(purchases, appliedReturns, zone, last)
		got := a.Stats
		if got.LifetimeSpend != want.lifetime || got.NetSpend != want.net || got.PurchaseDays != want.days || got.TotalOrders != int64(len(purchases)) {
			t.Fatalf("lifetime %d net %d days %d orders %d, recomputed %d %d %d %d", got.LifetimeSpend, got.NetSpend, got.PurchaseDays,
				got.TotalOrders, want.lifetime, want.net, want.days, len(purchases))
		}
		if day := func(x time.Time) string {
			if x.IsZero() {
				return ""
			}
			return localDay(x, zone)
		}; day(got.FirstPurchaseAt) != want.firstDay || day(got.LastPurchaseAt) != want.lastDay {
			t.Fatalf("first %s last %s (days %s, %s), recomputed days %s, %s", got.FirstPurchaseAt, got.LastPurchaseAt,
				day(got.FirstPurchaseAt), day(got.LastPurchaseAt), want.firstDay, want.lastDay)
		}
		if want.exactTimes && (!got.FirstPurchaseAt.Equal(want.first) || !got.LastPurchaseAt.Equal(want.last)) {
			t.Fatalf("first %s last %s, recomputed %s %s", got.FirstPurchaseAt, got.LastPurchaseAt, want.first, want.last)
		}
		for months := 0; months <= StatsMonths+1; months++ {
			if g, w := got.WindowSpend(last, months), want.window(last, months); g != w {
				t.Fatalf("WindowSpend(%s, %d) = %d, recomputed %d", last, months, g, w)
			}
		}
		// Bounded: no day older than the horizon is kept one by one.
		cutoff := localDay(last.Add(-p.StatsHorizon()), zone)
		for d := range got.Days {
			if d < cutoff {
				t.Fatalf("day %s kept past the horizon (cutoff %s)", d, cutoff)
			}
		}
		// What is stored decodes to the same statistics.
		raw, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var back Stats
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(back); string(b) != string(raw) {
			t.Fatalf("statistics do not survive a round trip:\n%s\n%s", raw, b)
		}
	})
}

// recomputed is what the statistics must say, from the raw list.
type recomputed struct {
	lifetime, net       int64
	days                int32
	firstDay, lastDay   string
	first, last         time.Time
	exactTimes          bool
	netByMonth, byMonth map[string]int64
}

func (r recomputed) window(now time.Time, months int) int64 {
	months = min(months, StatsMonths)
	var sum int64
	for k := range months {
		sum += r.netByMonth[month(time.Date(now.UTC().Year(), now.UTC().Month()-time.Month(k), 1, 0, 0, 0, 0, time.UTC))]
	}
	return sum
}

// recomputeStats computes the statistics directly: per order its amount,
// the refund of each line as ⌊amount × returned ÷ quantity⌋, the order
// counting while a unit is kept.
func recomputeStats(purchases []Purchase, returns map[string]Return, zone *time.Location, now time.Time) recomputed {
	returned := map[string]map[string]int64{}
	for _, r := range returns {
		if returned[r.OrderID] == nil {
			returned[r.OrderID] = map[string]int64{}
		}
		for _, l := range r.Lines {
			returned[r.OrderID][l.LineID] += l.Quantity
		}
	}
	out := recomputed{exactTimes: true, netByMonth: map[string]int64{}, byMonth: map[string]int64{}}
	days := map[string]bool{}
	for _, in := range purchases {
		var spend, refund int64
		counts := false
		for _, l := range in.Lines {
			q := returned[in.OrderID][l.LineID]
			spend += l.Amount
			refund += l.Amount * q / l.Quantity
			counts = counts || q < l.Quantity
		}
		out.lifetime += spend
		out.net += spend - refund
		out.netByMonth[month(in.At)] += spend - refund
		if !counts {
			out.exactTimes = false // a fully returned order: only days are exact
			continue
		}
		days[localDay(in.At, zone)] = true
		if out.first.IsZero() || in.At.Before(out.first) {
			out.first = in.At
		}
		if in.At.After(out.last) {
			out.last = in.At
		}
	}
	out.days = int32(len(days))
	if !out.first.IsZero() {
		out.firstDay, out.lastDay = localDay(out.first, zone), localDay(out.last, zone)
	}
	return out
}

// TestStatsReturnDropsTheDay: the day of a purchase fully returned no longer
// counts, a partial return keeps it, and the day is the brand's: 23:30 UTC
// is the next day in Shanghai.
func TestStatsReturnDropsTheDay(t *testing.T) {
	t.Parallel()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	p := DefaultPolicy()
	p.Zone = sh
	a := NewAccount("m", p, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	buy := func(id string, at time.Time, qty, amount int64) Order {
		t.Helper()
		_, o, err := a.Earn(Purchase{OrderID: id, MemberID: "m", Channel: "online", Currency: "CNY", At: at,
			Lines: []PurchaseLine{{LineID: "1", SKU: "s", Quantity: qty, Amount: amount}}}, "E-"+id, p, at.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	d1 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)  // 18:00 on 1 March in Shanghai
	d2 := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC) // 07:30 on 2 March in Shanghai
	o1 := buy("A", d1, 3, 3000)
	o2 := buy("B", d2, 1, 999)
	if a.Stats.PurchaseDays != 2 || a.Stats.NetSpend != 3999 || a.Stats.LifetimeSpend != 3999 {
		t.Fatalf("after two purchases: %+v", a.Stats)
	}
	ret := func(id string, o *Order, qty int64) {
		t.Helper()
		if _, err := a.ReverseReturn(Return{ReturnID: id, OrderID: o.ID, Lines: []ReturnLine{{LineID: "1", Quantity: qty}}}, o, "E-"+id, p, d2.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	ret("R1", &o1, 2) // partial: 2 of 3 units, 2000 back
	if a.Stats.PurchaseDays != 2 || a.Stats.NetSpend != 1999 || !a.Stats.FirstPurchaseAt.Equal(d1) {
		t.Fatalf("after a partial return: %+v", a.Stats)
	}
	ret("R2", &o2, 1) // the last purchase, fully: its day drops and recency goes back
	if a.Stats.PurchaseDays != 1 || a.Stats.NetSpend != 1000 || !a.Stats.LastPurchaseAt.Equal(d1) || a.Stats.LifetimeSpend != 3999 {
		t.Fatalf("after returning the last purchase: %+v", a.Stats)
	}
	ret("R3", &o1, 1)
	if a.Stats.PurchaseDays != 0 || a.Stats.NetSpend != 0 || !a.Stats.FirstPurchaseAt.IsZero() || !a.Stats.LastPurchaseAt.IsZero() {
		t.Fatalf("after returning everything: %+v", a.Stats)
	}
	if got := a.Stats.WindowSpend(d2, 12); got != 0 {
		t.Errorf("window spend after returning everything: %d", got)
	}
	if a.Stats.FirstOrderAt != d1 || a.Stats.TotalOrders != 2 {
		t.Errorf("orders ever: first %s total %d", a.Stats.FirstOrderAt, a.Stats.TotalOrders)
	}
}

// TestStatsFoldOldDays: days older than the horizon are folded into a
// count and keep counting; the detail kept stays bounded.
func TestStatsFoldOldDays(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	a := NewAccount("m", p, t0)
	for i := range 400 {
		at := t0.AddDate(0, 0, i)
		if _, _, err := a.Earn(Purchase{OrderID: fmt.Sprint("O", i), MemberID: "m", Channel: "online", Currency: "CNY", At: at,
			Lines: []PurchaseLine{{LineID: "1", SKU: "s", Quantity: 1, Amount: 100}}}, fmt.Sprint("E", i), p, at); err != nil {
			t.Fatal(err)
		}
	}
	s := a.Stats
	horizonDays := int(p.StatsHorizon() / (24 * time.Hour))
	if s.PurchaseDays != 400 || len(s.Days) > horizonDays+1 || s.FoldedDays != 400-int32(len(s.Days)) {
		t.Fatalf("days %d, kept %d (horizon %d), folded %d", s.PurchaseDays, len(s.Days), horizonDays, s.FoldedDays)
	}
	if !s.FirstPurchaseAt.Equal(t0) || !s.LastPurchaseAt.Equal(t0.AddDate(0, 0, 399)) {
		t.Errorf("first %s last %s", s.FirstPurchaseAt, s.LastPurchaseAt)
	}
	if s.NetSpend != 40000 || s.LifetimeSpend != 40000 {
		t.Errorf("spend %d net %d", s.LifetimeSpend, s.NetSpend)
	}
	// The last 12 UTC months, as the buckets are kept.
	if got := s.WindowSpend(t0.AddDate(0, 0, 399), 1); got != int64(t0.AddDate(0, 0, 399).Day())*100 {
		t.Errorf("window spend over this month: %d", got)
	}
}

// TestStatsUpgradeLegacy: statistics stored before StatsVersion decode
// with estimated new fields, and decode again unchanged.
func TestStatsUpgradeLegacy(t *testing.T) {
	t.Parallel()
	old := `{"last_purchase_at":"2026-03-10T08:00:00Z","first_order_at":"2026-03-01T08:00:00Z",` +
		`"orders":{"2026-03":12},"spend":{"2026-03":120000},"currency":"CNY","total_orders":12}`
	var s Stats
	if err := json.Unmarshal([]byte(old), &s); err != nil {
		t.Fatal(err)
	}
	first := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	last := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	if s.V != StatsVersion || !s.Estimated || s.PurchaseDays != 10 || s.LifetimeSpend != 120000 || s.NetSpend != 120000 ||
		!s.FirstPurchaseAt.Equal(first) || !s.LastPurchaseAt.Equal(last) || !s.LastOrderAt.Equal(last) {
		t.Fatalf("upgraded: %+v", s)
	}
	raw, _ := json.Marshal(s)
	var again Stats
	if err := json.Unmarshal(raw, &again); err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(again); string(b) != string(raw) {
		t.Errorf("an upgraded record changes when decoded again:\n%s\n%s", raw, b)
	}
	// A member who never bought stays without purchases.
	var none Stats
	if err := json.Unmarshal([]byte(`{"total_orders":0}`), &none); err != nil || none.PurchaseDays != 0 || none.Estimated || !none.LastPurchaseAt.IsZero() {
		t.Errorf("never bought: %+v %v", none, err)
	}
}
