package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/metrics"
	"clientele/shared/queue"
	"clientele/shared/segment"
	"clientele/shared/sweep"
	"clientele/shared/sweepsqs"
)

// Eraser removes an erased member's result (dynamo.SegmentationStore).
type Eraser interface {
	DeleteResult(ctx context.Context, memberID string) error
}

// Refusals removes the result of a member who refused profiling, with its
// member.segment_changed (Processor.RemoveRefused).
type Refusals interface {
	RemoveRefused(ctx context.Context, memberID string) error
}

// Runs is what the nightly schedule does with the day's run
// (sweep.Engine).
type Runs interface {
	Start(ctx context.Context) (sweep.Run, bool, error)
	Check(ctx context.Context, k sweep.RunKey) (sweep.Run, error)
	Handle(ctx context.Context, m sweep.Message) (sweep.Outcome, error)
}

// Handler is the segmentation worker: the nightly schedule starts the
// day's run (and marks one past its deadline failed); the
// segmentation-sweep queue brings segment messages, which the sweep
// engine runs, member.erased, which removes the member's result, and
// member.profiling_refused, which removes it with a member.segment_changed.
type Handler struct {
	Engine   Runs
	Eraser   Eraser
	Refusals Refusals
	// Exports writes the segment exports segmentation-api requests.
	Exports *Exporter
	Log     *slog.Logger
	// Meter, when set, counts the DynamoDB units the handler's client
	// consumes; each invocation emits what it consumed to Metrics
	// (ReadUnits, WriteUnits), so a night's cost is measured, not guessed.
	Meter   *dynamo.Meter
	Metrics *metrics.Writer
}

// Job is the schedule's payload.
type Job struct {
	Job string `json:"job"`
}

// JobResult reports what a scheduled invocation did.
type JobResult struct {
	Run     string `json:"run"`
	Started bool   `json:"started"`
	Status  string `json:"status"`
	Missing []int  `json:"missing,omitempty"`
}

// Handle is the Lambda handler: an SQS event (it has Records) or the
// schedule's payload.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	if h.Meter != nil && h.Metrics != nil {
		before := h.Meter.Units()
		defer func() {
			u := h.Meter.Since(before)
			err := h.Metrics.Emit(map[string]any{"calls": u.Calls},
				metrics.Metric{Name: metrics.ReadUnits, Value: u.Read, Unit: metrics.Count},
				metrics.Metric{Name: metrics.WriteUnits, Value: u.Write, Unit: metrics.Count})
			if err != nil {
				h.Log.ErrorContext(ctx, "unit metrics not emitted", "error", err.Error())
			}
		}()
	}
	var probe struct {
		Records json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "segmentation worker: unreadable invocation")
	}
	if probe.Records != nil {
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fault.Wrap(fault.Invalid, err, "segmentation worker: unreadable SQS event")
		}
		return h.Messages(ctx, ev), nil
	}
	var job Job
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&job); err != nil || job.Job != "nightly" {
		return nil, fault.New(fault.Invalid, `segmentation worker: the schedule's payload must be {"job":"nightly"}`)
	}
	return h.Nightly(ctx)
}

// Nightly starts the day's run — a no-op when the day has one — and marks
// it failed, with its missing segments, once past its deadline.
func (h *Handler) Nightly(ctx context.Context) (JobResult, error) {
	run, started, err := h.Engine.Start(ctx)
	if err != nil {
		return JobResult{}, err
	}
	if !started {
		if run, err = h.Engine.Check(ctx, run.Key); err != nil {
			return JobResult{}, err
		}
	}
	res := JobResult{Run: run.Key.ID(), Started: started, Status: string(run.Status), Missing: run.Missing}
	h.Log.InfoContext(ctx, "segmentation nightly", "run", res.Run, "started", started, "status", res.Status,
		"segments", run.TotalSegments, "phase", run.Phase, "missing", len(run.Missing), "metric_run_completed", run.Status == sweep.Succeeded)
	return res, nil
}

// Messages splits a batch: events (member.erased) are applied here,
// segment messages go to the sweep engine. Only failed messages are
// reported, so only they are redelivered.
func (h *Handler) Messages(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
	var segments events.SQSEvent
	var b queue.Batch
	for _, rec := range ev.Records {
		env, err := event.Parse([]byte(rec.Body))
		if err != nil {
			segments.Records = append(segments.Records, rec)
			continue
		}
		if err := h.event(ctx, env); err != nil {
			h.Log.WarnContext(ctx, "event not applied; it will be redelivered", "message_id", rec.MessageId, "type", env.Type, "error", err.Error())
			b.Fail(rec.MessageId)
		}
	}
	if len(segments.Records) > 0 {
		for _, f := range sweepsqs.HandleSegments(ctx, h.Engine, h.Log, segments).BatchItemFailures {
			b.Fail(f.ItemIdentifier)
		}
	}
	return b.Response()
}

func (h *Handler) event(ctx context.Context, env event.Envelope) error {
	switch env.Type {
	case event.TypeMemberErased:
		var d event.MemberErased
		if err := json.Unmarshal(env.Data, &d); err != nil || d.MemberID == "" {
			h.Log.ErrorContext(ctx, "dropping a malformed member.erased", "event_id", env.ID)
			return nil
		}
		if err := h.Eraser.DeleteResult(ctx, d.MemberID); err != nil {
			return err
		}
		h.Log.InfoContext(ctx, "erased member's result removed", "event_id", env.ID)
		return nil
	case event.TypeMemberProfilingRefused:
		var d event.MemberProfilingRefused
		if err := json.Unmarshal(env.Data, &d); err != nil || d.MemberID == "" {
			h.Log.ErrorContext(ctx, "dropping a malformed member.profiling_refused", "event_id", env.ID)
			return nil
		}
		if err := h.Refusals.RemoveRefused(ctx, d.MemberID); err != nil {
			return err
		}
		h.Log.InfoContext(ctx, "refused member's result removed", "event_id", env.ID)
		return nil
	case event.TypeSegmentExportRequested:
		var d event.SegmentExportRequested
		if err := json.Unmarshal(env.Data, &d); err != nil || d.ExportID == "" {
			h.Log.ErrorContext(ctx, "dropping a malformed segmentation.export_requested", "event_id", env.ID)
			return nil
		}
		if h.Exports == nil {
			return fault.New(fault.Unavailable, "exports are not configured")
		}
		return h.Exports.Write(ctx, d.ExportID)
	default:
		h.Log.WarnContext(ctx, "ignoring an event type segmentation does not consume", "event_id", env.ID, "type", env.Type)
		return nil
	}
}

// newEngine wires the sweep engine of segmentation runs.
func newEngine(cfg segment.RunConfig, zone *time.Location, store sweep.Store, pub sweep.Publisher, reader sweep.PageReader[dynamo.MemberStats], p *Processor) *sweep.Engine[dynamo.MemberStats] {
	return &sweep.Engine[dynamo.MemberStats]{
		Config: sweep.Config{Kind: segment.SweepKind, Phases: 2, Segments: cfg.Segments, PageSize: cfg.PageSize, Timeout: cfg.Timeout(),
			Zone: zone, Reserve: 90 * time.Second},
		Store: store, Queue: pub, Reader: reader, Processor: p, PhaseDone: p.PhaseDone,
	}
}
