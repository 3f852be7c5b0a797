package dynamo

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/fault"
	"clientele/shared/member"
	"clientele/shared/points"
	"clientele/shared/sweep"
)

// MemberStats is one member as segmentation reads them: from the members
// table the id, status, registration time and whether they refused the
// profiling consent; from the points table their purchase statistics (nil
// for a member without a points account, who never bought).
type MemberStats struct {
	ID               string
	Erased           bool
	RegisteredAt     time.Time
	ProfilingRefused bool
	Stats            *points.Stats
}

// profileIndexRecord is a profile as the profiles-by-shard index projects
// it: no personal data.
type profileIndexRecord struct {
	ID        string    `dynamodbav:"id"`
	Status    string    `dynamodbav:"status"`
	CreatedAt time.Time `dynamodbav:"created_at"`
	Profiling string    `dynamodbav:"seg_profiling"`
}

// statsIndexRecord is an account as the stats-by-shard index projects it.
type statsIndexRecord struct {
	MemberID string `dynamodbav:"member_id"`
	Facts    []byte `dynamodbav:"seg_facts"`
}

// MemberStatsReader reads one sweep segment's members at a time: the
// segment's shards (SegmentShards) in order, each from the members
// table's profiles-by-shard index (every profile, so members who never
// bought are seen too) in member id order, joined with the same range of
// the points table's stats-by-shard index. Both are Queries of a few
// hundred bytes a member, charged by the byte: no item is read by key. It
// implements sweep.PageReader[MemberStats]. Erased members and members who
// refused profiling are returned without statistics: segmentation removes
// their results.
//
// The cursor is "<shard>|<last member id read>" (just "<shard>|" at a
// shard's start).
type MemberStatsReader struct {
	Client  *dynamodb.Client
	Members string
	Points  string
}

var _ sweep.PageReader[MemberStats] = (*MemberStatsReader)(nil)

// defaultPage is a page's size when the sweep gives none.
const defaultPage = 1000

// ReadPage implements sweep.PageReader. A page is up to p.Limit members,
// from one shard or several: the sweep checkpoints once per page, and a
// segmentation checkpoint carries a partial of some hundred kilobytes, so
// fewer, larger pages write far less.
func (r *MemberStatsReader) ReadPage(ctx context.Context, p sweep.Page) ([]MemberStats, string, error) {
	shards := SegmentShards(p.Segment, p.TotalSegments)
	limit := p.Limit
	if limit <= 0 {
		limit = defaultPage
	}
	i, after := 0, ""
	if p.Cursor != "" {
		k, last, ok := strings.Cut(p.Cursor, "|")
		shard, err := strconv.Atoi(k)
		if !ok || err != nil {
			return nil, "", fault.New(fault.Internal, "segmentation cursor %q", p.Cursor)
		}
		if i = slices.Index(shards, shard); i < 0 {
			return nil, "", fault.New(fault.Internal, "segmentation cursor %q: shard %d is not in segment %d of %d", p.Cursor, shard, p.Segment, p.TotalSegments)
		}
		after = last
	}
	var items []MemberStats
	for i < len(shards) && int32(len(items)) < limit {
		got, done, err := r.shardPage(ctx, shards[i], after, limit-int32(len(items)))
		if err != nil {
			return nil, "", err
		}
		items = append(items, got...)
		if done {
			i, after = i+1, ""
		} else if len(got) > 0 {
			after = got[len(got)-1].ID
		}
	}
	if i >= len(shards) {
		return items, "", nil
	}
	return items, strconv.Itoa(shards[i]) + "|" + after, nil
}

// shardPage reads up to limit profiles of a shard after the member id
// after ("" from the start) and joins their statistics; done when the
// shard has no more.
func (r *MemberStatsReader) shardPage(ctx context.Context, shard int, after string, limit int32) ([]MemberStats, bool, error) {
	in := &dynamodb.QueryInput{
		TableName: aws.String(r.Members), IndexName: aws.String(ProfilesByShard),
		KeyConditionExpression:    aws.String("seg_shard = :k"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": num(shard)},
		Limit:                     aws.Int32(limit),
	}
	if after != "" {
		in.KeyConditionExpression = aws.String("seg_shard = :k AND id > :after")
		in.ExpressionAttributeValues[":after"] = str(after)
	}
	var items []MemberStats
	done := false
	for int32(len(items)) < limit {
		out, err := r.Client.Query(ctx, in)
		if err != nil {
			return nil, false, translate(err, "read member profiles")
		}
		var recs []profileIndexRecord
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &recs); err != nil {
			return nil, false, fault.Wrap(fault.Internal, err, "unmarshal profiles")
		}
		for _, rec := range recs {
			items = append(items, MemberStats{ID: rec.ID, Erased: rec.Status == string(member.Erased), RegisteredAt: rec.CreatedAt,
				ProfilingRefused: rec.Profiling == "refused"})
		}
		if len(out.LastEvaluatedKey) == 0 {
			done = true
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
		in.Limit = aws.Int32(limit - int32(len(items)))
	}
	if len(items) == 0 {
		return nil, done, nil
	}
	index := make(map[string]int, len(items))
	for i := range items {
		if !items[i].Erased && !items[i].ProfilingRefused {
			index[items[i].ID] = i
		}
	}
	// The same range of the stats index: only these members' accounts.
	err := queryRange(ctx, r.Client, r.Points, StatsByShard, ShardAttr, num(shard), "member_id", items[0].ID, items[len(items)-1].ID,
		"read purchase facts", func(item map[string]types.AttributeValue) error {
			var rec statsIndexRecord
			if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
				return fault.Wrap(fault.Internal, err, "unmarshal purchase facts")
			}
			i, ok := index[rec.MemberID]
			if !ok {
				return nil
			}
			st, err := DecodeFacts(rec.Facts)
			if err != nil {
				return fault.Wrap(fault.Internal, err, "purchase facts of %s", rec.MemberID)
			}
			items[i].Stats = &st
			return nil
		})
	if err != nil {
		return nil, false, err
	}
	return items, done, nil
}
