// Command points-nightly is the points ledger's daily run: it releases
// matured pending points, expires lots, warns of expiry, evaluates tier
// downgrades and grants birthday bonuses, once per member per day.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"clientele/shared/dynamo"
	"clientele/shared/env"
	"clientele/shared/logging"
	"clientele/shared/metrics"
	"clientele/shared/points"
	"clientele/shared/queue"
)

const service = "points-nightly"

func main() {
	log := logging.New(os.Stdout, service)
	n, err := newNightly()
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	n.Log = log
	lambda.Start(withMetrics(n.Handle, metrics.FromEnv(os.Stdout, service), log))
}

func newNightly() (*Nightly, error) {
	table, err := env.Lookup(env.TableVar("points"))
	if err != nil {
		return nil, err
	}
	members, err := env.Lookup(env.TableVar("members"))
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
	return &Nightly{
		Ledger:    &dynamo.PointsStore{Client: db, Table: table, Policy: policy},
		Members:   &MemberTable{Client: db, Table: members},
		Outbox:    &dynamo.Outbox{Client: db, Table: table},
		Publisher: &queue.Publisher{SQS: sqsClient, Routes: routes},
		Policy:    policy,
		Service:   service,
	}, nil
}
