// Command outbox-relay publishes events that a function committed to its
// table's outbox but could not publish (it timed out or died between the
// commit and the send). It runs on a schedule; consumers deduplicate on the
// event id, so publishing an event twice is harmless.
package main

import (
	"os"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"clientele/shared/dynamo"
	"clientele/shared/logging"
	"clientele/shared/queue"
)

const service = "outbox-relay"

func main() {
	log := logging.New(os.Stdout, service)
	db, err := dynamo.NewClient()
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	sqsClient, err := queue.NewClient()
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	routes, err := queue.RoutesFromEnv()
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	r := &Relay{Publisher: &queue.Publisher{SQS: sqsClient, Routes: routes}, Log: log}
	for _, t := range tablesFromEnv(os.Environ()) {
		r.Outboxes = append(r.Outboxes, &dynamo.Outbox{Client: db, Table: t})
	}
	lambda.Start(r.Handle)
}

// tablesFromEnv lists the physical table names the function was granted.
func tablesFromEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CLIENTELE_TABLE_") && v != "" {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}
