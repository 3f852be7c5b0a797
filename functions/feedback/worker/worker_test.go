package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamotest"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/feedback"
	"clientele/shared/logging"
	"clientele/shared/queue/queuetest"
)

var (
	db    *dynamodb.Client
	table string
)

func TestMain(m *testing.M) {
	dynamotest.Main(m, "feedback-worker", func(ctx context.Context, c *dynamodb.Client) (err error) {
		db = c
		table, err = dynamotest.NewTable(ctx, c, "feedback-worker-test")
		return err
	})
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

type fixture struct {
	h     *Handler
	pub   *queuetest.Recorder
	store *dynamo.FeedbackStore
	logs  *bytes.Buffer
	mu    *sync.Mutex
}

func newFixture(t *testing.T, now func() time.Time) *fixture {
	t.Helper()
	desk := feedback.DefaultDesk()
	store := &dynamo.FeedbackStore{Client: db, Table: table, Now: now}
	store.SLA = func(c *feedback.Case) (feedback.SLAState, error) { return desk.SLA(c, c.UpdatedAt) }
	pub := &queuetest.Recorder{}
	buf, mu := &bytes.Buffer{}, &sync.Mutex{}
	h := &Handler{Store: store, Outbox: &dynamo.Outbox{Client: db, Table: table}, Publisher: pub, Desk: desk,
		Log: logging.New(lockedWriter{mu, buf}, service), Now: now, Service: service}
	return &fixture{h: h, pub: pub, store: store, logs: buf, mu: mu}
}

func uniq() string { return event.NewID(time.Now())[14:] }

// open stores a new case as feedback-api does.
func (f *fixture) open(t *testing.T, in feedback.IntakeInput, at time.Time) *feedback.Case {
	t.Helper()
	if in.Channel == "" {
		in.Channel = "app"
	}
	if in.MemberID == "" && in.Contact == nil {
		in.Contact = &feedback.Contact{Email: "anon" + uniq() + "@example.com"}
	}
	s, err := feedback.NewSubmission(in, feedback.Caller{Kind: feedback.CallerStaff}, "CN")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := f.store.Create(context.Background(), feedback.NewCase(event.NewID(at), s, at), dynamo.CaseDedupe{Fingerprint: s.Fingerprint}, dynamo.CaseWrite{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func message(t *testing.T, typ string, data any) events.SQSMessage {
	t.Helper()
	e, err := event.New(typ, "test", time.Now(), data)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(e)
	return events.SQSMessage{MessageId: "m-" + e.ID, Body: string(body)}
}

func (f *fixture) handle(t *testing.T, msgs ...events.SQSMessage) events.SQSEventResponse {
	t.Helper()
	raw, _ := json.Marshal(events.SQSEvent{Records: msgs})
	out, err := f.h.Handle(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return out.(events.SQSEventResponse)
}

func (f *fixture) get(t *testing.T, id string) *feedback.Case {
	t.Helper()
	c, err := f.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTriageOnceWhateverTheRedeliveries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.open(t, feedback.IntakeInput{Text: "我家孩子的玩具电池发烫冒烟了，差点着火 " + uniq(), Store: "S-" + uniq()}, time.Now().UTC())
	msg := message(t, feedback.TypeReceived, feedback.Received{CaseID: c.ID})
	if r := f.handle(t, msg); len(r.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", r.BatchItemFailures)
	}
	got := f.get(t, c.ID)
	if got.Status != feedback.StatusOpen || got.Priority != feedback.P1 || got.Team != feedback.DefaultSafetyTeam ||
		got.Triage == nil || got.Triage.RulesVersion != feedback.DefaultEngine().Version() {
		t.Fatalf("triaged %s %s team %q triage %+v", got.Status, got.Priority, got.Team, got.Triage)
	}
	for range 3 {
		if r := f.handle(t, msg); len(r.BatchItemFailures) != 0 {
			t.Fatalf("redelivery failed %v", r.BatchItemFailures)
		}
	}
	if again := f.get(t, c.ID); again.Version != got.Version || len(again.History) != len(got.History) {
		t.Errorf("redelivery changed the case: version %d → %d", got.Version, again.Version)
	}
}

func TestTriageAfterAPersonTookTheCase(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.open(t, feedback.IntakeInput{Text: "The app crashes when I open my coupons " + uniq()}, time.Now().UTC())
	if _, err := f.store.Update(context.Background(), c.ID, func(c *feedback.Case) error {
		return c.Assign("staff:1", "agent", time.Now().UTC())
	}, dynamo.CaseWrite{}); err != nil {
		t.Fatal(err)
	}
	f.handle(t, message(t, feedback.TypeReceived, feedback.Received{CaseID: c.ID}))
	got := f.get(t, c.ID)
	if got.Status != feedback.StatusInProgress || got.Triage == nil || got.Category != feedback.AppWebsite {
		t.Errorf("status %s, triage %+v, category %s", got.Status, got.Triage, got.Category)
	}
}

func TestPoisonMessagesFailAndNothingIsWritten(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	bad := []events.SQSMessage{
		{MessageId: "not-json", Body: "{"},
		{MessageId: "no-data", Body: `{"id":"x","type":"feedback.received","version":1}`},
		message(t, "feedback.unknown", map[string]string{"a": "b"}),
		message(t, feedback.TypeReceived, map[string]any{"case_id": 12}),
		message(t, feedback.TypeReceived, feedback.Received{CaseID: "bad id!"}),
		message(t, event.TypeFeedbackFollowUpRequested, event.FollowUpRequested{Source: "survey_response", Channel: "survey"}),
	}
	r := f.handle(t, bad...)
	if len(r.BatchItemFailures) != len(bad) {
		t.Fatalf("%d of %d poison messages failed", len(r.BatchItemFailures), len(bad))
	}
	// A good message in the same batch still applies.
	c := f.open(t, feedback.IntakeInput{Text: "Great service at the counter " + uniq()}, time.Now().UTC())
	r = f.handle(t, bad[0], message(t, feedback.TypeReceived, feedback.Received{CaseID: c.ID}))
	if len(r.BatchItemFailures) != 1 || r.BatchItemFailures[0].ItemIdentifier != "not-json" || f.get(t, c.ID).Triage == nil {
		t.Errorf("mixed batch: failures %v", r.BatchItemFailures)
	}
}

func TestFollowUpOpensOneCasePerSource(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	member := event.NewID(time.Now())
	src := "resp-" + uniq()
	fu := event.FollowUpRequested{Source: "survey_response", SourceID: src, MemberID: member, Channel: "survey",
		Reasons: []string{"nps_detractor"}, Summary: "NPS 2 on survey s1 v1", Text: "Delivery was late and the box was crushed", At: time.Now().UTC()}
	for range 3 {
		if r := f.handle(t, message(t, event.TypeFeedbackFollowUpRequested, fu)); len(r.BatchItemFailures) != 0 {
			t.Fatalf("failures %v", r.BatchItemFailures)
		}
	}
	cases, err := f.store.MemberCases(context.Background(), member)
	if err != nil || len(cases) != 1 {
		t.Fatalf("%d cases for the source (err %v)", len(cases), err)
	}
	c := cases[0]
	if c.Triage == nil || c.Category != feedback.Delivery || c.History[0].Code != "survey_response:"+src || c.Channel != feedback.ChannelSurvey {
		t.Errorf("follow-up case %+v", c)
	}
}

func TestErasureRemovesLinkAndTextKeepsTheCase(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	member := event.NewID(time.Now())
	c := f.open(t, feedback.IntakeInput{Text: "My name is Li Lei, call me at 13800138000 " + uniq(), MemberID: member, SKU: "SKU-" + uniq()}, time.Now().UTC())
	f.handle(t, message(t, feedback.TypeReceived, feedback.Received{CaseID: c.ID}))
	msg := message(t, event.TypeMemberErased, event.MemberErased{MemberID: member, ErasedAt: time.Now().UTC()})
	for range 3 {
		if r := f.handle(t, msg); len(r.BatchItemFailures) != 0 {
			t.Fatalf("failures %v", r.BatchItemFailures)
		}
	}
	got := f.get(t, c.ID)
	if !got.Erased || got.MemberID != "" || got.Text != "" || got.Category == "" || got.SKU == "" {
		t.Errorf("erased case %+v", got)
	}
	if left, _ := f.store.MemberCases(context.Background(), member); len(left) != 0 {
		t.Errorf("%d cases still linked to the member", len(left))
	}
}

// TestClusterOpensExactlyOnceUnder32ConcurrentTriages: 32 complaints about
// one sku, triaged concurrently, open one cluster, publish one
// feedback.cluster_opened, and all join it.
func TestClusterOpensExactlyOnceUnder32ConcurrentTriages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	sku := "SKU-" + uniq()
	now := time.Now().UTC()
	ids := make([]string, 32)
	for i := range ids {
		ids[i] = f.open(t, feedback.IntakeInput{Text: fmt.Sprintf("the sole came off after a week, pair %d", i), SKU: sku}, now).ID
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := f.handle(t, message(t, feedback.TypeReceived, feedback.Received{CaseID: id})); len(r.BatchItemFailures) != 0 {
				t.Errorf("failures %v", r.BatchItemFailures)
			}
		}()
	}
	wg.Wait()
	opened := f.pub.OfType(feedback.TypeClusterOpened)
	if len(opened) != 1 {
		t.Fatalf("%d clusters opened, want 1", len(opened))
	}
	var co feedback.ClusterOpened
	_ = json.Unmarshal(opened[0].Data, &co)
	cl, err := f.store.Cluster(context.Background(), co.ClusterID)
	if err != nil || cl.Key != "sku#"+sku || !cl.Decision.Open || cl.Decision.Reason == "" {
		t.Fatalf("cluster %+v (err %v)", cl, err)
	}
	linked := 0
	for _, id := range ids {
		if f.get(t, id).ClusterID == co.ClusterID {
			linked++
		}
	}
	if linked != 32 || cl.Cases != 32 {
		t.Errorf("%d cases linked, cluster counts %d; want 32", linked, cl.Cases)
	}
}

// TestBurstAgainstTheKeysOwnBaseline: a store whose category sees a steady
// two complaints a day never opens a cluster; ten in one day does.
func TestBurstAgainstTheKeysOwnBaseline(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	store := "S-" + uniq()
	today := time.Now().UTC().Truncate(24 * time.Hour).Add(10 * time.Hour)
	complain := func(at time.Time, i int) string {
		c := f.open(t, feedback.IntakeInput{Channel: "store", Text: fmt.Sprintf("the fitting room floor was dirty again, visit %d", i), Store: store,
			Type: "complaint"}, at)
		if r := f.handle(t, message(t, feedback.TypeReceived, feedback.Received{CaseID: c.ID})); len(r.BatchItemFailures) != 0 {
			t.Fatalf("failures %v", r.BatchItemFailures)
		}
		return c.ID
	}
	n := 0
	for day := 14; day >= 0; day-- {
		for range 2 {
			complain(today.AddDate(0, 0, -day), n)
			n++
		}
	}
	if got := f.pub.OfType(feedback.TypeClusterOpened); len(got) != 0 {
		t.Fatalf("steady volume opened %d clusters", len(got))
	}
	for range 8 {
		complain(today, n)
		n++
	}
	if got := f.pub.OfType(feedback.TypeClusterOpened); len(got) != 1 {
		t.Fatalf("a burst of 10 against a baseline of 2 opened %d clusters", len(got))
	}
}

func TestSLASweepWarnsAndEscalatesOnce(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	f := newFixture(t, clock)
	// P1s count calendar hours: first response due one hour after creation.
	breached := f.open(t, feedback.IntakeInput{Text: "The heater caught fire in my living room " + uniq()}, now.Add(-2*time.Hour))
	warned := f.open(t, feedback.IntakeInput{Text: "My son choked on a loose button from the shirt " + uniq()}, now.Add(-40*time.Minute))
	for _, c := range []*feedback.Case{breached, warned} {
		f.handle(t, message(t, feedback.TypeReceived, feedback.Received{CaseID: c.ID}))
		if got := f.get(t, c.ID); got.Priority != feedback.P1 {
			t.Fatalf("%s triaged %s", got.ID, got.Priority)
		}
	}
	res, err := f.h.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	notices := func(typ string) map[string]feedback.SLANotice {
		out := map[string]feedback.SLANotice{}
		for _, e := range f.pub.OfType(typ) {
			var n feedback.SLANotice
			_ = json.Unmarshal(e.Data, &n)
			out[n.CaseID+"/"+n.Clock] = n
		}
		return out
	}
	br, wn := notices(feedback.TypeSLABreached), notices(feedback.TypeSLAWarning)
	if n, ok := br[breached.ID+"/first_response"]; !ok || n.EscalateTo != feedback.DefaultSafetyTeam+"-lead" {
		t.Errorf("breach notices %v", br)
	}
	if _, ok := wn[warned.ID+"/first_response"]; !ok {
		t.Errorf("warning notices %v", wn)
	}
	if res.Breaches < 1 || res.Warnings < 1 {
		t.Errorf("sweep %+v", res)
	}
	total := len(f.pub.All())
	for range 3 {
		if _, err := f.h.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.pub.All()) != total {
		t.Errorf("sweeping again raised %d more notices", len(f.pub.All())-total)
	}
	got := f.get(t, breached.ID)
	escalated := false
	for _, e := range got.History {
		escalated = escalated || e.Kind == feedback.EntryEscalated && strings.HasSuffix(e.Code, ">"+feedback.DefaultSafetyTeam+"-lead")
	}
	if !escalated {
		t.Errorf("history %+v", got.History)
	}
}

func TestWorkerNeverLogsFeedbackText(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	secret := "SECRET" + uniq()
	member := event.NewID(time.Now())
	c := f.open(t, feedback.IntakeInput{Text: "my neighbour " + secret + " broke the display", MemberID: member}, time.Now().UTC())
	f.handle(t, message(t, feedback.TypeReceived, feedback.Received{CaseID: c.ID}),
		message(t, event.TypeFeedbackFollowUpRequested, event.FollowUpRequested{Source: "survey_response", SourceID: "r-" + uniq(), Channel: "fax", Text: secret}),
		message(t, feedback.TypeReceived, map[string]any{"case_id": c.ID, "text": secret}),
		message(t, event.TypeMemberErased, event.MemberErased{MemberID: member}))
	f.mu.Lock()
	logs := f.logs.String()
	f.mu.Unlock()
	if !strings.Contains(logs, "applied") {
		t.Fatalf("nothing logged: %s", logs)
	}
	if strings.Contains(logs, secret) {
		t.Errorf("feedback text reached the logs: %s", logs)
	}
}

func TestUnknownPayload(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	if _, err := f.h.Handle(context.Background(), json.RawMessage(`{"job":"dance"}`)); !fault.Is(err, fault.Invalid) {
		t.Errorf("unknown job: %v", err)
	}
}

func TestFollowUpTextIsMadeToFit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	member := event.NewID(time.Now())
	long := "The courier\x07 was late. " + strings.Repeat("再等一天。", 1200)
	fu := event.FollowUpRequested{Source: "survey_response", SourceID: "r-" + uniq(), MemberID: member, Channel: "survey",
		Reasons: []string{"csat_low"}, Summary: "CSAT 1", Text: long, At: time.Now().UTC()}
	if r := f.handle(t, message(t, event.TypeFeedbackFollowUpRequested, fu)); len(r.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", r.BatchItemFailures)
	}
	cases, err := f.store.MemberCases(context.Background(), member)
	if err != nil || len(cases) != 1 {
		t.Fatalf("%d cases (err %v)", len(cases), err)
	}
	if n := len([]rune(cases[0].Text)); n != feedback.MaxTextChars || strings.ContainsRune(cases[0].Text, '\x07') {
		t.Errorf("text of %d characters, control characters kept: %v", n, strings.ContainsRune(cases[0].Text, '\x07'))
	}
}
