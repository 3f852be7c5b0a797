package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"clientele/shared/fault"
	"clientele/shared/metrics"
	"clientele/shared/points"
	"clientele/shared/sweep"
	"clientele/shared/sweepsqs"
)

// SweepKind is the reconciliation's kind of sweep: its runs are
// SWEEP#points-reconcile items in the points table, its segment messages
// go to the points-reconcile-sweep queue.
const SweepKind = "points-reconcile"

// Handler is the reconciliation function: one member on request, or every
// member on the sweep engine (one run per local day, fanned out as scan
// segments whose partial reports are merged when the last one finishes).
type Handler struct {
	Ledger  Ledger
	Log     *slog.Logger
	Options Options

	// The sweep: run and checkpoint storage, the segment queue, the
	// accounts' reader, the table's size and the configuration (Kind is
	// set to SweepKind).
	Runs     sweep.Store
	Segments sweep.Publisher
	Accounts sweep.PageReader[*points.Account]
	Sizer    sweep.Sizer
	Config   sweep.Config
	Now      func() time.Time
	// Metrics receives the run's figures when it completes (nil: none).
	Metrics *metrics.Writer
	// Workers is how many accounts of a page are checked at once
	// (default 8).
	Workers int

	once   sync.Once
	engine *sweep.Engine[*points.Account]
}

func (h *Handler) sweep() *sweep.Engine[*points.Account] {
	h.once.Do(func() {
		cfg := h.Config
		cfg.Kind, cfg.Phases = SweepKind, 1
		h.engine = &sweep.Engine[*points.Account]{Config: cfg, Store: h.Runs, Queue: h.Segments, Reader: h.Accounts,
			Processor: h, Sizer: h.Sizer, PhaseDone: h.finish, Now: h.Now}
	})
	return h.engine
}

// Trigger is what a schedule (or staff) invocation did to the run.
type Trigger struct {
	Run    string       `json:"run"`
	Status sweep.Status `json:"status"`
	// Started: this invocation started the run; false when the day already
	// had one (a second trigger is a no-op).
	Started  bool  `json:"started"`
	Resumed  bool  `json:"resumed,omitempty"`
	Segments int   `json:"segments"`
	Missing  []int `json:"missing,omitempty"`
}

// Handle is the function's entry point:
//
//   - an SQS event holds segment messages from points-reconcile-sweep:
//     each segment is checked from its checkpoint (only failed messages
//     are redelivered);
//   - {"member_id": "..."} reconciles that member now and returns its
//     Report; violations fail the invocation, so the function's error
//     alarm fires;
//   - {"job":"reconcile"} (the schedule) starts the day's run (the brand's
//     local day) or, when the day has one, checks it: a run past its
//     deadline is marked failed with its missing segments;
//   - {"job":"reconcile","resume":"2026-03-08"} resumes that day's failed
//     run.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	if ev, ok := sweepsqs.SQSEvent(raw); ok {
		return sweepsqs.HandleSegments(ctx, h.sweep(), h.Log, ev), nil
	}
	var in struct {
		Job      string `json:"job"`
		MemberID string `json:"member_id"`
		Resume   string `json:"resume"`
	}
	if len(raw) > 0 && string(raw) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return nil, fault.Wrap(fault.Invalid, err, "payload")
		}
	}
	if in.Job != "" && in.Job != "reconcile" {
		return nil, fault.New(fault.Invalid, "unknown job %q", in.Job)
	}
	switch {
	case in.MemberID != "" && in.Resume != "":
		return nil, fault.Field("resume", "cannot be combined with member_id")
	case in.MemberID != "":
		return h.one(ctx, in.MemberID)
	}
	e := h.sweep()
	if in.Resume != "" {
		if _, err := time.Parse(time.DateOnly, in.Resume); err != nil {
			return nil, fault.Field("resume", "must be a day YYYY-MM-DD")
		}
		r, err := e.Resume(ctx, sweep.RunKey{Kind: SweepKind, Day: in.Resume})
		if err != nil {
			return nil, err
		}
		h.Log.InfoContext(ctx, "reconciliation resumed", "run", r.Key.ID(), "segments", r.TotalSegments, "resumes", r.Resumes)
		return trigger(r, false, true), nil
	}
	r, started, err := e.Start(ctx)
	if err != nil {
		return nil, err
	}
	if started {
		h.Log.InfoContext(ctx, "reconciliation started", "run", r.Key.ID(), "segments", r.TotalSegments)
		return trigger(r, true, false), nil
	}
	if r, err = e.Check(ctx, r.Key); err != nil {
		return nil, err
	}
	if r.Status == sweep.Failed {
		h.Log.ErrorContext(ctx, "reconciliation failed: past its deadline", "run", r.Key.ID(), "missing", r.Missing,
			"resume", `{"job":"reconcile","resume":"`+r.Key.Day+`"}`)
		h.emit(ctx, Report{})
	}
	return trigger(r, false, false), nil
}

func trigger(r sweep.Run, started, resumed bool) Trigger {
	return Trigger{Run: r.Key.ID(), Status: r.Status, Started: started, Resumed: resumed, Segments: r.TotalSegments, Missing: r.Missing}
}

// one reconciles one member now.
func (h *Handler) one(ctx context.Context, memberID string) (Report, error) {
	o := h.Options
	o.Log = h.Log
	rep, err := ReconcileWith(ctx, h.Ledger, memberID, o)
	if err != nil {
		h.Log.ErrorContext(ctx, "reconciliation failed", "member_id", memberID, "error", err.Error())
		return rep, err
	}
	if rep.ViolationCount > 0 {
		h.Log.ErrorContext(ctx, "reconciliation found violations", "report", rep)
		return rep, fmt.Errorf("ledger invariants violated: %d problems in the account (see the log)", rep.ViolationCount)
	}
	h.Log.InfoContext(ctx, "reconciliation", "members_checked", rep.MembersChecked, "liability", rep.Liability)
	return rep, nil
}

// ProcessPage implements sweep.Processor: it checks each account of the
// page and adds it to the segment's partial report (the state). The
// checks only read, so a page redone after a crash changes nothing; its
// violations are logged again.
func (h *Handler) ProcessPage(ctx context.Context, _ sweep.Task, state []byte, accounts []*points.Account) ([]byte, error) {
	o := h.Options
	o.Log = h.Log
	r := newReconciler(h.Ledger, o, maxSegmentViolations)
	if len(state) > 0 {
		if err := json.Unmarshal(state, &r.rep); err != nil {
			return nil, fault.Wrap(fault.Internal, err, "reconcile: segment state")
		}
	}
	// The page's accounts, Workers at a time; the first error fails the
	// page (redone on redelivery).
	if err := sweep.Each(ctx, h.Workers, accounts, r.member); err != nil {
		return nil, err
	}
	return json.Marshal(r.rep)
}

// FinishSegment implements sweep.Processor: the segment's partial report
// is its final checkpoint's state, which finish merges.
func (h *Handler) FinishSegment(context.Context, sweep.Task, []byte) error { return nil }

// Summary merges the partial reports of a run's segments; Complete when
// the run succeeded.
func (h *Handler) Summary(ctx context.Context, k sweep.RunKey) (Report, error) {
	r, err := h.Runs.Run(ctx, k)
	if err != nil {
		return Report{}, err
	}
	rep, err := h.merge(ctx, k)
	if err != nil {
		return Report{}, err
	}
	rep.Complete = r.Status == sweep.Succeeded
	return rep, nil
}

func (h *Handler) merge(ctx context.Context, k sweep.RunKey) (Report, error) {
	cps, err := h.Runs.Checkpoints(ctx, k)
	if err != nil {
		return Report{}, err
	}
	var out reconciler
	out.limit = MaxViolations
	for _, cp := range cps {
		if cp.Phase != 1 || len(cp.State) == 0 {
			continue
		}
		var part Report
		if err := json.Unmarshal(cp.State, &part); err != nil {
			return Report{}, fault.Wrap(fault.Internal, err, "reconcile: segment %d state", cp.Segment)
		}
		out.rep.add(part, MaxViolations)
	}
	return out.report(false), nil
}

// finish is the run's phase hook, run by the delivery that completes the
// last segment (again if that one crashed right after): it reports the
// merged totals in the log and as metrics (the stack alarms on
// violations and on a week without a completed run).
func (h *Handler) finish(ctx context.Context, r sweep.Run) error {
	rep, err := h.merge(ctx, r.Key)
	if err != nil {
		return err
	}
	rep.Complete = true
	if rep.ViolationCount > 0 {
		h.Log.ErrorContext(ctx, "reconciliation found violations", "run", r.Key.ID(), "report", rep)
	} else {
		h.Log.InfoContext(ctx, "reconciliation", "run", r.Key.ID(), "members_checked", rep.MembersChecked,
			"liability", rep.Liability, "unsettled", rep.UnsettledCount)
	}
	h.emit(ctx, rep)
	return nil
}
