// Package sweepmem is an in-memory sweep.Store and sweep.PageReader with
// the same conditional semantics as the DynamoDB ones, for unit tests of
// processors and of the engine without a database.
package sweepmem

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"clientele/shared/fault"
	"clientele/shared/sweep"
)

type cpKey struct {
	run            sweep.RunKey
	phase, segment int
}

// Store implements sweep.Store in memory. The zero value is ready.
type Store struct {
	mu   sync.Mutex
	runs map[sweep.RunKey]sweep.Run
	cps  map[cpKey]sweep.Checkpoint
}

var _ sweep.Store = (*Store)(nil)

func clone(r sweep.Run) sweep.Run {
	for i := range r.Done {
		r.Done[i] = slices.Clone(r.Done[i])
	}
	r.Missing = slices.Clone(r.Missing)
	return r
}

func (s *Store) init() {
	if s.runs == nil {
		s.runs = map[sweep.RunKey]sweep.Run{}
		s.cps = map[cpKey]sweep.Checkpoint{}
	}
}

// CreateRun implements sweep.Store.
func (s *Store) CreateRun(_ context.Context, r sweep.Run) (sweep.Run, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if old, ok := s.runs[r.Key]; ok {
		return clone(old), false, nil
	}
	s.runs[r.Key] = clone(r)
	return clone(r), true, nil
}

// Run implements sweep.Store.
func (s *Store) Run(_ context.Context, k sweep.RunKey) (sweep.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[k]
	if !ok {
		return sweep.Run{}, fault.New(fault.NotFound, "no run %s", k.ID())
	}
	return clone(r), nil
}

// Latest implements sweep.Store.
func (s *Store) Latest(_ context.Context, kind string) (sweep.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best sweep.Run
	found := false
	for k, r := range s.runs {
		if k.Kind == kind && (!found || k.Day > best.Key.Day) {
			best, found = r, true
		}
	}
	if !found {
		return sweep.Run{}, fault.New(fault.NotFound, "no %s run yet", kind)
	}
	return clone(best), nil
}

// Checkpoint implements sweep.Store.
func (s *Store) Checkpoint(_ context.Context, k sweep.RunKey, phase, segment int) (sweep.Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cps[cpKey{k, phase, segment}]; ok {
		c.State = slices.Clone(c.State)
		return c, nil
	}
	return sweep.Checkpoint{Phase: phase, Segment: segment}, nil
}

// SaveCheckpoint implements sweep.Store.
func (s *Store) SaveCheckpoint(_ context.Context, k sweep.RunKey, c sweep.Checkpoint, prevPages int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	key := cpKey{k, c.Phase, c.Segment}
	old, ok := s.cps[key]
	if (prevPages == 0 && ok) || (prevPages != 0 && (!ok || old.Pages != prevPages)) {
		return fault.New(fault.Conflict, "segment %d of phase %d of run %s moved on in another delivery", c.Segment, c.Phase, k.ID())
	}
	c.State = slices.Clone(c.State)
	s.cps[key] = c
	return nil
}

// Checkpoints implements sweep.Store.
func (s *Store) Checkpoints(_ context.Context, k sweep.RunKey) ([]sweep.Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sweep.Checkpoint
	for key, c := range s.cps {
		if key.run == k {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b sweep.Checkpoint) int {
		if a.Phase != b.Phase {
			return a.Phase - b.Phase
		}
		return a.Segment - b.Segment
	})
	return out, nil
}

// edit applies fn to a stored run under the lock when cond holds.
func (s *Store) edit(k sweep.RunKey, cond func(sweep.Run) bool, fn func(*sweep.Run)) (sweep.Run, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[k]
	if !ok {
		return sweep.Run{}, false, fault.New(fault.NotFound, "no run %s", k.ID())
	}
	if !cond(r) {
		return clone(r), false, nil
	}
	r = clone(r)
	fn(&r)
	s.runs[k] = r
	return clone(r), true, nil
}

// CompleteSegment implements sweep.Store.
func (s *Store) CompleteSegment(_ context.Context, k sweep.RunKey, phase, segment int) (sweep.Run, bool, error) {
	if phase < 1 || phase > sweep.MaxPhases {
		return sweep.Run{}, false, fault.New(fault.Invalid, "phase %d out of range", phase)
	}
	return s.edit(k, func(r sweep.Run) bool {
		return r.Status == sweep.Running && r.Phase == phase && !r.DoneIn(phase, segment)
	}, func(r *sweep.Run) {
		d := append(r.Done[phase-1], segment)
		slices.Sort(d)
		r.Done[phase-1] = d
	})
}

// AdvancePhase implements sweep.Store.
func (s *Store) AdvancePhase(_ context.Context, k sweep.RunKey, from int, at time.Time) (bool, error) {
	_, ok, err := s.edit(k, func(r sweep.Run) bool {
		return r.Status == sweep.Running && r.Phase == from && r.Phases > from && from < sweep.MaxPhases
	}, func(r *sweep.Run) {
		r.Timings[from-1].Finished = at
		r.Timings[from].Started = at
		r.Phase = from + 1
	})
	return ok, err
}

// Succeed implements sweep.Store.
func (s *Store) Succeed(_ context.Context, k sweep.RunKey, at time.Time) (bool, error) {
	_, ok, err := s.edit(k, func(r sweep.Run) bool {
		return r.Status == sweep.Running && r.Phase == r.Phases
	}, func(r *sweep.Run) {
		r.Status = sweep.Succeeded
		r.Timings[r.Phase-1].Finished = at
		r.FinishedAt = at
	})
	return ok, err
}

// Fail implements sweep.Store.
func (s *Store) Fail(_ context.Context, k sweep.RunKey, phase int, missing []int, at time.Time) (bool, error) {
	_, ok, err := s.edit(k, func(r sweep.Run) bool {
		return r.Status == sweep.Running && r.Phase == phase && len(r.Done[phase-1]) == r.TotalSegments-len(missing)
	}, func(r *sweep.Run) {
		r.Status = sweep.Failed
		r.Missing = slices.Sorted(slices.Values(missing))
		r.FinishedAt = at
	})
	return ok, err
}

// Reopen implements sweep.Store.
func (s *Store) Reopen(_ context.Context, k sweep.RunKey, deadline time.Time) (bool, error) {
	_, ok, err := s.edit(k, func(r sweep.Run) bool { return r.Status == sweep.Failed }, func(r *sweep.Run) {
		r.Status = sweep.Running
		r.Deadline = deadline
		r.Missing = nil
		r.FinishedAt = time.Time{}
		r.Resumes++
	})
	return ok, err
}

// SliceReader implements sweep.PageReader over a slice: segment i of n
// holds the items whose index is i modulo n; the cursor is the next
// position within the segment.
type SliceReader[T any] struct {
	Items []T
}

// ReadPage implements sweep.PageReader.
func (r *SliceReader[T]) ReadPage(_ context.Context, p sweep.Page) ([]T, string, error) {
	pos := 0
	if p.Cursor != "" {
		n, err := strconv.Atoi(p.Cursor)
		if err != nil || n < 0 {
			return nil, "", fault.New(fault.Invalid, "cursor %q is malformed", p.Cursor)
		}
		pos = n
	}
	limit := int(p.Limit)
	if limit <= 0 {
		limit = 100
	}
	var out []T
	i := p.Segment + pos*p.TotalSegments
	for ; i < len(r.Items) && len(out) < limit; i += p.TotalSegments {
		out = append(out, r.Items[i])
		pos++
	}
	if i >= len(r.Items) {
		return out, "", nil
	}
	return out, strconv.Itoa(pos), nil
}
