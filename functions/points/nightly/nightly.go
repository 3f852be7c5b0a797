package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/logging"
	"clientele/shared/points"
	"clientele/shared/queue"
)

// Ledger is what the nightly run needs of the points store.
type Ledger interface {
	// Apply is points.Store's Apply.
	Apply(ctx context.Context, memberID string, fn func(*points.Account) (points.Change, error), w points.Write) (*points.Account, points.Change, error)
	// ScanAccounts visits every account of one parallel scan segment.
	ScanAccounts(ctx context.Context, segment, total int, visit func(*points.Account) error) error
}

// Members finds whose birthday it is.
type Members interface {
	// Birthdays visits the active members of one scan segment whose
	// birthday's month and day ("03-10") is one of monthDays; Unavailable.
	Birthdays(ctx context.Context, segment, total int, monthDays []string, visit func(memberID string) error) error
}

// Nightly is the daily run over every points account: it releases matured
// pending points, expires lots, warns of expiry 30 and 7 days ahead,
// evaluates downgrades and grants birthday bonuses. An account with work
// due is done in one transaction that records the day
// (Account.NightlyDone); one with nothing due is not written. The run is
// idempotent and restartable: the schedule fires it hourly from 01:00 to
// 04:00 UTC and each run finishes what the previous one left.
type Nightly struct {
	Ledger    Ledger
	Members   Members
	Outbox    queue.Outbox
	Publisher queue.EventPublisher
	Policy    points.Policy
	Log       *slog.Logger
	Now       func() time.Time
	// Service names the function in the events it emits.
	Service string
	// Segments is the number of parallel scan segments (default 4).
	Segments int
	// Margin is how long before the invocation's deadline the run stops
	// starting work (default 20 s).
	Margin time.Duration
}

// Result reports one run.
type Result struct {
	Day string `json:"day"`
	// Members counts the accounts this run finished for the day.
	Members int `json:"members"`
	// Idle counts the accounts (among Members) that needed nothing today:
	// they are not written, so a re-run checks them again, read-only.
	Idle int `json:"idle"`
	// Matured counts the pending points that became available.
	Matured        int64 `json:"matured"`
	ExpiredEntries int   `json:"expired_entries"`
	ExpiredPoints  int64 `json:"expired_points"`
	// Warnings counts points.expiring events.
	Warnings        int `json:"warnings"`
	Downgrades      int `json:"downgrades"`
	BirthdayBonuses int `json:"birthday_bonuses"`
	// SkippedDone counts accounts an earlier run finished today.
	SkippedDone int `json:"skipped_done"`
	// Failed counts accounts (or birthdays) that could not be processed;
	// the next run retries them.
	Failed int `json:"failed"`
	// Complete is false when the run stopped at its deadline.
	Complete bool `json:"complete"`
}

// At most this many expiries and this many warnings go in one transaction
// (DynamoDB allows 100 items, the account is one); an account with more is
// done in several transactions.
const (
	maxExpiriesPerTxn = 40
	maxWarningsPerTxn = 40
)

// Warning horizons, soonest last.
var horizons = []struct {
	days int
	mark string
}{{30, "30d"}, {7, "7d"}}

var (
	errStop = errors.New("deadline near: stopping")
	errDone = errors.New("already done today")
)

func (n *Nightly) now() time.Time {
	if n.Now != nil {
		return n.Now().UTC()
	}
	return time.Now().UTC()
}

// Handle runs the nightly job. The payload is the schedule's {"job":"nightly"}.
func (n *Nightly) Handle(ctx context.Context, raw json.RawMessage) (Result, error) {
	var in struct {
		Job string `json:"job"`
	}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &in); err != nil {
			return Result{}, fault.Wrap(fault.Invalid, err, "payload")
		}
	}
	if in.Job != "" && in.Job != "nightly" {
		return Result{}, fault.New(fault.Invalid, "unknown job %q", in.Job)
	}
	margin := n.Margin
	if margin == 0 {
		margin = 20 * time.Second
	}
	// Work stops margin before the deadline; requests in flight are cut
	// off at half the margin, so the function itself always returns.
	work := ctx
	stopAt := time.Time{}
	if dl, ok := ctx.Deadline(); ok {
		stopAt = dl.Add(-margin)
		var cancel context.CancelFunc
		work, cancel = context.WithDeadline(ctx, dl.Add(-margin/2))
		defer cancel()
	}
	segs := n.Segments
	if segs <= 0 {
		segs = 4
	}
	started := n.now()
	r := &run{n: n, day: started.Format(time.DateOnly), year: started.Year(), stopAt: stopAt,
		res: Result{Day: started.Format(time.DateOnly)}}
	var wg sync.WaitGroup
	errs := make([]error, 2*segs)
	for seg := range segs {
		wg.Go(func() {
			errs[seg] = n.Ledger.ScanAccounts(work, seg, segs, func(a *points.Account) error { return r.account(work, a) })
		})
		if n.Members != nil && n.Policy.BirthdayBonus > 0 {
			wg.Go(func() {
				errs[segs+seg] = n.Members.Birthdays(work, seg, segs, monthDays(started), func(id string) error { return r.birthday(work, id) })
			})
		}
	}
	wg.Wait()
	var stopped bool
	var failure error
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, errStop) || work.Err() != nil:
			stopped = true
		default:
			failure = errors.Join(failure, err)
		}
	}
	res := r.result()
	res.Complete = !stopped && failure == nil
	attrs := []any{"result", res}
	if failure != nil {
		n.Log.ErrorContext(ctx, "nightly run failed", append(attrs, "error", failure.Error())...)
		return res, failure
	}
	if res.Failed > 0 {
		n.Log.ErrorContext(ctx, "nightly run left accounts for the next run", attrs...)
		return res, fmt.Errorf("nightly: %d accounts failed; the next run retries them", res.Failed)
	}
	n.Log.InfoContext(ctx, "nightly run", attrs...)
	return res, nil
}

// monthDays lists the birthdays celebrated on day t: its own month-day, and
// in a year without 29 February, 28 February also celebrates the 29th.
func monthDays(t time.Time) []string {
	md := t.Format("01-02")
	if md == "02-28" && time.Date(t.Year(), time.February, 29, 0, 0, 0, 0, time.UTC).Month() != time.February {
		return []string{md, "02-29"}
	}
	return []string{md}
}

// run is one invocation's shared state.
type run struct {
	n      *Nightly
	day    string
	year   int
	stopAt time.Time
	mu     sync.Mutex
	res    Result
}

func (r *run) result() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res
}

func (r *run) count(f func(*Result)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.res)
}

func (r *run) stopping(ctx context.Context) bool {
	return ctx.Err() != nil || (!r.stopAt.IsZero() && !time.Now().Before(r.stopAt))
}

// step is what one transaction on an account did.
type step struct {
	matured, expiredPoints int64
	expired, warnings      int
	downgraded, more       bool
}

// account finishes one account for the day, in as many transactions as its
// expiries and warnings need.
func (r *run) account(ctx context.Context, snap *points.Account) error {
	if snap.NightlyDone == r.day {
		r.count(func(res *Result) { res.SkippedDone++ })
		return nil
	}
	if r.idle(snap) {
		r.count(func(res *Result) { res.Members++; res.Idle++ })
		return nil
	}
	ctx = logging.WithRequestID(ctx, "nightly:"+r.day+":"+snap.MemberID)
	for {
		if r.stopping(ctx) {
			return errStop
		}
		var st step
		_, ch, err := r.n.Ledger.Apply(ctx, snap.MemberID, func(a *points.Account) (points.Change, error) {
			st = step{}
			if a.NightlyDone == r.day {
				return points.Change{}, errDone
			}
			return r.nightly(a, &st)
		}, points.Write{})
		switch {
		case errors.Is(err, errDone):
			r.count(func(res *Result) { res.SkippedDone++ })
			return nil
		case err != nil && ctx.Err() != nil:
			return errStop
		case err != nil:
			r.count(func(res *Result) { res.Failed++ })
			r.n.Log.ErrorContext(ctx, "nightly: account not processed", "member_id", snap.MemberID,
				"kind", fault.KindOf(err).String(), "error", err.Error())
			return nil
		}
		r.count(func(res *Result) {
			res.Matured += st.matured
			res.ExpiredEntries += st.expired
			res.ExpiredPoints += st.expiredPoints
			res.Warnings += st.warnings
			if st.downgraded {
				res.Downgrades++
			}
			if !st.more {
				res.Members++
			}
		})
		r.publish(ctx, ch.Events)
		if !st.more {
			return nil
		}
	}
}

// idle reports whether the day's work would change nothing on the scanned
// account (most nights for most members), so it need not be written. It
// works on the scan's own copy. A write the snapshot missed cannot make
// work due today: new lots are neither matured nor expired yet.
func (r *run) idle(snap *points.Account) bool {
	tier, below := snap.Tier, snap.BelowSince
	var st step
	ch, err := r.nightly(snap, &st)
	return err == nil && st.matured == 0 && !st.more && !st.downgraded && len(ch.Entries) == 0 && len(ch.Events) == 0 &&
		snap.Tier == tier && snap.BelowSince.Equal(below)
}

// nightly is the day's work on one account, run inside its transaction.
func (r *run) nightly(a *points.Account, st *step) (points.Change, error) {
	now := r.n.now()
	st.matured = a.Mature(now)
	entries, more := expireDue(a, now, maxExpiriesPerTxn)
	st.expired = len(entries)
	for _, e := range entries {
		st.expiredPoints -= e.Amount
	}
	evs, moreWarnings, err := r.warn(a, now)
	if err != nil {
		return points.Change{}, err
	}
	st.warnings = len(evs)
	st.more = more || moreWarnings
	if !st.more {
		st.downgraded = a.EvaluateDowngrade(r.n.Policy, now)
		a.NightlyDone = r.day
	}
	return points.Change{Entries: entries, Events: evs}, nil
}

// expireDue expires the lots past their date, at most limit of them; more
// reports that some are left for another transaction.
func expireDue(a *points.Account, now time.Time, limit int) ([]points.Entry, bool) {
	newID := func() string { return event.NewID(now) }
	due := 0
	for _, l := range a.Lots {
		if !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt) {
			due++
		}
	}
	if due <= limit {
		return a.ExpireDue(now, newID), false
	}
	// The account keeps its lots soonest-expiring first, so the due lots
	// lead: expire the first limit of them and hide the rest meanwhile.
	for _, l := range a.Lots[:due] {
		if l.ExpiresAt.IsZero() || now.Before(l.ExpiresAt) {
			return a.ExpireDue(now, newID), false // not in order: do them all
		}
	}
	rest := slices.Clone(a.Lots[limit:])
	a.Lots = slices.Clone(a.Lots[:limit])
	out := a.ExpireDue(now, newID)
	a.Lots = append(a.Lots, rest...)
	return out, true
}

// warn marks the lots that expire within 30 or 7 days and builds one
// points.expiring event per lot and horizon not yet warned of.
func (r *run) warn(a *points.Account, now time.Time) ([]event.Envelope, bool, error) {
	var evs []event.Envelope
	for i := range a.Lots {
		l := &a.Lots[i]
		if l.ExpiresAt.IsZero() || !l.ExpiresAt.After(now) {
			continue
		}
		// The nearest horizon the lot is within: a 30-day warning that was
		// never sent (the lot was earned late, or a run was missed) is not
		// sent once the 7-day one is due.
		var mark string
		var days int
		for _, h := range horizons {
			if !l.ExpiresAt.After(now.AddDate(0, 0, h.days)) {
				mark, days = h.mark, h.days
			}
		}
		if mark == "" || slices.Contains(l.Warned, mark) {
			continue
		}
		if len(evs) == maxWarningsPerTxn {
			return evs, true, nil
		}
		ev, err := event.New(event.TypePointsExpiring, r.n.Service, now, event.PointsExpiring{
			MemberID: a.MemberID, Lot: l.ID, Amount: l.Remaining, ExpiresAt: l.ExpiresAt, DaysAhead: days})
		if err != nil {
			return nil, false, fault.Wrap(fault.Internal, err, "expiring event")
		}
		l.Warned = append(slices.Clone(l.Warned), mark)
		evs = append(evs, ev)
	}
	return evs, false, nil
}

// birthday grants the birthday bonus, once per member and year.
func (r *run) birthday(ctx context.Context, memberID string) error {
	if r.stopping(ctx) {
		return errStop
	}
	key := fmt.Sprintf("birthday:%s:%d", memberID, r.year)
	ctx = logging.WithRequestID(ctx, key)
	_, _, err := r.n.Ledger.Apply(ctx, memberID, func(a *points.Account) (points.Change, error) {
		now := r.n.now()
		e, err := a.Grant(points.Entry{ID: event.NewID(now), MemberID: a.MemberID, Kind: points.Bonus, Reason: "birthday",
			Amount: r.n.Policy.BirthdayBonus, SourceID: key, At: now}, r.n.Policy)
		if err != nil {
			return points.Change{}, err
		}
		return points.Change{Entries: []points.Entry{e}, Seen: []string{key}}, nil
	}, points.Write{})
	switch {
	case err == nil:
		r.count(func(res *Result) { res.BirthdayBonuses++ })
	case errors.Is(err, points.ErrAlreadyApplied):
	case ctx.Err() != nil:
		return errStop
	default:
		r.count(func(res *Result) { res.Failed++ })
		r.n.Log.ErrorContext(ctx, "nightly: birthday bonus not granted", "member_id", memberID,
			"kind", fault.KindOf(err).String(), "error", err.Error())
	}
	return nil
}

// publish sends committed events and clears them from the outbox.
func (r *run) publish(ctx context.Context, evs []event.Envelope) {
	queue.PublishCommitted(ctx, r.n.Publisher, r.n.Outbox, r.n.Log, evs)
}
