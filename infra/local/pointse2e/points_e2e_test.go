// Package pointse2e runs the points ledger end to end through the local
// stack: HTTP intake, the SQS event source mapping, the real worker binary
// and DynamoDB Local, with redeliveries, out-of-order delivery and poison
// messages. Visibility timeouts are shortened to 2 s so redrive is quick.
package pointse2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"clientele/infra/local"
	"clientele/infra/local/stacktest"
	"clientele/infra/topology"
	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/points"
)

var stack *local.Stack

// api calls the stack, every exchange checked against docs/openapi.json.
var api *stacktest.Client

// policy: purchase points are available at once, so the tests can redeem
// right after earning; returns then take available points.
const policy = `{"return_window_hours":0,"welcome_bonus":100}`

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	root, err := local.ModuleRoot(".")
	if err == nil {
		stack, err = local.Start(ctx, local.Config{
			Root: root, System: topology.Clientele(), APIAddr: "127.0.0.1:0", SQSAddr: "127.0.0.1:0",
			Log: io.Discard, VisibilityTimeout: 2 * time.Second,
			ExtraEnv: map[string]string{"CLIENTELE_POINTS_POLICY": policy},
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

func store() *dynamo.PointsStore {
	p, _ := points.ParsePolicy(policy)
	return &dynamo.PointsStore{Client: dynamo.NewLocalClient(stack.DynamoDBEndpoint), Table: topology.PointsTable, Policy: p}
}

// send puts an envelope on the points queue as a producer would.
func send(t testing.TB, typ string, data any) event.Envelope {
	t.Helper()
	e, err := event.New(typ, "test", time.Now(), data)
	if err != nil {
		t.Fatal(err)
	}
	sendRaw(t, e)
	return e
}

func sendRaw(t testing.TB, e event.Envelope) {
	t.Helper()
	body, _ := json.Marshal(e)
	_, err := api.SQS().SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: aws.String(stack.QueueURL(topology.PointsEvents)), MessageBody: aws.String(string(body))})
	if err != nil {
		t.Fatal(err)
	}
}

// await polls until cond holds for the member's account.
func await(t testing.TB, member string, what string, cond func(*points.Account) bool) *points.Account {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, err := store().Account(context.Background(), member)
		if err == nil && cond(a) {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached (account %+v, err %v)", what, a, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ledgerSum(t testing.TB, member string) int64 {
	t.Helper()
	es, err := store().AllEntries(context.Background(), member)
	if err != nil {
		t.Fatal(err)
	}
	var s int64
	for _, e := range es {
		s += e.Amount
	}
	return s
}

func memberID() string { return "pm-" + event.NewID(time.Now()) }

var phoneSeq atomic.Int64

// signup registers a member through the members API (points-api refuses
// points for unknown members) and returns its id.
func signup(t testing.TB) string {
	t.Helper()
	n := phoneSeq.Add(1) + time.Now().UnixNano()%1000000*100
	body := fmt.Sprintf(`{"phone":"+86136%08d","signup_channel":"store","preferred_store":"SH-001"}`, n%100000000)
	st, out := api.Call(t, "POST", "/v1/members", api.Token(t, topology.Service, ""), body)
	id, _ := out["id"].(string)
	if st != 201 || id == "" {
		t.Fatalf("signup: %d %v", st, out)
	}
	return id
}

func purchaseOf(member, order string, amounts ...int64) points.Purchase {
	p := points.Purchase{OrderID: order, MemberID: member, Channel: "store", Store: "SH-001", Currency: "CNY"}
	for i, a := range amounts {
		p.Lines = append(p.Lines, points.PurchaseLine{LineID: fmt.Sprint(i + 1), SKU: fmt.Sprint("SKU-", i+1), Category: "shoes", Quantity: 2, Amount: a})
	}
	return p
}

// TestEarnRedeemReturnOverHTTP walks the main flow a POS and an app follow.
func TestEarnRedeemReturnOverHTTP(t *testing.T) {
	t.Parallel()
	member := signup(t)
	pos := api.Token(t, topology.Service, "")
	own := api.Token(t, topology.Member, member)
	order := "ORD-" + member
	body, _ := json.Marshal(purchaseOf(member, order, 59900, 19900))
	if st, out := api.Call(t, "POST", "/v1/purchases", pos, string(body)); st != 202 {
		t.Fatalf("purchase: %d %v", st, out)
	}
	// 798 for the order plus the 100-point welcome bonus of the signup.
	await(t, member, "earn", func(a *points.Account) bool { return a.Available == 898 })
	if st, out := api.Call(t, "GET", "/v1/members/"+member+"/points", own, ""); st != 200 || out["available"] != 898.0 {
		t.Fatalf("balance: %d %v", st, out)
	}
	// Redeem 300 with an Idempotency-Key; the retry is a replay.
	st, first := api.Call(t, "POST", "/v1/members/"+member+"/points/redemptions", own, `{"amount":300,"reason":"coupon"}`, "Idempotency-Key", "r-"+member)
	st2, again := api.Call(t, "POST", "/v1/members/"+member+"/points/redemptions", own, `{"amount":300,"reason":"coupon"}`, "Idempotency-Key", "r-"+member)
	if st != 201 || st2 != 201 || fmt.Sprint(first) != fmt.Sprint(again) {
		t.Fatalf("redeem: %d %v / %d %v", st, first, st2, again)
	}
	if st, out := api.Call(t, "POST", "/v1/members/"+member+"/points/redemptions", own, `{"amount":100000,"reason":"tv"}`, "Idempotency-Key", "big-"+member); st != 409 || out["available"] != 598.0 {
		t.Fatalf("overdraft: %d %v", st, out)
	}
	// Return one of the two units of line 1: 599 earned / 2 → 299 back.
	ret, _ := json.Marshal(points.Return{ReturnID: "RET-" + member, OrderID: order, MemberID: member, Lines: []points.ReturnLine{{LineID: "1", Quantity: 1}}})
	if st, out := api.Call(t, "POST", "/v1/returns", pos, string(ret)); st != 202 {
		t.Fatalf("return: %d %v", st, out)
	}
	a := await(t, member, "reverse", func(a *points.Account) bool { return a.Available == 299 })
	if ledgerSum(t, member) != a.Net() {
		t.Errorf("ledger %d ≠ balance %d", ledgerSum(t, member), a.Net())
	}
	// A return for an order not processed yet is parked; one for an
	// unknown line of a processed order is refused at the door.
	early, _ := json.Marshal(points.Return{ReturnID: "RET-x" + member, OrderID: "NOPE-" + member, MemberID: member, Lines: []points.ReturnLine{{LineID: "1", Quantity: 1}}})
	if st, out := api.Call(t, "POST", "/v1/returns", pos, string(early)); st != 202 || out["status"] != "parked" {
		t.Errorf("return before its order: %d %v", st, out)
	}
	badLine, _ := json.Marshal(points.Return{ReturnID: "RET-y" + member, OrderID: order, MemberID: member, Lines: []points.ReturnLine{{LineID: "9", Quantity: 1}}})
	if st, _ := api.Call(t, "POST", "/v1/returns", pos, string(badLine)); st != 400 {
		t.Errorf("unknown line: %d", st)
	}
}

// TestRedeliveredOutOfOrderMessagesApplyOnce delivers every message three
// times, shuffled (returns before their purchase, too), and compares the
// result with a member that got each message once.
func TestRedeliveredOutOfOrderMessagesApplyOnce(t *testing.T) {
	t.Parallel()
	once, thrice := memberID(), memberID()
	msgs := func(member string) []event.Envelope {
		var out []event.Envelope
		mk := func(typ string, data any) {
			e, err := event.New(typ, "test", time.Now(), data)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
		}
		mk(event.TypeMemberRegistered, event.MemberRegistered{MemberID: member, SignupChannel: "app", RegisteredAt: time.Now()})
		// Small orders: no tier boundary is crossed. (Crossing one would not
		// change the result either: a purchase earns at the tier held at its
		// purchased_at; functions/points/worker tests that.)
		for i := range 4 {
			mk(event.TypePointsPurchase, purchaseOf(member, fmt.Sprintf("O%d-%s", i, member), int64(1000*(i+1)), 500))
		}
		mk(event.TypePointsReturn, points.Return{ReturnID: "R1-" + member, OrderID: "O1-" + member, MemberID: member, Lines: []points.ReturnLine{{LineID: "1", Quantity: 2}}})
		mk(event.TypePointsReturn, points.Return{ReturnID: "R2-" + member, OrderID: "O3-" + member, MemberID: member, Lines: []points.ReturnLine{{LineID: "2", Quantity: 1}}})
		mk(event.TypePointsBonusRequested, event.BonusRequested{MemberID: member, Reason: "survey", Amount: 50, SourceID: "survey-response-" + member})
		return out
	}
	// The reference member gets each message once, in order.
	for _, e := range msgs(once) {
		sendRaw(t, e)
		time.Sleep(150 * time.Millisecond)
	}
	// The other gets three copies of each (same envelope ids), shuffled.
	var all []event.Envelope
	for _, e := range msgs(thrice) {
		all = append(all, e, e, e)
	}
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for _, e := range all {
		sendRaw(t, e)
	}
	// Both end with 8 entries: welcome, 4 earns, 2 reversals, 1 bonus.
	entries := func(m string) func(*points.Account) bool {
		return func(*points.Account) bool {
			es, err := store().AllEntries(context.Background(), m)
			return err == nil && len(es) == 8
		}
	}
	ref := await(t, once, "single delivery", entries(once))
	await(t, thrice, "triple delivery", entries(thrice))
	// Late duplicates still in flight must change nothing: wait past two
	// visibility timeouts, then compare everything.
	time.Sleep(5 * time.Second)
	// Read both accounts again: await's snapshot may predate the entry
	// that completed its condition (the account is read before the entries).
	ref, _ = store().Account(context.Background(), once)
	got, _ := store().Account(context.Background(), thrice)
	if got.Available != ref.Available || got.Pending != ref.Pending || got.Debt != ref.Debt || got.LifetimeEarned != ref.LifetimeEarned ||
		got.Stats.TotalOrders != 4 || got.Stats.TotalOrders != ref.Stats.TotalOrders || got.Stats.Spend[time.Now().UTC().Format("2006-01")] != ref.Stats.Spend[time.Now().UTC().Format("2006-01")] {
		t.Errorf("thrice %+v\nonce   %+v", got, ref)
	}
	if a, b := ledgerSum(t, thrice), ledgerSum(t, once); a != b || a != got.Net() {
		t.Errorf("ledger sums: thrice %d once %d balance %d", a, b, got.Net())
	}
	es, _ := store().AllEntries(context.Background(), thrice)
	esRef, _ := store().AllEntries(context.Background(), once)
	if len(es) != len(esRef) {
		t.Errorf("%d entries after redelivery, %d after single delivery", len(es), len(esRef))
	}
}

// TestPoisonMessageReachesDLQWithoutBlockingItsBatch sends a malformed
// message among good ones: the good ones apply, the poison one is retried
// and lands in the dead-letter queue after 5 receives.
func TestPoisonMessageReachesDLQWithoutBlockingItsBatch(t *testing.T) {
	t.Parallel()
	member := memberID()
	c := api.SQS()
	poison := `{"id":"poison-` + member + `","type":"points.purchase","version":1,"occurred_at":"2026-11-22T00:00:00Z","source":"test","data":{"order_id":""}}`
	if _, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(stack.QueueURL(topology.PointsEvents)), MessageBody: aws.String(poison)}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		send(t, event.TypePointsPurchase, purchaseOf(member, fmt.Sprintf("G%d-%s", i, member), 10000))
	}
	await(t, member, "good messages", func(a *points.Account) bool { return a.Stats.TotalOrders == 3 })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(stack.QueueURL(topology.DLQName(topology.PointsEvents))), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			if strings.Contains(aws.ToString(m.Body), "poison-"+member) {
				return
			}
			_, _ = c.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(stack.QueueURL(topology.DLQName(topology.PointsEvents))), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
		}
	}
	t.Fatal("the poison message never reached the dead-letter queue")
}

// TestConcurrentRedemptionsOverHTTP: 16 clients redeem on one member at once.
func TestConcurrentRedemptionsOverHTTP(t *testing.T) {
	t.Parallel()
	member := signup(t)
	send(t, event.TypePointsPurchase, purchaseOf(member, "C-"+member, 100000))            // 1000 points
	await(t, member, "seed", func(a *points.Account) bool { return a.Available == 1100 }) // + welcome bonus
	own := api.Token(t, topology.Member, member)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, conflicts := 0, 0
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, out := api.Call(t, "POST", "/v1/members/"+member+"/points/redemptions", own, `{"amount":90,"reason":"coupon"}`, "Idempotency-Key", fmt.Sprintf("c%d-%s", i, member))
			mu.Lock()
			defer mu.Unlock()
			switch st {
			case 201:
				ok++
			case 409:
				conflicts++
			default:
				t.Errorf("status %d: %v", st, out)
			}
		}()
	}
	wg.Wait()
	a, _ := store().Account(context.Background(), member)
	if ok != 12 || a.Available != 1100-int64(ok)*90 || a.Available < 0 {
		t.Errorf("%d redemptions of 90 succeeded (%d conflicts); available %d; want 12 and 20", ok, conflicts, a.Available)
	}
}

// TestWorkerDiedBeforeDeletingTheMessage: the worker applies a message and
// dies before the event source mapping deletes it, so SQS delivers the
// same message again once its visibility timeout lapses. Here the first
// delivery is an invocation of the worker binary with the SQS event (its
// write commits, nothing deletes anything), and the redelivery is the same
// envelope on the real queue. The redelivery must change nothing.
func TestWorkerDiedBeforeDeletingTheMessage(t *testing.T) {
	t.Parallel()
	member := memberID()
	e, err := event.New(event.TypePointsPurchase, "test", time.Now(), purchaseOf(member, "DIE-"+member, 20000))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(e)
	sqsEvent, _ := json.Marshal(map[string]any{"Records": []map[string]any{{
		"messageId": "first-delivery-" + member, "receiptHandle": "gone", "body": string(body),
		"attributes": map[string]string{"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs",
		"eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:" + topology.PointsEvents, "awsRegion": "us-east-1",
	}}})
	out, err := stack.Invoke(context.Background(), "points-worker", sqsEvent)
	if err != nil {
		t.Fatalf("first delivery: %v", err)
	}
	if strings.Contains(string(out), "first-delivery") {
		t.Fatalf("first delivery failed: %s", out)
	}
	first := await(t, member, "first delivery", func(a *points.Account) bool { return a.Available == 200 })
	sendRaw(t, e)
	// A marker sent after the redelivery: once it is applied, the
	// redelivery has been received too (goaws delivers in send order).
	send(t, event.TypePointsBonusRequested, event.BonusRequested{MemberID: member, Reason: "goodwill", Amount: 1, SourceID: "marker-" + member})
	await(t, member, "marker", func(a *points.Account) bool { return a.Available != first.Available })
	time.Sleep(time.Second)
	again, _ := store().Account(context.Background(), member)
	if again.Available != 201 || again.Stats.TotalOrders != 1 || ledgerSum(t, member) != 201 {
		t.Errorf("redelivery changed the account: available %d orders %d ledger %d", again.Available, again.Stats.TotalOrders, ledgerSum(t, member))
	}
}

// TestReturnsRacingAndOvertakingOverHTTP: concurrent returns for the last
// unit get one 202 and 409s; a return posted before its purchase is parked
// and applied once the purchase is; nothing reaches the DLQ.
func TestReturnsRacingAndOvertakingOverHTTP(t *testing.T) {
	t.Parallel()
	member := signup(t)
	pos := api.Token(t, topology.Service, "")
	order := "RACE-" + member
	// A return before its purchase: parked.
	early, _ := json.Marshal(points.Return{ReturnID: "EARLY-" + member, OrderID: order, MemberID: member, Lines: []points.ReturnLine{{LineID: "2", Quantity: 1}}})
	if st, out := api.Call(t, "POST", "/v1/returns", pos, string(early)); st != 202 || out["status"] != "parked" {
		t.Fatalf("early return: %d %v", st, out)
	}
	body, _ := json.Marshal(purchaseOf(member, order, 20000, 10000)) // 2 units of each line
	if st, out := api.Call(t, "POST", "/v1/purchases", pos, string(body)); st != 202 {
		t.Fatalf("purchase: %d %v", st, out)
	}
	// 200 + 100 earned, the welcome bonus, and half of line 2 reversed.
	await(t, member, "purchase and parked return", func(a *points.Account) bool { return a.Available == 100+300-50 })
	// The same order id with other lines is refused.
	other, _ := json.Marshal(purchaseOf(member, order, 20000, 10000, 500))
	if st, out := api.Call(t, "POST", "/v1/purchases", pos, string(other)); st != 409 {
		t.Errorf("reused order id: %d %v", st, out)
	}
	// Line 1 has 2 units; 6 clients race to return one each.
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _ := json.Marshal(points.Return{ReturnID: fmt.Sprintf("R%d-%s", i, member), OrderID: order, MemberID: member, Lines: []points.ReturnLine{{LineID: "1", Quantity: 1}}})
			st, _ := api.Call(t, "POST", "/v1/returns", pos, string(r))
			mu.Lock()
			statuses[st]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[202] != 2 || statuses[409] != 4 {
		t.Fatalf("statuses %v, want two 202 and four 409", statuses)
	}
	a := await(t, member, "both accepted returns", func(a *points.Account) bool { return a.Available == 100+300-50-200 })
	if ledgerSum(t, member) != a.Net() {
		t.Errorf("ledger %d ≠ balance %d", ledgerSum(t, member), a.Net())
	}
}
