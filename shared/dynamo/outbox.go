package dynamo

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/event"
	"clientele/shared/fault"
)

// The outbox: events are written in the same transaction as the change that
// causes them, published right after the commit and then deleted. Events left
// behind by a function that died in between are found by Pending and
// published again; consumers deduplicate on the event id.

type outboxRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Envelope  string `dynamodbav:"envelope"`
	ExpiresAt int64  `dynamodbav:"expires_at"`
}

const outboxPK = "OUTBOX"

func outboxItem(table string, e event.Envelope) (types.TransactWriteItem, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return types.TransactWriteItem{}, fault.Wrap(fault.Internal, err, "marshal event")
	}
	item, err := attributevalue.MarshalMap(outboxRecord{
		PK: outboxPK, SK: e.ID, Envelope: string(raw),
		ExpiresAt: e.OccurredAt.Add(14 * 24 * time.Hour).Unix(),
	})
	if err != nil {
		return types.TransactWriteItem{}, fault.Wrap(fault.Internal, err, "marshal outbox record")
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: item}}, nil
}

// Outbox reads and clears the outbox of one table.
type Outbox struct {
	Client *dynamodb.Client
	Table  string
}

// Done deletes published events.
func (o *Outbox) Done(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		_, err := o.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(o.Table),
			Key: map[string]types.AttributeValue{
				PartitionKey: &types.AttributeValueMemberS{Value: outboxPK},
				SortKey:      &types.AttributeValueMemberS{Value: id},
			},
		})
		if err != nil {
			return translate(err, "clear outbox")
		}
	}
	return nil
}

// Pending lists up to limit events that occurred before cutoff and were not
// yet marked done, oldest first.
func (o *Outbox) Pending(ctx context.Context, cutoff time.Time, limit int32) ([]event.Envelope, error) {
	out, err := o.Client.Query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(o.Table),
		KeyConditionExpression: aws.String("pk = :pk AND sk < :cut"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":  &types.AttributeValueMemberS{Value: outboxPK},
			":cut": &types.AttributeValueMemberS{Value: event.NewID(cutoff)[:10]},
		},
		Limit:          aws.Int32(limit),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, translate(err, "read outbox")
	}
	var recs []outboxRecord
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &recs); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "unmarshal outbox")
	}
	evs := make([]event.Envelope, 0, len(recs))
	for _, r := range recs {
		e, err := event.Parse([]byte(r.Envelope))
		if err != nil {
			return nil, fault.Wrap(fault.Internal, err, "outbox record %s", r.SK)
		}
		evs = append(evs, e)
	}
	return evs, nil
}
