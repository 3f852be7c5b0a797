// Package queue sends event envelopes to SQS queues, routed by event type
// as the topology declares (CLIENTELE_EVENT_ROUTES), and helps consumers
// report partial batch failures.
package queue

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"clientele/shared/awsenv"
	"clientele/shared/env"
	"clientele/shared/event"
	"clientele/shared/fault"
)

// Sender is the part of the SQS client the publisher uses.
type Sender interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Publisher sends envelopes to every queue subscribed to their type.
type Publisher struct {
	SQS Sender
	// Routes maps an event type to queue URLs.
	Routes map[string][]string
}

// NewClient builds an SQS client from the function's environment; the
// endpoint may be overridden with AWS_ENDPOINT_URL_SQS.
func NewClient() (*sqs.Client, error) {
	cfg, err := awsenv.Config()
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = awsenv.Endpoint("SQS") }), nil
}

// RoutesFromEnv resolves CLIENTELE_EVENT_ROUTES to queue URLs, reading each
// queue's URL variable. A missing variable is an error at startup.
func RoutesFromEnv() (map[string][]string, error) {
	routes, err := env.ParseEventRoutes(env.Or(env.EventRoutes, ""))
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for typ, queues := range routes {
		for _, q := range queues {
			url, err := env.Lookup(env.QueueURLVar(q))
			if err != nil {
				return nil, err
			}
			out[typ] = append(out[typ], url)
		}
	}
	return out, nil
}

// Publish sends each envelope to its queues. An event type without a route
// is an Internal error: the topology and the code disagree.
func (p *Publisher) Publish(ctx context.Context, evs ...event.Envelope) error {
	for _, e := range evs {
		urls, ok := p.Routes[e.Type]
		if !ok {
			return fault.New(fault.Internal, "no queue subscribes to %s", e.Type)
		}
		body, err := json.Marshal(e)
		if err != nil {
			return fault.Wrap(fault.Internal, err, "marshal %s", e.Type)
		}
		for _, url := range urls {
			_, err := p.SQS.SendMessage(ctx, &sqs.SendMessageInput{
				QueueUrl:    aws.String(url),
				MessageBody: aws.String(string(body)),
				MessageAttributes: map[string]types.MessageAttributeValue{
					"type":     {DataType: aws.String("String"), StringValue: aws.String(e.Type)},
					"event_id": {DataType: aws.String("String"), StringValue: aws.String(e.ID)},
				},
			})
			if err != nil {
				return fault.Wrap(fault.Unavailable, err, "send %s", e.Type)
			}
		}
	}
	return nil
}

// Batch collects the ids of messages that failed in an SQS batch; only those
// are retried by the event source mapping (ReportBatchItemFailures).
type Batch struct{ failed []events.SQSBatchItemFailure }

// Fail marks a message for redelivery.
func (b *Batch) Fail(messageID string) {
	b.failed = append(b.failed, events.SQSBatchItemFailure{ItemIdentifier: messageID})
}

// Response is the handler's return value.
func (b *Batch) Response() events.SQSEventResponse {
	return events.SQSEventResponse{BatchItemFailures: b.failed}
}
