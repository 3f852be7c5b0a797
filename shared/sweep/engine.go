package sweep

import (
	"context"
	"time"

	"clientele/shared/fault"
)

// Config is a kind of run's configuration.
type Config struct {
	Kind   string
	Phases int // 1 (default) or 2
	// Segments fixes the fan-out when > 0. Otherwise the fan-out is
	// ceil(items / ItemsPerSegment) from the Sizer, bounded by
	// [MinSegments, MaxSegments] (defaults 1 and MaxSegments).
	Segments        int
	ItemsPerSegment int64
	MinSegments     int
	MaxSegments     int
	// PageSize is the scan page limit (default 500).
	PageSize int32
	// Timeout is how long a run may take from its start before Check
	// marks it failed (default 6 h).
	Timeout time.Duration
	// Zone decides the run's day (default UTC).
	Zone *time.Location
	// Reserve: when, after a page, the handler's context has less than
	// this left before its deadline (a Lambda invocation's limit), the
	// delivery republishes its message and stops; the next delivery
	// continues from the checkpoint. 0 disables it.
	Reserve time.Duration
}

// SegmentCount is the fan-out for a table of items items: ceil(items /
// per) bounded by [lo, hi] (lo defaults to 1, hi to MaxSegments).
func SegmentCount(items, per int64, lo, hi int) int {
	if lo < 1 {
		lo = 1
	}
	if hi < 1 || hi > MaxSegments {
		hi = MaxSegments
	}
	n := int64(lo)
	if per > 0 && items > 0 {
		n = (items + per - 1) / per
	}
	return int(min(max(n, int64(lo)), int64(hi)))
}

// Engine runs one kind of sweep. The scheduler calls Start (and Check and
// Resume); workers call Handle for each segment message.
type Engine[T any] struct {
	Config    Config
	Store     Store
	Queue     Publisher
	Reader    PageReader[T]
	Processor Processor[T]
	Sizer     Sizer // optional; used when Config.Segments is 0
	// PhaseDone runs once every segment of a phase completed, before the
	// next phase is fanned out (segmentation merges its partials here) or
	// the run is marked succeeded. It may run again if the worker crashed
	// after it, so it must be idempotent.
	PhaseDone func(ctx context.Context, r Run) error
	Now       func() time.Time
}

func (e *Engine[T]) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine[T]) phases() int {
	if e.Config.Phases >= 1 && e.Config.Phases <= MaxPhases {
		return e.Config.Phases
	}
	return 1
}

func (e *Engine[T]) pageSize() int32 {
	if e.Config.PageSize > 0 {
		return e.Config.PageSize
	}
	return 500
}

func (e *Engine[T]) timeout() time.Duration {
	if e.Config.Timeout > 0 {
		return e.Config.Timeout
	}
	return 6 * time.Hour
}

func (e *Engine[T]) segments(ctx context.Context) (int, error) {
	if e.Config.Segments > 0 {
		return min(e.Config.Segments, MaxSegments), nil
	}
	var items int64
	if e.Sizer != nil {
		n, err := e.Sizer.ItemCount(ctx)
		if err != nil {
			return 0, err
		}
		items = n
	}
	return SegmentCount(items, e.Config.ItemsPerSegment, e.Config.MinSegments, e.Config.MaxSegments), nil
}

// Start starts the run for the current day in the configured zone and fans
// out its phase-1 segments. When the day already has a run, Start changes
// nothing and returns it with started = false.
func (e *Engine[T]) Start(ctx context.Context) (r Run, started bool, err error) {
	now := e.now()
	zone := e.Config.Zone
	if zone == nil {
		zone = time.UTC
	}
	key := RunKey{Kind: e.Config.Kind, Day: Day(now, zone)}
	if existing, err := e.Store.Run(ctx, key); err == nil {
		return existing, false, nil
	} else if !fault.Is(err, fault.NotFound) {
		return Run{}, false, err
	}
	n, err := e.segments(ctx)
	if err != nil {
		return Run{}, false, err
	}
	r = Run{Key: key, Zone: zone.String(), TotalSegments: n, Phases: e.phases(), Phase: 1, Status: Running,
		StartedAt: now, Deadline: now.Add(e.timeout())}
	r.Timings[0].Started = now
	r, created, err := e.Store.CreateRun(ctx, r)
	if err != nil || !created {
		return r, false, err
	}
	return r, true, e.Queue.PublishSegments(ctx, messages(r, 1, nil))
}

// messages builds the messages of phase for the given segments (all when
// nil).
func messages(r Run, phase int, segments []int) []Message {
	if segments == nil {
		segments = make([]int, r.TotalSegments)
		for i := range segments {
			segments[i] = i
		}
	}
	out := make([]Message, len(segments))
	for i, s := range segments {
		out[i] = Message{Kind: r.Key.Kind, Day: r.Key.Day, Phase: phase, Segment: s, TotalSegments: r.TotalSegments}
	}
	return out
}

// Outcome says what Handle did with a message.
type Outcome struct {
	// Skipped: the run is not running in the message's phase, or the
	// segment had already been counted; nothing was processed.
	Skipped bool
	// Counted: this delivery added the segment to the completed set.
	Counted bool
	// Items and Pages processed by this delivery.
	Items, Pages int64
	// EndedPhase: this delivery ended the phase (advanced the run to the
	// next phase and fanned it out, or marked the run succeeded).
	EndedPhase bool
	// Continued: the delivery ran short of time, checkpointed and
	// republished its message; the segment is not finished.
	Continued bool
}

// Handle processes one segment message: from the segment's checkpoint,
// page by page, checkpointing after each page; then counts the segment
// and, if it was the last one of its phase, ends the phase. An error
// leaves the message to be redelivered; a redelivery resumes from the last
// checkpoint and is never counted twice.
func (e *Engine[T]) Handle(ctx context.Context, m Message) (Outcome, error) {
	var out Outcome
	if err := m.Validate(); err != nil {
		return out, err
	}
	key := m.Key()
	run, err := e.Store.Run(ctx, key)
	if err != nil {
		return out, err
	}
	switch {
	case run.Status != Running || m.Phase < run.Phase:
		out.Skipped = true
		return out, nil
	case m.Phase > run.Phase:
		return out, fault.New(fault.Unavailable, "run %s is still in phase %d; segment %d of phase %d must wait", key.ID(), run.Phase, m.Segment, m.Phase)
	case m.TotalSegments != run.TotalSegments:
		return out, fault.New(fault.Invalid, "run %s has %d segments, the message says %d", key.ID(), run.TotalSegments, m.TotalSegments)
	}
	counted := run.DoneIn(m.Phase, m.Segment)
	if !counted {
		task := Task{Run: run, Phase: m.Phase, Segment: m.Segment}
		if err := e.process(ctx, task, &out); err != nil {
			return out, err
		}
		if out.Continued {
			return out, e.Queue.PublishSegments(ctx, []Message{m})
		}
		run, out.Counted, err = e.Store.CompleteSegment(ctx, key, m.Phase, m.Segment)
		if err != nil {
			return out, err
		}
	} else {
		out.Skipped = true
	}
	// Every delivery that finds the phase complete but not yet ended tries
	// to end it: normally only the one that counted the last segment, but
	// also a redelivery after that one crashed before ending the phase.
	if run.Status != Running || run.Phase != m.Phase || !run.PhaseComplete(m.Phase) {
		return out, nil
	}
	ended, err := e.endPhase(ctx, run)
	out.EndedPhase = ended
	return out, err
}

func (e *Engine[T]) process(ctx context.Context, t Task, out *Outcome) error {
	key := t.Run.Key
	cp, err := e.Store.Checkpoint(ctx, key, t.Phase, t.Segment)
	if err != nil {
		return err
	}
	for !cp.Exhausted {
		items, next, err := e.Reader.ReadPage(ctx, Page{Segment: t.Segment, TotalSegments: t.Run.TotalSegments, Cursor: cp.Cursor, Limit: e.pageSize()})
		if err != nil {
			return err
		}
		t.Page = cp.Pages
		state, err := e.Processor.ProcessPage(ctx, t, cp.State, items)
		if err != nil {
			return err
		}
		prev := cp.Pages
		cp = Checkpoint{Phase: t.Phase, Segment: t.Segment, Cursor: next, State: state, Items: cp.Items + int64(len(items)),
			Pages: cp.Pages + 1, Exhausted: next == "", UpdatedAt: e.now()}
		if err := e.Store.SaveCheckpoint(ctx, key, cp, prev); err != nil {
			return err
		}
		out.Items += int64(len(items))
		out.Pages++
		if dl, ok := ctx.Deadline(); ok && e.Config.Reserve > 0 && !cp.Exhausted && time.Until(dl) < e.Config.Reserve {
			out.Continued = true
			return nil
		}
	}
	t.Page = cp.Pages
	return e.Processor.FinishSegment(ctx, t, cp.State)
}

// endPhase runs the phase hook, then advances the run and fans out the
// next phase, or marks the run succeeded. Only the caller whose
// conditional update wins publishes, so the next phase is fanned out once.
func (e *Engine[T]) endPhase(ctx context.Context, run Run) (bool, error) {
	if e.PhaseDone != nil {
		if err := e.PhaseDone(ctx, run); err != nil {
			return false, err
		}
	}
	now := e.now()
	if run.Phase >= run.Phases {
		return e.Store.Succeed(ctx, run.Key, now)
	}
	ok, err := e.Store.AdvancePhase(ctx, run.Key, run.Phase, now)
	if err != nil || !ok {
		return false, err
	}
	run.Phase++
	return true, e.Queue.PublishSegments(ctx, messages(run, run.Phase, nil))
}

// Check marks a running run that is past its deadline failed, with the
// segments of its current phase that have not completed, and returns the
// run as it stands.
func (e *Engine[T]) Check(ctx context.Context, k RunKey) (Run, error) {
	for attempt := 0; ; attempt++ {
		run, err := e.Store.Run(ctx, k)
		if err != nil || run.Status != Running || !e.now().After(run.Deadline) {
			return run, err
		}
		ok, err := e.Store.Fail(ctx, k, run.Phase, run.MissingIn(run.Phase), e.now())
		if err != nil {
			return run, err
		}
		if ok || attempt >= 10 {
			return e.Store.Run(ctx, k)
		}
		// A segment completed meanwhile: read the run again.
	}
}

// Resume reopens a failed run with a fresh deadline and re-enqueues only
// the segments of its current phase that have not completed (their
// checkpoints make them continue where they stopped). A run whose phase
// had in fact completed is ended instead.
func (e *Engine[T]) Resume(ctx context.Context, k RunKey) (Run, error) {
	run, err := e.Store.Run(ctx, k)
	if err != nil {
		return run, err
	}
	if run.Status != Failed {
		return run, fault.New(fault.Conflict, "run %s is %s; only a failed run can be resumed", k.ID(), run.Status)
	}
	ok, err := e.Store.Reopen(ctx, k, e.now().Add(e.timeout()))
	if err != nil {
		return run, err
	}
	if !ok {
		return run, fault.New(fault.Conflict, "run %s changed meanwhile", k.ID())
	}
	if run, err = e.Store.Run(ctx, k); err != nil {
		return run, err
	}
	missing := run.MissingIn(run.Phase)
	if len(missing) == 0 {
		if _, err := e.endPhase(ctx, run); err != nil {
			return run, err
		}
		return e.Store.Run(ctx, k)
	}
	return run, e.Queue.PublishSegments(ctx, messages(run, run.Phase, missing))
}
