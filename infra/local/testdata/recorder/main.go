// Command recorder is a test schedule target for the local runner: it stores
// the event it receives in the "records" table under "schedule:<job>" (or
// "schedule:<detail-type>" for EventBridge's own scheduled event) and counts
// its invocations there.
package main

import (
	"context"
	"encoding/json"
	"os"

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

func (h handler) handle(ctx context.Context, payload json.RawMessage) (map[string]string, error) {
	var probe struct {
		Job        string `json:"job"`
		DetailType string `json:"detail-type"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, err
	}
	id := "schedule:" + probe.Job
	if probe.Job == "" {
		id = "schedule:" + probe.DetailType
	}
	_, err := h.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(h.table),
		Key:              map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
		UpdateExpression: aws.String("ADD invocations :one SET payload = :payload"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one":     &types.AttributeValueMemberN{Value: "1"},
			":payload": &types.AttributeValueMemberS{Value: string(payload)},
		},
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"recorded": id}, nil
}

func main() {
	cfg, err := awsenv.Config()
	if err != nil {
		panic(err)
	}
	lambda.Start(handler{db: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = awsenv.Endpoint("DYNAMODB") }), table: os.Getenv(env.TableVar("records"))}.handle)
}
