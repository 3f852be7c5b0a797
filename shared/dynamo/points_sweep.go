package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/fault"
	"clientele/shared/points"
	"clientele/shared/sweep"
)

// PointsAccountReader reads the points accounts (sk "ACCOUNT") of one
// parallel-scan segment of the points table a page at a time, for the
// points sweeps (points-nightly, points-reconcile). It implements
// sweep.PageReader[*points.Account]. The page limit counts the items the
// scan evaluates (entries, orders and markers included), so a page holds
// at most that many accounts; the cursor is the page's LastEvaluatedKey.
type PointsAccountReader struct {
	Client *dynamodb.Client
	Table  string
}

var _ sweep.PageReader[*points.Account] = (*PointsAccountReader)(nil)

// ReadPage implements sweep.PageReader.
func (r *PointsAccountReader) ReadPage(ctx context.Context, p sweep.Page) ([]*points.Account, string, error) {
	in := &dynamodb.ScanInput{
		TableName: aws.String(r.Table), Segment: aws.Int32(int32(p.Segment)), TotalSegments: aws.Int32(int32(p.TotalSegments)),
		FilterExpression:          aws.String("sk = :a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": str("ACCOUNT")},
	}
	if p.Limit > 0 {
		in.Limit = aws.Int32(p.Limit)
	}
	if p.Cursor != "" {
		start, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	out, err := r.Client.Scan(ctx, in)
	if err != nil {
		return nil, "", translate(err, "scan accounts")
	}
	accounts := make([]*points.Account, 0, len(out.Items))
	for _, it := range out.Items {
		var rec accountRecord
		if err := attributevalue.UnmarshalMap(it, &rec); err != nil {
			return nil, "", fault.Wrap(fault.Internal, err, "unmarshal account")
		}
		a, err := fromAccountRecord(rec)
		if err != nil {
			return nil, "", fault.Wrap(fault.Internal, err, "decode account %s", rec.MemberID)
		}
		accounts = append(accounts, a)
	}
	next, err := encodeCursor(out.LastEvaluatedKey)
	if err != nil {
		return nil, "", err
	}
	return accounts, next, nil
}
