// Command feedback-api is the feedback HTTP API: intake from members,
// services and staff, case reads and the staff workflow, members' replies,
// the triage rules (edit and dry run) and the reports. Triage, SLA sweeps
// and problem clusters run in feedback-worker.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"clientele/shared/apigw"
	"clientele/shared/dynamo"
	"clientele/shared/env"
	"clientele/shared/feedback"
	"clientele/shared/hmackey"
	"clientele/shared/logging"
	"clientele/shared/queue"
)

const service = "feedback-api"

func main() {
	log := logging.New(os.Stdout, service)
	h, err := newHandler(context.Background())
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	h.Log = log
	lambda.Start(h.Router().Serve)
}

func newHandler(ctx context.Context) (*Handler, error) {
	table, err := env.Lookup(env.TableVar("feedback"))
	if err != nil {
		return nil, err
	}
	key, err := hmackey.Load(ctx)
	if err != nil {
		return nil, err
	}
	desk, err := feedback.ParseDesk([]byte(env.Or(env.FeedbackDesk, "")))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", env.FeedbackDesk, err)
	}
	routes, err := queue.RoutesFromEnv()
	if err != nil {
		return nil, err
	}
	if len(routes[feedback.TypeReceived]) == 0 {
		return nil, fmt.Errorf("%s routes no queue for %s", env.EventRoutes, feedback.TypeReceived)
	}
	db, err := dynamo.NewClient()
	if err != nil {
		return nil, err
	}
	sqsClient, err := queue.NewClient()
	if err != nil {
		return nil, err
	}
	store := &dynamo.FeedbackStore{Client: db, Table: table}
	store.SLA = func(c *feedback.Case) (feedback.SLAState, error) { return desk.SLA(c, c.UpdatedAt) }
	return &Handler{
		Store:     store,
		Outbox:    &dynamo.Outbox{Client: db, Table: table},
		Publisher: &queue.Publisher{SQS: sqsClient, Routes: routes},
		Cursors:   apigw.Cursors{Key: []byte(key)},
		Desk:      desk,
		Service:   service,
		Region:    env.Or(env.DefaultPhoneRegion, "CN"),
	}, nil
}
