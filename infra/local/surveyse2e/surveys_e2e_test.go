// Package surveyse2e runs the survey domain end to end through the local
// stack: a purchase over HTTP invites a consenting member (an event on the
// notification queue carrying a link token), the member answers from the
// link without a JWT (the public route), the real surveys-worker binary
// scores the answer exactly once through the SQS event source mapping, and
// the completion bonus reaches the points worker.
package surveyse2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"clientele/infra/local"
	"clientele/infra/local/stacktest"
	"clientele/infra/topology"
	"clientele/shared/dynamo"
	"clientele/shared/env"
	"clientele/shared/event"
	"clientele/shared/survey"
)

var stack *local.Stack

// api calls the stack, every exchange checked against docs/openapi.json.
var api *stacktest.Client

// invitedSurvey is the survey the test policy invites to after purchases.
const invitedSurvey = "e2e-after-purchase"

// policy: purchases invite to invitedSurvey at once (no delay), every one
// sampled, by email; a completed answer earns 20 points.
const policy = `{"fatigue_days":30,"link_ttl_days":14,"completion_bonus":20,"rules":[` +
	`{"trigger":"purchase","survey":"` + invitedSurvey + `","delay_hours":0,"sampling":1,"channel":"email"}]}`

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	root, err := local.ModuleRoot(".")
	if err == nil {
		stack, err = local.Start(ctx, local.Config{
			Root: root, System: topology.Clientele(), APIAddr: "127.0.0.1:0", SQSAddr: "127.0.0.1:0",
			Log: io.Discard, VisibilityTimeout: 2 * time.Second,
			ExtraEnv: map[string]string{env.SurveyInvitations: policy,
				// Purchase points at once, so the bonus is visible next to them.
				env.PointsPolicy: `{"return_window_hours":0}`},
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

func zone() *time.Location {
	z, _ := time.LoadLocation(topology.Clientele().TimeZone)
	return z
}

func surveyStore() *dynamo.SurveyStore {
	return &dynamo.SurveyStore{Client: dynamo.NewLocalClient(stack.DynamoDBEndpoint), Table: topology.SurveysTable, Zone: zone()}
}

func links(t testing.TB) *survey.Signer {
	t.Helper()
	s, err := survey.LinkSigner(local.DevHMACKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func uniq() string { return strings.ToLower(event.NewID(time.Now())[16:]) }

// createSurvey creates a one-per-order survey over HTTP.
func createSurvey(t testing.TB, id string) {
	t.Helper()
	body := `{"id":"` + id + `","name":"How was your purchase?","one_per":"order","min_sample":1,"questions":[` +
		`{"id":"nps","kind":"nps","prompt":"How likely are you to recommend us?","required":true},` +
		`{"id":"csat","kind":"csat","prompt":"How satisfied are you with the staff?","dimension":"service_quality","required":true}]}`
	if st, out := api.Call(t, "POST", "/v1/surveys", api.Token(t, topology.Staff, "staff-e2e"), body); st != 201 {
		t.Fatalf("create survey: %d %v", st, out)
	}
}

// npsN reads the NPS question's n for today from the scores route.
func npsN(t testing.TB, id string) (n int64, counts map[string]any) {
	t.Helper()
	day := survey.DayOf(time.Now(), zone())
	q := fmt.Sprintf("?from=%s&to=%s&tz=%s", day-1, day+1, topology.Clientele().TimeZone)
	st, out := api.Call(t, "GET", "/v1/surveys/"+id+"/scores"+q, api.Token(t, topology.Staff, "staff-e2e"), "")
	if st != 200 {
		t.Fatalf("scores: %d %v", st, out)
	}
	for _, s := range out["scores"].([]any) {
		s := s.(map[string]any)
		if s["question"] == "nps" {
			sc := s["score"].(map[string]any)
			c, _ := sc["counts"].(map[string]any)
			return int64(sc["n"].(float64)), c
		}
	}
	t.Fatalf("no nps score in %v", out)
	return 0, nil
}

// awaitN polls the scores until the NPS n is want.
func awaitN(t testing.TB, id string, want int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, _ := npsN(t, id)
		if n == want {
			return
		}
		if n > want {
			t.Fatalf("n = %d, more than the %d responses", n, want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("n = %d after 60 s, want %d", n, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// invitationFor receives from the notification queue until the member's
// invitation arrives.
func invitationFor(t *testing.T, memberID string) event.SurveyInvitation {
	t.Helper()
	c := api.SQS()
	url := stack.QueueURL(topology.NotificationEvents)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			e, err := event.Parse([]byte(aws.ToString(m.Body)))
			if err != nil || e.Type != event.TypeSurveyInvitation {
				continue
			}
			var inv event.SurveyInvitation
			if err := json.Unmarshal(e.Data, &inv); err != nil {
				t.Fatal(err)
			}
			if inv.MemberID == memberID {
				_, _ = c.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
				return inv
			}
		}
	}
	t.Fatalf("no invitation for %s within 60 s", memberID)
	return event.SurveyInvitation{}
}

var phoneSeq struct {
	sync.Mutex
	n int64
}

// signup registers a member who consents to marketing by email.
func signup(t *testing.T) string {
	t.Helper()
	phoneSeq.Lock()
	phoneSeq.n++
	n := (time.Now().UnixNano()/1000 + phoneSeq.n) % 100000000
	phoneSeq.Unlock()
	body := fmt.Sprintf(`{"phone":"+86137%08d","signup_channel":"app","consents":[{"purpose":"marketing","channel":"email","granted":true,"source":"app"}]}`, n)
	st, out := api.Call(t, "POST", "/v1/members", api.Token(t, topology.Service, ""), body)
	id, _ := out["id"].(string)
	if st != 201 || id == "" {
		t.Fatalf("signup: %d %v", st, out)
	}
	return id
}

// TestInvitationToScoredResponseWithoutAJWT: purchase → invitation with a
// link token on the notification queue → answer from the link with no
// Authorization header → scored once → completion bonus in the ledger.
func TestInvitationToScoredResponseWithoutAJWT(t *testing.T) {
	createSurvey(t, invitedSurvey)
	m := signup(t)
	order := "E2E-" + uniq()
	purchase := `{"order_id":"` + order + `","member_id":"` + m + `","store":"SH-001","channel":"store","currency":"CNY",` +
		`"lines":[{"line_id":"1","sku":"SKU-1","category":"shoes","quantity":1,"amount":10000}]}`
	if st, out := api.Call(t, "POST", "/v1/purchases", api.Token(t, topology.Service, ""), purchase); st != 202 {
		t.Fatalf("purchase: %d %v", st, out)
	}
	inv := invitationFor(t, m)
	if inv.SurveyID != invitedSurvey || inv.OrderID != order || inv.Channel != "email" || inv.Token == "" {
		t.Fatalf("invitation %+v", inv)
	}
	// The member routes still need a token: without one, API Gateway's 401.
	answers := `[{"question":"nps","value":10},{"question":"csat","value":5}]`
	if st, out := api.Call(t, "POST", "/v1/surveys/"+invitedSurvey+"/responses", "", `{"channel":"store","answers":`+answers+`}`); st != 401 ||
		out["message"] != "Unauthorized" {
		t.Errorf("member route without a token: %d %v", st, out)
	}
	st, out := api.Call(t, "POST", "/v1/survey-responses", "", `{"token":"`+inv.Token+`","answers":`+answers+`}`)
	if st != 202 || out["status"] != "accepted" {
		t.Fatalf("link answer: %d %v", st, out)
	}
	responseID, _ := out["response_id"].(string)
	awaitN(t, invitedSurvey, 1)
	got, err := surveyStore().SurveyResponse(context.Background(), responseID)
	if err != nil || got.Response.MemberID != m || got.Response.OrderID != order || got.Response.Store != "SH-001" {
		t.Errorf("stored response %+v %v", got, err)
	}
	// The same answers again: already recorded; other answers: the link is used.
	if st, out := api.Call(t, "POST", "/v1/survey-responses", "", `{"token":"`+inv.Token+`","answers":`+answers+`}`); st != 202 || out["status"] != "already_recorded" {
		t.Errorf("retry: %d %v", st, out)
	}
	if st, out := api.Call(t, "POST", "/v1/survey-responses", "", `{"token":"`+inv.Token+`","answers":[{"question":"nps","value":0},{"question":"csat","value":1}]}`); st != 409 {
		t.Errorf("reused link: %d %v", st, out)
	}
	// The completion bonus reaches the ledger, once.
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, page := api.Call(t, "GET", "/v1/members/"+m+"/points/entries?limit=100", api.Token(t, topology.Member, m), "")
		bonuses := 0
		entries, _ := page["entries"].([]any)
		for _, e := range entries {
			if e := e.(map[string]any); e["reason"] == "survey" && e["amount"] == float64(20) {
				bonuses++
			}
		}
		if st == 200 && bonuses == 1 {
			break
		}
		if bonuses > 1 || time.Now().After(deadline) {
			t.Fatalf("survey bonuses in the ledger: %d (%d %v)", bonuses, st, page)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n, _ := npsN(t, invitedSurvey); n != 1 {
		t.Errorf("n = %d at the end", n)
	}
}

// TestConcurrentAndRedeliveredResponsesCountOnce: 32 link answers at once
// over HTTP, then each one's submission put on the survey queue three more
// times, and each answer posted again: the count stays 32.
func TestConcurrentAndRedeliveredResponsesCountOnce(t *testing.T) {
	id := "e2e-concurrent-" + uniq()
	createSurvey(t, id)
	signer := links(t)
	var all []answered
	for i := range 32 {
		tok, _, err := signer.IssueFor(survey.Claims{Survey: id, Member: fmt.Sprintf("cm-%s-%d", uniq(), i), Order: fmt.Sprintf("CO-%s-%d", uniq(), i),
			Store: fmt.Sprintf("S%02d", i%4), Channel: "store"}, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, answered{tok, fmt.Sprintf(`{"token":%q,"answers":[{"question":"nps","value":%d},{"question":"csat","value":%d}]}`, tok, i%11, 1+i%5)})
	}
	var wg sync.WaitGroup
	for _, a := range all {
		wg.Go(func() {
			if st, out := api.Call(t, "POST", "/v1/survey-responses", "", a.body); st != 202 {
				t.Errorf("answer: %d %v", st, out)
			}
		})
	}
	wg.Wait()
	awaitN(t, id, 32)
	_, counts := npsN(t, id)
	// Redeliver every recorded response's submission three times.
	ids, err := responseIDs(id, all)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		for _, rid := range ids {
			got, err := surveyStore().SurveyResponse(context.Background(), rid)
			if err != nil {
				t.Fatal(err)
			}
			nonce := strings.TrimPrefix(rid, "L")
			send(t, survey.Submission{ResponseID: rid, Nonce: nonce, NonceExpires: time.Now().Add(time.Hour), Response: got.Response})
		}
	}
	for _, a := range all {
		if st, out := api.Call(t, "POST", "/v1/survey-responses", "", a.body); st != 202 || out["status"] != "already_recorded" {
			t.Errorf("answer again: %d %v", st, out)
		}
	}
	// The redeliveries are processed within a few seconds; wait for the
	// queue to drain, then check nothing moved.
	drain(t)
	n, after := npsN(t, id)
	if n != 32 || fmt.Sprint(after) != fmt.Sprint(counts) {
		t.Errorf("after redeliveries: n %d counts %v, was 32 %v", n, after, counts)
	}
}

// answered is a link token and the body answering with it.
type answered struct{ tok, body string }

// responseIDs are the link answers' response ids ("L" + the nonce).
func responseIDs(_ string, all []answered) ([]string, error) {
	var out []string
	for _, a := range all {
		parts := strings.Split(a.tok, ".")
		if len(parts) != 3 {
			return nil, fmt.Errorf("token %q", a.tok)
		}
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			return nil, err
		}
		var c survey.Claims
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, err
		}
		out = append(out, "L"+c.Nonce)
	}
	return out, nil
}

// send puts a submission on the survey queue as surveys-api would.
func send(t testing.TB, sub survey.Submission) {
	t.Helper()
	e, err := event.New(event.TypeSurveyResponseSubmitted, "test", time.Now(), sub)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(e)
	if _, err := api.SQS().SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: aws.String(stack.QueueURL(topology.SurveyEvents)), MessageBody: aws.String(string(body))}); err != nil {
		t.Fatal(err)
	}
}

// drain waits until the survey queue has no visible or in-flight messages.
func drain(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, err := api.SQS().GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(stack.QueueURL(topology.SurveyEvents)), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		if out.Attributes["ApproximateNumberOfMessages"] == "0" && out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the survey queue did not drain within 60 s")
}

// TestDetractorOpensOneFeedbackCase runs the closed loop across two domains:
// a member's NPS detractor answer makes surveys-worker request a follow-up,
// and feedback-worker opens exactly one case for it, linked to the member
// and carrying their words — also when the answer is sent twice. The member
// id is not a ULID (a brand's imported id): both domains take the system's
// id rule.
func TestDetractorOpensOneFeedbackCase(t *testing.T) {
	id := "loop-" + uniq()
	body := `{"id":"` + id + `","name":"How was your visit?","one_per":"member","min_sample":1,"questions":[` +
		`{"id":"nps","kind":"nps","prompt":"How likely are you to recommend us?","required":true},` +
		`{"id":"why","kind":"text","prompt":"Tell us more"}]}`
	if st, out := api.Call(t, "POST", "/v1/surveys", api.Token(t, topology.Staff, "staff-e2e"), body); st != 201 {
		t.Fatalf("create survey: %d %v", st, out)
	}
	member := "crm:" + uniq()
	tok := api.Token(t, topology.Member, member)
	answer := `{"store":"SH-001","channel":"store","answers":[{"question":"nps","value":2},{"question":"why","value":"排队四十分钟没人管"}]}`
	for range 2 {
		if st, out := api.Call(t, "POST", "/v1/surveys/"+id+"/responses", tok, answer); st != 202 {
			t.Fatalf("answer: %d %v", st, out)
		}
	}
	awaitN(t, id, 1)
	var cases []any
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, page := api.Call(t, "GET", "/v1/feedback/cases", tok, "")
		if st != 200 {
			t.Fatalf("member's cases: %d %v", st, page)
		}
		cases, _ = page["cases"].([]any)
		if len(cases) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if len(cases) != 1 {
		t.Fatalf("the detractor's cases: %d, want 1: %v", len(cases), cases)
	}
	caseID, _ := cases[0].(map[string]any)["id"].(string)
	// Later deliveries of the follow-up must not open a second case.
	time.Sleep(2 * time.Second)
	if _, page := api.Call(t, "GET", "/v1/feedback/cases", tok, ""); len(page["cases"].([]any)) != 1 {
		t.Fatalf("cases after a while: %v", page["cases"])
	}
	st, c := api.Call(t, "GET", "/v1/feedback/cases/"+caseID, tok, "")
	if st != 200 {
		t.Fatalf("the case: %d %v", st, c)
	}
	if c["channel"] != "store" || c["store"] != "SH-001" || c["member_id"] != member || c["type"] != "complaint" ||
		!strings.Contains(fmt.Sprint(c["text"]), "排队四十分钟没人管") || !strings.Contains(fmt.Sprint(c["history"]), "survey_response:") {
		t.Errorf("the follow-up case does not carry the response: %v", c)
	}
}
