package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamotest"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/idempotency"
	"clientele/shared/member"
)

// These are the store contract tests. They run against DynamoDB Local, or
// against the endpoint in CLIENTELE_TEST_DYNAMODB_ENDPOINT when set.

var (
	db    *dynamodb.Client
	table string
)

func TestMain(m *testing.M) {
	dynamotest.Main(m, "store", func(ctx context.Context, c *dynamodb.Client) (err error) {
		db = c
		table, err = dynamotest.NewTable(ctx, c, "store-test")
		return err
	})
}

func newMember(t *testing.T, s *dynamo.MemberStore) member.Member {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	id := event.NewID(now)
	m := member.Member{ID: id, Status: member.Active, Email: "m" + id[12:] + "@example.com", Phone: fmt.Sprintf("+86139%08d", phoneSeq.Add(1)%100000000),
		SignupChannel: member.ChannelStore, ReferralCode: member.NewReferralCode(), CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.Create(context.Background(), m, nil, member.Write{}); err != nil {
		t.Fatalf("create: %v", err)
	}
	return m
}

// phoneSeq makes each test member's phone unique within a run.
var phoneSeq = func() *atomic.Int64 {
	var n atomic.Int64
	n.Store(time.Now().UnixNano() % 90000000)
	return &n
}()

func store() *dynamo.MemberStore {
	return &dynamo.MemberStore{Client: db, Table: table, Key: []byte("k")}
}

func TestCreateGetRoundTrip(t *testing.T) {
	t.Parallel()
	s := store()
	m := newMember(t, s)
	got, err := s.Get(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != m.Email || got.Phone != m.Phone || got.Version != 1 || !got.CreatedAt.Equal(m.CreatedAt) || got.ReferralCode != m.ReferralCode {
		t.Errorf("got %+v, want %+v", got, m)
	}
	if _, err := s.Get(context.Background(), "missing"); !fault.Is(err, fault.NotFound) {
		t.Errorf("missing member: %v", err)
	}
	ref, err := s.ReferrerOf(context.Background(), m.ReferralCode)
	if err != nil || ref != m.ID {
		t.Errorf("ReferrerOf = %q, %v", ref, err)
	}
}

func TestUniquenessIsHMACKeyed(t *testing.T) {
	t.Parallel()
	s := store()
	k := s.UniqueKey("email", "ann@example.com")
	if k == s.UniqueKey("email", "bob@example.com") || k == (&dynamo.MemberStore{Key: []byte("other")}).UniqueKey("email", "ann@example.com") {
		t.Error("uniqueness keys collide across values or keys")
	}
	if len(k) < 64 || contains(k, "ann") {
		t.Errorf("key %q exposes the value", k)
	}
}

func TestDuplicateCreateNamesFieldAndWritesNothing(t *testing.T) {
	t.Parallel()
	s := store()
	m := newMember(t, s)
	dup := m
	dup.ID = event.NewID(time.Now())
	dup.Phone = "+8613700000001"
	dup.ReferralCode = member.NewReferralCode()
	err := s.Create(context.Background(), dup, nil, member.Write{})
	e, ok := fault.As(err)
	if !ok || e.Kind != fault.Conflict || len(e.Fields) != 1 || e.Fields[0].Field != "email" {
		t.Fatalf("duplicate email: %v", err)
	}
	if _, err := s.Get(context.Background(), dup.ID); !fault.Is(err, fault.NotFound) {
		t.Error("the duplicate was written")
	}
	if c, _ := s.Claimed(context.Background(), "phone", dup.Phone); c {
		t.Error("the duplicate's phone was claimed")
	}
}

func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	t.Parallel()
	s := store()
	m := newMember(t, s)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Update(context.Background(), m.ID, func(cur *member.Member) ([]member.ConsentRecord, error) {
				return member.ApplyConsents(cur, member.ConsentsInput{Consents: []member.ConsentInput{
					{Purpose: "profiling", Granted: ptr(i%2 == 0), Source: fmt.Sprintf("writer-%d", i)},
				}}, "staff", time.Now())
			}, member.Write{})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("update: %v", err)
		}
	}
	got, _ := s.Get(context.Background(), m.ID)
	if got.Version != 1+n {
		t.Errorf("version %d, want %d: an update was lost", got.Version, 1+n)
	}
	hist, err := s.ConsentHistory(context.Background(), m.ID)
	if err != nil || len(hist) != n {
		t.Errorf("history has %d entries, want %d (%v)", len(hist), n, err)
	}
}

func TestIdempotencyContract(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &dynamo.IdempotencyStore{Client: db, Table: table}
	ms := store()
	now := time.Now()
	res := idempotency.Reservation{StorageKey: idempotency.StorageKey("svc", event.NewID(now)), RequestHash: "h1", Token: "t1"}

	if rc, err := s.Reserve(ctx, res, now); err != nil || rc != nil {
		t.Fatalf("first reserve: %v %v", rc, err)
	}
	// A duplicate while in flight is a conflict.
	dup := res
	dup.Token = "t2"
	if _, err := s.Reserve(ctx, dup, now); !fault.Is(err, fault.Conflict) {
		t.Fatalf("in-flight duplicate: %v", err)
	}
	// Another request with the same key is a conflict.
	other := dup
	other.RequestHash = "h2"
	if _, err := s.Reserve(ctx, other, now); !fault.Is(err, fault.Conflict) {
		t.Fatalf("different request: %v", err)
	}
	// Complete it inside a member write; the replay returns the receipt.
	m := newMember(t, ms)
	_, err := ms.Update(ctx, m.ID, func(*member.Member) ([]member.ConsentRecord, error) { return nil, nil }, member.Write{
		Reservation: &res,
		Receipt: func(member.Member) (idempotency.Receipt, error) {
			return idempotency.Receipt{Status: 200, Body: `{"ok":true}`, Headers: map[string]string{"ETag": `"2"`}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Reserve(ctx, dup, now)
	if err != nil || rc == nil || rc.Status != 200 || rc.Body != `{"ok":true}` || rc.Headers["ETag"] != `"2"` {
		t.Fatalf("replay: %+v %v", rc, err)
	}
	// After the retention window the key is free again.
	if rc, err := s.Reserve(ctx, other, now.Add(idempotency.Retention+time.Minute)); err != nil || rc != nil {
		t.Fatalf("after retention: %v %v", rc, err)
	}
}

func TestIdempotencyLockLapseAndRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &dynamo.IdempotencyStore{Client: db, Table: table}
	ms := store()
	now := time.Now()
	a := idempotency.Reservation{StorageKey: idempotency.StorageKey("svc", event.NewID(now)), RequestHash: "h", Token: "a"}
	if _, err := s.Reserve(ctx, a, now); err != nil {
		t.Fatal(err)
	}
	// Holder a died; after the lock lapses, b takes over.
	b := a
	b.Token = "b"
	if rc, err := s.Reserve(ctx, b, now.Add(idempotency.LockTimeout+time.Second)); err != nil || rc != nil {
		t.Fatalf("takeover: %v %v", rc, err)
	}
	// a's late write must fail and change nothing.
	m := newMember(t, ms)
	_, err := ms.Update(ctx, m.ID, func(cur *member.Member) ([]member.ConsentRecord, error) {
		cur.Name = "late"
		return nil, nil
	}, member.Write{Reservation: &a, Receipt: func(member.Member) (idempotency.Receipt, error) { return idempotency.Receipt{Status: 200}, nil }})
	if !fault.Is(err, fault.Conflict) {
		t.Fatalf("late write by a lapsed holder: %v", err)
	}
	if got, _ := ms.Get(ctx, m.ID); got.Name == "late" || got.Version != 1 {
		t.Errorf("late write applied: %+v", got)
	}
	// Release only by the holder.
	if err := s.Release(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(ctx, a, now.Add(idempotency.LockTimeout+2*time.Second)); !fault.Is(err, fault.Conflict) {
		t.Errorf("a's release dropped b's reservation: %v", err)
	}
	if err := s.Release(ctx, b); err != nil {
		t.Fatal(err)
	}
	if rc, err := s.Reserve(ctx, a, now.Add(idempotency.LockTimeout+2*time.Second)); err != nil || rc != nil {
		t.Errorf("after release: %v %v", rc, err)
	}
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ms := store()
	o := &dynamo.Outbox{Client: db, Table: table}
	m := newMember(t, ms)
	past := time.Now().Add(-time.Hour)
	e, _ := event.New(event.TypeMemberErased, "test", past, event.MemberErased{MemberID: m.ID})
	if _, err := ms.Erase(ctx, m.ID, time.Now(), member.Write{Events: func(member.Member) ([]event.Envelope, error) {
		return []event.Envelope{e}, nil
	}}); err != nil {
		t.Fatal(err)
	}
	pending, err := o.Pending(ctx, time.Now().Add(-time.Minute), 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pending {
		if p.ID == e.ID {
			found = p.Type == e.Type && string(p.Data) == string(e.Data)
		}
	}
	if !found {
		t.Fatalf("event %s not pending", e.ID)
	}
	if err := o.Done(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	pending, _ = o.Pending(ctx, time.Now(), 100)
	for _, p := range pending {
		if p.ID == e.ID {
			t.Error("event still pending after Done")
		}
	}
}

func TestEraseScrubsEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ms := store()
	m := newMember(t, ms)
	if _, err := ms.Update(ctx, m.ID, func(cur *member.Member) ([]member.ConsentRecord, error) {
		return member.ApplyConsents(cur, member.ConsentsInput{Consents: []member.ConsentInput{{Purpose: "marketing", Channel: "sms", Granted: ptr(true)}}}, "member", time.Now())
	}, member.Write{}); err != nil {
		t.Fatal(err)
	}
	tomb, err := ms.Erase(ctx, m.ID, time.Now(), member.Write{})
	if err != nil {
		t.Fatal(err)
	}
	if tomb.Email != "" || tomb.Phone != "" || tomb.Status != member.Erased || tomb.Version != 3 {
		t.Errorf("tombstone = %+v", tomb)
	}
	hist, _ := ms.ConsentHistory(ctx, m.ID)
	if len(hist) != 0 {
		t.Errorf("consent history survived erasure: %+v", hist)
	}
	for kind, v := range map[string]string{"email": m.Email, "phone": m.Phone, "referral": m.ReferralCode} {
		if c, _ := ms.Claimed(ctx, kind, v); c {
			t.Errorf("%s claim survived erasure", kind)
		}
	}
	// Erasing again is harmless.
	if again, err := ms.Erase(ctx, m.ID, time.Now(), member.Write{}); err != nil || again.Version != tomb.Version {
		t.Errorf("second erase: %+v %v", again, err)
	}
}

func ptr[T any](v T) *T { return &v }

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestStatusReadsNoPersonalData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store()
	m := newMember(t, s)
	if st, err := s.Status(ctx, m.ID); err != nil || st != member.Active {
		t.Fatalf("status = %q, %v", st, err)
	}
	if _, err := s.Erase(ctx, m.ID, time.Now(), member.Write{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Status(ctx, m.ID); st != member.Erased {
		t.Errorf("status after erasure = %q", st)
	}
	if _, err := s.Status(ctx, "missing"); !fault.Is(err, fault.NotFound) {
		t.Errorf("unknown member: %v", err)
	}
}
