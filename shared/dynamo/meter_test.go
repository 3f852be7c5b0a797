package dynamo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamotest"
)

// The meter adds up what DynamoDB charges: a 3 KB item written to a table
// with a keys-only index costs 3 + 1 write units; reading ten of them
// (30 KB) by Query costs 30/4 rounded up, halved for eventual consistency.
// A transaction costs DynamoDB twice the units; DynamoDB Local reports
// four times, so measured transactions are overstated (docs/benchmarks.md).
func TestMeterCountsChargedUnits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	table, err := dynamotest.NewTable(ctx, db, "segmentation")
	if err != nil {
		t.Fatal(err)
	}
	m := &dynamo.Meter{}
	c := dynamodb.New(db.Options(), m.Attach)
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	big := strings.Repeat("x", 3000)
	for i := range 10 {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"pk": s("P"), "sk": s(fmt.Sprint(i)), "seg_pk": s("S"), "seg_sk": s(fmt.Sprint(i)), "v": s(big)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if u := m.Units(); u.Write != 40 || u.Read != 0 || u.Calls != 10 {
		t.Errorf("ten 3 KB puts, table and keys-only index: %+v, want 40 write units in 10 calls", u)
	}
	before := m.Units()
	_, err = c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("P")}})
	if err != nil {
		t.Fatal(err)
	}
	if u := m.Since(before); u.Read != 4 || u.Write != 0 {
		t.Errorf("query of 30 KB, eventually consistent: %+v, want 4 read units", u)
	}
	before = m.Units()
	_, err = c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Put: &types.Put{
		TableName: aws.String(table), Item: map[string]types.AttributeValue{"pk": s("Q"), "sk": s("1"), "v": s("small")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if u := m.Since(before); u.Write < 2 || u.Write > 4 || u.Transact != u.Write || u.AWSWrite() > 2 {
		t.Errorf("a small item in a transaction: %+v, want 2 write units (4 on DynamoDB Local), all transactional", u)
	}
}
