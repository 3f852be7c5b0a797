package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"clientele/shared/fault"
	"clientele/shared/points"
	"clientele/shared/sweep"
	"clientele/shared/sweepsqs"
)

// SweepKind is the nightly run's kind of sweep: its runs are
// SWEEP#points-nightly items in the points table, its segment messages go
// to the points-nightly-sweep queue.
const SweepKind = "points-nightly"

// item is what a segment's pages hold: the segment's accounts, then the
// segment's members whose birthday it is.
type item struct {
	Account  *points.Account
	Birthday string // a member id
}

// engine is the sweep engine of the nightly run, built once.
func (n *Nightly) sweep() *sweep.Engine[item] {
	n.once.Do(func() {
		cfg := n.Config
		cfg.Kind, cfg.Phases = SweepKind, 1
		n.engine = &sweep.Engine[item]{Config: cfg, Store: n.Runs, Queue: n.Segments, Reader: &pages{n: n},
			Processor: n, Sizer: n.Sizer, PhaseDone: n.finish, Now: n.Now}
	})
	return n.engine
}

// Trigger is what a schedule (or staff) invocation did.
type Trigger struct {
	Run    string       `json:"run"`
	Status sweep.Status `json:"status"`
	// Started: this invocation started the run and fanned it out; false
	// when the day already had one (a second trigger is a no-op).
	Started  bool `json:"started"`
	Resumed  bool `json:"resumed,omitempty"`
	Segments int  `json:"segments"`
	// Missing lists the segments a failed run had not finished.
	Missing []int `json:"missing,omitempty"`
}

// Handle is the function's entry point. An SQS event holds segment
// messages from the points-nightly-sweep queue: each is processed from its
// checkpoint (sweepsqs.HandleSegments; only failed messages are
// redelivered). Any other payload is the schedule's {"job":"nightly"}:
// it starts the day's run (the brand's local day), or, when the day has
// one, checks it (a run past its deadline is marked failed with its
// missing segments). {"job":"nightly","resume":"2026-03-10"} resumes that
// day's failed run.
func (n *Nightly) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	if ev, ok := sweepsqs.SQSEvent(raw); ok {
		return sweepsqs.HandleSegments(ctx, segments{n}, n.Log, ev), nil
	}
	var in struct {
		Job    string `json:"job"`
		Resume string `json:"resume"`
	}
	if len(raw) > 0 && string(raw) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return nil, fault.Wrap(fault.Invalid, err, "payload")
		}
	}
	if in.Job != "" && in.Job != "nightly" {
		return nil, fault.New(fault.Invalid, "unknown job %q", in.Job)
	}
	e := n.sweep()
	if in.Resume != "" {
		if _, err := time.Parse(time.DateOnly, in.Resume); err != nil {
			return nil, fault.Field("resume", "must be a day YYYY-MM-DD")
		}
		r, err := e.Resume(ctx, sweep.RunKey{Kind: SweepKind, Day: in.Resume})
		if err != nil {
			return nil, err
		}
		n.Log.InfoContext(ctx, "nightly run resumed", "run", r.Key.ID(), "segments", r.TotalSegments, "resumes", r.Resumes)
		return trigger(r, false, true), nil
	}
	r, started, err := e.Start(ctx)
	if err != nil {
		return nil, err
	}
	if started {
		n.Log.InfoContext(ctx, "nightly run started", "run", r.Key.ID(), "segments", r.TotalSegments)
		return trigger(r, true, false), nil
	}
	if r, err = e.Check(ctx, r.Key); err != nil {
		return nil, err
	}
	if r.Status == sweep.Failed {
		n.Log.ErrorContext(ctx, "nightly run failed: past its deadline", "run", r.Key.ID(), "missing", r.Missing,
			"resume", `{"job":"nightly","resume":"`+r.Key.Day+`"}`)
		n.emit(ctx, Result{Day: r.Key.Day})
	}
	return trigger(r, false, false), nil
}

func trigger(r sweep.Run, started, resumed bool) Trigger {
	return Trigger{Run: r.Key.ID(), Status: r.Status, Started: started, Resumed: resumed, Segments: r.TotalSegments, Missing: r.Missing}
}

// segments hands segment messages to the engine with the run's day in the
// context, where the birthday pages read it.
type segments struct{ n *Nightly }

func (s segments) Handle(ctx context.Context, m sweep.Message) (sweep.Outcome, error) {
	return s.n.sweep().Handle(context.WithValue(ctx, runDayKey{}, m.Day), m)
}

type runDayKey struct{}

// pages reads a segment's accounts, then (with a birthday bonus) the same
// segment of the members table for the run day's birthdays. Its cursor is
// "a<accounts cursor>" or "m<members cursor>" ("" at the start).
type pages struct{ n *Nightly }

// ReadPage implements sweep.PageReader.
func (p *pages) ReadPage(ctx context.Context, pg sweep.Page) ([]item, string, error) {
	birthdays := p.n.Members != nil && p.n.Policy.BirthdayBonus > 0
	if !strings.HasPrefix(pg.Cursor, "m") {
		pg.Cursor = strings.TrimPrefix(pg.Cursor, "a")
		accounts, next, err := p.n.Accounts.ReadPage(ctx, pg)
		if err != nil {
			return nil, "", err
		}
		out := make([]item, len(accounts))
		for i, a := range accounts {
			out[i] = item{Account: a}
		}
		switch {
		case next != "":
			next = "a" + next
		case birthdays:
			next = "m"
		}
		return out, next, nil
	}
	day, _ := ctx.Value(runDayKey{}).(string)
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil, "", fault.New(fault.Internal, "nightly: no run day for the birthday pages")
	}
	pg.Cursor = strings.TrimPrefix(pg.Cursor, "m")
	ids, next, err := p.n.Members.BirthdayPage(ctx, pg, monthDays(t))
	if err != nil {
		return nil, "", err
	}
	out := make([]item, len(ids))
	for i, id := range ids {
		out[i] = item{Birthday: id}
	}
	if next != "" {
		next = "m" + next
	}
	return out, next, nil
}

// ProcessPage implements sweep.Processor: the day's work on each account
// of the page and the birthday bonuses, adding to the segment's result
// (the state). A page redone after a crash finds its accounts done and
// its bonuses granted, and changes nothing.
func (n *Nightly) ProcessPage(ctx context.Context, t sweep.Task, state []byte, items []item) ([]byte, error) {
	res := Result{Day: t.Run.Key.Day}
	if len(state) > 0 {
		if err := json.Unmarshal(state, &res); err != nil {
			return nil, fault.Wrap(fault.Internal, err, "nightly: segment state")
		}
	}
	day, err := time.Parse(time.DateOnly, t.Run.Key.Day)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "nightly: run day")
	}
	r := &run{n: n, day: t.Run.Key.Day, year: day.Year(), res: res}
	// The page's items, Workers at a time; the first error fails the page
	// (redone on redelivery).
	err = sweep.Each(ctx, n.Workers, items, func(ctx context.Context, it item) error {
		if it.Account != nil {
			return r.account(ctx, it.Account)
		}
		return r.birthday(ctx, it.Birthday)
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(r.res)
}

// FinishSegment implements sweep.Processor: the segment's result is its
// final checkpoint's state, which finish sums.
func (n *Nightly) FinishSegment(context.Context, sweep.Task, []byte) error { return nil }

// Summary sums the results of a run's segments; Complete when the run
// succeeded.
func (n *Nightly) Summary(ctx context.Context, k sweep.RunKey) (Result, error) {
	r, err := n.Runs.Run(ctx, k)
	if err != nil {
		return Result{}, err
	}
	res, err := n.sum(ctx, k)
	res.Complete = r.Status == sweep.Succeeded
	return res, err
}

func (n *Nightly) sum(ctx context.Context, k sweep.RunKey) (Result, error) {
	cps, err := n.Runs.Checkpoints(ctx, k)
	if err != nil {
		return Result{}, err
	}
	out := Result{Day: k.Day}
	for _, cp := range cps {
		if cp.Phase != 1 || len(cp.State) == 0 {
			continue
		}
		var r Result
		if err := json.Unmarshal(cp.State, &r); err != nil {
			return Result{}, fault.Wrap(fault.Internal, err, "nightly: segment %d state", cp.Segment)
		}
		out.add(r)
	}
	return out, nil
}

// finish is the run's phase hook, run by the delivery that completes the
// last segment (again if that one crashed right after): it logs the run's
// result and emits its metrics.
func (n *Nightly) finish(ctx context.Context, r sweep.Run) error {
	res, err := n.sum(ctx, r.Key)
	if err != nil {
		return err
	}
	res.Complete = true
	attrs := []any{"run", r.Key.ID(), "segments", r.TotalSegments, "result", res}
	if res.Failed > 0 {
		n.Log.ErrorContext(ctx, "nightly run finished; some accounts failed (see the log)", attrs...)
	} else {
		n.Log.InfoContext(ctx, "nightly run finished", attrs...)
	}
	n.emit(ctx, res)
	return nil
}
