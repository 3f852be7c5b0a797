package dynamo

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"clientele/shared/points"
	"clientele/shared/segment"
	"clientele/shared/sweep"
)

// What segmentation computes from the encoded facts is what it computes
// from the statistics themselves (times to the millisecond), for any
// statistics, as-of time and window.
func TestFactsKeepWhatSegmentationReads(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		ms := func(label string) time.Time {
			return base.Add(time.Duration(rapid.Int64Range(0, 3*365*24*3600*1000).Draw(t, label)) * time.Millisecond)
		}
		st := points.Stats{V: points.StatsVersion, PurchaseDays: int32(rapid.IntRange(0, 400).Draw(t, "days"))}
		if st.PurchaseDays > 0 {
			st.FirstPurchaseAt = ms("first")
			st.LastPurchaseAt = st.FirstPurchaseAt.Add(time.Duration(rapid.Int64Range(0, 1e12).Draw(t, "span")) * time.Millisecond)
			st.NetSpend = rapid.Int64Range(0, 1e12).Draw(t, "net")
			st.LifetimeSpend = st.NetSpend + rapid.Int64Range(0, 1e9).Draw(t, "returned")
			st.Spend, st.Returned = map[string]int64{}, map[string]int64{}
			for i := range rapid.IntRange(0, points.StatsMonths).Draw(t, "months") {
				m := base.AddDate(0, i+rapid.IntRange(0, 2).Draw(t, "gap"), 0).Format("2006-01")
				st.Spend[m] = rapid.Int64Range(0, 1e10).Draw(t, "spend")
				if rapid.Bool().Draw(t, "has return") {
					st.Returned[m] = rapid.Int64Range(0, 2e10).Draw(t, "return")
				}
			}
		}
		enc := EncodeFacts(&st)
		got, err := DecodeFacts(enc)
		if err != nil {
			t.Fatalf("decode %x: %v", enc, err)
		}
		asOf := ms("as of").AddDate(0, rapid.IntRange(0, 30).Draw(t, "later"), 0)
		window := rapid.IntRange(1, 24).Draw(t, "window")
		want := segment.MemberOf("m", base, true, &st, asOf, window)
		have := segment.MemberOf("m", base, true, &got, asOf, window)
		if fmt.Sprint(want) != fmt.Sprint(have) {
			t.Fatalf("as of %s, window %d:\nstats %+v\nfacts %+v", asOf, window, want, have)
		}
		if !bytes.Equal(EncodeFacts(&got), enc) {
			t.Fatalf("re-encoding differs: %x, then %x", enc, EncodeFacts(&got))
		}
	})
}

// Damaged facts are refused, never read as other facts.
func TestDecodeFactsRefusesDamage(t *testing.T) {
	t.Parallel()
	st := points.Stats{PurchaseDays: 3, FirstPurchaseAt: time.UnixMilli(1_700_000_000_000).UTC(), LastPurchaseAt: time.UnixMilli(1_710_000_000_000).UTC(),
		NetSpend: 5000, LifetimeSpend: 6000, Spend: map[string]int64{"2026-10": 3000, "2026-11": 2000}}
	enc := EncodeFacts(&st)
	for name, b := range map[string][]byte{
		"empty":     nil,
		"version":   append([]byte{9}, enc[1:]...),
		"truncated": enc[:len(enc)-1],
		"trailing":  append(append([]byte{}, enc...), 0),
		"months":    {factsVersion, 1, 2, 0, 2, 0, 0xff, 0x7f},
	} {
		if _, err := DecodeFacts(b); err == nil {
			t.Errorf("%s: %x accepted", name, b)
		}
	}
}

// Shards spread ids evenly, and a run's segments cover each shard once.
func TestShardsCoverEveryMemberOnce(t *testing.T) {
	t.Parallel()
	counts := make([]int, Shards)
	const n = 200_000
	for i := range n {
		k := Shard(fmt.Sprintf("01JMEMBER%017d", i))
		if k < 0 || k >= Shards {
			t.Fatalf("shard %d out of range", k)
		}
		counts[k]++
	}
	lo, hi := n, 0
	for _, c := range counts {
		lo, hi = min(lo, c), max(hi, c)
	}
	// 195 expected per shard; a uniform hash stays within about ±30 %.
	if lo < 130 || hi > 260 {
		t.Errorf("shard sizes from %d to %d, expected about %d", lo, hi, n/Shards)
	}
	for _, total := range []int{1, 5, 32, 1000, Shards, Shards + 7} {
		seen := make([]int, Shards)
		for seg := range total {
			for _, k := range SegmentShards(seg, total) {
				seen[k]++
			}
		}
		for k, c := range seen {
			if c != 1 {
				t.Fatalf("%d segments: shard %d read %d times", total, k, c)
			}
		}
	}
}

// A run's segments are at most the shards: segment.MaxSegments says so to
// the configuration, which cannot import this package.
func TestRunSegmentsAreBoundByShards(t *testing.T) {
	t.Parallel()
	if segment.MaxSegments != Shards {
		t.Fatalf("segment.MaxSegments %d, Shards %d", segment.MaxSegments, Shards)
	}
}

// A cursor the reader did not write for this segment is refused before
// anything is read: resuming elsewhere would skip or repeat members.
func TestReaderRefusesForeignCursors(t *testing.T) {
	t.Parallel()
	r := &MemberStatsReader{}
	for _, c := range []string{"x|m1", "12", "3|m1"} {
		// Segment 1 of 4 reads shards 1, 5, 9, …: shard 3 is not its own.
		if _, _, err := r.ReadPage(context.Background(), sweep.Page{Segment: 1, TotalSegments: 4, Cursor: c, Limit: 10}); err == nil {
			t.Errorf("cursor %q accepted", c)
		}
	}
}
