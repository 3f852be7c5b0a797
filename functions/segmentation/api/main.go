// Command segmentation-api serves segmentation results to staff: a
// member's segment, the latest run's report, the members of a segment
// (JSON or CSV), a run's progress, and starting today's run now.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"clientele/shared/apigw"
	"clientele/shared/bucket"
	"clientele/shared/dynamo"
	"clientele/shared/env"
	"clientele/shared/hmackey"
	"clientele/shared/logging"
	"clientele/shared/queue"
	"clientele/shared/segment"
	"clientele/shared/sweep"
	"clientele/shared/sweepsqs"
)

const service = "segmentation-api"

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
	cfg, err := segment.ParseRunConfig(env.Or(env.SegmentationConfig, ""))
	if err != nil {
		return nil, err
	}
	zone, err := env.Location()
	if err != nil {
		return nil, err
	}
	table, err := env.Lookup(env.TableVar("segmentation"))
	if err != nil {
		return nil, err
	}
	members, err := env.Lookup(env.TableVar("members"))
	if err != nil {
		return nil, err
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
	key, err := hmackey.Load(ctx)
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
	runs := &dynamo.SweepStore{Client: db, Table: table}
	// The same kind, fan-out and deadline as the worker's engine; starting
	// needs no reader or processor.
	engine := &sweep.Engine[dynamo.MemberStats]{
		Config: sweep.Config{Kind: segment.SweepKind, Phases: 2, Segments: cfg.Segments, PageSize: cfg.PageSize,
			Timeout: cfg.Timeout(), Zone: zone},
		Store: runs, Queue: &sweepsqs.SegmentPublisher{SQS: sqsClient, URL: sweepQueue},
	}
	routes, err := queue.RoutesFromEnv()
	if err != nil {
		return nil, err
	}
	return &Handler{
		Publisher: &queue.Publisher{SQS: sqsClient, Routes: routes},
		Outbox:    &dynamo.Outbox{Client: db, Table: table},
		Results:   &dynamo.SegmentationStore{Client: db, Table: table},
		Runs:      runs,
		Starter:   engine,
		// Only Get is used: no uniqueness claims, so no HMAC key needed.
		Members: &dynamo.MemberStore{Client: db, Table: members},
		Cursors: apigw.Cursors{Key: []byte(key)},
		Exports: &bucket.Store{Client: s3Client, Bucket: exportsBucket},
	}, nil
}
