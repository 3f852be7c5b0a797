package queue

import (
	"context"
	"log/slog"

	"clientele/shared/event"
)

// EventPublisher sends envelopes (Publisher does).
type EventPublisher interface {
	Publish(ctx context.Context, evs ...event.Envelope) error
}

// Outbox forgets events once they are published (dynamo.Outbox does).
type Outbox interface {
	Done(ctx context.Context, ids ...string) error
}

// PublishCommitted sends events that a transaction just wrote to its
// table's outbox, then clears them from it. A failure is logged and leaves
// the events in the outbox for the outbox relay; the change that caused them
// stands either way, and consumers deduplicate on the event id.
func PublishCommitted(ctx context.Context, pub EventPublisher, outbox Outbox, log *slog.Logger, evs []event.Envelope) {
	if len(evs) == 0 {
		return
	}
	if err := pub.Publish(ctx, evs...); err != nil {
		log.WarnContext(ctx, "publish deferred to outbox relay", "error", err.Error())
		return
	}
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	if err := outbox.Done(ctx, ids...); err != nil {
		log.WarnContext(ctx, "clear outbox", "error", err.Error())
	}
}
