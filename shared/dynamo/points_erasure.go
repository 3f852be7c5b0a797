package dynamo

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/fault"
	"clientele/shared/points"
)

var _ points.Eraser = (*PointsStore)(nil)

// receiptRefRecord lists one of a member's stored HTTP responses (its
// idempotency record's storage key), written with the response.
type receiptRefRecord struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
}

func receiptRefPK(member string) string { return "RECEIPTS#" + member }

// erasedPK marks a member whose free text was erased: a change that would
// write free text for the member again is refused (errErasedMember), so a
// note posted while the erasure ran cannot outlive it.
func erasedPK(member string) string { return "ERASED#" + member }

var errErasedMember = &fault.Error{Kind: fault.Conflict, Message: "the member was erased",
	Fields: []fault.FieldError{{Field: "id", Reason: "erased member"}}}

func freeTextIn(es []points.Entry) bool {
	for _, e := range es {
		if e.HasFreeText() {
			return true
		}
	}
	return false
}

func erasedCheck(table, member string) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(table), Key: key(erasedPK(member), "ERASED"),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}
}

// replace sets attr to next where it still holds prev; a changed item is
// left alone (nothing else rewrites these items, so it was scrubbed).
func (s *PointsStore) replace(ctx context.Context, k map[string]types.AttributeValue, attr, prev, next string) (bool, error) {
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: k,
		UpdateExpression:         aws.String("SET #a = :next"),
		ConditionExpression:      aws.String("#a = :prev"),
		ExpressionAttributeNames: map[string]string{"#a": attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":next": &types.AttributeValueMemberS{Value: next},
			":prev": &types.AttributeValueMemberS{Value: prev},
		},
	})
	err = translate(err, "scrub "+attr)
	if fault.Is(err, fault.Conflict) {
		return false, nil
	}
	return err == nil, err
}

// EraseFreeText implements points.Eraser.
func (s *PointsStore) EraseFreeText(ctx context.Context, memberID string) (int, error) {
	// The mark first: a change with free text either committed before it
	// (and the scrub below finds it) or is refused.
	mark, err := attributevalue.MarshalMap(struct {
		PK string `dynamodbav:"pk"`
		SK string `dynamodbav:"sk"`
	}{erasedPK(memberID), "ERASED"})
	if err != nil {
		return 0, fault.Wrap(fault.Internal, err, "marshal erasure mark")
	}
	if _, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: mark}); err != nil {
		return 0, translate(err, "mark erased member")
	}
	changed := 0
	entries := dynamodb.NewQueryPaginator(s.Client, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :e)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: accountPK(memberID)},
			":e":  &types.AttributeValueMemberS{Value: "ENTRY#"},
		},
		ConsistentRead: aws.Bool(true),
	})
	for entries.HasMorePages() {
		page, err := entries.NextPage(ctx)
		if err != nil {
			return changed, translate(err, "list entries")
		}
		var recs []entryRecord
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
			return changed, fault.Wrap(fault.Internal, err, "unmarshal entries")
		}
		for _, r := range recs {
			var e points.Entry
			if err := json.Unmarshal([]byte(r.Entry), &e); err != nil {
				return changed, fault.Wrap(fault.Internal, err, "decode entry")
			}
			if !e.HasFreeText() {
				continue
			}
			raw, err := json.Marshal(e.WithoutFreeText())
			if err != nil {
				return changed, fault.Wrap(fault.Internal, err, "encode entry")
			}
			ok, err := s.replace(ctx, key(r.PK, r.SK), "entry", r.Entry, string(raw))
			if err != nil {
				return changed, err
			}
			if ok {
				changed++
			}
		}
	}
	refs := dynamodb.NewQueryPaginator(s.Client, &dynamodb.QueryInput{
		TableName:                 aws.String(s.Table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: receiptRefPK(memberID)}},
		ConsistentRead:            aws.Bool(true),
	})
	for refs.HasMorePages() {
		page, err := refs.NextPage(ctx)
		if err != nil {
			return changed, translate(err, "list stored responses")
		}
		var recs []receiptRefRecord
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
			return changed, fault.Wrap(fault.Internal, err, "unmarshal stored response refs")
		}
		for _, ref := range recs {
			out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: idemKey(ref.SK), ConsistentRead: aws.Bool(true)})
			if err != nil {
				return changed, translate(err, "get stored response")
			}
			if out.Item == nil {
				continue // expired
			}
			var rec idemRecord
			if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
				return changed, fault.Wrap(fault.Internal, err, "unmarshal stored response")
			}
			body, scrubbed, err := scrubPostingBody(rec.Body)
			if err != nil || !scrubbed {
				if err != nil {
					return changed, err
				}
				continue
			}
			ok, err := s.replace(ctx, idemKey(ref.SK), "body", rec.Body, body)
			if err != nil {
				return changed, err
			}
			if ok {
				changed++
			}
		}
	}
	return changed, nil
}

// scrubPostingBody removes free text from the entry of a stored response
// (a posting: {"entry": ..., "balance": ...}); other bodies are left as
// they are.
func scrubPostingBody(body string) (string, bool, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc["entry"] == nil {
		return body, false, nil
	}
	var e points.Entry
	if err := json.Unmarshal(doc["entry"], &e); err != nil || !e.HasFreeText() {
		return body, false, nil
	}
	raw, err := json.Marshal(e.WithoutFreeText())
	if err != nil {
		return "", false, fault.Wrap(fault.Internal, err, "encode entry")
	}
	doc["entry"] = raw
	out, err := json.Marshal(doc)
	if err != nil {
		return "", false, fault.Wrap(fault.Internal, err, "encode stored response")
	}
	return string(out), true, nil
}
