package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"clientele/shared/points"
)

// Ledger is what reconciliation reads of the points store.
type Ledger interface {
	// Account returns a member's account (consistent read); NotFound.
	Account(ctx context.Context, memberID string) (*points.Account, error)
	// AllEntries returns a member's whole ledger.
	AllEntries(ctx context.Context, memberID string) ([]points.Entry, error)
}

// Violation is one broken invariant of one account.
type Violation struct {
	MemberID string `json:"member_id"`
	Problem  string `json:"problem"`
}

// Liability is the points the brand owes its members.
type Liability struct {
	Available int64 `json:"available"`
	Pending   int64 `json:"pending"`
	Debt      int64 `json:"debt"`
	// Outstanding = Available + Pending: what members hold or will hold
	// once their return windows end.
	Outstanding int64 `json:"outstanding"`
}

// Report is the result of a reconciliation.
type Report struct {
	MembersChecked int `json:"members_checked"`
	// Violations lists up to MaxViolations problems; ViolationCount counts
	// them all.
	Violations     []Violation `json:"violations"`
	ViolationCount int         `json:"violation_count"`
	Liability      Liability   `json:"liability"`
	// Unsettled lists members whose account changed during every attempt
	// to read it consistently; they were not verified (run again).
	// UnsettledCount counts them all.
	Unsettled      []string `json:"unsettled,omitempty"`
	UnsettledCount int      `json:"unsettled_count,omitempty"`
	// Complete is true once every account was checked (every segment of
	// the run finished).
	Complete bool `json:"complete"`
}

// MaxViolations bounds the violations a report lists (a Lambda response
// is at most 6 MB), and the unsettled members; all of them are logged.
const MaxViolations = 1000

// maxSegmentViolations bounds the violations (and unsettled members) one
// segment's state lists: the state is rewritten with every page's
// checkpoint. The counts stay exact.
const maxSegmentViolations = 100

// add merges another part's report: sums, and the lists up to limit.
func (r *Report) add(o Report, limit int) {
	r.MembersChecked += o.MembersChecked
	r.ViolationCount += o.ViolationCount
	r.UnsettledCount += o.UnsettledCount
	r.Liability.Available += o.Liability.Available
	r.Liability.Pending += o.Liability.Pending
	r.Liability.Debt += o.Liability.Debt
	r.Violations = append(r.Violations, o.Violations[:min(len(o.Violations), max(0, limit-len(r.Violations)))]...)
	r.Unsettled = append(r.Unsettled, o.Unsettled[:min(len(o.Unsettled), max(0, limit-len(r.Unsettled)))]...)
}

// Options tune a reconciliation.
type Options struct {
	// Recheck is how many times an account that looks broken is read
	// again for a consistent snapshot before it is reported (default 5).
	Recheck int
	// Log, when set, receives one record per violation.
	Log *slog.Logger
}

// Reconcile checks the ledger invariants of one member and reports its
// liability:
//
//   - the account's own invariants (Account.Check): the balance cache
//     equals its open lots, nothing negative, no empty or overdrawn lot;
//   - Σ entries == Available + Pending − Debt;
//   - every lot use is consistent: each credit creates the lot named after
//     it holding what did not repay debt, every debit consumes lots that
//     credits created and together uses no more of a lot than it held, a
//     debit's lot uses add up to its amount (a reversal's, less the
//     shortfall), and what the ledger leaves of each lot is exactly what
//     the account holds open.
//
// An account that looks broken is read again (account, ledger, account:
// the same version before and after) so that a write racing with the check
// is not reported. NotFound when the member has no account. Every member
// is checked by the sweep (Handler), segment by segment, with the same
// checks.
func Reconcile(ctx context.Context, l Ledger, memberID string) (Report, error) {
	return ReconcileWith(ctx, l, memberID, Options{})
}

// ReconcileWith is Reconcile with options.
func ReconcileWith(ctx context.Context, l Ledger, memberID string, o Options) (Report, error) {
	r := newReconciler(l, o, MaxViolations)
	a, err := l.Account(ctx, memberID)
	if err != nil {
		return Report{}, err
	}
	if err := r.member(ctx, a); err != nil {
		return Report{}, err
	}
	return r.report(true), nil
}

func newReconciler(l Ledger, o Options, limit int) *reconciler {
	if o.Recheck <= 0 {
		o.Recheck = 5
	}
	return &reconciler{l: l, o: o, limit: limit}
}

// reconciler accumulates the report of the accounts it checks, listing at
// most limit violations and unsettled members.
type reconciler struct {
	l     Ledger
	o     Options
	limit int
	mu    sync.Mutex
	rep   Report
}

func (r *reconciler) report(complete bool) Report {
	rep := r.rep
	rep.Violations = append([]Violation{}, rep.Violations...)
	rep.Unsettled = slices.Sorted(slices.Values(rep.Unsettled))
	sort.Slice(rep.Violations, func(i, j int) bool {
		if rep.Violations[i].MemberID != rep.Violations[j].MemberID {
			return rep.Violations[i].MemberID < rep.Violations[j].MemberID
		}
		return rep.Violations[i].Problem < rep.Violations[j].Problem
	})
	rep.Liability.Outstanding = rep.Liability.Available + rep.Liability.Pending
	rep.Complete = complete
	return rep
}

// member checks one account. The scanned snapshot and the ledger are read
// at different moments, so an account that looks broken is read again
// (account, ledger, account at the same version) and only problems seen in
// such a stable snapshot are reported.
func (r *reconciler) member(ctx context.Context, a *points.Account) error {
	es, err := r.l.AllEntries(ctx, a.MemberID)
	if err != nil {
		return r.readError(ctx, err)
	}
	problems := Check(a, es)
	settled := true
	for attempt := 0; len(problems) > 0 && attempt < r.o.Recheck; attempt++ {
		if attempt > 0 {
			// Give concurrent writers, and the eventually consistent
			// ledger query, time to settle.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
			}
		}
		before, err := r.l.Account(ctx, a.MemberID)
		if err != nil {
			return r.readError(ctx, err)
		}
		ledger, err := r.l.AllEntries(ctx, a.MemberID)
		if err != nil {
			return r.readError(ctx, err)
		}
		after, err := r.l.Account(ctx, a.MemberID)
		if err != nil {
			return r.readError(ctx, err)
		}
		a = after
		if settled = before.Version == after.Version; settled {
			problems = Check(after, ledger)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.MembersChecked++
	r.rep.Liability.Available += a.Available
	r.rep.Liability.Pending += a.Pending
	r.rep.Liability.Debt += a.Debt
	if !settled {
		r.rep.UnsettledCount++
		if len(r.rep.Unsettled) < r.limit {
			r.rep.Unsettled = append(r.rep.Unsettled, a.MemberID)
		}
		if r.o.Log != nil {
			r.o.Log.WarnContext(ctx, "account kept changing; not verified", "member_id", a.MemberID)
		}
		return nil
	}
	for _, p := range problems {
		r.rep.ViolationCount++
		if len(r.rep.Violations) < r.limit {
			r.rep.Violations = append(r.rep.Violations, Violation{MemberID: a.MemberID, Problem: p})
		}
		if r.o.Log != nil {
			r.o.Log.ErrorContext(ctx, "ledger violation", "member_id", a.MemberID, "problem", p)
		}
	}
	return nil
}

func (r *reconciler) readError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// lotReplay is what the ledger says about one lot.
type lotReplay struct {
	created  int64
	consumed int64
	credited bool
}

// Check returns the problems of one account given its whole ledger (empty
// when it is consistent). It does not depend on the entries' order: entry
// ids sort by the time their writer read the clock, not by commit order.
func Check(a *points.Account, entries []points.Entry) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if err := a.Check(); err != nil {
		add("balance: %v", err)
	}
	lots := map[string]*lotReplay{}
	lot := func(id string) *lotReplay {
		if lots[id] == nil {
			lots[id] = &lotReplay{}
		}
		return lots[id]
	}
	seen := map[string]bool{}
	var sum int64
	for _, e := range entries {
		sum += e.Amount
		if seen[e.ID] {
			add("entry %s appears twice", e.ID)
		}
		seen[e.ID] = true
		if e.MemberID != a.MemberID {
			add("entry %s belongs to member %q", e.ID, e.MemberID)
		}
		var used int64
		for _, u := range e.Lots {
			if u.Amount <= 0 {
				add("entry %s uses %d of lot %s", e.ID, u.Amount, u.Lot)
			}
			used += u.Amount
		}
		switch {
		case e.Amount > 0:
			kept := e.Amount - e.DebtRepaid
			switch {
			case e.DebtRepaid < 0 || kept < 0:
				add("credit %s of %d repaid %d of debt", e.ID, e.Amount, e.DebtRepaid)
			case kept == 0 && len(e.Lots) != 0:
				add("credit %s repaid debt only but names lots", e.ID)
			case kept > 0 && (len(e.Lots) != 1 || e.Lots[0].Lot != e.ID || e.Lots[0].Amount != kept):
				add("credit %s of %d (%d repaying debt) does not create its lot of %d: %v", e.ID, e.Amount, e.DebtRepaid, kept, e.Lots)
			case kept > 0:
				l := lot(e.ID)
				if l.credited {
					add("lot %s created twice", e.ID)
				}
				l.credited, l.created = true, kept
			}
		case e.Amount < 0:
			debit := -e.Amount
			if used != debit && !(e.Kind == points.Reverse && e.Shortfall > 0 && used == debit-e.Shortfall) {
				add("debit %s of %d consumed %d from lots (shortfall %d)", e.ID, debit, used, e.Shortfall)
			}
			for _, u := range e.Lots {
				lot(u.Lot).consumed += u.Amount
			}
		default:
			if len(e.Lots) != 0 {
				add("entry %s of 0 points names lots", e.ID)
			}
		}
	}
	if sum != a.Net() {
		add("ledger: entries sum to %d, the balance nets %d (available %d + pending %d - debt %d)", sum, a.Net(), a.Available, a.Pending, a.Debt)
	}
	open := map[string]bool{}
	for _, l := range a.Lots {
		open[l.ID] = true
		r := lots[l.ID]
		switch {
		case r == nil || !r.credited:
			add("open lot %s (%d of %d) has no credit entry", l.ID, l.Remaining, l.Amount)
		case r.created != l.Amount:
			add("open lot %s holds %d, its credit entry created %d", l.ID, l.Amount, r.created)
		case r.created-r.consumed != l.Remaining:
			add("open lot %s has %d remaining, the ledger leaves %d", l.ID, l.Remaining, r.created-r.consumed)
		}
	}
	ids := make([]string, 0, len(lots))
	for id := range lots {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := lots[id]
		switch {
		case !r.credited:
			add("entries consume %d of lot %s, which no credit created", r.consumed, id)
		case r.consumed > r.created:
			add("entries consume %d of lot %s, which held %d", r.consumed, id, r.created)
		case !open[id] && r.consumed != r.created:
			add("lot %s is closed but the ledger leaves %d in it", id, r.created-r.consumed)
		}
	}
	return problems
}
