// Package sweep is the engine that runs work over every item of a table in
// parallel: one run per kind of work and local day, fanned out as N
// parallel-scan segments (messages on a queue), each processed in pages
// from its checkpoint, with completion counted on the run item so that a
// segment redelivered after a crash redoes its work without being counted
// twice. The last segment to finish a phase ends it (runs the phase hook,
// fans out the next phase or marks the run succeeded). A run that misses
// its deadline is marked failed with its missing segments and can be
// resumed, which re-enqueues only those.
//
// The package imports no AWS package: storage (Store), the queue
// (Publisher) and the table reader (PageReader) are interfaces implemented
// in shared/dynamo and shared/queue; the work itself is a Processor
// (points-nightly, points-reconcile and segmentation each plug one in).
// See docs/sweep.md.
package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"clientele/shared/fault"
)

// MaxPhases is the number of phases a run may have: phase 1, then (for
// segmentation) a merge in the phase hook and phase 2.
const MaxPhases = 2

// MaxSegments bounds the fan-out (DynamoDB accepts up to 1 000 000
// TotalSegments; the queue and the run item are the practical limits: the
// completed-segment sets live on the run item).
const MaxSegments = 4096

// Status of a run.
type Status string

// Run statuses.
const (
	Running   Status = "running"
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
)

// RunKey names a run: its kind of work and the day it is for, in the
// brand's time zone (YYYY-MM-DD).
type RunKey struct {
	Kind string
	Day  string
}

// ID is the run's identifier as shown to staff: "<kind>-<day>".
func (k RunKey) ID() string { return k.Kind + "-" + k.Day }

// Day is the calendar day of t in zone (YYYY-MM-DD): what "today" and
// "nightly" mean for a brand.
func Day(t time.Time, zone *time.Location) string {
	if zone == nil {
		zone = time.UTC
	}
	return t.In(zone).Format(time.DateOnly)
}

// PhaseTiming is when a phase started and finished (zero while running).
type PhaseTiming struct {
	Started  time.Time
	Finished time.Time
}

// Run is one sweep over a table for a kind of work and a day.
type Run struct {
	Key           RunKey
	Zone          string // IANA name of the brand's time zone
	TotalSegments int
	Phases        int // 1 or 2
	Phase         int // the current phase, 1-based
	Status        Status
	// Done holds the completed segments of each phase (index phase-1),
	// sorted.
	Done [MaxPhases][]int
	// Missing lists the segments of the current phase that had not
	// finished when the run was marked failed.
	Missing    []int
	Timings    [MaxPhases]PhaseTiming
	StartedAt  time.Time
	Deadline   time.Time
	FinishedAt time.Time
	Resumes    int // how many times the run was resumed
}

// DoneIn reports whether segment completed in phase.
func (r Run) DoneIn(phase, segment int) bool {
	if phase < 1 || phase > MaxPhases {
		return false
	}
	_, ok := slices.BinarySearch(r.Done[phase-1], segment)
	return ok
}

// PhaseComplete reports whether every segment of phase completed.
func (r Run) PhaseComplete(phase int) bool {
	return phase >= 1 && phase <= MaxPhases && len(r.Done[phase-1]) == r.TotalSegments
}

// MissingIn lists the segments of phase that have not completed.
func (r Run) MissingIn(phase int) []int {
	var out []int
	for s := 0; s < r.TotalSegments; s++ {
		if !r.DoneIn(phase, s) {
			out = append(out, s)
		}
	}
	return out
}

// Message asks a worker to process one segment of a run's phase.
type Message struct {
	Kind          string `json:"kind"`
	Day           string `json:"day"`
	Phase         int    `json:"phase"`
	Segment       int    `json:"segment"`
	TotalSegments int    `json:"total_segments"`
}

// Key is the run the message belongs to.
func (m Message) Key() RunKey { return RunKey{Kind: m.Kind, Day: m.Day} }

// Validate checks a decoded message, naming the field at fault.
func (m Message) Validate() error {
	var fs fault.Fields
	if m.Kind == "" {
		fs.Add("kind", "is required")
	}
	if _, err := time.Parse(time.DateOnly, m.Day); err != nil {
		fs.Add("day", "must be a date YYYY-MM-DD")
	}
	if m.Phase < 1 || m.Phase > MaxPhases {
		fs.Add("phase", fmt.Sprintf("must be between 1 and %d", MaxPhases))
	}
	if m.TotalSegments < 1 || m.TotalSegments > MaxSegments {
		fs.Add("total_segments", fmt.Sprintf("must be between 1 and %d", MaxSegments))
	}
	if m.Segment < 0 || m.Segment >= m.TotalSegments {
		fs.Add("segment", "must be between 0 and total_segments-1")
	}
	return fs.Err()
}

// DecodeMessage decodes a queue message body strictly (unknown fields
// and trailing data are errors) and validates it.
func DecodeMessage(body []byte) (Message, error) {
	var m Message
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Message{}, fault.Wrap(fault.Invalid, err, "segment message is not a sweep message")
	}
	if dec.More() {
		return Message{}, fault.New(fault.Invalid, "segment message has trailing data")
	}
	return m, m.Validate()
}

// Checkpoint is a segment's position in a phase: the cursor to resume the
// scan from (opaque, "" at the start), the processor's state after the
// last processed page, and progress counters.
type Checkpoint struct {
	Phase     int
	Segment   int
	Cursor    string
	State     []byte
	Items     int64
	Pages     int64
	Exhausted bool // the scan reached the segment's end
	UpdatedAt time.Time
}

// Page asks a PageReader for one page of a segment.
type Page struct {
	Segment       int
	TotalSegments int
	Cursor        string // "" for the segment's first page
	Limit         int32
}

// PageReader reads a table segment by segment, one page at a time
// (dynamo.ScanReader does). next is "" once the segment is exhausted.
type PageReader[T any] interface {
	ReadPage(ctx context.Context, p Page) (items []T, next string, err error)
}

// Task is what a Processor is told about the segment it works on.
type Task struct {
	Run     Run
	Phase   int
	Segment int
	// Page is the number of pages of the segment already checkpointed: a
	// processor that keeps its decoded state in memory between pages of
	// one delivery can check that it matches the state it is given.
	Page int64
}

// Processor is the work a run does. ProcessPage gets the state returned
// for the previous page (nil at a segment's start) and returns the state
// to checkpoint with the page; it may be called again for the same page
// after a crash (with the same input state), so its side effects on items
// must be idempotent. FinishSegment gets the final state once the segment
// is exhausted, before the segment is counted; it may be called more than
// once.
type Processor[T any] interface {
	ProcessPage(ctx context.Context, t Task, state []byte, items []T) ([]byte, error)
	FinishSegment(ctx context.Context, t Task, state []byte) error
}

// Store keeps runs and checkpoints (dynamo.SweepStore does). Conditional
// methods report false, not an error, when the run is not in the required
// state.
type Store interface {
	// CreateRun stores r unless a run with its key exists, and returns the
	// stored run and whether this call created it.
	CreateRun(ctx context.Context, r Run) (Run, bool, error)
	// Run reads a run (fault.NotFound when there is none).
	Run(ctx context.Context, k RunKey) (Run, error)
	// Latest reads the newest run of a kind (fault.NotFound when none).
	Latest(ctx context.Context, kind string) (Run, error)
	// Checkpoint reads a segment's checkpoint; the zero position (with
	// Phase and Segment set) when there is none.
	Checkpoint(ctx context.Context, k RunKey, phase, segment int) (Checkpoint, error)
	// SaveCheckpoint stores c if the stored checkpoint still has prevPages
	// pages (0: none stored); otherwise fault.Conflict (another delivery of
	// the segment moved on).
	SaveCheckpoint(ctx context.Context, k RunKey, c Checkpoint, prevPages int64) error
	// Checkpoints lists every checkpoint of a run (per-segment progress).
	Checkpoints(ctx context.Context, k RunKey) ([]Checkpoint, error)
	// CompleteSegment adds segment to the phase's completed set, in one
	// conditional update that requires the run to be running in that phase
	// and the segment not yet in the set. It returns the run after the
	// update (or as found) and whether this call added it.
	CompleteSegment(ctx context.Context, k RunKey, phase, segment int) (Run, bool, error)
	// AdvancePhase moves a running run from phase from to from+1.
	AdvancePhase(ctx context.Context, k RunKey, from int, at time.Time) (bool, error)
	// Succeed marks a running run in its last phase succeeded.
	Succeed(ctx context.Context, k RunKey, at time.Time) (bool, error)
	// Fail marks a run failed with the missing segments of its phase,
	// provided it is still running in that phase with exactly the other
	// segments completed (so the list is exact); false otherwise.
	Fail(ctx context.Context, k RunKey, phase int, missing []int, at time.Time) (bool, error)
	// Reopen marks a failed run running again with a new deadline.
	Reopen(ctx context.Context, k RunKey, deadline time.Time) (bool, error)
}

// Publisher sends segment messages to the workers' queue.
type Publisher interface {
	PublishSegments(ctx context.Context, msgs []Message) error
}

// Sizer estimates the number of items a run will sweep
// (dynamo.TableSizer does, from DescribeTable's ItemCount).
type Sizer interface {
	ItemCount(ctx context.Context) (int64, error)
}
