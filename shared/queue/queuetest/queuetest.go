// Package queuetest holds what handler tests use in place of the SQS
// publisher: a Recorder that keeps the events a handler published.
package queuetest

import (
	"context"
	"sync"

	"clientele/shared/event"
)

// Recorder is a publisher (the handlers' Publisher interface) that keeps
// what it was asked to publish, safe for concurrent handlers.
type Recorder struct {
	mu  sync.Mutex
	evs []event.Envelope
}

// Publish records the events.
func (r *Recorder) Publish(_ context.Context, evs ...event.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, evs...)
	return nil
}

// All is every recorded event, in publishing order.
func (r *Recorder) All() []event.Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Envelope(nil), r.evs...)
}

// OfType is the recorded events of one type, in publishing order.
func (r *Recorder) OfType(typ string) []event.Envelope {
	var out []event.Envelope
	for _, e := range r.All() {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}
