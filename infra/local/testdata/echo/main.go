// Command echo is a test function for the local runner's API Gateway: it
// answers with the event it received, selected environment variables and its
// process id. Some paths misbehave on purpose: /v1/sleep outlives its
// timeout, /v1/crash exits mid-invocation, /v1/blobs returns the request body
// as it came (base64 or not), and POST /v1/jobs sends the body to the "jobs"
// queue through the URL the topology gave it.
package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"clientele/shared/awsenv"
	"clientele/shared/env"
)

// Reply is the body of an echo response.
type Reply struct {
	Event       events.APIGatewayV2HTTPRequest `json:"event"`
	Env         map[string]string              `json:"env"`
	PID         int                            `json:"pid"`
	RequestID   string                         `json:"requestId"`
	FunctionARN string                         `json:"functionArn"`
	DeadlineMS  int64                          `json:"deadlineMs"`
}

type handler struct{ sqs *sqs.Client }

func (h handler) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	switch req.RawPath {
	case "/v1/sleep":
		time.Sleep(time.Minute)
	case "/v1/crash":
		os.Exit(3)
	case "/v1/blobs":
		return events.APIGatewayV2HTTPResponse{
			StatusCode:      201,
			Headers:         map[string]string{"content-type": "application/octet-stream"},
			Body:            req.Body,
			IsBase64Encoded: req.IsBase64Encoded,
		}, nil
	case "/v1/jobs":
		out, err := h.sqs.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl:    aws.String(os.Getenv(env.QueueURLVar("jobs"))),
			MessageBody: aws.String(req.Body),
		})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: 202, Body: aws.ToString(out.MessageId)}, nil
	}
	if d, err := time.ParseDuration(req.QueryStringParameters["sleep"]); err == nil {
		time.Sleep(d)
	}
	reply := Reply{Event: req, Env: map[string]string{}, PID: os.Getpid()}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CLIENTELE_") || strings.HasPrefix(k, "AWS_") || k == "TEST_EXTRA" {
			reply.Env[k] = v
		}
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		reply.RequestID, reply.FunctionARN = lc.AwsRequestID, lc.InvokedFunctionArn
	}
	if dl, ok := ctx.Deadline(); ok {
		reply.DeadlineMS = dl.UnixMilli()
	}
	body, err := json.Marshal(reply)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode:        200,
		Headers:           map[string]string{"content-type": "application/json"},
		MultiValueHeaders: map[string][]string{"x-multi": {"one", "two"}},
		Cookies:           []string{"session=abc; Path=/; HttpOnly", "theme=dark"},
		Body:              string(body),
	}, nil
}

func main() {
	cfg, err := awsenv.Config()
	if err != nil {
		panic(err)
	}
	lambda.Start(handler{sqs: sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = awsenv.Endpoint("SQS") })}.handle)
}
