// Command consumer is a test SQS consumer for the local runner's event
// source mapping. For every message it adds one to the attempts of an item
// keyed by the message id in the "records" table and stores what it saw
// (body, batch size, receive count, event source). It reports messages whose
// body contains "fail" as batch item failures, exits on "crash" and outlives
// its timeout on "sleep".
package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/awsenv"
	"clientele/shared/env"
)

type handler struct {
	db    *dynamodb.Client
	table string
}

func (h handler) handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		switch {
		case strings.Contains(r.Body, "crash"):
			os.Exit(4)
		case strings.Contains(r.Body, "sleep"):
			time.Sleep(time.Minute)
		}
		update := "ADD attempts :one SET body = :body, batch_size = :size, receive_count = :rc, event_source = :src, source_arn = :arn, sent_ms = :sent"
		values := map[string]types.AttributeValue{
			":one":  &types.AttributeValueMemberN{Value: "1"},
			":body": &types.AttributeValueMemberS{Value: r.Body},
			":size": &types.AttributeValueMemberN{Value: strconv.Itoa(len(ev.Records))},
			":rc":   &types.AttributeValueMemberS{Value: r.Attributes["ApproximateReceiveCount"]},
			":src":  &types.AttributeValueMemberS{Value: r.EventSource},
			":arn":  &types.AttributeValueMemberS{Value: r.EventSourceARN},
			":sent": &types.AttributeValueMemberS{Value: r.Attributes["SentTimestamp"]},
		}
		// The "kind" message attribute keys the table's index, which takes
		// no empty strings.
		if a, ok := r.MessageAttributes["kind"]; ok && a.StringValue != nil && *a.StringValue != "" {
			update += ", kind_attribute = :kind"
			values[":kind"] = &types.AttributeValueMemberS{Value: *a.StringValue}
		}
		_, err := h.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(h.table),
			Key:                       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: r.MessageId}},
			UpdateExpression:          aws.String(update),
			ExpressionAttributeValues: values,
		})
		if err != nil {
			return resp, err
		}
		if strings.Contains(r.Body, "fail") {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return resp, nil
}

func main() {
	cfg, err := awsenv.Config()
	if err != nil {
		panic(err)
	}
	lambda.Start(handler{db: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = awsenv.Endpoint("DYNAMODB") }), table: os.Getenv(env.TableVar("records"))}.handle)
}
