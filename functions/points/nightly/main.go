// Command points-nightly is the points ledger's daily run, on the sweep
// engine: its schedule starts the day's run (the brand's local day) and
// fans it out as scan segments on the points-nightly-sweep queue, which
// feeds the same function; each segment releases matured pending points,
// expires lots, warns of expiry, evaluates tier downgrades and grants
// birthday bonuses, once per member per day. See docs/sweep.md.
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

const service = "points-nightly"

// sweepQueue is the queue of the nightly run's segment messages.
const sweepQueue = "points-nightly-sweep"

// sweepConfig is the nightly run's fan-out: one segment per 200 000 items
// of the points table (accounts, entries, orders and markers: the scan
// reads them all), 1 to 64 segments; a run not finished 2 h 30 min after
// its start fails (the 04:00 check) and can be resumed.
func sweepConfig(zone *time.Location) sweep.Config {
	return sweep.Config{Kind: SweepKind, ItemsPerSegment: 200_000, MinSegments: 1, MaxSegments: 64, PageSize: 500,
		Timeout: 150 * time.Minute, Zone: zone, Reserve: 45 * time.Second}
}

func main() {
	log := logging.New(os.Stdout, service)
	n, err := newNightly()
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	n.Log = log
	n.Metrics = metrics.FromEnv(os.Stdout, service)
	lambda.Start(n.Handle)
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
	segmentsURL, err := env.Lookup(env.QueueURLVar(sweepQueue))
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
	return &Nightly{
		Ledger:    &dynamo.PointsStore{Client: db, Table: table, Policy: policy},
		Members:   &MemberTable{Client: db, Table: members},
		Outbox:    &dynamo.Outbox{Client: db, Table: table},
		Publisher: &queue.Publisher{SQS: sqsClient, Routes: routes},
		Policy:    policy,
		Service:   service,
		Runs:      &dynamo.SweepStore{Client: db, Table: table},
		Segments:  &sweepsqs.SegmentPublisher{SQS: sqsClient, URL: segmentsURL},
		Accounts:  &dynamo.PointsAccountReader{Client: db, Table: table},
		Sizer:     &dynamo.TableSizer{Client: db, Table: table},
		Config:    sweepConfig(policy.Zone),
	}, nil
}
