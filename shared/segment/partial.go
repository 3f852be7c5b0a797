package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Partial is phase 1's output for one scan segment (or, merged, for the
// whole run): the summaries of recency, frequency and monetary over
// members with at least one purchase, the model-fitting sample, and
// counts. Members without profiling consent are not counted anywhere.
type Partial struct {
	Recency   *Summary
	Frequency *Summary
	Monetary  *Summary
	Sample    *Sample
	// Members counts consenting members seen; Buyers those with a
	// purchase; NoConsent those skipped for lack of profiling consent.
	Members, Buyers, NoConsent uint64

	basis MonetaryBasis // from the config; not serialised (Add's concern)
}

// NewPartial returns an empty partial sized by cfg.
func NewPartial(cfg Config) *Partial {
	return &Partial{
		Recency:   NewSummary(cfg.ExactLimit, cfg.SketchK),
		Frequency: NewSummary(cfg.ExactLimit, cfg.SketchK),
		Monetary:  NewSummary(cfg.ExactLimit, cfg.SketchK),
		Sample:    NewSampleFraction(cfg.SampleSize, cfg.SampleSeed, cfg.SampleFraction),
		basis:     cfg.MonetaryBasis,
	}
}

// Add accounts for one member.
func (p *Partial) Add(m *Member, asOf AsOf) {
	if !m.ProfilingConsent {
		p.NoConsent++
		return
	}
	p.Members++
	f := asOf.Facts(m)
	if !f.Purchased {
		return
	}
	p.Buyers++
	p.Recency.Add(float64(f.RecencyDays))
	p.Frequency.Add(float64(f.PurchaseDays))
	p.Monetary.Add(float64(f.Monetary(p.basis)))
	p.Sample.Add(m.ID, ObservationOf(f))
}

// Merge adds other into p.
func (p *Partial) Merge(other *Partial) {
	p.Recency.Merge(other.Recency)
	p.Frequency.Merge(other.Frequency)
	p.Monetary.Merge(other.Monetary)
	p.Sample.Merge(other.Sample)
	p.Members += other.Members
	p.Buyers += other.Buyers
	p.NoConsent += other.NoConsent
}

// MarshalBinary serialises the partial: version byte, the three counts,
// four length-prefixed parts (recency, frequency, monetary, sample) and a
// CRC-32C of all of it.
func (p *Partial) MarshalBinary() ([]byte, error) {
	b := []byte{1}
	b = binary.LittleEndian.AppendUint64(b, p.Members)
	b = binary.LittleEndian.AppendUint64(b, p.Buyers)
	b = binary.LittleEndian.AppendUint64(b, p.NoConsent)
	for _, part := range []interface{ MarshalBinary() ([]byte, error) }{p.Recency, p.Frequency, p.Monetary, p.Sample} {
		x, err := part.MarshalBinary()
		if err != nil {
			return nil, err
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(x)))
		b = append(b, x...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

var errPartialFormat = errors.New("segment: malformed partial")

// UnmarshalBinary restores a partial written by MarshalBinary into a
// partial made by NewPartial, keeping its monetary basis (not serialised).
func (p *Partial) UnmarshalBinary(b []byte) error {
	if len(b) < 29 || b[0] != 1 {
		return errPartialFormat
	}
	if crc32.Checksum(b[:len(b)-4], castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return fmt.Errorf("%w: checksum mismatch", errPartialFormat)
	}
	b = b[:len(b)-4]
	out := Partial{Recency: &Summary{}, Frequency: &Summary{}, Monetary: &Summary{}, Sample: &Sample{}}
	out.Members = binary.LittleEndian.Uint64(b[1:])
	out.Buyers = binary.LittleEndian.Uint64(b[9:])
	out.NoConsent = binary.LittleEndian.Uint64(b[17:])
	rest := b[25:]
	for _, part := range []interface{ UnmarshalBinary([]byte) error }{out.Recency, out.Frequency, out.Monetary, out.Sample} {
		if len(rest) < 4 {
			return errPartialFormat
		}
		n := int(binary.LittleEndian.Uint32(rest))
		if len(rest) < 4+n {
			return errPartialFormat
		}
		if err := part.UnmarshalBinary(rest[4 : 4+n]); err != nil {
			return fmt.Errorf("%w: %v", errPartialFormat, err)
		}
		rest = rest[4+n:]
	}
	if len(rest) != 0 {
		return errPartialFormat
	}
	out.basis = p.basis // the receiver's configuration (NewPartial) stays
	*p = out
	return nil
}
