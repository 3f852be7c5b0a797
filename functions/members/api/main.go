// Command members-api is the members HTTP API: signup, profile, consents,
// erasure and export, behind API Gateway's HTTP API.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"clientele/shared/dynamo"
	"clientele/shared/env"
	"clientele/shared/hmackey"
	"clientele/shared/idempotency"
	"clientele/shared/logging"
	"clientele/shared/member"
	"clientele/shared/points"
	"clientele/shared/queue"
)

const service = "members-api"

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
	table, err := env.Lookup(env.TableVar("members"))
	if err != nil {
		return nil, err
	}
	key, err := hmackey.Load(ctx)
	if err != nil {
		return nil, err
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
	pointsTable, err := env.Lookup(env.TableVar("points"))
	if err != nil {
		return nil, err
	}
	feedbackTable, err := env.Lookup(env.TableVar("feedback"))
	if err != nil {
		return nil, err
	}
	policy, err := points.ParsePolicy(env.Or(env.PointsPolicy, ""))
	if err != nil {
		return nil, err
	}
	segmentationTable, err := env.Lookup(env.TableVar("segmentation"))
	if err != nil {
		return nil, err
	}
	surveysTable, err := env.Lookup(env.TableVar("surveys"))
	if err != nil {
		return nil, err
	}
	var idem idempotency.Store = &dynamo.IdempotencyStore{Client: db, Table: table}
	return &Handler{
		Points:      &dynamo.PointsStore{Client: db, Table: pointsTable, Policy: policy},
		Feedback:    &dynamo.FeedbackStore{Client: db, Table: feedbackTable},
		Surveys:     &dynamo.SurveyStore{Client: db, Table: surveysTable},
		Members:     &dynamo.MemberStore{Client: db, Table: table, Key: []byte(key)},
		Idempotency: idem,
		Outbox:      &dynamo.Outbox{Client: db, Table: table},
		Publisher:   &queue.Publisher{SQS: sqsClient, Routes: routes},
		Rules:       member.Rules{DefaultRegion: env.Or(env.DefaultPhoneRegion, "CN")},
		Service:     service,

		Segmentation: &dynamo.SegmentationStore{Client: db, Table: segmentationTable},
	}, nil
}
