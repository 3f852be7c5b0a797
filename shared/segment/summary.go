package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"sort"

	"github.com/apache/datasketches-go/common"
	"github.com/apache/datasketches-go/kll"
)

// Summary is a mergeable summary of one measure (recency, frequency or
// monetary) over the members of a run, from which cut points are read.
//
// It is exact — a sorted table of distinct values and their counts — while
// it holds at most exactLimit distinct values, and a KLL quantile sketch
// (Karnin, Lang & Liberty 2016; Apache DataSketches' implementation) once
// it would hold more. Recency and frequency are whole days, so in practice
// they stay exact at any member count; monetary values switch to the sketch.
// Memory is bounded by max(exactLimit distinct values, the sketch's size),
// never by the number of members.
//
// The sketch compacts with random coin flips (DataSketches uses math/rand),
// so two sketches of the same data can differ within the sketch's rank
// error; the run stores the merged cut points, so the members of one run
// are all scored against the same cuts.
type Summary struct {
	exactLimit int
	k          uint16
	n          uint64
	exact      map[float64]uint64 // nil once the sketch took over
	sketch     *kll.ItemsSketch[float64]
}

// DefaultExactLimit and DefaultSketchK are the summary sizes a run uses
// unless configured otherwise. K = 1000 keeps the sketch's normalised rank
// error near 0.3 % (99 % confidence) in about 25 KB.
const (
	DefaultExactLimit = 8192
	DefaultSketchK    = 1000
)

// NewSummary returns an empty summary, exact up to exactLimit distinct
// values (0 means always a sketch) and then a KLL sketch with parameter k.
func NewSummary(exactLimit int, k uint16) *Summary {
	if k < 8 {
		k = 8
	}
	s := &Summary{exactLimit: exactLimit, k: k}
	if exactLimit > 0 {
		s.exact = map[float64]uint64{}
	} else {
		s.sketch = newSketch(k)
	}
	return s
}

var lessFloat = common.ItemSketchDoubleComparator(false)

func newSketch(k uint16) *kll.ItemsSketch[float64] {
	sk, err := kll.NewKllItemsSketch[float64](k, 8, lessFloat, common.ItemSketchDoubleSerDe{})
	if err != nil {
		panic(err) // k is clamped to the library's range above
	}
	return sk
}

// N is the number of values added.
func (s *Summary) N() uint64 { return s.n }

// Exact reports whether the summary still holds every distinct value.
func (s *Summary) Exact() bool { return s.exact != nil }

// Add counts one value. NaN is ignored.
func (s *Summary) Add(v float64) {
	if math.IsNaN(v) {
		return
	}
	s.n++
	if s.exact != nil {
		s.exact[v]++
		if len(s.exact) > s.exactLimit {
			s.toSketch()
		}
		return
	}
	s.sketch.Update(v)
}

// toSketch replays the exact table into a sketch, in value order so the
// result does not depend on map iteration order beyond the sketch's own
// randomness.
func (s *Summary) toSketch() {
	sk := newSketch(s.k)
	for _, v := range s.sortedValues() {
		for c := s.exact[v]; c > 0; c-- {
			sk.Update(v)
		}
	}
	s.exact, s.sketch = nil, sk
}

func (s *Summary) sortedValues() []float64 {
	vs := make([]float64, 0, len(s.exact))
	for v := range s.exact {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// Merge adds other's values to s. Both must have been built with the same
// limits (the run's configuration).
func (s *Summary) Merge(other *Summary) {
	if other == nil || other.n == 0 {
		return
	}
	switch {
	case s.exact != nil && other.exact != nil:
		for v, c := range other.exact {
			s.exact[v] += c
		}
		s.n += other.n
		if len(s.exact) > s.exactLimit {
			s.toSketch()
		}
	case s.exact != nil: // other is a sketch
		s.toSketch()
		s.sketch.Merge(other.sketch)
		s.n += other.n
	case other.exact != nil: // s is a sketch
		for _, v := range other.sortedValues() {
			for c := other.exact[v]; c > 0; c-- {
				s.sketch.Update(v)
			}
		}
		s.n += other.n
	default:
		s.sketch.Merge(other.sketch)
		s.n += other.n
	}
}

// Quantiles returns, for each rank q in (0, 1], the smallest value v with
// at least q·N values ≤ v (the inclusive lower quantile). For an empty
// summary it returns nil.
func (s *Summary) Quantiles(ranks []float64) ([]float64, error) {
	if s.n == 0 {
		return nil, nil
	}
	out := make([]float64, len(ranks))
	if s.exact == nil {
		qs, err := s.sketch.GetQuantiles(ranks, true)
		if err != nil {
			return nil, fmt.Errorf("segment: sketch quantiles: %w", err)
		}
		copy(out, qs)
		return out, nil
	}
	vs := s.sortedValues()
	cum := make([]uint64, len(vs))
	var run uint64
	for i, v := range vs {
		run += s.exact[v]
		cum[i] = run
	}
	for j, q := range ranks {
		// q·n carries a rounding error (0.8 − 0.3 is not exactly 0.5);
		// 1e-7 absorbs it for any n below 10⁹ without skipping a rank
		need := uint64(math.Ceil(q*float64(s.n) - 1e-7))
		need = max(need, 1)
		i := sort.Search(len(cum), func(i int) bool { return cum[i] >= need })
		if i == len(cum) {
			i = len(cum) - 1
		}
		out[j] = vs[i]
	}
	return out, nil
}

// Summary wire format, little-endian:
//
//	byte 0    format version (1)
//	byte 1    mode: 0 exact, 1 KLL sketch
//	uint32    exact limit
//	uint16    k
//	uint64    n
//	exact:    uint32 count of entries, then (float64 value, uint64 count)…
//	sketch:   DataSketches' KLL serialisation (compatible with its Java/C++ form)
//	uint32    CRC-32C of everything before it
//
// The checksum matters: DataSketches trusts the sizes in its bytes, and a
// corrupted header can make it allocate gigabytes or index out of range.
const summaryVersion = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary serialises the summary so a scan segment can store it and
// the run can merge it later.
func (s *Summary) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 20+16*len(s.exact))
	b = append(b, summaryVersion, 0)
	if s.exact == nil {
		b[1] = 1
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(s.exactLimit))
	b = binary.LittleEndian.AppendUint16(b, s.k)
	b = binary.LittleEndian.AppendUint64(b, s.n)
	if s.exact != nil {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s.exact)))
		for _, v := range s.sortedValues() {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
			b = binary.LittleEndian.AppendUint64(b, s.exact[v])
		}
		return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
	}
	sk, err := s.sketch.ToSlice()
	if err != nil {
		return nil, fmt.Errorf("segment: serialise sketch: %w", err)
	}
	b = append(b, sk...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

var errSummaryFormat = errors.New("segment: malformed summary")

// UnmarshalBinary restores a summary written by MarshalBinary.
func (s *Summary) UnmarshalBinary(b []byte) error {
	if len(b) < 20 || b[0] != summaryVersion || b[1] > 1 {
		return errSummaryFormat
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return fmt.Errorf("%w: checksum mismatch", errSummaryFormat)
	}
	b = body
	limit := int(binary.LittleEndian.Uint32(b[2:]))
	k := binary.LittleEndian.Uint16(b[6:])
	n := binary.LittleEndian.Uint64(b[8:])
	rest := b[16:]
	out := Summary{exactLimit: limit, k: max(k, 8), n: n}
	if b[1] == 0 {
		if len(rest) < 4 {
			return errSummaryFormat
		}
		entries := int(binary.LittleEndian.Uint32(rest))
		rest = rest[4:]
		if len(rest) != 16*entries {
			return errSummaryFormat
		}
		out.exact = make(map[float64]uint64, entries)
		var total uint64
		for i := 0; i < entries; i++ {
			v := math.Float64frombits(binary.LittleEndian.Uint64(rest[16*i:]))
			c := binary.LittleEndian.Uint64(rest[16*i+8:])
			out.exact[v] += c
			total += c
		}
		if total != n {
			return errSummaryFormat
		}
	} else {
		sk, err := parseSketch(rest)
		if err != nil {
			return fmt.Errorf("%w: %v", errSummaryFormat, err)
		}
		if sk.GetN() != n {
			return errSummaryFormat
		}
		out.sketch = sk
	}
	*s = out
	return nil
}

// parseSketch reads DataSketches' KLL bytes. The library indexes
// malformed input without bounds checks (it panics on truncated bytes), so
// a panic is turned into an error: a corrupt stored partial fails its run
// segment instead of crashing the worker.
func parseSketch(b []byte) (sk *kll.ItemsSketch[float64], err error) {
	defer func() {
		if r := recover(); r != nil {
			sk, err = nil, fmt.Errorf("kll: %v", r)
		}
	}()
	return kll.NewKllItemsSketchFromSlice[float64](b, lessFloat, common.ItemSketchDoubleSerDe{})
}

// SizeBytes is the summary's serialised size: what a segment stores and,
// within a small constant factor, what it holds in memory.
func (s *Summary) SizeBytes() int {
	if s.exact != nil {
		return 24 + 16*len(s.exact)
	}
	n, err := s.sketch.GetSerializedSizeBytes()
	if err != nil {
		return 0
	}
	return 20 + n
}
