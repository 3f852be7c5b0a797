package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamolocal"
	"clientele/shared/event"
	"clientele/shared/logging"
	"clientele/shared/member"
)

type recorder struct {
	mu   sync.Mutex
	ids  []string
	fail bool
}

func (r *recorder) Publish(_ context.Context, evs ...event.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return fmt.Errorf("queue down")
	}
	for _, e := range evs {
		r.ids = append(r.ids, e.ID)
	}
	return nil
}

func TestRelayPublishesStrandedEventsOnce(t *testing.T) {
	ctx := context.Background()
	srv, err := dynamolocal.ForTests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db := dynamo.NewLocalClient(srv.Endpoint)
	table := fmt.Sprintf("relay-%d", time.Now().UnixNano())
	if err := dynamo.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	store := &dynamo.MemberStore{Client: db, Table: table, Key: []byte("k")}
	// A signup that committed its event but died before publishing it.
	at := time.Now().Add(-5 * time.Minute)
	m := member.Member{ID: event.NewID(at), Status: member.Active, Email: "a@example.com", ReferralCode: member.NewReferralCode(), CreatedAt: at, UpdatedAt: at, Version: 1}
	stranded, _ := event.New(event.TypeMemberRegistered, "members-api", at, event.MemberRegistered{MemberID: m.ID})
	if err := store.Create(ctx, m, nil, member.Write{Events: func(member.Member) ([]event.Envelope, error) {
		return []event.Envelope{stranded}, nil
	}}); err != nil {
		t.Fatal(err)
	}
	// A fresh event is left to its writer during the grace period.
	fresh, _ := event.New(event.TypeMemberErased, "members-api", time.Now(), event.MemberErased{MemberID: m.ID})
	if _, err := store.Erase(ctx, m.ID, time.Now(), member.Write{Events: func(member.Member) ([]event.Envelope, error) {
		return []event.Envelope{fresh}, nil
	}}); err != nil {
		t.Fatal(err)
	}

	pub := &recorder{fail: true}
	r := &Relay{Outboxes: []Outbox{&dynamo.Outbox{Client: db, Table: table}}, Publisher: pub, Log: logging.New(io.Discard, service)}
	if _, err := r.Handle(ctx, json.RawMessage(`{}`)); err == nil {
		t.Fatal("a publish failure must fail the run so the schedule retries")
	}
	pub.fail = false
	res, err := r.Handle(ctx, json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Published != 1 || !slices.Equal(pub.ids, []string{stranded.ID}) {
		t.Fatalf("published %v (%d), want only the stranded event", pub.ids, res.Published)
	}
	// Running again publishes nothing more.
	if res, _ := r.Handle(ctx, json.RawMessage(`{}`)); res.Published != 0 {
		t.Errorf("second run published %d", res.Published)
	}
	// After the grace period the fresh one goes too.
	r.Now = func() time.Time { return time.Now().Add(time.Minute) }
	if res, _ := r.Handle(ctx, nil); res.Published != 1 || pub.ids[1] != fresh.ID {
		t.Errorf("after grace: %d %v", res.Published, pub.ids)
	}
}

func TestTablesFromEnv(t *testing.T) {
	t.Parallel()
	got := tablesFromEnv([]string{"CLIENTELE_TABLE_MEMBERS=Clientele-Members-1", "PATH=/bin", "CLIENTELE_TABLE_POINTS=p", "CLIENTELE_TABLE_EMPTY="})
	if !slices.Equal(got, []string{"Clientele-Members-1", "p"}) {
		t.Errorf("tables = %v", got)
	}
}
