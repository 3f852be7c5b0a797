// Command points-worker applies the points-events queue to the ledger:
// purchases, returns, welcome and referral bonuses, and bonuses other
// domains request, each exactly once however often SQS delivers it.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"clientele/shared/dynamo"
	"clientele/shared/env"
	"clientele/shared/logging"
	"clientele/shared/points"
	"clientele/shared/queue"
)

const service = "points-worker"

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
	table, err := env.Lookup(env.TableVar("points"))
	if err != nil {
		return nil, err
	}
	policy, err := points.ParsePolicy(env.Or(env.PointsPolicy, ""))
	if err != nil {
		return nil, err
	}
	if policy.Zone, err = env.Location(); err != nil {
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
	store := &dynamo.PointsStore{Client: db, Table: table, Policy: policy}
	return &Handler{
		Store:     store,
		Intake:    store,
		Eraser:    store,
		Outbox:    &dynamo.Outbox{Client: db, Table: table},
		Publisher: &queue.Publisher{SQS: sqsClient, Routes: routes},
		Policy:    policy,
		Service:   service,
	}, nil
}
