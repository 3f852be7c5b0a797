package dynamo

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/points"
)

// Segmentation reads every member each night. Reading them by key costs a
// read unit per item whatever its size; reading them in key order costs
// by the byte. So every member is given a shard (Shard: a hash of the id,
// 0 to Shards-1), and what segmentation needs of a member is projected
// into sparse indexes keyed by (shard, member id):
//
//	members  profiles-by-shard  seg_shard, id         status, created_at, seg_profiling
//	points   stats-by-shard     seg_shard, member_id  seg_facts
//
// and the member's result is stored under RESULTS#<shard> with the member
// id as sort key. A sweep segment Queries its shards (shard mod
// TotalSegments = segment) in the three in the same order and joins them
// by merging: a few hundred bytes a member instead of three items read by
// key (docs/benchmarks.md, "Projection").
const (
	// Shards is the number of shards: the most segments a run can use.
	Shards = 1024
	// ShardAttr holds an item's shard (a number) on profiles and points
	// accounts.
	ShardAttr = "seg_shard"
	// ProfilesByShard is the members table's index of profiles by shard.
	ProfilesByShard = "profiles-by-shard"
	// StatsByShard is the points table's index of accounts' purchase facts
	// by shard.
	StatsByShard = "stats-by-shard"
	// ProfilingAttr is "refused" on a profile whose profiling consent is
	// refused (absent otherwise); FactsAttr holds an account's purchase
	// facts (EncodeFacts).
	ProfilingAttr = "seg_profiling"
	FactsAttr     = "seg_facts"
)

// Shard is the shard of a member id: FNV-1a, 32 bits, modulo Shards.
func Shard(memberID string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(memberID))
	return int(h.Sum32() % Shards)
}

// SegmentShards are the shards sweep segment seg of total reads, in order.
func SegmentShards(seg, total int) []int {
	var out []int
	for k := seg; total > 0 && k < Shards; k += total {
		out = append(out, k)
	}
	return out
}

// Index is a global secondary index of a table (the topology states the
// same; a test holds them equal).
type Index struct {
	Name         string
	PartitionKey string
	PartitionNum bool // the partition key is a number
	SortKey      string
	// KeysOnly projects the keys alone; else Include, when set, the keys
	// and these attributes; else every attribute.
	KeysOnly bool
	Include  []string
}

// MembersIndexes and PointsIndexes are the indexes segmentation reads.
var (
	MembersIndexes = []Index{{Name: ProfilesByShard, PartitionKey: ShardAttr, PartitionNum: true, SortKey: "id",
		Include: []string{"status", "created_at", ProfilingAttr}}}
	PointsIndexes = []Index{{Name: StatsByShard, PartitionKey: ShardAttr, PartitionNum: true, SortKey: "member_id",
		Include: []string{FactsAttr}}}
	SegmentationIndexes = []Index{{Name: segmentIdx, PartitionKey: "seg_pk", SortKey: "seg_sk", KeysOnly: true}}
)

// factsVersion is the first byte of encoded facts.
const factsVersion = 1

// EncodeFacts encodes what segmentation reads of a member's purchase
// statistics (segment.MemberOf): purchase days, first and last purchase
// (to the millisecond), net and lifetime spend, and the spend of each
// month net of its returns (what Stats.WindowSpend sums). Varints and
// deltas: a buyer with a purchase a month for a year takes about 70 bytes,
// which keeps such an account's item under 1 KB (one write unit).
func EncodeFacts(st *points.Stats) []byte {
	b := []byte{factsVersion}
	b = binary.AppendUvarint(b, uint64(max(st.PurchaseDays, 0)))
	if st.PurchaseDays <= 0 {
		return b
	}
	first, last := unixMilli(st.FirstPurchaseAt), unixMilli(st.LastPurchaseAt)
	b = binary.AppendVarint(b, first)
	b = binary.AppendVarint(b, last-first)
	b = binary.AppendVarint(b, st.NetSpend)
	b = binary.AppendVarint(b, st.LifetimeSpend-st.NetSpend)
	type month struct {
		index int64
		net   int64
	}
	months := make([]month, 0, len(st.Spend))
	for m, v := range st.Spend {
		net := v - min(v, st.Returned[m])
		t, err := time.Parse("2006-01", m)
		if net == 0 || err != nil {
			continue
		}
		months = append(months, month{int64(t.Year()*12 + int(t.Month()) - 1), net})
	}
	slices.SortFunc(months, func(x, y month) int { return cmp.Compare(x.index, y.index) })
	b = binary.AppendUvarint(b, uint64(len(months)))
	prev := int64(0)
	for _, m := range months {
		b = binary.AppendVarint(b, m.index-prev)
		b = binary.AppendVarint(b, m.net)
		prev = m.index
	}
	return b
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromUnixMilli(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

var errFacts = errors.New("malformed purchase facts")

// DecodeFacts reads EncodeFacts back into the statistics it kept: what
// segment.MemberOf and Stats.WindowSpend give is the same as for the
// statistics encoded.
func DecodeFacts(b []byte) (points.Stats, error) {
	var st points.Stats
	if len(b) == 0 || b[0] != factsVersion {
		return st, fmt.Errorf("%w: version", errFacts)
	}
	r := factsReader{b: b[1:]}
	st.PurchaseDays = int32(r.uvarint())
	if st.PurchaseDays > 0 {
		first := r.varint()
		st.FirstPurchaseAt, st.LastPurchaseAt = fromUnixMilli(first), fromUnixMilli(first+r.varint())
		st.NetSpend = r.varint()
		st.LifetimeSpend = st.NetSpend + r.varint()
		n := r.uvarint()
		if n > points.StatsMonths*4 {
			return points.Stats{}, fmt.Errorf("%w: %d months", errFacts, n)
		}
		idx := int64(0)
		for range n {
			idx += r.varint()
			net := r.varint()
			if st.Spend == nil {
				st.Spend = map[string]int64{}
			}
			st.Spend[fmt.Sprintf("%04d-%02d", idx/12, idx%12+1)] = net
		}
	}
	if r.err != nil || len(r.b) != 0 {
		return points.Stats{}, errFacts
	}
	return st, nil
}

type factsReader struct {
	b   []byte
	err error
}

func (r *factsReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errFacts
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *factsReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errFacts
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// CreateIndexedTable creates a pk/sk table with these global secondary
// indexes (tests; the stacks create tables from the topology).
func CreateIndexedTable(ctx context.Context, c *dynamodb.Client, name string, indexes []Index) error {
	seen := map[string]bool{PartitionKey: true, SortKey: true}
	defs := []types.AttributeDefinition{
		{AttributeName: aws.String(PartitionKey), AttributeType: types.ScalarAttributeTypeS},
		{AttributeName: aws.String(SortKey), AttributeType: types.ScalarAttributeTypeS},
	}
	def := func(n string, num bool) {
		if seen[n] {
			return
		}
		seen[n] = true
		t := types.ScalarAttributeTypeS
		if num {
			t = types.ScalarAttributeTypeN
		}
		defs = append(defs, types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: t})
	}
	in := &dynamodb.CreateTableInput{
		TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(PartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(SortKey), KeyType: types.KeyTypeRange},
		},
	}
	for _, ix := range indexes {
		def(ix.PartitionKey, ix.PartitionNum)
		def(ix.SortKey, false)
		p := &types.Projection{ProjectionType: types.ProjectionTypeAll}
		switch {
		case ix.KeysOnly:
			p = &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}
		case ix.Include != nil:
			p = &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: ix.Include}
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.Name), Projection: p,
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(ix.PartitionKey), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(ix.SortKey), KeyType: types.KeyTypeRange},
			},
		})
	}
	in.AttributeDefinitions = defs
	_, err := c.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return err
	}
	return nil
}
