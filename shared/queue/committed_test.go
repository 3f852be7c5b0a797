package queue_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"clientele/shared/event"
	"clientele/shared/logging"
	"clientele/shared/queue"
)

type fakePublisher struct {
	err  error
	sent []string
}

func (p *fakePublisher) Publish(_ context.Context, evs ...event.Envelope) error {
	if p.err != nil {
		return p.err
	}
	for _, e := range evs {
		p.sent = append(p.sent, e.ID)
	}
	return nil
}

type fakeOutbox struct{ done []string }

func (o *fakeOutbox) Done(_ context.Context, ids ...string) error {
	o.done = append(o.done, ids...)
	return nil
}

func TestPublishCommitted(t *testing.T) {
	t.Parallel()
	a, _ := event.New("member.erased", "test", time.Now(), map[string]string{"member_id": "m1"})
	b, _ := event.New("member.erased", "test", time.Now(), map[string]string{"member_id": "m2"})
	var logs bytes.Buffer
	log := logging.New(&logs, "test")

	pub, box := &fakePublisher{}, &fakeOutbox{}
	queue.PublishCommitted(context.Background(), pub, box, log, []event.Envelope{a, b})
	if !slices.Equal(pub.sent, []string{a.ID, b.ID}) || !slices.Equal(box.done, []string{a.ID, b.ID}) {
		t.Errorf("sent %v, cleared %v", pub.sent, box.done)
	}

	// A failed send leaves the events in the outbox for the relay.
	pub, box = &fakePublisher{err: errors.New("queue down")}, &fakeOutbox{}
	queue.PublishCommitted(context.Background(), pub, box, log, []event.Envelope{a})
	if len(box.done) != 0 || !strings.Contains(logs.String(), "publish deferred to outbox relay") {
		t.Errorf("cleared %v after a failed send; logs %s", box.done, logs.String())
	}

	// Nothing to send, nothing to do.
	pub, box = &fakePublisher{}, &fakeOutbox{}
	queue.PublishCommitted(context.Background(), pub, box, log, nil)
	if len(pub.sent)+len(box.done) != 0 {
		t.Error("acted on no events")
	}
}
