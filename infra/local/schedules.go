package local

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/robfig/cron/v3"
)

// scheduler invokes functions on the topology's cron expressions, read in
// the topology's time zone as EventBridge Scheduler reads them, and on
// demand. The event is the schedule's payload as is, which is what the
// CDK stack's RuleTargetInput.fromObject(payload) delivers; a schedule
// without a payload gets EventBridge's own "Scheduled Event".
//
// EventBridge invokes asynchronously and Lambda retries a failed async
// invocation twice; locally a failure is logged and not retried.
type scheduler struct {
	cron      *cron.Cron
	byName    map[string]PlannedSchedule
	functions map[string]*lambdaFunction
	log       *slog.Logger
	ctx       context.Context // ends at Close; bounds cron-fired invocations
}

func newScheduler(ctx context.Context, schedules []PlannedSchedule, functions map[string]*lambdaFunction, log *slog.Logger) (*scheduler, error) {
	s := &scheduler{
		cron:      cron.New(cron.WithLocation(time.UTC)),
		byName:    map[string]PlannedSchedule{},
		functions: functions,
		log:       log,
		ctx:       ctx,
	}
	for _, sc := range schedules {
		if strings.TrimSpace(sc.Payload) != "" && !json.Valid([]byte(sc.Payload)) {
			return nil, fmt.Errorf("schedule %s: payload is not JSON", sc.Name)
		}
		if _, ok := functions[sc.Function]; !ok {
			return nil, fmt.Errorf("schedule %s: unknown function %s", sc.Name, sc.Function)
		}
		s.byName[sc.Name] = sc
		spec := sc.Cron
		if sc.TimeZone != "" {
			if _, err := time.LoadLocation(sc.TimeZone); err != nil {
				return nil, fmt.Errorf("schedule %s: time zone %q: %w", sc.Name, sc.TimeZone, err)
			}
			spec = "CRON_TZ=" + sc.TimeZone + " " + sc.Cron
		}
		if _, err := s.cron.AddFunc(spec, func() {
			if _, err := s.fire(s.ctx, sc, "cron"); err != nil {
				s.log.Error("scheduled invocation failed", "schedule", sc.Name, "function", sc.Function, "err", err)
			}
		}); err != nil {
			return nil, fmt.Errorf("schedule %s: cron %q: %w", sc.Name, sc.Cron, err)
		}
	}
	return s, nil
}

// fire invokes a schedule's function now and returns its response.
func (s *scheduler) fire(ctx context.Context, sc PlannedSchedule, trigger string) ([]byte, error) {
	payload := []byte(sc.Payload)
	if strings.TrimSpace(sc.Payload) == "" {
		var err error
		if payload, err = scheduledEvent(sc.Name, time.Now()); err != nil {
			return nil, err
		}
	}
	s.log.Info("schedule fired", "schedule", sc.Name, "function", sc.Function, "trigger", trigger)
	return s.functions[sc.Function].Invoke(ctx, payload)
}

// scheduledEvent is the event EventBridge sends for a scheduled rule
// without an input.
func scheduledEvent(rule string, at time.Time) ([]byte, error) {
	return json.Marshal(events.CloudWatchEvent{
		Version:    "0",
		ID:         newRequestUUID(),
		DetailType: "Scheduled Event",
		Source:     "aws.events",
		AccountID:  localAccountID,
		Time:       at.UTC().Truncate(time.Second),
		Region:     localRegion,
		Resources:  []string{"arn:aws:events:" + localRegion + ":" + localAccountID + ":rule/" + rule},
		Detail:     json.RawMessage(`{}`),
	})
}
