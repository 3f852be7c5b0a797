package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"clientele/shared/event"
	"clientele/shared/logging"
)

// Outbox is one table's outbox.
type Outbox interface {
	Pending(ctx context.Context, cutoff time.Time, limit int32) ([]event.Envelope, error)
	Done(ctx context.Context, ids ...string) error
}

// Publisher sends events.
type Publisher interface {
	Publish(ctx context.Context, evs ...event.Envelope) error
}

// Relay drains outboxes.
type Relay struct {
	Outboxes  []Outbox
	Publisher Publisher
	Log       *slog.Logger
	Now       func() time.Time
	// Grace leaves recent events to the function that wrote them.
	Grace time.Duration
}

// Result reports one run.
type Result struct {
	Published int `json:"published"`
}

// Handle runs once per schedule tick: it publishes every event older than
// the grace period, in batches, until the outboxes are empty or the
// function's deadline nears.
func (r *Relay) Handle(ctx context.Context, _ json.RawMessage) (Result, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	grace := r.Grace
	if grace == 0 {
		grace = 30 * time.Second
	}
	var res Result
	for _, o := range r.Outboxes {
		for {
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 2*time.Second {
				return res, nil
			}
			evs, err := o.Pending(ctx, now().Add(-grace), 50)
			if err != nil {
				return res, err
			}
			if len(evs) == 0 {
				break
			}
			for _, e := range evs {
				if err := r.Publisher.Publish(ctx, e); err != nil {
					return res, err
				}
				if err := o.Done(ctx, e.ID); err != nil {
					return res, err
				}
				res.Published++
				r.Log.InfoContext(logging.WithRequestID(ctx, e.ID), "relayed event", "type", e.Type, "event_id", e.ID)
			}
		}
	}
	return res, nil
}
