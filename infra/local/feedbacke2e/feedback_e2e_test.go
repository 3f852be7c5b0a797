// Package feedbacke2e runs the feedback domain end to end through the local
// stack: HTTP intake, the SQS event source mapping, the real feedback-worker
// binary and DynamoDB Local, with concurrent intake, redeliveries and a
// poison message. Visibility timeouts are shortened to 2 s so redrive is
// quick.
package feedbacke2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"clientele/infra/local"
	"clientele/infra/local/stacktest"
	"clientele/infra/topology"
	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/feedback"
)

var stack *local.Stack

// api calls the stack, every exchange checked against docs/openapi.json.
var api *stacktest.Client

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	root, err := local.ModuleRoot(".")
	if err == nil {
		stack, err = local.Start(ctx, local.Config{
			Root: root, System: topology.Clientele(), APIAddr: "127.0.0.1:0", SQSAddr: "127.0.0.1:0",
			Log: io.Discard, VisibilityTimeout: 2 * time.Second,
		})
	}
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the local stack:", err)
		os.Exit(1)
	}
	api = stacktest.New(stack, "../../../docs/openapi.json")
	code := m.Run()
	_ = stack.Close()
	os.Exit(code)
}

func store() *dynamo.FeedbackStore {
	return &dynamo.FeedbackStore{Client: dynamo.NewLocalClient(stack.DynamoDBEndpoint), Table: topology.FeedbackTable}
}

func sendRaw(t testing.TB, body string) {
	t.Helper()
	_, err := api.SQS().SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: aws.String(stack.QueueURL(topology.FeedbackEvents)), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatal(err)
	}
}

func send(t testing.TB, e event.Envelope) {
	t.Helper()
	body, _ := json.Marshal(e)
	sendRaw(t, string(body))
}

// awaitCase polls the store until cond holds for the case.
func awaitCase(t testing.TB, id, what string, cond func(*feedback.Case) bool) *feedback.Case {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := store().Get(context.Background(), id)
		if err == nil && cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached (case %+v, err %v)", what, c, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func newMember() string { return event.NewID(time.Now()) }

func uniq() string { return event.NewID(time.Now())[14:] }

func intake(t testing.TB, tok string, body map[string]any) string {
	t.Helper()
	raw, _ := json.Marshal(body)
	st, out := api.Call(t, "POST", "/v1/feedback", tok, string(raw))
	id, _ := out["id"].(string)
	if st != http.StatusAccepted || id == "" {
		t.Fatalf("intake: %d %v", st, out)
	}
	return id
}

// TestIntakeTriageRead: a member's complaint is accepted, triaged by the
// worker binary and readable with its triage, SLA and history.
func TestIntakeTriageRead(t *testing.T) {
	t.Parallel()
	m := newMember()
	own := api.Token(t, topology.Member, m)
	id := intake(t, own, map[string]any{"channel": "mini_program", "text": "收到的羽绒服拉链坏了，要求换货 " + uniq(), "sku": "JK-" + uniq(), "rating": 1})
	awaitCase(t, id, "triage", func(c *feedback.Case) bool { return c.Triage != nil })
	st, out := api.Call(t, "GET", "/v1/feedback/cases/"+id, api.Token(t, topology.Staff, ""), "")
	if st != 200 {
		t.Fatalf("read: %d %v", st, out)
	}
	triage, _ := out["triage"].(map[string]any)
	sla, _ := out["sla"].(map[string]any)
	if out["status"] != "open" || out["category"] != "product_quality" || out["priority"] != "P2" || triage["rules_version"] == "" || sla["first_response"] == nil {
		t.Errorf("case %v", out)
	}
	if st, _ := api.Call(t, "GET", "/v1/feedback/cases/"+id, api.Token(t, topology.Member, newMember()), ""); st != 404 {
		t.Errorf("another member reads the case: %d", st)
	}
}

// TestExportListsTheMembersCases: a signed-up member's case appears in
// their export, through members-api reading the feedback table.
func TestExportListsTheMembersCases(t *testing.T) {
	t.Parallel()
	body := fmt.Sprintf(`{"phone":"+86137%08d","signup_channel":"app"}`, time.Now().UnixNano()%100000000)
	st, out := api.Call(t, "POST", "/v1/members", api.Token(t, topology.Service, ""), body)
	m, _ := out["id"].(string)
	if st != 201 || m == "" {
		t.Fatalf("signup: %d %v", st, out)
	}
	own := api.Token(t, topology.Member, m)
	id := intake(t, own, map[string]any{"channel": "app", "text": "The store refused my membership discount " + uniq()})
	st, out = api.Call(t, "GET", "/v1/members/"+m+"/export", own, "")
	domains, _ := out["domains"].(map[string]any)
	fb, _ := domains["feedback"].(map[string]any)
	cases, _ := fb["cases"].([]any)
	if st != 200 || len(cases) != 1 || cases[0].(map[string]any)["id"] != id {
		t.Errorf("export: %d %v", st, out)
	}
}

// Test32ConcurrentIntakesOpenOneCluster: 32 complaints about one sku sent
// at once through HTTP open exactly one cluster, and every case joins it.
func Test32ConcurrentIntakesOpenOneCluster(t *testing.T) {
	t.Parallel()
	sku := "SOLE-" + uniq()
	svc := api.Token(t, topology.Service, "care-desk")
	ids := make([]string, 32)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = intake(t, svc, map[string]any{"channel": "app", "sku": sku, "member_id": newMember(),
				"text": fmt.Sprintf("The sole of my running shoes came off after %d days", i+2)})
		}()
	}
	wg.Wait()
	cluster := ""
	for _, id := range ids {
		c := awaitCase(t, id, "clustered", func(c *feedback.Case) bool { return c.ClusterID != "" })
		if cluster == "" {
			cluster = c.ClusterID
		}
		if c.ClusterID != cluster {
			t.Errorf("case %s joined %s, others %s", id, c.ClusterID, cluster)
		}
	}
	staff := api.Token(t, topology.Staff, "")
	st, out := api.Call(t, "GET", "/v1/feedback/clusters?limit=100", staff, "")
	if st != 200 {
		t.Fatalf("clusters: %d %v", st, out)
	}
	n := 0
	for _, c := range out["clusters"].([]any) {
		if c.(map[string]any)["key"] == "sku#"+sku {
			n++
		}
	}
	cl, err := store().Cluster(context.Background(), cluster)
	if n != 1 || err != nil || cl.Cases != 32 {
		t.Errorf("%d clusters for the sku; cluster %+v (err %v)", n, cl, err)
	}
	st, out = api.Call(t, "GET", "/v1/feedback/cases?cluster="+cluster+"&limit=100", staff, "")
	if st != 200 || len(out["cases"].([]any)) != 32 {
		t.Errorf("cases of the cluster: %d, %d", st, len(out["cases"].([]any)))
	}
}

// TestRedeliveryChangesNothing: every message kind delivered three more
// times leaves the cases as they were.
func TestRedeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	m := newMember()
	id := intake(t, api.Token(t, topology.Member, m), map[string]any{"channel": "app", "text": "Coupon code fails at checkout " + uniq()})
	triaged := awaitCase(t, id, "triage", func(c *feedback.Case) bool { return c.Triage != nil })
	received, _ := event.New(feedback.TypeReceived, "test", time.Now(), feedback.Received{CaseID: id})
	fu, _ := event.New(event.TypeFeedbackFollowUpRequested, "test", time.Now(), event.FollowUpRequested{Source: "survey_response",
		SourceID: "r-" + uniq(), MemberID: m, Channel: "survey", Reasons: []string{"nps_detractor"}, Summary: "NPS 1", Text: "Nobody called me back", At: time.Now().UTC()})
	send(t, fu)
	var follow *feedback.Case
	deadline := time.Now().Add(60 * time.Second)
	for follow == nil {
		cases, _ := store().MemberCases(context.Background(), m)
		for _, c := range cases {
			if c.ID != id && c.Triage != nil {
				follow = c
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the follow-up case never appeared")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for range 3 {
		send(t, received)
		send(t, fu)
	}
	// A sentinel behind the redeliveries: once it is applied, the worker
	// has had them (the local mapping polls in order of arrival).
	sentinel := intake(t, api.Token(t, topology.Member, newMember()), map[string]any{"channel": "app", "text": "sentinel " + uniq()})
	awaitCase(t, sentinel, "sentinel", func(c *feedback.Case) bool { return c.Triage != nil })
	time.Sleep(2 * time.Second)
	after := awaitCase(t, id, "read", func(*feedback.Case) bool { return true })
	cases, _ := store().MemberCases(context.Background(), m)
	if after.Version != triaged.Version || len(cases) != 2 {
		t.Errorf("redelivery: version %d → %d, %d cases for the member (want 2)", triaged.Version, after.Version, len(cases))
	}
	fAfter := awaitCase(t, follow.ID, "read", func(*feedback.Case) bool { return true })
	if fAfter.Version != follow.Version {
		t.Errorf("follow-up redelivery: version %d → %d", follow.Version, fAfter.Version)
	}
}

// TestPoisonMessageReachesDLQ: a malformed message is retried and lands in
// the dead-letter queue after 5 receives.
func TestPoisonMessageReachesDLQ(t *testing.T) {
	t.Parallel()
	marker := "poison-" + uniq()
	sendRaw(t, `{"id":"`+marker+`","type":"feedback.received","version":1,"occurred_at":"2026-11-22T00:00:00Z","source":"test","data":{"case_id":"no such case!"}}`)
	c := api.SQS()
	dlq := stack.QueueURL(topology.DLQName(topology.FeedbackEvents))
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			if strings.Contains(aws.ToString(m.Body), marker) {
				return
			}
			_, _ = c.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(dlq), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
		}
	}
	t.Fatal("the poison message never reached the dead-letter queue")
}

// TestSweepScheduleRuns: firing the SLA sweep schedule invokes the worker
// binary with the schedule's payload and it completes.
func TestSweepScheduleRuns(t *testing.T) {
	t.Parallel()
	if err := stack.FireSchedule(context.Background(), "feedback-sla-sweep"); err != nil {
		t.Fatal(err)
	}
}
