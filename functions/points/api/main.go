// Command points-api is the points HTTP API: balance, ledger, redemptions
// and staff adjustments, and the intake of purchases and returns, which it
// hands to the points worker through the points-events queue.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"clientele/shared/apigw"
	"clientele/shared/dynamo"
	"clientele/shared/env"
	"clientele/shared/event"
	"clientele/shared/hmackey"
	"clientele/shared/idempotency"
	"clientele/shared/logging"
	"clientele/shared/points"
	"clientele/shared/queue"
)

const service = "points-api"

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
	table, err := env.Lookup(env.TableVar("points"))
	if err != nil {
		return nil, err
	}
	key, err := hmackey.Load(ctx)
	if err != nil {
		return nil, err
	}
	policy, err := points.ParsePolicy(env.Or(env.PointsPolicy, ""))
	if err != nil {
		return nil, err
	}
	routes, err := queue.RoutesFromEnv()
	if err != nil {
		return nil, err
	}
	for _, typ := range []string{event.TypePointsPurchase, event.TypePointsReturn} {
		if len(routes[typ]) == 0 {
			return nil, fmt.Errorf("%s routes no queue for %s", env.EventRoutes, typ)
		}
	}
	db, err := dynamo.NewClient()
	if err != nil {
		return nil, err
	}
	sqsClient, err := queue.NewClient()
	if err != nil {
		return nil, err
	}
	membersTable, err := env.Lookup(env.TableVar("members"))
	if err != nil {
		return nil, err
	}
	var idem idempotency.Store = &dynamo.IdempotencyStore{Client: db, Table: table}
	store := &dynamo.PointsStore{Client: db, Table: table, Policy: policy}
	return &Handler{
		// Only Status is read: no uniqueness claims, so no HMAC key needed.
		Members:     &dynamo.MemberStore{Client: db, Table: membersTable},
		Points:      store,
		Intake:      store,
		Idempotency: idem,
		Publisher:   &queue.Publisher{SQS: sqsClient, Routes: routes},
		Cursors:     apigw.Cursors{Key: []byte(key)},
		Policy:      policy,
		Service:     service,
	}, nil
}
