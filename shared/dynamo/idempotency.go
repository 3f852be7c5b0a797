package dynamo

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/fault"
	"clientele/shared/idempotency"
)

const (
	idemInFlight = "in_flight"
	idemDone     = "done"
)

type idemRecord struct {
	PK          string            `dynamodbav:"pk"`
	SK          string            `dynamodbav:"sk"`
	State       string            `dynamodbav:"state"`
	RequestHash string            `dynamodbav:"request_hash"`
	Token       string            `dynamodbav:"token"`
	LockedUntil int64             `dynamodbav:"locked_until"`
	Status      int               `dynamodbav:"status,omitempty"`
	Headers     map[string]string `dynamodbav:"headers,omitempty"`
	Body        string            `dynamodbav:"body,omitempty"`
	Subject     string            `dynamodbav:"subject,omitempty"`
	ExpiresAt   int64             `dynamodbav:"expires_at"`
}

func idemKey(storageKey string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		PartitionKey: &types.AttributeValueMemberS{Value: "IDEM#" + storageKey},
		SortKey:      &types.AttributeValueMemberS{Value: "IDEM"},
	}
}

// IdempotencyStore keeps idempotency records in the same table as the effect
// they guard.
type IdempotencyStore struct {
	Client *dynamodb.Client
	Table  string
}

var _ idempotency.Store = (*IdempotencyStore)(nil)

// Reserve implements idempotency.Store.
func (s *IdempotencyStore) Reserve(ctx context.Context, r idempotency.Reservation, now time.Time) (*idempotency.Receipt, error) {
	for attempt := 0; attempt < 3; attempt++ {
		rec := idemRecord{
			PK: "IDEM#" + r.StorageKey, SK: "IDEM", State: idemInFlight, RequestHash: r.RequestHash, Token: r.Token,
			LockedUntil: now.Add(idempotency.LockTimeout).Unix(), ExpiresAt: now.Add(idempotency.Retention).Unix(),
		}
		item, err := attributevalue.MarshalMap(rec)
		if err != nil {
			return nil, fault.Wrap(fault.Internal, err, "marshal idempotency record")
		}
		// Claim the key when it is new, or when its holder's lock lapsed
		// without completing, or when the stored response expired.
		_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.Table),
			Item:      item,
			ConditionExpression: aws.String("attribute_not_exists(pk) OR expires_at < :now OR " +
				"(#state = :inflight AND locked_until < :now)"),
			ExpressionAttributeNames: map[string]string{"#state": "state"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now":      &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
				":inflight": &types.AttributeValueMemberS{Value: idemInFlight},
			},
		})
		if err == nil {
			return nil, nil
		}
		if !fault.Is(translate(err, "reserve"), fault.Conflict) {
			return nil, translate(err, "reserve idempotency key")
		}
		out, gerr := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(s.Table), Key: idemKey(r.StorageKey), ConsistentRead: aws.Bool(true),
		})
		if gerr != nil {
			return nil, translate(gerr, "read idempotency key")
		}
		if out.Item == nil {
			continue // released meanwhile: try to claim again
		}
		var cur idemRecord
		if err := attributevalue.UnmarshalMap(out.Item, &cur); err != nil {
			return nil, fault.Wrap(fault.Internal, err, "unmarshal idempotency record")
		}
		if cur.RequestHash != r.RequestHash {
			return nil, &fault.Error{Kind: fault.Conflict, Message: "this Idempotency-Key was used with a different request",
				Fields: []fault.FieldError{{Field: idempotency.HeaderName, Reason: "reused with a different request"}}}
		}
		if cur.State == idemDone {
			return &idempotency.Receipt{Status: cur.Status, Headers: cur.Headers, Body: cur.Body, Subject: cur.Subject}, nil
		}
		if cur.LockedUntil >= now.Unix() {
			return nil, &fault.Error{Kind: fault.Conflict, Message: "a request with this Idempotency-Key is in progress; retry later",
				Fields: []fault.FieldError{{Field: idempotency.HeaderName, Reason: "in progress"}}}
		}
		// The lock lapsed between our put and our read: claim again.
	}
	return nil, fault.New(fault.Unavailable, "could not reserve the idempotency key; retry")
}

// Release implements idempotency.Store.
func (s *IdempotencyStore) Release(ctx context.Context, r idempotency.Reservation) error {
	_, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                aws.String(s.Table),
		Key:                      idemKey(r.StorageKey),
		ConditionExpression:      aws.String("#state = :inflight AND #token = :token"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#token": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":inflight": &types.AttributeValueMemberS{Value: idemInFlight},
			":token":    &types.AttributeValueMemberS{Value: r.Token},
		},
	})
	if err != nil && fault.Is(translate(err, "release"), fault.Conflict) {
		return nil // already completed or taken over: nothing of ours to release
	}
	return translate(err, "release idempotency key")
}

// receiptItem is the transaction item that completes a reservation with
// its response. It fails unless the reservation is still ours.
func receiptItem(table string, r idempotency.Reservation, rc idempotency.Receipt, now time.Time) (types.TransactWriteItem, error) {
	rec := idemRecord{
		PK: "IDEM#" + r.StorageKey, SK: "IDEM", State: idemDone, RequestHash: r.RequestHash, Token: r.Token,
		Status: rc.Status, Headers: rc.Headers, Body: rc.Body, Subject: rc.Subject,
		ExpiresAt: now.Add(idempotency.Retention).Unix(),
	}
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return types.TransactWriteItem{}, fault.Wrap(fault.Internal, err, "marshal receipt")
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName:                aws.String(table),
		Item:                     item,
		ConditionExpression:      aws.String("#state = :inflight AND #token = :token"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#token": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":inflight": &types.AttributeValueMemberS{Value: idemInFlight},
			":token":    &types.AttributeValueMemberS{Value: r.Token},
		},
	}}, nil
}
