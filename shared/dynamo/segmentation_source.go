package dynamo

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"io"
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

// memberScanRecord is the projection of a member's profile the scan reads:
// no personal data beyond the consents.
type memberScanRecord struct {
	PK        string          `dynamodbav:"pk"`
	SK        string          `dynamodbav:"sk"`
	ID        string          `dynamodbav:"id"`
	Status    string          `dynamodbav:"status"`
	Consents  []consentRecord `dynamodbav:"consents"`
	CreatedAt time.Time       `dynamodbav:"created_at"`
}

type accountStatsRecord struct {
	MemberID string `dynamodbav:"member_id"`
	State    []byte `dynamodbav:"state"`
}

// MemberStatsReader reads the members table one parallel-scan segment at a
// time (every profile, so members who never bought are seen too) and joins
// each page with the points accounts of its members (BatchGetItem by key,
// projecting the statistics only). It implements
// sweep.PageReader[MemberStats]. Erased members and members who refused
// profiling are returned without statistics: segmentation removes their
// results.
type MemberStatsReader struct {
	Client  *dynamodb.Client
	Members string
	Points  string
}

var _ sweep.PageReader[MemberStats] = (*MemberStatsReader)(nil)

// ReadPage implements sweep.PageReader. A page is up to p.Limit members
// read by as many Scan calls as it takes (each returns at most 1 MB): the
// sweep checkpoints once per page, and a segmentation checkpoint carries a
// partial of some hundred kilobytes, so fewer, larger pages write far less.
func (r *MemberStatsReader) ReadPage(ctx context.Context, p sweep.Page) ([]MemberStats, string, error) {
	cursor := p.Cursor
	var raw []map[string]types.AttributeValue
	for {
		in := &dynamodb.ScanInput{
			TableName: aws.String(r.Members), Segment: aws.Int32(int32(p.Segment)), TotalSegments: aws.Int32(int32(p.TotalSegments)),
			FilterExpression:          aws.String("sk = :profile"),
			ProjectionExpression:      aws.String("pk, sk, id, #status, consents, created_at"),
			ExpressionAttributeNames:  map[string]string{"#status": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":profile": str("PROFILE")},
		}
		if p.Limit > 0 {
			// Limit counts items evaluated, other items of the table too:
			// ask for what is missing, at least a hundred.
			in.Limit = aws.Int32(max(p.Limit-int32(len(raw)), 100))
		}
		if cursor != "" {
			start, err := decodeCursor(cursor)
			if err != nil {
				return nil, "", err
			}
			in.ExclusiveStartKey = start
		}
		out, err := r.Client.Scan(ctx, in)
		if err != nil {
			return nil, "", translate(err, "scan members")
		}
		raw = append(raw, out.Items...)
		if cursor, err = encodeCursor(out.LastEvaluatedKey); err != nil {
			return nil, "", err
		}
		if cursor == "" || p.Limit <= 0 || int32(len(raw)) >= p.Limit {
			break
		}
	}
	items, err := r.join(ctx, raw)
	return items, cursor, err
}

// join decodes scanned profiles and fetches their points statistics.
func (r *MemberStatsReader) join(ctx context.Context, raw []map[string]types.AttributeValue) ([]MemberStats, error) {
	var recs []memberScanRecord
	if err := attributevalue.UnmarshalListOfMaps(raw, &recs); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "unmarshal members")
	}
	items := make([]MemberStats, 0, len(recs))
	index := map[string]int{}
	var ids []string
	for _, rec := range recs {
		if rec.ID == "" {
			continue
		}
		m := MemberStats{ID: rec.ID, Erased: rec.Status == string(member.Erased), RegisteredAt: rec.CreatedAt}
		for _, c := range rec.Consents {
			if c.Purpose == string(member.Profiling) && !c.Granted {
				m.ProfilingRefused = true
			}
		}
		if !m.Erased && !m.ProfilingRefused {
			index[m.ID] = len(items)
			ids = append(ids, m.ID)
		}
		items = append(items, m)
	}
	// Eventually consistent (half the read units): statistics a moment old
	// are as good as the scan's own snapshot of the members.
	err := batchGet(ctx, r.Client, r.Points, ids, func(id string) map[string]types.AttributeValue { return key(accountPK(id), "ACCOUNT") },
		false, "member_id, #state", map[string]string{"#state": "state"}, "read points statistics", func(item map[string]types.AttributeValue) error {
			var rec accountStatsRecord
			if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
				return fault.Wrap(fault.Internal, err, "unmarshal account")
			}
			st, err := statsOf(rec.State)
			if err != nil {
				return fault.Wrap(fault.Internal, err, "decode statistics of %s", rec.MemberID)
			}
			if i, ok := index[rec.MemberID]; ok {
				items[i].Stats = &st
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return items, nil
}

// statsOf decodes the statistics from an account's compressed state.
func statsOf(state []byte) (points.Stats, error) {
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(state)), 4<<20))
	if err != nil {
		return points.Stats{}, err
	}
	var st struct {
		Stats points.Stats `json:"stats"`
	}
	err = json.Unmarshal(raw, &st)
	return st.Stats, err
}
