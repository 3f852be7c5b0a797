package segment

// NoSegmentKey is the key under which Tally counts members without a
// purchase (who have no RFM segment), and NewMemberKey the "from" key of
// members with no stored result.
const (
	NoSegmentKey = "none"
	NewMemberKey = "new"
)

// Tally counts one run's results for GET /v1/segments: members per
// segment, tier and stage, and the segment transition matrix against the
// previous run. Each phase-2 segment tallies its members and stores the
// tally; the run merges them. It is JSON-serialisable.
type Tally struct {
	Segments map[string]uint64 `json:"segments"`
	Tiers    map[Tier]uint64   `json:"tiers"`
	Stages   map[Stage]uint64  `json:"stages"`
	// Transitions[from][to] counts members whose segment went from one
	// to another (from is NewMemberKey for members without a stored result).
	Transitions map[string]map[string]uint64 `json:"transitions"`
	// Scored counts results; Written those NeedsWrite kept; LabelsChanged
	// those that publish member.segment_changed; Removed members whose
	// stored result was deleted for lack of profiling consent.
	Scored        uint64 `json:"scored"`
	Written       uint64 `json:"written"`
	LabelsChanged uint64 `json:"labels_changed"`
	Removed       uint64 `json:"removed"`
}

// NewTally returns an empty tally.
func NewTally() *Tally {
	return &Tally{Segments: map[string]uint64{}, Tiers: map[Tier]uint64{}, Stages: map[Stage]uint64{},
		Transitions: map[string]map[string]uint64{}}
}

func segmentKey(s Segment) string {
	if s == "" {
		return NoSegmentKey
	}
	return string(s)
}

// Add counts fresh, scored for a member whose stored result was stored
// (nil if none), and reports whether fresh must be written (NeedsWrite
// with tol) and whether its labels changed (publish member.segment_changed;
// false for a member's first result).
func (t *Tally) Add(stored, fresh *Result, tol Tolerance) (write, labelsChanged bool) {
	t.Scored++
	to := segmentKey(fresh.RFMSegment)
	t.Segments[to]++
	t.Tiers[fresh.ValueTier]++
	t.Stages[fresh.LifecycleStage]++
	from := NewMemberKey
	if stored != nil {
		from = segmentKey(stored.RFMSegment)
		labelsChanged = LabelsChanged(stored, fresh)
	}
	row := t.Transitions[from]
	if row == nil {
		row = map[string]uint64{}
		t.Transitions[from] = row
	}
	row[to]++
	write = NeedsWrite(stored, fresh, tol)
	if write {
		t.Written++
	}
	if labelsChanged {
		t.LabelsChanged++
	}
	return write, labelsChanged
}

// Remove counts a stored result deleted because the member refused
// profiling.
func (t *Tally) Remove() { t.Removed++ }

// Merge adds other into t.
func (t *Tally) Merge(other *Tally) {
	for k, v := range other.Segments {
		t.Segments[k] += v
	}
	for k, v := range other.Tiers {
		t.Tiers[k] += v
	}
	for k, v := range other.Stages {
		t.Stages[k] += v
	}
	for from, row := range other.Transitions {
		dst := t.Transitions[from]
		if dst == nil {
			dst = map[string]uint64{}
			t.Transitions[from] = dst
		}
		for to, v := range row {
			dst[to] += v
		}
	}
	t.Scored += other.Scored
	t.Written += other.Written
	t.LabelsChanged += other.LabelsChanged
	t.Removed += other.Removed
}
