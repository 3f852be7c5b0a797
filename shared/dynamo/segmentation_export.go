package dynamo

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/event"
	"clientele/shared/fault"
)

// Export statuses.
const (
	ExportRunning   = "running"
	ExportSucceeded = "succeeded"
)

// ExportRecord is a segment export: requested by segmentation-api, written
// by segmentation-worker (SEGEXPORT#<id> / EXPORT, expiring with the
// bucket's objects).
type ExportRecord struct {
	ID string `dynamodbav:"id" json:"id"`
	// Name is the segment's name as in paths ("champions", "none");
	// Segment the segment itself ("" for members without a purchase).
	Name        string    `dynamodbav:"name" json:"-"`
	Segment     string    `dynamodbav:"segment" json:"segment"`
	Key         string    `dynamodbav:"key" json:"key"`
	Status      string    `dynamodbav:"status" json:"status"`
	Rows        int       `dynamodbav:"rows" json:"rows"`
	Bytes       int64     `dynamodbav:"bytes" json:"bytes"`
	RequestedAt time.Time `dynamodbav:"requested_at" json:"requested_at"`
	FinishedAt  time.Time `dynamodbav:"finished_at,omitempty" json:"finished_at,omitzero"`
}

type exportItem struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	ExportRecord
	ExpiresAt int64 `dynamodbav:"expires_at"`
}

func exportKey(id string) map[string]types.AttributeValue { return key("SEGEXPORT#"+id, "EXPORT") }

// ExportRetention is how long an export record is kept: as long as the
// exports bucket keeps its object.
const ExportRetention = 7 * 24 * time.Hour

// CreateExport stores a running export and its request event (in the
// outbox) in one transaction: the worker is told once the record exists.
func (s *SegmentationStore) CreateExport(ctx context.Context, rec ExportRecord, ev event.Envelope) error {
	rec.Status = ExportRunning
	item, err := attributevalue.MarshalMap(exportItem{PK: "SEGEXPORT#" + rec.ID, SK: "EXPORT", ExportRecord: rec,
		ExpiresAt: rec.RequestedAt.Add(ExportRetention).Unix()})
	if err != nil {
		return fault.Wrap(fault.Internal, err, "marshal export")
	}
	outbox, err := outboxItem(s.Table, ev)
	if err != nil {
		return err
	}
	_, err = s.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.Table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}}, outbox}})
	return translate(err, "create export")
}

// Export reads an export record; NotFound when there is none.
func (s *SegmentationStore) Export(ctx context.Context, id string) (ExportRecord, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: exportKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return ExportRecord{}, translate(err, "read export")
	}
	if out.Item == nil {
		return ExportRecord{}, fault.New(fault.NotFound, "no export %s", id)
	}
	var it exportItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return ExportRecord{}, fault.Wrap(fault.Internal, err, "unmarshal export")
	}
	return it.ExportRecord, nil
}

// FinishExport records a written export; a second call (a redelivered
// request that wrote the same object again) changes nothing.
func (s *SegmentationStore) FinishExport(ctx context.Context, id string, rows int, bytes int64, at time.Time) error {
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: exportKey(id),
		UpdateExpression:         aws.String("SET #s = :done, #r = :rows, #b = :bytes, finished_at = :at"),
		ConditionExpression:      aws.String("#s = :running"),
		ExpressionAttributeNames: map[string]string{"#s": "status", "#r": "rows", "#b": "bytes"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":done": str(ExportSucceeded), ":running": str(ExportRunning), ":rows": num(rows),
			":bytes": &types.AttributeValueMemberN{Value: strconv.FormatInt(bytes, 10)}, ":at": str(at.UTC().Format(time.RFC3339Nano)),
		},
	})
	if err = translate(err, "finish export"); fault.Is(err, fault.Conflict) {
		return nil // finished already
	}
	return err
}
