package segment_test

import (
	"fmt"
	"reflect"
	"runtime"
	"testing"

	"clientele/shared/fault"
	"clientele/shared/segment"
	"clientele/shared/segment/membergen"
)

func TestParseRunConfig(t *testing.T) {
	t.Parallel()
	c, err := segment.ParseRunConfig("")
	if err != nil || c.Segments != 32 || c.SampleSize != 100_000 || c.ExactLimit != 2048 || c.PageSize != 20000 {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = segment.ParseRunConfig(`{"segments":6,"sample_size":5000,"high_share":0.1}`)
	if err != nil || c.Segments != 6 || c.SampleSize != 5000 || c.HighShare != 0.1 || c.MediumShare != 0.3 {
		t.Fatalf("override: %+v %v", c, err)
	}
	for raw, field := range map[string]string{
		`{"segments":0}`:                  "segments",
		`{"page_size":50000}`:             "page_size",
		`{"window_months":30}`:            "window_months",
		`{"segments":4}`:                  "sample_size", // 100 000 / 4 segments cannot fit a checkpoint
		`{"high_share":1.5}`:              "high_share",
		`{"timeout_minutes":1}`:           "timeout_minutes",
		`{"tolerance":{"p_alive":-1}}`:    "tolerance",
		`{"exact_limit":100000}`:          "sample_size",
		`{"churned_after_days":10}`:       "churned_after_days",
		`{"monetary_basis":"gross"}`:      "monetary_basis",
		`{"segments":32,"sample_size":0}`: "",
	} {
		_, err := segment.ParseRunConfig(raw)
		if field == "" {
			if err != nil {
				t.Errorf("%s: %v", raw, err)
			}
			continue
		}
		var fe *fault.Error
		if e, ok := err.(*fault.Error); ok {
			fe = e
		}
		if fe == nil || len(fe.Fields) == 0 || fe.Fields[0].Field != field {
			t.Errorf("%s: %v, want the field %s named", raw, err, field)
		}
	}
	if _, err := segment.ParseRunConfig(`{"segmnets":4}`); !fault.Is(err, fault.Invalid) {
		t.Errorf("unknown field: %v", err)
	}
}

// TestSegmentSamplesMergeToTheRunsSample: 40 000 members split over 32
// segments, each keeping only SegmentSampleSize of its sample candidates,
// merge into exactly the sample one partial over all of them keeps.
func TestSegmentSamplesMergeToTheRunsSample(t *testing.T) {
	t.Parallel()
	c := segment.DefaultRunConfig()
	c.SampleSize = 3000
	gen := membergen.Default(4, asOfTime)
	a := segment.AsOfTime(asOfTime)
	whole := segment.NewPartial(c.Config)
	merged := segment.NewPartial(c.Config)
	parts := make([]*segment.Partial, c.Segments)
	for i := range parts {
		parts[i] = segment.NewPartial(c.SegmentConfig())
	}
	for i := range 40_000 {
		m := gen.Member(i)
		whole.Add(&m, a)
		parts[i%c.Segments].Add(&m, a)
	}
	for _, p := range parts {
		raw, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) > c.PartialBound() {
			t.Errorf("a segment's partial of %d bytes exceeds the bound %d", len(raw), c.PartialBound())
		}
		back := segment.NewPartial(c.SegmentConfig())
		if err := back.UnmarshalBinary(raw); err != nil {
			t.Fatal(err)
		}
		merged.Merge(back)
	}
	if got, want := merged.Sample.Observations(), whole.Sample.Observations(); len(want) != 3000 || !reflect.DeepEqual(got, want) {
		t.Errorf("merged sample of %d members differs from the whole's %d", len(got), len(want))
	}
}

// BenchmarkSegmentPartial reports one scan segment's phase-1 state under
// the worker's default configuration (32 segments, sample 100 000, exact
// limit 2 048) by the number of members the segment holds: the bytes
// checkpointed (at most 350 KB) and the heap held.
func BenchmarkSegmentPartial(b *testing.B) {
	c := segment.DefaultRunConfig()
	gen := membergen.Default(5, asOfTime)
	a := segment.AsOfTime(asOfTime)
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			for range b.N {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				p := segment.NewPartial(c.SegmentConfig())
				for i := range n {
					m := gen.Member(i)
					p.Add(&m, a)
				}
				raw, err := p.MarshalBinary()
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(len(raw)), "state-bytes")
				b.ReportMetric(float64(c.PartialBound()), "bound-bytes")
				b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "heap-bytes")
				runtime.KeepAlive(p)
			}
		})
	}
}
