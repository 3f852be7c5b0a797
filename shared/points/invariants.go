package points

import (
	"fmt"
)

// The write-time invariants. Check covers the account on its own;
// CheckChange adds what only the change shows: every entry has the sign and
// lot uses of its kind, the entries add up to what the balance moved by,
// and the order's lines never reverse more than they earned. A store runs
// CheckChange before every write and refuses a change that fails it.

// CheckEntry verifies one entry's shape: credits (earn, bonus, positive
// adjust) are positive and create one lot of their amount less the debt
// they repaid; debits (redeem, expire, negative adjust) are negative and
// consume lots of exactly their amount; a reversal is never positive and
// consumes no more than it reverses, the rest being its shortfall. Every
// lot use is positive; nothing passes MaxPoints.
func CheckEntry(e Entry) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("entry %s (%s %d): %s", e.ID, e.Kind, e.Amount, fmt.Sprintf(format, a...))
	}
	if e.Amount < -MaxPoints || e.Amount > MaxPoints || !inPoints(e.Shortfall) || !inPoints(e.DebtRepaid) {
		return bad("amount, shortfall or debt repaid out of range")
	}
	var used int64
	for _, u := range e.Lots {
		if u.Amount <= 0 || u.Amount > MaxPoints || u.Lot == "" {
			return bad("lot use %q of %d", u.Lot, u.Amount)
		}
		var ok bool
		if used, ok = addInt(used, u.Amount); !ok || used > MaxPoints {
			return bad("lot uses overflow")
		}
	}
	credit := func() error {
		if e.Amount <= 0 || e.Shortfall != 0 || e.DebtRepaid > e.Amount || len(e.Lots) > 1 || used != e.Amount-e.DebtRepaid {
			return bad("a credit must be positive and create one lot of its amount less the debt it repaid (lots %d, repaid %d)", used, e.DebtRepaid)
		}
		return nil
	}
	debit := func() error {
		if e.Amount >= 0 || e.Shortfall != 0 || e.DebtRepaid != 0 || used != -e.Amount {
			return bad("a debit must be negative and consume lots of exactly its amount (lots %d)", used)
		}
		return nil
	}
	switch e.Kind {
	case Earn, Bonus:
		return credit()
	case Redeem, Expire:
		return debit()
	case Adjust:
		if e.Amount > 0 {
			return credit()
		}
		return debit()
	case Reverse:
		if e.Amount > 0 || e.DebtRepaid != 0 || used > -e.Amount || -e.Amount > used+e.Shortfall {
			return bad("a reversal must not be positive and must consume at most what it reverses (lots %d, shortfall %d)", used, e.Shortfall)
		}
		return nil
	}
	return bad("unknown kind")
}

// CheckOrder verifies an order's lines: bounded quantities, no more units
// returned than bought, and each line's reversed points exactly what its
// returned units are worth (⌊earned × returned ÷ quantity⌋), so never more
// than it earned and never negative.
func CheckOrder(o Order) error {
	var earned int64
	for _, l := range o.Lines {
		if l.Quantity <= 0 || l.Quantity > MaxLineQuantity || !inPoints(l.Earned) || l.ReturnedQty < 0 || l.ReturnedQty > l.Quantity {
			return fmt.Errorf("order %s line %s: quantity %d, returned %d, earned %d", o.ID, l.LineID, l.Quantity, l.ReturnedQty, l.Earned)
		}
		worth, ok := mulDiv(l.Earned, l.ReturnedQty, l.Quantity)
		if !ok || l.Reversed != worth {
			return fmt.Errorf("order %s line %s: reversed %d, its %d of %d returned units are worth %d of %d",
				o.ID, l.LineID, l.Reversed, l.ReturnedQty, l.Quantity, worth, l.Earned)
		}
		if earned, ok = addInt(earned, l.Earned); !ok {
			return fmt.Errorf("order %s: earned overflows", o.ID)
		}
	}
	if earned != o.Earned {
		return fmt.Errorf("order %s: lines earned %d, order says %d", o.ID, earned, o.Earned)
	}
	return nil
}

// CheckChange verifies an account and the change about to be written with
// it: the account's invariants (Check), every entry (CheckEntry), the
// order (CheckOrder), and Σ entries == the account's Net() now − netBefore
// (its Net() before the change was made), so the ledger keeps summing to
// the balance.
func (a *Account) CheckChange(netBefore int64, ch Change) error {
	if err := a.Check(); err != nil {
		return err
	}
	var moved int64
	for _, e := range ch.Entries {
		if err := CheckEntry(e); err != nil {
			return fmt.Errorf("account %s: %w", a.MemberID, err)
		}
		var ok bool
		if moved, ok = addInt(moved, e.Amount); !ok {
			return fmt.Errorf("account %s: entries overflow", a.MemberID)
		}
	}
	if ch.Order != nil {
		if err := CheckOrder(*ch.Order); err != nil {
			return err
		}
	}
	delta, ok := subInt(a.Net(), netBefore)
	if !ok || delta != moved {
		return fmt.Errorf("account %s: entries add up to %d but the balance moved by %d", a.MemberID, moved, delta)
	}
	return nil
}
