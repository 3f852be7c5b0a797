package segment

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"math"
	"slices"
)

// Observation is what the models need of one sampled member, in whole days.
type Observation struct {
	// Repeat is BG/NBD's x (purchase days − 1).
	Repeat int32
	// SpanDays is t_x, days from first to last purchase.
	SpanDays int32
	// AgeDays is T, days from first purchase to the as-of day.
	AgeDays int32
	// MeanSpend is Gamma-Gamma's m̄, net spend per purchase day.
	MeanSpend float64
}

// ObservationOf is f as the models see it.
func ObservationOf(f Facts) Observation {
	return Observation{Repeat: f.Repeat(), SpanDays: f.SpanDays, AgeDays: f.AgeDays, MeanSpend: f.MeanSpend()}
}

type sampled struct {
	key uint64
	obs Observation
}

// Sample is a uniform random sample without replacement of at most Size
// members, for fitting the models.
//
// It is a bottom-k sample: each member gets the key hash(seed, member id)
// and the sample keeps the Size smallest keys. Because a member's key does
// not depend on which segment saw it or in what order, merging the samples
// of any partition of the members gives exactly the sample of the whole —
// deterministic given the seed, and unchanged when a segment is redone.
//
// A fraction below 1 also drops every key ≥ fraction·2⁶⁴ on arrival (a
// Bernoulli sample with that probability, then the bottom-k of it). The
// merged sample is still exactly the bottom-k of the whole whenever the
// whole has at least Size keys below that bound, and a uniform sample in
// any case; it lets a segment store about fraction × its members instead
// of Size.
type Sample struct {
	size  int
	seed  uint64
	below uint64     // keys ≥ below are dropped; 0 means no bound
	h     sampleHeap // max-heap on key
}

type sampleHeap []sampled

func (h sampleHeap) Len() int           { return len(h) }
func (h sampleHeap) Less(i, j int) bool { return h[i].key > h[j].key }
func (h sampleHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *sampleHeap) Push(x any)        { *h = append(*h, x.(sampled)) }
func (h *sampleHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// NewSample returns an empty sample of at most size members keyed by seed.
func NewSample(size int, seed uint64) *Sample {
	return &Sample{size: max(size, 0), seed: seed}
}

// NewSampleFraction is NewSample keeping only members whose key falls in
// the lowest fraction of the key space (fraction ≥ 1 keeps all).
func NewSampleFraction(size int, seed uint64, fraction float64) *Sample {
	s := NewSample(size, seed)
	if fraction <= 0 {
		s.size = 0
	} else if fraction < 1 {
		s.below = uint64(math.Max(fraction, 0) * (1 << 63) * 2)
	}
	return s
}

// Len is the number of sampled members.
func (s *Sample) Len() int { return len(s.h) }

// Add offers a member to the sample.
func (s *Sample) Add(memberID string, o Observation) {
	s.offer(sampled{key: sampleKey(s.seed, memberID), obs: o})
}

func (s *Sample) offer(x sampled) {
	if s.size == 0 || (s.below != 0 && x.key >= s.below) {
		return
	}
	if len(s.h) < s.size {
		heap.Push(&s.h, x)
		return
	}
	if x.key < s.h[0].key {
		s.h[0] = x
		heap.Fix(&s.h, 0)
	}
}

// Merge adds other's members; both must share size and seed.
func (s *Sample) Merge(other *Sample) {
	for _, x := range other.h {
		s.offer(x)
	}
}

// Observations returns the sampled members in key order (deterministic).
func (s *Sample) Observations() []Observation {
	xs := slices.Clone([]sampled(s.h))
	slices.SortFunc(xs, func(a, b sampled) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	out := make([]Observation, len(xs))
	for i, x := range xs {
		out[i] = x.obs
	}
	return out
}

// sampleKey is FNV-1a over the seed and id, finished with SplitMix64's
// mixer so keys are uniform on [0, 2^64).
func sampleKey(seed uint64, id string) uint64 {
	h := uint64(14695981039346656037) ^ seed
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// Sample wire format, little-endian: version (1), uint32 size, uint64 seed,
// uint64 key bound (0: none), uint32 count, then per member uint64 key, int32 repeat, int32 span,
// int32 age, float64 mean spend (28 bytes).
const sampleVersion = 1

// MarshalBinary serialises the sample.
func (s *Sample) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 25+28*len(s.h))
	b = append(b, sampleVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(s.size))
	b = binary.LittleEndian.AppendUint64(b, s.seed)
	b = binary.LittleEndian.AppendUint64(b, s.below)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.h)))
	for _, x := range s.h {
		b = binary.LittleEndian.AppendUint64(b, x.key)
		b = binary.LittleEndian.AppendUint32(b, uint32(x.obs.Repeat))
		b = binary.LittleEndian.AppendUint32(b, uint32(x.obs.SpanDays))
		b = binary.LittleEndian.AppendUint32(b, uint32(x.obs.AgeDays))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x.obs.MeanSpend))
	}
	return b, nil
}

var errSampleFormat = errors.New("segment: malformed sample")

// UnmarshalBinary restores a sample written by MarshalBinary.
func (s *Sample) UnmarshalBinary(b []byte) error {
	if len(b) < 25 || b[0] != sampleVersion {
		return errSampleFormat
	}
	out := Sample{size: int(binary.LittleEndian.Uint32(b[1:])), seed: binary.LittleEndian.Uint64(b[5:]), below: binary.LittleEndian.Uint64(b[13:])}
	n := int(binary.LittleEndian.Uint32(b[21:]))
	rest := b[25:]
	if len(rest) != 28*n || n > out.size {
		return errSampleFormat
	}
	out.h = make(sampleHeap, n)
	for i := range out.h {
		r := rest[28*i:]
		out.h[i] = sampled{key: binary.LittleEndian.Uint64(r), obs: Observation{
			Repeat:    int32(binary.LittleEndian.Uint32(r[8:])),
			SpanDays:  int32(binary.LittleEndian.Uint32(r[12:])),
			AgeDays:   int32(binary.LittleEndian.Uint32(r[16:])),
			MeanSpend: math.Float64frombits(binary.LittleEndian.Uint64(r[20:])),
		}}
	}
	heap.Init(&out.h)
	*s = out
	return nil
}
