package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/logging"
	"clientele/shared/metrics"
	"clientele/shared/points"
	"clientele/shared/queue"
	"clientele/shared/sweep"
)

// Ledger is what the nightly run needs of the points store.
type Ledger interface {
	// Apply is points.Store's Apply.
	Apply(ctx context.Context, memberID string, fn func(*points.Account) (points.Change, error), w points.Write) (*points.Account, points.Change, error)
}

// Members finds whose birthday it is.
type Members interface {
	// BirthdayPage reads one page of a parallel-scan segment of the members
	// table (cursor "" for the first page) and returns the active members
	// among them whose birthday's month and day ("03-10") is one of
	// monthDays, and the cursor of the next page ("" at the segment's end);
	// Unavailable.
	BirthdayPage(ctx context.Context, p sweep.Page, monthDays []string) (ids []string, next string, err error)
}

// Nightly is the daily run over every points account, on the sweep engine
// (kind "points-nightly", one run per local day): it releases matured
// pending points, expires lots, warns of expiry 30 and 7 days ahead,
// evaluates downgrades and grants birthday bonuses. An account with work
// due is done in one transaction that records the day
// (Account.NightlyDone); one with nothing due is not written. Each scan
// segment checkpoints after every page, so a redelivered segment continues
// where it stopped and an account already done today is skipped.
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

	// The sweep: run and checkpoint storage, the segment queue, the
	// accounts' reader, the table's size (for the fan-out) and the
	// configuration (Kind is set to SweepKind).
	Runs     sweep.Store
	Segments sweep.Publisher
	Accounts sweep.PageReader[*points.Account]
	Sizer    sweep.Sizer
	Config   sweep.Config
	// Metrics receives the run's figures when it completes (nil: none).
	Metrics *metrics.Writer
	// Workers is how many accounts of a page are processed at once
	// (default 8): each is its own transaction.
	Workers int

	once   sync.Once
	engine *sweep.Engine[item]
}

// Result reports one run: the sum of its segments' results.
type Result struct {
	Day string `json:"day"`
	// Members counts the accounts the run finished for the day.
	Members int `json:"members"`
	// Idle counts the accounts (among Members) that needed nothing today:
	// they are not written.
	Idle int `json:"idle"`
	// Matured counts the pending points that became available.
	Matured        int64 `json:"matured"`
	ExpiredEntries int   `json:"expired_entries"`
	ExpiredPoints  int64 `json:"expired_points"`
	// Warnings counts points.expiring events.
	Warnings        int `json:"warnings"`
	Downgrades      int `json:"downgrades"`
	BirthdayBonuses int `json:"birthday_bonuses"`
	// SkippedDone counts accounts found already done for the day: a page
	// redone after a crashed delivery finds its accounts done (they are
	// counted here, not again in Members).
	SkippedDone int `json:"skipped_done"`
	// Failed counts accounts (or birthdays) that could not be processed
	// (logged; the run goes on).
	Failed int `json:"failed"`
	// Complete is true once every segment finished.
	Complete bool `json:"complete"`
}

func (r *Result) add(o Result) {
	r.Members += o.Members
	r.Idle += o.Idle
	r.Matured += o.Matured
	r.ExpiredEntries += o.ExpiredEntries
	r.ExpiredPoints += o.ExpiredPoints
	r.Warnings += o.Warnings
	r.Downgrades += o.Downgrades
	r.BirthdayBonuses += o.BirthdayBonuses
	r.SkippedDone += o.SkippedDone
	r.Failed += o.Failed
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

var errDone = errors.New("already done today")

func (n *Nightly) now() time.Time {
	if n.Now != nil {
		return n.Now().UTC()
	}
	return time.Now().UTC()
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

// run is the state of one page's processing.
type run struct {
	n    *Nightly
	day  string
	year int
	mu   sync.Mutex
	res  Result
}

func (r *run) count(f func(*Result)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.res)
}

// retry reports whether err should make the page be redone (the context
// ended, or the store was unavailable) rather than count the account as
// failed.
func retry(ctx context.Context, err error) bool {
	return ctx.Err() != nil || fault.Is(err, fault.Unavailable)
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
		case err != nil && retry(ctx, err):
			return err
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
	case retry(ctx, err):
		return err
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
