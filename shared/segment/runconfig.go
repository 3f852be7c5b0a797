package segment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"clientele/shared/fault"
)

// SweepKind is the sweep kind of segmentation runs (run ids are
// "segmentation-<day>").
const SweepKind = "segmentation"

// MaxSegments is the most segments a run uses: one member shard each
// (dynamo.Shards; a test holds them equal).
const MaxSegments = 1024

// RunConfig is the segmentation run's configuration
// (CLIENTELE_SEGMENTATION_CONFIG): the scoring and model settings of
// Config and how the run is fanned out. Unset fields take the
// defaults of DefaultRunConfig.
type RunConfig struct {
	Config
	// Segments is the number of sweep segments, and so of concurrent
	// workers: segment s reads the member shards s, s+Segments, … (at
	// most MaxSegments, the number of shards: dynamo.Shards).
	Segments int `json:"segments"`
	// PageSize is how many members a page holds (several Query calls of
	// at most 1 MB each); the run checkpoints once per page.
	PageSize int32 `json:"page_size"`
	// WindowMonths is the trailing window of WindowSpend (monetary_basis
	// window_spend).
	WindowMonths int `json:"window_months"`
	// TimeoutMinutes is how long a run may take before the nightly check
	// marks it failed.
	TimeoutMinutes int `json:"timeout_minutes"`
	// Tolerance decides which drifting model outputs are rewritten.
	Tolerance Tolerance `json:"tolerance"`
}

// DefaultRunConfig is DefaultConfig with a summary's exact limit
// of 2 048 distinct values (a segment's partial must fit its checkpoint),
// 32 segments, pages of 5 000 members (a checkpoint per page carries the
// partial: fewer pages, fewer bytes written), a 12-month window and a
// 6-hour deadline.
func DefaultRunConfig() RunConfig {
	c := DefaultConfig()
	c.ExactLimit = 2048
	return RunConfig{Config: c, Segments: 32, PageSize: 20000, WindowMonths: 12, TimeoutMinutes: 360, Tolerance: DefaultTolerance}
}

// MaxPartialBytes bounds a segment's serialised partial: it is the
// segment's checkpoint state (at most 350 KB), with room to spare.
const MaxPartialBytes = 320 << 10

// SegmentSampleSize is how many sample members one of segments segments
// keeps: about twice its share of the run's sample of size, plus slack.
// The merged sample is exactly the run's bottom-size sample unless a
// segment holds more than that many of its members — for 32 segments and
// 100 000 members, 3 125 expected, standard deviation 55, bound 6 314.
func SegmentSampleSize(size, segments int) int {
	if segments <= 1 {
		return size
	}
	return min(size, 2*size/segments+64)
}

// PartialBound is the largest a segment's partial can get: the sample at
// 28 bytes a member and three summaries, each exact (16 bytes a distinct
// value, up to exact_limit) or a KLL sketch, which keeps about 3 k items
// of 8 bytes whatever the member count (40 bytes per unit of k covers it
// with room; the sketches of the benchmarks at a million members take
// under 15 KB each at k = 1 000).
func (c RunConfig) PartialBound() int {
	summary := max(16*c.ExactLimit+64, 40*int(c.SketchK))
	return 100 + 28*SegmentSampleSize(c.SampleSize, c.Segments) + 3*summary
}

// ParseRunConfig reads a configuration, strictly (unknown fields are
// errors), over the defaults, and validates it.
func ParseRunConfig(raw string) (RunConfig, error) {
	c := DefaultRunConfig()
	if raw != "" {
		dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return RunConfig{}, fault.Wrap(fault.Invalid, err, "segmentation configuration")
		}
	}
	return c, c.Validate()
}

// Validate checks the configuration, naming the field at fault.
func (c RunConfig) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return err
	}
	var fs fault.Fields
	if c.Segments < 1 || c.Segments > MaxSegments {
		fs.Add("segments", fmt.Sprintf("must be between 1 and %d", MaxSegments))
	}
	if c.PageSize < 1 || c.PageSize > 20000 {
		fs.Add("page_size", "must be between 1 and 20000")
	}
	if c.WindowMonths < 1 || c.WindowMonths > 24 {
		fs.Add("window_months", "must be between 1 and 24 (the points statistics keep 25 months)")
	}
	if c.TimeoutMinutes < 10 || c.TimeoutMinutes > 20*60 {
		fs.Add("timeout_minutes", "must be between 10 and 1200")
	}
	if !(c.Tolerance.PAlive >= 0 && c.Tolerance.Relative >= 0 && c.Tolerance.Absolute >= 0) {
		fs.Add("tolerance", "must not be negative")
	}
	if c.Segments >= 1 && c.PartialBound() > MaxPartialBytes {
		fs.Add("sample_size", "a segment's partial could exceed its checkpoint: lower sample_size or exact_limit, or raise segments")
	}
	return fs.Err()
}

// Timeout is the run's deadline after its start.
func (c RunConfig) Timeout() time.Duration { return time.Duration(c.TimeoutMinutes) * time.Minute }

// SegmentConfig is the configuration of one scan segment's partial: the
// run's, with the sample bounded to the segment's share
// (SegmentSampleSize).
func (c RunConfig) SegmentConfig() Config {
	sc := c.Config
	sc.SampleSize = SegmentSampleSize(c.SampleSize, c.Segments)
	return sc
}
