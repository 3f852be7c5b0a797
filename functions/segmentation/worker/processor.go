package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/metrics"
	"clientele/shared/queue"
	"clientele/shared/segment"
	"clientele/shared/sweep"
)

// Results is where a run reads and writes members' results, its plan and
// its report (dynamo.SegmentationStore).
type Results interface {
	Results(ctx context.Context, ids []string) (map[string]dynamo.StoredResult, error)
	PutResults(ctx context.Context, ws []dynamo.Write, at time.Time) error
	ChangeResult(ctx context.Context, stored, fresh *segment.Result, ev event.Envelope, at time.Time) (bool, error)
	DeleteResult(ctx context.Context, memberID string) error
	SavePlan(ctx context.Context, day string, p *segment.Plan) (*segment.Plan, error)
	Plan(ctx context.Context, day string) (*segment.Plan, error)
	SaveReport(ctx context.Context, r segment.Report) error
	PhaseStates(ctx context.Context, k sweep.RunKey, phase int, visit func(sweep.Checkpoint) error) error
}

// Processor is segmentation's sweep processor. Phase 1 adds each page's
// members to the segment's segment.Partial (the checkpoint state); the
// phase hook merges the partials, reads the cut points, fits the models
// and stores the plan. Phase 2 scores each page's members against the
// plan, writes the results that changed materially, publishes
// member.segment_changed for changed labels through the outbox, removes
// the results of members who refused profiling or were erased, and
// tallies the page (the checkpoint state); the phase hook merges the
// tallies into the run's report.
type Processor struct {
	Config    segment.RunConfig
	Store     Results
	Publisher queue.EventPublisher
	Outbox    queue.Outbox
	Log       *slog.Logger
	Service   string
	Now       func() time.Time
	// Metrics receives RunCompleted when a run's last phase ends (the
	// stack alarms when no run completes in a day); nil emits nothing.
	Metrics *metrics.Writer

	mu     sync.Mutex
	scorer map[string]*segment.Scorer // by run day: the plan is fixed once stored
}

var _ sweep.Processor[dynamo.MemberStats] = (*Processor)(nil)

func (p *Processor) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// asOf is the instant a run scores as of: its start, in the brand's zone
// (every segment of a run uses the same).
func asOf(r sweep.Run) (time.Time, segment.AsOf, error) {
	zone, err := time.LoadLocation(r.Zone)
	if err != nil {
		return time.Time{}, segment.AsOf{}, fault.Wrap(fault.Internal, err, "run %s: time zone %q", r.Key.ID(), r.Zone)
	}
	t := r.StartedAt.In(zone)
	return t, segment.AsOfTime(t), nil
}

// ProcessPage implements sweep.Processor.
func (p *Processor) ProcessPage(ctx context.Context, t sweep.Task, state []byte, items []dynamo.MemberStats) ([]byte, error) {
	at, day, err := asOf(t.Run)
	if err != nil {
		return nil, err
	}
	if t.Phase == 1 {
		return p.summarise(state, items, at, day)
	}
	return p.score(ctx, t, state, items, at, day)
}

func (p *Processor) summarise(state []byte, items []dynamo.MemberStats, at time.Time, day segment.AsOf) ([]byte, error) {
	part := segment.NewPartial(p.Config.SegmentConfig())
	if state != nil {
		if err := part.UnmarshalBinary(state); err != nil {
			return nil, fault.Wrap(fault.Internal, err, "segment state")
		}
	}
	for i := range items {
		m := toMember(&items[i], at, p.Config.WindowMonths)
		part.Add(&m, day)
	}
	return part.MarshalBinary()
}

func (p *Processor) scorerFor(ctx context.Context, r sweep.Run) (*segment.Scorer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.scorer[r.Key.Day]; ok {
		return s, nil
	}
	plan, err := p.Store.Plan(ctx, r.Key.Day)
	if err != nil {
		return nil, err
	}
	if p.scorer == nil {
		p.scorer = map[string]*segment.Scorer{}
	}
	s := segment.NewScorer(plan)
	p.scorer[r.Key.Day] = s
	return s, nil
}

func (p *Processor) score(ctx context.Context, t sweep.Task, state []byte, items []dynamo.MemberStats, at time.Time, day segment.AsOf) ([]byte, error) {
	sc, err := p.scorerFor(ctx, t.Run)
	if err != nil {
		return nil, err
	}
	tally := segment.NewTally()
	if state != nil {
		if err := json.Unmarshal(state, tally); err != nil {
			return nil, fault.Wrap(fault.Internal, err, "segment state")
		}
	}
	ids := make([]string, len(items))
	for i := range items {
		ids[i] = items[i].ID
	}
	stored, err := p.Store.Results(ctx, ids)
	if err != nil {
		return nil, err
	}
	runID := t.Run.Key.ID()
	now := p.now()
	var writes []dynamo.Write
	var evs []event.Envelope
	for i := range items {
		m := toMember(&items[i], at, p.Config.WindowMonths)
		var before *segment.Result // the result as it was before this run
		current, has := stored[m.ID]
		if has {
			before = &current.Result
			if current.RunID == runID {
				// Written by this run already (a redone page): decide
				// against what it replaced, so the tally, the writes and
				// the events are the same as the first time.
				before = current.Previous
			}
		}
		fresh, ok := sc.Score(&m, day)
		if !ok {
			if !has {
				continue
			}
			tally.Remove()
			if items[i].Erased {
				if err := p.Store.DeleteResult(ctx, m.ID); err != nil {
					return nil, err
				}
				continue
			}
			ev, err := p.changed(runID, &current.Result, nil, now)
			if err != nil {
				return nil, err
			}
			if applied, err := p.Store.ChangeResult(ctx, &current.Result, nil, ev, now); err != nil {
				return nil, err
			} else if applied {
				evs = append(evs, ev)
			}
			continue
		}
		write, labels := tally.Add(before, &fresh, p.Config.Tolerance)
		switch {
		case labels && has && current.RunID != runID:
			ev, err := p.changed(runID, before, &fresh, now)
			if err != nil {
				return nil, err
			}
			applied, err := p.Store.ChangeResult(ctx, before, &fresh, ev, now)
			if err != nil {
				return nil, err
			}
			if applied {
				evs = append(evs, ev)
			}
		case labels:
			// This run already made the change and published its event.
		case write:
			writes = append(writes, dynamo.Write{Fresh: &fresh, Replaces: before})
		}
	}
	if err := p.Store.PutResults(ctx, writes, now); err != nil {
		return nil, err
	}
	queue.PublishCommitted(ctx, p.Publisher, p.Outbox, p.Log, evs)
	return json.Marshal(tally)
}

// RemoveRefused removes the result of a member who refused profiling and
// publishes member.segment_changed with no new labels, as the next run
// would: in one transaction with the outbox, conditional on the stored
// result, so a redelivered refusal finds nothing and publishes nothing.
func (p *Processor) RemoveRefused(ctx context.Context, memberID string) error {
	stored, err := p.Store.Results(ctx, []string{memberID})
	if err != nil {
		return err
	}
	current, ok := stored[memberID]
	if !ok {
		return nil
	}
	now := p.now()
	ev, err := p.changed(current.RunID, &current.Result, nil, now)
	if err != nil {
		return err
	}
	applied, err := p.Store.ChangeResult(ctx, &current.Result, nil, ev, now)
	if err != nil || !applied {
		return err
	}
	queue.PublishCommitted(ctx, p.Publisher, p.Outbox, p.Log, []event.Envelope{ev})
	return nil
}

// labelsOf is the part of a result member.segment_changed carries.
func labelsOf(r *segment.Result) event.SegmentLabels {
	return event.SegmentLabels{RFMSegment: string(r.RFMSegment), ValueTier: string(r.ValueTier), LifecycleStage: string(r.LifecycleStage),
		RScore: r.RScore, FScore: r.FScore, MScore: r.MScore}
}

// changed builds the member.segment_changed event of a change from old to
// fresh (nil: the result was removed for lack of profiling consent), with
// the reason in the run's terms.
func (p *Processor) changed(runID string, old, fresh *segment.Result, at time.Time) (event.Envelope, error) {
	data := event.SegmentChanged{MemberID: old.MemberID, RunID: runID, Old: labelsOf(old), At: at.UTC()}
	if fresh == nil {
		data.Changed = []string{"rfm_segment", "value_tier", "lifecycle_stage"}
		data.Reason = "profiling consent withdrawn: result removed"
		return event.New(event.TypeMemberSegmentChanged, p.Service, at, data)
	}
	nl := labelsOf(fresh)
	data.New = &nl
	var why []string
	rs := &fresh.Reasons
	if old.RFMSegment != fresh.RFMSegment {
		data.Changed = append(data.Changed, "rfm_segment")
		why = append(why, fmt.Sprintf("rfm_segment %q → %q: R%d F%d M%d (recency %d days, %d purchase days, monetary %d)",
			old.RFMSegment, fresh.RFMSegment, fresh.RScore, fresh.FScore, fresh.MScore, rs.RecencyDays, rs.PurchaseDays, rs.Monetary))
	}
	if old.ValueTier != fresh.ValueTier {
		data.Changed = append(data.Changed, "value_tier")
		why = append(why, fmt.Sprintf("value_tier %s → %s: monetary %d against tier cuts %.0f (high) and %.0f (medium)",
			old.ValueTier, fresh.ValueTier, rs.Monetary, rs.TierHigh, rs.TierMedium))
	}
	if old.LifecycleStage != fresh.LifecycleStage {
		data.Changed = append(data.Changed, "lifecycle_stage")
		rule := rs.LifecycleRule
		if rs.LifecycleThreshold != 0 {
			rule = fmt.Sprintf("%s (threshold %d)", rule, rs.LifecycleThreshold)
		}
		why = append(why, fmt.Sprintf("lifecycle_stage %s → %s: %s", old.LifecycleStage, fresh.LifecycleStage, rule))
	}
	data.Reason = strings.Join(why, "; ")
	return event.New(event.TypeMemberSegmentChanged, p.Service, at, data)
}

// FinishSegment implements sweep.Processor: a segment's result is its
// final checkpoint state, which the phase hook reads.
func (p *Processor) FinishSegment(context.Context, sweep.Task, []byte) error { return nil }

// PhaseDone is the engine's phase hook. After phase 1 it merges the
// segments' partials, builds the plan (cut points, fitted models) and
// stores it — the first stored plan stays, so a hook run twice scores
// everyone against the same cuts. After phase 2 it merges the tallies
// into the run's report.
func (p *Processor) PhaseDone(ctx context.Context, r sweep.Run) error {
	if r.Phase == 1 {
		if _, err := p.Store.Plan(ctx, r.Key.Day); err == nil {
			return nil
		} else if !fault.Is(err, fault.NotFound) {
			return err
		}
		merged := segment.NewPartial(p.Config.Config)
		n := 0
		err := p.Store.PhaseStates(ctx, r.Key, 1, func(c sweep.Checkpoint) error {
			part := segment.NewPartial(p.Config.SegmentConfig())
			if err := part.UnmarshalBinary(c.State); err != nil {
				return fault.Wrap(fault.Internal, err, "partial of segment %d", c.Segment)
			}
			merged.Merge(part)
			n++
			return nil
		})
		if err != nil {
			return err
		}
		if n != r.TotalSegments {
			return fault.New(fault.Unavailable, "run %s: %d of %d partials readable", r.Key.ID(), n, r.TotalSegments)
		}
		plan, err := segment.NewPlan(r.Key.ID(), p.Config.Config, merged)
		if err != nil {
			return fault.Wrap(fault.Internal, err, "plan of run %s", r.Key.ID())
		}
		plan, err = p.Store.SavePlan(ctx, r.Key.Day, plan)
		if err != nil {
			return err
		}
		p.Log.InfoContext(ctx, "segmentation plan", "run", r.Key.ID(), "members", plan.Members, "buyers", plan.Cuts.Buyers,
			"no_consent", plan.NoConsent, "exact", plan.Cuts.Exact, "bgnbd", plan.Purchase.Info.Status, "bgnbd_reason", plan.Purchase.Info.Reason,
			"gamma_gamma", plan.Spend.Info.Status, "gamma_gamma_reason", plan.Spend.Info.Reason)
		return nil
	}
	plan, err := p.Store.Plan(ctx, r.Key.Day)
	if err != nil {
		return err
	}
	total := segment.NewTally()
	n := 0
	err = p.Store.PhaseStates(ctx, r.Key, 2, func(c sweep.Checkpoint) error {
		t := segment.NewTally()
		if err := json.Unmarshal(c.State, t); err != nil {
			return fault.Wrap(fault.Internal, err, "tally of segment %d", c.Segment)
		}
		total.Merge(t)
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if n != r.TotalSegments {
		return fault.New(fault.Unavailable, "run %s: %d of %d tallies readable", r.Key.ID(), n, r.TotalSegments)
	}
	if err := p.Store.SaveReport(ctx, segment.NewReport(r.Key.Day, p.now(), plan, total)); err != nil {
		return err
	}
	p.Log.InfoContext(ctx, "segmentation run complete", "run", r.Key.ID(), "scored", total.Scored, "written", total.Written,
		"labels_changed", total.LabelsChanged, "removed", total.Removed)
	if p.Metrics != nil {
		err := p.Metrics.Emit(map[string]any{"day": r.Key.Day, "run": r.Key.ID()},
			metrics.Metric{Name: metrics.RunCompleted, Value: 1, Unit: metrics.Count},
			metrics.Metric{Name: metrics.MembersProcessed, Value: float64(total.Scored + total.Removed), Unit: metrics.Count})
		if err != nil {
			p.Log.ErrorContext(ctx, "run metrics not emitted", "error", err.Error())
		}
	}
	return nil
}
