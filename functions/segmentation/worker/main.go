// Command segmentation-worker runs the nightly segmentation of every
// member on the sweep engine: its schedule starts the day's run in the
// brand's time zone (and marks a run past its deadline failed); the
// segmentation-sweep queue brings one scan segment per message — phase 1
// summarises members, the last segment merges, fits the models and fans
// out phase 2, which scores and writes what changed — member.erased,
// which removes the member's result, member.profiling_refused, which
// removes it and tells marketing tools, and segmentation.export_requested,
// which writes a segment's CSV export to the exports bucket.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"clientele/shared/bucket"
	"clientele/shared/dynamo"
	"clientele/shared/env"
	"clientele/shared/logging"
	"clientele/shared/metrics"
	"clientele/shared/queue"
	"clientele/shared/segment"
	"clientele/shared/sweepsqs"
)

const service = "segmentation-worker"

func main() {
	log := logging.New(os.Stdout, service)
	h, err := newHandler(log)
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func newHandler(log *slog.Logger) (*Handler, error) {
	cfg, err := segment.ParseRunConfig(env.Or(env.SegmentationConfig, ""))
	if err != nil {
		return nil, err
	}
	zone, err := env.Location()
	if err != nil {
		return nil, err
	}
	var tables [3]string
	for i, t := range []string{"segmentation", "members", "points"} {
		if tables[i], err = env.Lookup(env.TableVar(t)); err != nil {
			return nil, err
		}
	}
	sweepQueue, err := env.Lookup(env.QueueURLVar("segmentation-sweep"))
	if err != nil {
		return nil, err
	}
	exportsBucket, err := env.Lookup(env.BucketVar("exports"))
	if err != nil {
		return nil, err
	}
	s3Client, err := bucket.NewClient()
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
	meter := &dynamo.Meter{}
	db = dynamodb.New(db.Options(), meter.Attach)
	sqsClient, err := queue.NewClient()
	if err != nil {
		return nil, err
	}
	store := &dynamo.SegmentationStore{Client: db, Table: tables[0]}
	emf := metrics.FromEnv(os.Stdout, service)
	p := &Processor{
		Config: cfg, Store: store, Log: log, Service: service, Metrics: emf,
		Publisher: &queue.Publisher{SQS: sqsClient, Routes: routes},
		Outbox:    &dynamo.Outbox{Client: db, Table: tables[0]},
	}
	engine := newEngine(cfg, zone, &dynamo.SweepStore{Client: db, Table: tables[0]},
		&sweepsqs.SegmentPublisher{SQS: sqsClient, URL: sweepQueue},
		&dynamo.MemberStatsReader{Client: db, Members: tables[1], Points: tables[2]}, p)
	exports := &Exporter{Store: store, Bucket: &bucket.Store{Client: s3Client, Bucket: exportsBucket}, Log: log}
	return &Handler{Engine: engine, Eraser: store, Refusals: p, Exports: exports, Log: log, Meter: meter, Metrics: emf}, nil
}
