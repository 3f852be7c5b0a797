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
	"clientele/shared/logging"
	"clientele/shared/member"
	"clientele/shared/points"
	"clientele/shared/queue/queuetest"
	"clientele/shared/survey"
)

var (
	db      *dynamodb.Client
	table   string
	zone, _ = time.LoadLocation("Asia/Shanghai")
	testKey = "surveys-worker-test-hmac-key-0123456789abcdef"
)

func TestMain(m *testing.M) {
	dynamotest.Main(m, "surveys-worker", func(ctx context.Context, c *dynamodb.Client) (err error) {
		db = c
		table, err = dynamotest.NewTable(ctx, c, "surveys-worker-test")
		return err
	})
}

type members map[string]member.Member

func (m members) Get(_ context.Context, id string) (member.Member, error) {
	x, ok := m[id]
	if !ok {
		return member.Member{}, fault.New(fault.NotFound, "no member %s", id)
	}
	return x, nil
}

type fixture struct {
	h     *Handler
	pub   *queuetest.Recorder
	store *dynamo.SurveyStore
	now   time.Time
}

func newFixture(t *testing.T, policy string, ms members) *fixture {
	t.Helper()
	p, err := survey.ParseInvitationPolicy(policy)
	if err != nil {
		t.Fatal(err)
	}
	links, err := survey.LinkSigner(testKey)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{pub: &queuetest.Recorder{}, now: time.Now().UTC()}
	f.store = &dynamo.SurveyStore{Client: db, Table: table, Zone: zone, Now: func() time.Time { return f.now }}
	f.h = &Handler{Store: f.store, Members: ms, Outbox: &dynamo.Outbox{Client: db, Table: table}, Publisher: f.pub,
		Links: links, Policy: p, Log: logging.New(&bytes.Buffer{}, service), Now: func() time.Time { return f.now }, Service: service}
	return f
}

func uniq() string { return strings.ToLower(event.NewID(time.Now())[14:]) }

func (f *fixture) createSurvey(t *testing.T, id string) survey.Definition {
	t.Helper()
	in := survey.DefinitionInput{Name: "After your purchase", ActiveFrom: f.now.Add(-time.Hour).Format(time.RFC3339), Questions: []survey.QuestionInput{
		{ID: "nps", Kind: "nps", Prompt: "Recommend us?", Required: true},
		{ID: "csat", Kind: "csat", Prompt: "Satisfied?", Dimension: "service_quality"},
		{ID: "why", Kind: "text", Prompt: "Why?"},
	}, OnePer: "order"}
	d, err := survey.NewDefinition(id, in, f.now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateSurvey(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return d
}

func message(t *testing.T, typ string, at time.Time, data any) events.SQSMessage {
	t.Helper()
	ev, err := event.New(typ, "test", at, data)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(ev)
	return events.SQSMessage{MessageId: ev.ID, Body: string(raw)}
}

func (f *fixture) handle(t *testing.T, ms ...events.SQSMessage) {
	t.Helper()
	resp, err := f.h.Handle(context.Background(), events.SQSEvent{Records: ms})
	if err != nil || len(resp.BatchItemFailures) > 0 {
		// Errorf: handle is called from several goroutines at once.
		t.Errorf("batch: %v, failures %v", err, resp.BatchItemFailures)
	}
}

func intp(v int) *int { return &v }

func submission(d survey.Definition, order string, nps int, text string, at time.Time) survey.Submission {
	r := survey.Response{Survey: d.ID, Version: d.Version, MemberID: "m-" + order, OrderID: order, Store: "s1", Channel: "store", At: at,
		Answers: []survey.Answer{{Question: "nps", Value: intp(nps)}, {Question: "csat", Value: intp(4)}}}
	if text != "" {
		r.Answers = append(r.Answers, survey.Answer{Question: "why", Text: text})
	} else {
		r.Skipped = []string{"why"}
	}
	return survey.Submission{ResponseID: "R" + order, Response: r}
}

func (f *fixture) npsTally(t *testing.T, d survey.Definition) survey.Score {
	t.Helper()
	day := survey.DayOf(f.now, zone)
	q, err := survey.ParseScoresQuery(map[string]string{"from": (day - 1).String(), "to": (day + 1).String(), "tz": zone.String()},
		[]survey.Definition{d}, zone)
	if err != nil {
		t.Fatal(err)
	}
	agg, err := f.store.LoadScores(context.Background(), []survey.Definition{d}, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range agg.Report([]survey.Definition{d}, q).Scores {
		if s.Question == "nps" {
			return s.Score
		}
	}
	t.Fatal("no nps score")
	return survey.Score{}
}

// TestScoredOnceWithOneFollowUpAndOneBonus: a detractor's complete response
// delivered three times counts once, asks for one follow-up carrying its
// text, and requests one completion bonus deduplicated on its id.
func TestScoredOnceWithOneFollowUpAndOneBonus(t *testing.T) {
	t.Parallel()
	f := newFixture(t, `{"completion_bonus":20}`, members{})
	d := f.createSurvey(t, "s-"+uniq())
	sub := submission(d, "o-"+uniq(), 3, "The queue was long", f.now)
	m := message(t, event.TypeSurveyResponseSubmitted, f.now, sub)
	for range 3 {
		f.handle(t, m)
	}
	if s := f.npsTally(t, d); s.N != 1 || s.Counts["detractors"] != 1 {
		t.Errorf("after 3 deliveries: n %d counts %v", s.N, s.Counts)
	}
	ups := f.pub.OfType(event.TypeFeedbackFollowUpRequested)
	if len(ups) != 1 {
		t.Fatalf("%d follow-ups, want 1", len(ups))
	}
	var fu event.FollowUpRequested
	_ = json.Unmarshal(ups[0].Data, &fu)
	if fu.Source != "survey_response" || fu.SourceID != sub.ResponseID || !strings.Contains(fu.Text, "The queue was long") ||
		len(fu.Reasons) != 1 || fu.Reasons[0] != survey.ReasonDetractor {
		t.Errorf("follow-up %+v", fu)
	}
	bonus := f.pub.OfType(event.TypePointsBonusRequested)
	if len(bonus) != 1 {
		t.Fatalf("%d bonuses, want 1", len(bonus))
	}
	var b event.BonusRequested
	_ = json.Unmarshal(bonus[0].Data, &b)
	if b.SourceID != sub.ResponseID || b.Amount != 20 || b.Reason != "survey" || b.MemberID != sub.Response.MemberID {
		t.Errorf("bonus %+v", b)
	}
	// A promoter who skipped a question: no follow-up, no bonus.
	p := submission(d, "o-"+uniq(), 10, "", f.now)
	f.handle(t, message(t, event.TypeSurveyResponseSubmitted, f.now, p))
	if n, m := len(f.pub.OfType(event.TypeFeedbackFollowUpRequested)), len(f.pub.OfType(event.TypePointsBonusRequested)); n != 1 || m != 1 {
		t.Errorf("a skipping promoter added %d follow-ups and %d bonuses", n-1, m-1)
	}
}

// TestConcurrentResponsesCountOnce: 32 responses scored at once, each
// delivered twice, count 32.
func TestConcurrentResponsesCountOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, `{}`, members{})
	d := f.createSurvey(t, "s-"+uniq())
	var msgs []events.SQSMessage
	for i := range 32 {
		msgs = append(msgs, message(t, event.TypeSurveyResponseSubmitted, f.now, submission(d, fmt.Sprintf("o-%s-%d", uniq(), i), i%11, "", f.now)))
	}
	var wg sync.WaitGroup
	for _, m := range append(msgs, msgs...) {
		wg.Go(func() { f.handle(t, m) })
	}
	wg.Wait()
	s := f.npsTally(t, d)
	if s.N != 32 {
		t.Errorf("n = %d after 32 responses delivered twice concurrently", s.N)
	}
	var want int64
	for i := range 32 {
		if i%11 <= survey.DetractorMax {
			want++
		}
	}
	if s.Counts["detractors"] != want {
		t.Errorf("detractors %d, want %d", s.Counts["detractors"], want)
	}
}

// TestAConflictingRedeliveryIsAcknowledged: other answers under a recorded
// id can never apply; the message is acknowledged, not retried.
func TestAConflictingRedeliveryIsAcknowledged(t *testing.T) {
	t.Parallel()
	f := newFixture(t, `{}`, members{})
	d := f.createSurvey(t, "s-"+uniq())
	sub := submission(d, "o-"+uniq(), 8, "", f.now)
	f.handle(t, message(t, event.TypeSurveyResponseSubmitted, f.now, sub))
	sub.Response.Answers[0].Value = intp(0)
	f.handle(t, message(t, event.TypeSurveyResponseSubmitted, f.now, sub))
	if s := f.npsTally(t, d); s.N != 1 || s.Counts["detractors"] != 0 {
		t.Errorf("n %d counts %v", s.N, s.Counts)
	}
}

func consenting(id string, channel member.ConsentChannel) member.Member {
	return member.Member{ID: id, Status: member.Active, Consents: []member.Consent{{Purpose: member.Marketing, Channel: channel, Granted: true}}}
}

func TestInvitationsAfterPurchases(t *testing.T) {
	t.Parallel()
	surveyID := "s-" + uniq()
	policy := `{"fatigue_days":30,"link_ttl_days":14,"rules":[{"trigger":"purchase","survey":"` + surveyID + `","delay_hours":48,"sampling":1,"channel":"email"}]}`
	yes, no, any := "m-"+uniq(), "m-"+uniq(), "m-"+uniq()
	f := newFixture(t, policy, members{yes: consenting(yes, member.Email), no: consenting(no, member.SMS), any: consenting(any, member.AnyChannel)})
	f.createSurvey(t, surveyID)
	purchase := func(m string) events.SQSMessage {
		return message(t, event.TypePointsPurchase, f.now, points.Purchase{OrderID: "o-" + uniq(), MemberID: m, Store: "s1", Channel: "store"})
	}
	first := purchase(yes)
	f.handle(t, first, first, first)
	invs := f.pub.OfType(event.TypeSurveyInvitation)
	if len(invs) != 1 {
		t.Fatalf("%d invitations after one purchase delivered 3 times", len(invs))
	}
	var inv event.SurveyInvitation
	_ = json.Unmarshal(invs[0].Data, &inv)
	if inv.MemberID != yes || inv.SurveyID != surveyID || inv.Channel != "email" || !inv.SendAfter.Equal(f.now.Add(48*time.Hour)) {
		t.Errorf("invitation %+v", inv)
	}
	claims, err := f.h.Links.Verify(inv.Token, inv.SendAfter, survey.Expect{Survey: surveyID, Member: yes})
	if err != nil || claims.Store != "s1" || claims.Channel != "store" || claims.Order == "" {
		t.Errorf("the link token: %+v %v", claims, err)
	}
	// Another purchase within 30 days: fatigue, no invitation.
	f.handle(t, purchase(yes))
	// No consent on the rule's channel: none; consent on any channel: one.
	f.handle(t, purchase(no), purchase(any))
	invs = f.pub.OfType(event.TypeSurveyInvitation)
	if len(invs) != 2 {
		t.Fatalf("%d invitations, want the first and the any-channel member's", len(invs))
	}
	// 31 days later the first member may be invited again.
	f.now = f.now.Add(31 * 24 * time.Hour)
	f.handle(t, purchase(yes))
	if n := len(f.pub.OfType(event.TypeSurveyInvitation)); n != 3 {
		t.Errorf("%d invitations after the fatigue window", n)
	}
}

func TestSamplingIsDeterministicAndNearItsRate(t *testing.T) {
	t.Parallel()
	in := 0
	for i := range 10000 {
		key := fmt.Sprintf("order#%d", i)
		got := survey.Sampled(0.25, "s", key)
		if got != survey.Sampled(0.25, "s", key) {
			t.Fatal("sampling is not deterministic")
		}
		if got {
			in++
		}
	}
	if in < 2300 || in > 2700 {
		t.Errorf("%d of 10000 sampled at 0.25", in)
	}
}

func TestErasureDropsMemberAndTextKeepsScores(t *testing.T) {
	t.Parallel()
	f := newFixture(t, `{}`, members{})
	d := f.createSurvey(t, "s-"+uniq())
	sub := submission(d, "o-"+uniq(), 2, "My name is Ann and I am angry", f.now)
	f.handle(t, message(t, event.TypeSurveyResponseSubmitted, f.now, sub))
	before := f.npsTally(t, d)
	erase := message(t, event.TypeMemberErased, f.now, event.MemberErased{MemberID: sub.Response.MemberID, ErasedAt: f.now})
	f.handle(t, erase, erase)
	got, err := f.store.SurveyResponse(context.Background(), sub.ResponseID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Erased || got.Response.MemberID != "" {
		t.Errorf("after erasure: %+v", got)
	}
	for _, a := range got.Response.Answers {
		if a.Text != "" {
			t.Errorf("text answer kept: %q", a.Text)
		}
	}
	if after := f.npsTally(t, d); after.N != before.N || after.Counts["detractors"] != before.Counts["detractors"] {
		t.Errorf("scores changed by erasure: %+v → %+v", before, after)
	}
	// A redelivery of the response after erasure changes nothing.
	f.handle(t, message(t, event.TypeSurveyResponseSubmitted, f.now, sub))
	if after := f.npsTally(t, d); after.N != before.N {
		t.Errorf("n %d after redelivery of an erased response", after.N)
	}
}

// TestInvitationWhileAnEditIsScheduled: a purchase invites to the version
// open at the send time, even when the latest version opens later.
func TestInvitationWhileAnEditIsScheduled(t *testing.T) {
	t.Parallel()
	surveyID := "s-" + uniq()
	policy := `{"rules":[{"trigger":"purchase","survey":"` + surveyID + `","delay_hours":48,"sampling":1,"channel":"email"}]}`
	m := "m-" + uniq()
	f := newFixture(t, policy, members{m: consenting(m, member.Email)})
	d := f.createSurvey(t, surveyID)
	in := survey.DefinitionInput{Name: "Later", ActiveFrom: f.now.Add(10 * 24 * time.Hour).Format(time.RFC3339),
		Questions: []survey.QuestionInput{{ID: "nps", Kind: "nps", Prompt: "Recommend us?", Required: true}}, OnePer: "order"}
	next, created, err := survey.Edit(d, in, f.now)
	if err != nil || !created {
		t.Fatalf("edit: %v %v", created, err)
	}
	if err := f.store.SaveSurveyVersion(context.Background(), next, 1); err != nil {
		t.Fatal(err)
	}
	f.handle(t, message(t, event.TypePointsPurchase, f.now, points.Purchase{OrderID: "o-" + uniq(), MemberID: m, Store: "s1", Channel: "store"}))
	if n := len(f.pub.OfType(event.TypeSurveyInvitation)); n != 1 {
		t.Errorf("%d invitations while version 2 waits to open, want 1 (to version 1)", n)
	}
}
