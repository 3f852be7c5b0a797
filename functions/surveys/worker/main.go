// Command surveys-worker consumes the survey-events queue: it scores each
// response exactly once (its aggregates in the same transaction as its
// dedupe item), asks the feedback domain to follow up on detractors and
// the points domain for completion bonuses, invites members after
// purchases and resolved cases, and erases members' answers.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"clientele/shared/dynamo"
	"clientele/shared/env"
	"clientele/shared/hmackey"
	"clientele/shared/logging"
	"clientele/shared/queue"
	"clientele/shared/survey"
)

const service = "surveys-worker"

func main() {
	log := logging.New(os.Stdout, service)
	h, err := newHandler(context.Background())
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	h.Log = log
	lambda.Start(h.Handle)
}

func newHandler(ctx context.Context) (*Handler, error) {
	table, err := env.Lookup(env.TableVar("surveys"))
	if err != nil {
		return nil, err
	}
	membersTable, err := env.Lookup(env.TableVar("members"))
	if err != nil {
		return nil, err
	}
	zone, err := time.LoadLocation(env.Or(env.TimeZone, "UTC"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", env.TimeZone, err)
	}
	policy, err := survey.ParseInvitationPolicy(env.Or(env.SurveyInvitations, ""))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", env.SurveyInvitations, err)
	}
	key, err := hmackey.Load(ctx)
	if err != nil {
		return nil, err
	}
	links, err := survey.LinkSigner(key)
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
	return &Handler{
		Store: &dynamo.SurveyStore{Client: db, Table: table, Zone: zone},
		// Only Get is used: no uniqueness keys, so no HMAC key needed.
		Members:   &dynamo.MemberStore{Client: db, Table: membersTable},
		Outbox:    &dynamo.Outbox{Client: db, Table: table},
		Publisher: &queue.Publisher{SQS: sqsClient, Routes: routes},
		Links:     links,
		Policy:    policy,
		Service:   service,
	}, nil
}
