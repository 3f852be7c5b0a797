// Command surveys-api is the surveys HTTP API: survey definitions and
// scores for staff, answers from members and from invitation links (a
// public route: the link token is the credential). Answers are validated
// here and queued (survey.response_submitted) for surveys-worker, which
// scores each exactly once.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"clientele/shared/dynamo"
	"clientele/shared/env"
	"clientele/shared/event"
	"clientele/shared/hmackey"
	"clientele/shared/logging"
	"clientele/shared/queue"
	"clientele/shared/survey"
)

const service = "surveys-api"

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
	table, err := env.Lookup(env.TableVar("surveys"))
	if err != nil {
		return nil, err
	}
	zone, err := time.LoadLocation(env.Or(env.TimeZone, "UTC"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", env.TimeZone, err)
	}
	key, err := hmackey.Load(ctx)
	if err != nil {
		return nil, err
	}
	links, err := survey.LinkSigner(key)
	if err != nil {
		return nil, err
	}
	routes, err := queue.RoutesFromEnv()
	if err != nil {
		return nil, err
	}
	if len(routes[event.TypeSurveyResponseSubmitted]) == 0 {
		return nil, fmt.Errorf("%s routes no queue for %s", env.EventRoutes, event.TypeSurveyResponseSubmitted)
	}
	db, err := dynamo.NewClient()
	if err != nil {
		return nil, err
	}
	sqsClient, err := queue.NewClient()
	if err != nil {
		return nil, err
	}
	return &Handler{
		// A warm instance reads a year's closed months once per 10 minutes.
		Store:     &dynamo.SurveyStore{Client: db, Table: table, Zone: zone, Cells: dynamo.NewSurveyCellCache(10*time.Minute, 20000)},
		Publisher: &queue.Publisher{SQS: sqsClient, Routes: routes},
		Links:     links,
		Zone:      zone,
		Service:   service,
	}, nil
}
