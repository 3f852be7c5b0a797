// Command feedback-worker consumes the feedback-events queue — triage of
// new cases, problem clusters, follow-up requests from other domains and
// member erasure, each safe to redeliver — and, on its schedule, sweeps the
// SLA due index for warnings and breaches.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"clientele/shared/dynamo"
	"clientele/shared/env"
	"clientele/shared/feedback"
	"clientele/shared/logging"
	"clientele/shared/queue"
)

const service = "feedback-worker"

func main() {
	log := logging.New(os.Stdout, service)
	h, err := newHandler()
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	h.Log = log
	lambda.Start(h.Handle)
}

func newHandler() (*Handler, error) {
	table, err := env.Lookup(env.TableVar("feedback"))
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
	db, err := dynamo.NewClient()
	if err != nil {
		return nil, err
	}
	sqsClient, err := queue.NewClient()
	if err != nil {
		return nil, err
	}
	h := &Handler{
		Outbox:    &dynamo.Outbox{Client: db, Table: table},
		Publisher: &queue.Publisher{SQS: sqsClient, Routes: routes},
		Desk:      desk,
		Service:   service,
	}
	store := &dynamo.FeedbackStore{Client: db, Table: table}
	store.SLA = func(c *feedback.Case) (feedback.SLAState, error) { return desk.SLA(c, c.UpdatedAt) }
	h.Store = store
	return h, nil
}
