package points

import (
	"testing"
	"time"
)

// TestPurchasedAtIsBoundedByTheBackdatingWindow: purchased_at lies at most
// the programme's back-dating window (default 90 days) in the past and at
// most ClockSkew in the future; year 1 is refused, naming purchased_at.
func TestPurchasedAtIsBoundedByTheBackdatingWindow(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	if p.BackdateWindow != 90*24*time.Hour {
		t.Fatalf("default back-dating window %v, want 90 days", p.BackdateWindow)
	}
	cases := []struct {
		at time.Time
		ok bool
	}{
		{time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), false},
		{t0.Add(-p.BackdateWindow - ClockSkew - time.Second), false},
		{t0.AddDate(-1, 0, 0), false},
		{t0.Add(-p.BackdateWindow), true},
		{t0.Add(-time.Hour), true},
		{t0.Add(ClockSkew), true},
		{t0.Add(ClockSkew + time.Second), false},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), false},
	}
	for _, c := range cases {
		in := purchase("o1", PurchaseLine{SKU: "a", Quantity: 1, Amount: 100})
		in.At = c.at
		err := ValidatePurchase(&in, p, t0)
		if c.ok && err != nil {
			t.Errorf("%v refused: %v", c.at, err)
		}
		if !c.ok && !namesField(err, "purchased_at") {
			t.Errorf("%v: %v does not name purchased_at", c.at, err)
		}
	}
	// The window is the programme's to set.
	q, err := ParsePolicy(`{"backdate_window_hours":24}`)
	if err != nil || q.BackdateWindow != 24*time.Hour {
		t.Fatalf("policy %+v, %v", q.BackdateWindow, err)
	}
	in := purchase("o1", PurchaseLine{SKU: "a", Quantity: 1, Amount: 100})
	in.At = t0.Add(-48 * time.Hour)
	if err := ValidatePurchase(&in, q, t0); !namesField(err, "purchased_at") {
		t.Errorf("48 hours back with a 24-hour window: %v", err)
	}
	if _, err := ParsePolicy(`{"backdate_window_hours":-1}`); err == nil {
		t.Error("accepted a negative back-dating window")
	}
}
