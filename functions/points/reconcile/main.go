// Command points-reconcile verifies the points ledger's invariants for one
// member or for every member and reports the outstanding points liability.
// It runs weekly on a schedule and can be invoked with {"member_id": "..."}.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"clientele/shared/dynamo"
	"clientele/shared/env"
	"clientele/shared/logging"
	"clientele/shared/metrics"
	"clientele/shared/points"
)

const service = "points-reconcile"

func main() {
	log := logging.New(os.Stdout, service)
	h, err := newHandler()
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	h.Log = log
	lambda.Start(withMetrics(h.Handle, metrics.FromEnv(os.Stdout, service), log))
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
	db, err := dynamo.NewClient()
	if err != nil {
		return nil, err
	}
	return &Handler{Ledger: &dynamo.PointsStore{Client: db, Table: table, Policy: policy}}, nil
}
