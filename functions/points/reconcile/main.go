// Command points-reconcile verifies the points ledger's invariants and
// reports the outstanding points liability: for one member on request
// ({"member_id": "..."}), or for every member weekly on the sweep engine —
// its schedule starts the run and fans it out as scan segments on the
// points-reconcile-sweep queue, which feeds the same function; the
// segments' partial reports are merged when the last one finishes. See
// docs/sweep.md.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"clientele/shared/dynamo"
	"clientele/shared/env"
	"clientele/shared/logging"
	"clientele/shared/metrics"
	"clientele/shared/points"
	"clientele/shared/queue"
	"clientele/shared/sweep"
	"clientele/shared/sweepsqs"
)

const service = "points-reconcile"

// sweepQueue is the queue of the reconciliation's segment messages.
const sweepQueue = "points-reconcile-sweep"

// sweepConfig is the reconciliation's fan-out: one segment per 200 000
// items of the points table, 1 to 64 segments; a run not finished 5 h
// after its start fails (the last hourly check) and can be resumed.
func sweepConfig(zone *time.Location) sweep.Config {
	return sweep.Config{Kind: SweepKind, ItemsPerSegment: 200_000, MinSegments: 1, MaxSegments: 64, PageSize: 500,
		Timeout: 5 * time.Hour, Zone: zone, Reserve: 45 * time.Second}
}

func main() {
	log := logging.New(os.Stdout, service)
	h, err := newHandler()
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	h.Log = log
	h.Metrics = metrics.FromEnv(os.Stdout, service)
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
	zone, err := env.Location()
	if err != nil {
		return nil, err
	}
	policy.Zone = zone
	segmentsURL, err := env.Lookup(env.QueueURLVar(sweepQueue))
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
	return &Handler{
		Ledger:   &dynamo.PointsStore{Client: db, Table: table, Policy: policy},
		Runs:     &dynamo.SweepStore{Client: db, Table: table},
		Segments: &sweepsqs.SegmentPublisher{SQS: sqsClient, URL: segmentsURL},
		Accounts: &dynamo.PointsAccountReader{Client: db, Table: table},
		Sizer:    &dynamo.TableSizer{Client: db, Table: table},
		Config:   sweepConfig(zone),
	}, nil
}
