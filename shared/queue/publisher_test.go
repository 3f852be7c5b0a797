package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"clientele/shared/env"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/queue"
)

// fakeSQS records SendMessage calls; it fails for URLs listed in failFor.
type fakeSQS struct {
	mu      sync.Mutex
	sent    []*sqs.SendMessageInput
	failFor map[string]error
}

func (f *fakeSQS) SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failFor[aws.ToString(in.QueueUrl)]; err != nil {
		return nil, err
	}
	f.sent = append(f.sent, in)
	return &sqs.SendMessageOutput{MessageId: aws.String("msg-" + aws.ToString(in.QueueUrl))}, nil
}

const (
	pointsURL   = "http://127.0.0.1:4100/000000000000/points-events"
	feedbackURL = "http://127.0.0.1:4100/000000000000/feedback-events"
)

var at = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func envelope(t *testing.T, typ string, data any) event.Envelope {
	t.Helper()
	e, err := event.New(typ, "members-api", at, data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestPublishRoutesToEverySubscribedQueue(t *testing.T) {
	t.Parallel()
	fake := &fakeSQS{}
	p := &queue.Publisher{SQS: fake, Routes: map[string][]string{
		event.TypeMemberRegistered: {pointsURL, feedbackURL},
		event.TypeMemberErased:     {pointsURL},
	}}
	reg := envelope(t, event.TypeMemberRegistered, event.MemberRegistered{MemberID: "m1", SignupChannel: "app", RegisteredAt: at})
	erased := envelope(t, event.TypeMemberErased, event.MemberErased{MemberID: "m2", ErasedAt: at})
	if err := p.Publish(context.Background(), reg, erased); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	type sent struct{ url, typ, id string }
	var got []sent
	for _, in := range fake.sent {
		body := aws.ToString(in.MessageBody)
		msg, err := event.Parse([]byte(body))
		if err != nil {
			t.Fatalf("body is not an envelope: %v: %s", err, body)
		}
		for _, e := range []event.Envelope{reg, erased} {
			if e.ID == msg.ID {
				want, _ := json.Marshal(e)
				if body != string(want) {
					t.Errorf("body = %s, want the envelope JSON %s", body, want)
				}
			}
		}
		for name, wantValue := range map[string]string{"type": msg.Type, "event_id": msg.ID} {
			a, ok := in.MessageAttributes[name]
			if !ok || aws.ToString(a.DataType) != "String" || aws.ToString(a.StringValue) != wantValue {
				t.Errorf("attribute %s = %+v, want String %q", name, a, wantValue)
			}
		}
		if len(in.MessageAttributes) != 2 {
			t.Errorf("attributes = %v, want type and event_id", in.MessageAttributes)
		}
		got = append(got, sent{aws.ToString(in.QueueUrl), msg.Type, msg.ID})
	}
	want := []sent{
		{pointsURL, event.TypeMemberRegistered, reg.ID},
		{feedbackURL, event.TypeMemberRegistered, reg.ID},
		{pointsURL, event.TypeMemberErased, erased.ID},
	}
	if !slices.Equal(got, want) {
		t.Errorf("sent %+v, want %+v", got, want)
	}
}

func TestPublishNothing(t *testing.T) {
	t.Parallel()
	fake := &fakeSQS{}
	p := &queue.Publisher{SQS: fake, Routes: map[string][]string{}}
	if err := p.Publish(context.Background()); err != nil || len(fake.sent) != 0 {
		t.Fatalf("Publish() = %v, sent %d", err, len(fake.sent))
	}
}

func TestPublishUnknownTypeIsInternal(t *testing.T) {
	t.Parallel()
	fake := &fakeSQS{}
	p := &queue.Publisher{SQS: fake, Routes: map[string][]string{event.TypeMemberErased: {pointsURL}}}
	e := envelope(t, "member.renamed", map[string]string{"member_id": "m1"})
	err := p.Publish(context.Background(), e)
	if fault.KindOf(err) != fault.Internal || err == nil {
		t.Fatalf("Publish(unrouted) = %v, want Internal", err)
	}
	if !strings.Contains(err.Error(), "member.renamed") {
		t.Errorf("error %q does not name the type", err)
	}
	if len(fake.sent) != 0 {
		t.Errorf("sent %d messages for an unrouted type", len(fake.sent))
	}
}

func TestPublishSendErrorIsUnavailable(t *testing.T) {
	t.Parallel()
	cause := errors.New("AWS.SimpleQueueService.NonExistentQueue")
	fake := &fakeSQS{failFor: map[string]error{feedbackURL: cause}}
	p := &queue.Publisher{SQS: fake, Routes: map[string][]string{event.TypeMemberRegistered: {pointsURL, feedbackURL}}}
	err := p.Publish(context.Background(), envelope(t, event.TypeMemberRegistered, event.MemberRegistered{MemberID: "m1"}))
	if !fault.Is(err, fault.Unavailable) {
		t.Fatalf("Publish = %v, want Unavailable", err)
	}
	if !errors.Is(err, cause) {
		t.Errorf("error %v does not wrap the SQS error", err)
	}
	e, _ := fault.As(err)
	if strings.Contains(e.Message, "NonExistentQueue") {
		t.Errorf("client-visible message carries the cause: %q", e.Message)
	}
}

func TestRoutesFromEnv(t *testing.T) {
	t.Setenv(env.EventRoutes, "member.registered=points-events,feedback-events;member.erased=points-events")
	t.Setenv(env.QueueURLVar("points-events"), pointsURL)
	t.Setenv(env.QueueURLVar("feedback-events"), feedbackURL)
	routes, err := queue.RoutesFromEnv()
	if err != nil {
		t.Fatalf("RoutesFromEnv: %v", err)
	}
	want := map[string][]string{
		event.TypeMemberRegistered: {pointsURL, feedbackURL},
		event.TypeMemberErased:     {pointsURL},
	}
	if len(routes) != len(want) {
		t.Fatalf("routes = %v, want %v", routes, want)
	}
	for typ, urls := range want {
		if !slices.Equal(routes[typ], urls) {
			t.Errorf("%s -> %q, want %q", typ, routes[typ], urls)
		}
	}
}

func TestRoutesFromEnvMissingQueueVariable(t *testing.T) {
	t.Setenv(env.EventRoutes, "member.registered=points-events,feedback-events")
	t.Setenv(env.QueueURLVar("points-events"), pointsURL)
	t.Setenv(env.QueueURLVar("feedback-events"), "")
	_, err := queue.RoutesFromEnv()
	if err == nil || !strings.Contains(err.Error(), "CLIENTELE_QUEUE_URL_FEEDBACK_EVENTS") {
		t.Fatalf("RoutesFromEnv = %v, want an error naming CLIENTELE_QUEUE_URL_FEEDBACK_EVENTS", err)
	}
}

func TestRoutesFromEnvMalformed(t *testing.T) {
	t.Setenv(env.EventRoutes, "member.registered")
	if _, err := queue.RoutesFromEnv(); err == nil {
		t.Fatal("RoutesFromEnv accepted a malformed value")
	}
}

func TestRoutesFromEnvUnset(t *testing.T) {
	t.Setenv(env.EventRoutes, "")
	routes, err := queue.RoutesFromEnv()
	if err != nil || len(routes) != 0 {
		t.Fatalf("RoutesFromEnv = %v, %v; want no routes", routes, err)
	}
}

func loadSQSEvent(t *testing.T) events.SQSEvent {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "sqs-batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestBatchResponseListsOnlyFailures(t *testing.T) {
	t.Parallel()
	ev := loadSQSEvent(t)
	if len(ev.Records) != 3 {
		t.Fatalf("testdata has %d records", len(ev.Records))
	}
	var b queue.Batch
	for _, m := range ev.Records {
		if _, err := event.Parse([]byte(m.Body)); err != nil {
			b.Fail(m.MessageId)
		}
	}
	resp := b.Response()
	want := []events.SQSBatchItemFailure{{ItemIdentifier: ev.Records[1].MessageId}}
	if !slices.Equal(resp.BatchItemFailures, want) {
		t.Fatalf("failures = %+v, want %+v", resp.BatchItemFailures, want)
	}
	raw, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"batchItemFailures":[{"itemIdentifier":"6a7b8c9d-2e3f-4051-9bac-1d2e3f4a5b6c"}]}` {
		t.Errorf("wire form = %s", raw)
	}
}

func TestBatchResponseAllSucceeded(t *testing.T) {
	t.Parallel()
	var b queue.Batch
	resp := b.Response()
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %+v, want none", resp.BatchItemFailures)
	}
	b.Fail("a")
	b.Fail("b")
	if got := b.Response().BatchItemFailures; len(got) != 2 || got[0].ItemIdentifier != "a" || got[1].ItemIdentifier != "b" {
		t.Fatalf("failures = %+v", got)
	}
}

func TestMessageAttributesMatchTestdata(t *testing.T) {
	t.Parallel()
	// The attributes the publisher sets are the ones a consumer reads from
	// a delivered message.
	for _, m := range loadSQSEvent(t).Records {
		if m.MessageAttributes["type"].DataType != "String" || m.MessageAttributes["event_id"].StringValue == nil {
			t.Errorf("record %s: attributes %+v", m.MessageId, m.MessageAttributes)
		}
	}
}

func TestNewClient(t *testing.T) {
	t.Setenv("AWS_REGION", "ap-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local-secret")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:4100")
	c, err := queue.NewClient()
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	o := c.Options()
	if o.Region != "ap-east-1" || aws.ToString(o.BaseEndpoint) != "http://127.0.0.1:4100" {
		t.Errorf("options: region %q endpoint %v", o.Region, aws.ToString(o.BaseEndpoint))
	}

	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	if _, err := queue.NewClient(); err == nil {
		t.Error("NewClient without a region succeeded")
	}
}
