package points

import (
	"fmt"
	"testing"
	"time"
)

// busyAccount is a member with many open lots and a tier history, the
// worst case the write-time checks walk.
func busyAccount(b *testing.B, lots int) (*Account, Policy) {
	p := DefaultPolicy()
	a := NewAccount("m", p, t0.AddDate(-1, 0, 0))
	for i := range lots {
		if _, err := a.Grant(Entry{ID: fmt.Sprintf("G%04d", i), Kind: Bonus, Amount: 100, At: t0.Add(time.Duration(i) * time.Hour)}, p); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 20 {
		a.TierHistory = append(a.TierHistory, TierChange{From: "member", To: "silver", At: t0.AddDate(0, 0, -40+i)})
	}
	return a, p
}

// BenchmarkEarnAndCheckChange: one purchase of 10 lines applied to an
// account with 200 open lots, then the write-time check of the change, as
// PointsStore.Apply runs them.
func BenchmarkEarnAndCheckChange(b *testing.B) {
	base, p := busyAccount(b, 200)
	in := purchase("o1")
	for i := range 10 {
		in.Lines = append(in.Lines, PurchaseLine{LineID: fmt.Sprint(i), SKU: "s", Quantity: 3, Amount: 12345})
	}
	b.ReportAllocs()
	for b.Loop() {
		a := cloneAccount(base)
		net := a.Net()
		e, o, err := a.Earn(in, "E1", p, t0)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.CheckChange(net, Change{Entries: []Entry{*e}, Order: &o}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckChange: the write-time check alone on a 200-lot account
// with a 10-line order.
func BenchmarkCheckChange(b *testing.B) {
	a, p := busyAccount(b, 200)
	in := purchase("o1")
	for i := range 10 {
		in.Lines = append(in.Lines, PurchaseLine{LineID: fmt.Sprint(i), SKU: "s", Quantity: 3, Amount: 12345})
	}
	net := a.Net()
	e, o, err := a.Earn(in, "E1", p, t0)
	if err != nil {
		b.Fatal(err)
	}
	ch := Change{Entries: []Entry{*e}, Order: &o}
	b.ReportAllocs()
	for b.Loop() {
		if err := a.CheckChange(net, ch); err != nil {
			b.Fatal(err)
		}
	}
}
