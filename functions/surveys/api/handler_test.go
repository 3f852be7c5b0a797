package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"clientele/shared/apigw"
	"clientele/shared/apigw/openapicheck"
	"clientele/shared/dynamo"
	"clientele/shared/dynamo/dynamotest"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/logging"
	"clientele/shared/survey"
)

var (
	db    *dynamodb.Client
	table string
	zone  = mustZone("Asia/Shanghai")
	// testKey is at least 32 bytes, like the deployment's HMAC key.
	testKey = "surveys-api-test-hmac-key-0123456789abcdef"
)

func mustZone(name string) *time.Location {
	z, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return z
}

func TestMain(m *testing.M) {
	dynamotest.Main(m, "surveys-api", func(ctx context.Context, c *dynamodb.Client) (err error) {
		db = c
		table, err = dynamotest.NewTable(ctx, c, "surveys-test")
		return err
	})
}

// recorder is a Publisher that keeps what it was asked to publish, or
// fails when told to.
type recorder struct {
	mu   sync.Mutex
	evs  []event.Envelope
	fail bool
}

func (r *recorder) Publish(_ context.Context, evs ...event.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return fault.New(fault.Unavailable, "queue unreachable")
	}
	r.evs = append(r.evs, evs...)
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.evs)
}

func (r *recorder) last(t *testing.T) survey.Submission {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.evs) == 0 {
		t.Fatal("nothing published")
	}
	var s survey.Submission
	if err := json.Unmarshal(r.evs[len(r.evs)-1].Data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

type fixture struct {
	h     *Handler
	pub   *recorder
	store *dynamo.SurveyStore
	links *survey.Signer
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	links, err := survey.LinkSigner(testKey)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{pub: &recorder{}, links: links, now: time.Now().UTC()}
	f.store = &dynamo.SurveyStore{Client: db, Table: table, Zone: zone, Now: func() time.Time { return f.now }}
	f.h = &Handler{Store: f.store, Publisher: f.pub, Links: links, Zone: zone,
		Log: logging.New(&bytes.Buffer{}, service), Now: func() time.Time { return f.now }, Service: service}
	return f
}

type token map[string]string

var staffToken = token{"sub": "staff-1", "scope": "staff"}

func memberToken(id string) token { return token{"sub": id} }

type call struct {
	method, route string
	id            string
	body          string
	tok           token
	headers       map[string]string
	query         map[string]string
}

func (f *fixture) do(t *testing.T, c call) apigw.Response {
	t.Helper()
	path := strings.ReplaceAll(c.route, "{id}", c.id)
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: c.method + " " + c.route, RawPath: path, Body: c.body,
		Headers: map[string]string{}, QueryStringParameters: c.query}
	if c.id != "" {
		req.PathParameters = map[string]string{"id": c.id}
	}
	req.RequestContext.HTTP.Method = c.method
	req.RequestContext.HTTP.Path = path
	req.RequestContext.RequestID = fmt.Sprintf("req-%d", time.Now().UnixNano())
	if c.body != "" {
		req.Headers["content-type"] = "application/json"
	}
	for k, v := range c.headers {
		req.Headers[strings.ToLower(k)] = v
	}
	if c.tok != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: c.tok},
		}
	}
	resp, err := f.h.Router().Serve(context.Background(), req)
	if err != nil {
		t.Fatalf("Serve returned an error: %v", err)
	}
	document(t).CheckResponse(t, req.RouteKey, resp.StatusCode, resp.Headers["Content-Type"])
	if err := kinValidator(t).CheckLambda(req, c.tok != nil, resp); err != nil {
		t.Error(err)
	}
	return resp
}

var (
	specOnce sync.Once
	spec     openapicheck.Document
	kinOnce  = sync.OnceValues(func() (*openapicheck.Validator, error) {
		return openapicheck.LoadValidator("../../../docs/openapi.json")
	})
)

func document(t testing.TB) openapicheck.Document {
	specOnce.Do(func() { spec = openapicheck.Load(t, "../../../docs/openapi.json") })
	return spec
}

func kinValidator(t testing.TB) *openapicheck.Validator {
	v, err := kinOnce()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func uniq() string { return strings.ToLower(event.NewID(time.Now())[14:]) }

// surveyBody is a definition with an NPS, a CSAT, a CES with a dimension,
// a single choice and a text question.
func surveyBody(id string, extra string) string {
	return `{"id":"` + id + `","name":"After your visit","questions":[` +
		`{"id":"nps","kind":"nps","prompt":"How likely are you to recommend us?","required":true},` +
		`{"id":"csat","kind":"csat","prompt":"How satisfied are you?","dimension":"service_quality"},` +
		`{"id":"ease","kind":"ces","prompt":"The company made it easy for me","dimension":"shopping_experience"},` +
		`{"id":"visit","kind":"single_choice","prompt":"Why did you come?","choices":[{"id":"buy","label":"To buy"},{"id":"look","label":"To look"}]},` +
		`{"id":"why","kind":"text","prompt":"Tell us more","max_length":200}],` +
		`"targeting":{"stores":["s1","s2"],"channels":["store","online"]}` + extra + `}`
}

func problem(t *testing.T, resp apigw.Response) []string {
	t.Helper()
	var p struct {
		Errors []struct{ Field string } `json:"errors"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
		t.Fatalf("problem body %s: %v", resp.Body, err)
	}
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

func (f *fixture) create(t *testing.T, extra string) string {
	t.Helper()
	id := "s-" + uniq()
	resp := f.do(t, call{method: "POST", route: "/v1/surveys", body: surveyBody(id, extra), tok: staffToken})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Body)
	}
	return id
}

// score records the last published submission as surveys-worker does.
func (f *fixture) score(t *testing.T) survey.Submission {
	t.Helper()
	sub := f.pub.last(t)
	d, err := f.store.SurveyVersion(context.Background(), sub.Response.Survey, sub.Response.Version)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.RecordResponse(context.Background(), dynamo.SurveyResponseWrite{ID: sub.ResponseID, Definition: d,
		Response: sub.Response, Nonce: sub.Nonce, NonceExpires: sub.NonceExpires}); err != nil {
		t.Fatal(err)
	}
	return sub
}

func TestCreateGetEditVersions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.create(t, "")
	resp := f.do(t, call{method: "GET", route: "/v1/surveys/{id}", id: id, tok: memberToken("m-1")})
	if resp.StatusCode != 200 || resp.Headers["ETag"] != `"1"` {
		t.Fatalf("get: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	// The version has started (active_from defaults to now): an edit makes
	// version 2, and version 1 stays as it was.
	f.now = f.now.Add(time.Minute)
	edit := `{"name":"After your visit (v2)","questions":[{"id":"nps","kind":"nps","prompt":"How likely are you to recommend us?","required":true}]}`
	resp = f.do(t, call{method: "PUT", route: "/v1/surveys/{id}", id: id, body: edit, tok: staffToken, headers: map[string]string{"If-Match": `"1"`}})
	if resp.StatusCode != 200 {
		t.Fatalf("edit: %d %s", resp.StatusCode, resp.Body)
	}
	var ed Edited
	_ = json.Unmarshal([]byte(resp.Body), &ed)
	if !ed.Created || ed.Survey.Version != 2 {
		t.Errorf("edit of a started version: created %v version %d, want a new version 2", ed.Created, ed.Survey.Version)
	}
	// A stale revision is refused.
	resp = f.do(t, call{method: "PUT", route: "/v1/surveys/{id}", id: id, body: edit, tok: staffToken, headers: map[string]string{"If-Match": `"1"`}})
	if resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match: %d %s", resp.StatusCode, resp.Body)
	}
	resp = f.do(t, call{method: "GET", route: "/v1/surveys/{id}", id: id, tok: staffToken})
	var v SurveyView
	_ = json.Unmarshal([]byte(resp.Body), &v)
	if len(v.Versions) != 2 || len(v.Versions[0].Questions) != 5 || v.Survey.Version != 2 {
		t.Errorf("history: %d versions, v1 has %d questions, latest %d", len(v.Versions), len(v.Versions[0].Questions), v.Survey.Version)
	}
	resp = f.do(t, call{method: "GET", route: "/v1/surveys", tok: staffToken})
	var list SurveyList
	_ = json.Unmarshal([]byte(resp.Body), &list)
	if !slices.ContainsFunc(list.Surveys, func(s dynamo.SurveySummary) bool { return s.ID == id }) {
		t.Errorf("list misses %s: %s", id, resp.Body)
	}
	// The same id again is a conflict naming id.
	resp = f.do(t, call{method: "POST", route: "/v1/surveys", body: surveyBody(id, ""), tok: staffToken})
	if resp.StatusCode != http.StatusConflict || !slices.Contains(problem(t, resp), "id") {
		t.Errorf("existing id: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestBadDefinitionsNameTheirFields(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := []struct{ name, body, field string }{
		{"bad id", surveyBody("-bad", ""), "id"},
		{"nps out of kinds", strings.Replace(surveyBody("s-"+uniq(), ""), `"kind":"nps"`, `"kind":"stars"`, 1), "questions[0].kind"},
		{"one choice", strings.Replace(surveyBody("s-"+uniq(), ""), `,{"id":"look","label":"To look"}`, ``, 1), "questions[3].choices"},
		{"unknown field", strings.Replace(surveyBody("s-"+uniq(), ""), `"name"`, `"colour":"red","name"`, 1), "colour"},
		{"unknown channel", strings.Replace(surveyBody("s-"+uniq(), ""), `"online"]`, `"fax"]`, 1), "targeting.channels[1]"},
	}
	for _, c := range cases {
		resp := f.do(t, call{method: "POST", route: "/v1/surveys", body: c.body, tok: staffToken})
		if resp.StatusCode != 400 || !slices.Contains(problem(t, resp), c.field) {
			t.Errorf("%s: %d %s, want 400 naming %s", c.name, resp.StatusCode, resp.Body, c.field)
		}
	}
	resp := f.do(t, call{method: "POST", route: "/v1/surveys", body: surveyBody("s-"+uniq(), ""), tok: memberToken("m-1")})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("member creating a survey: %d", resp.StatusCode)
	}
}

const goodAnswers = `[{"question":"nps","value":3},{"question":"csat","value":2},{"question":"ease","value":6},` +
	`{"question":"visit","value":"buy"},{"question":"why","value":"Long queue"}]`

func TestMemberAnswersOnceAndIdempotently(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.create(t, "")
	m := "m-" + uniq()
	body := `{"store":"s1","channel":"store","answers":` + goodAnswers + `}`
	resp := f.do(t, call{method: "POST", route: "/v1/surveys/{id}/responses", id: id, body: body, tok: memberToken(m)})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("answer: %d %s", resp.StatusCode, resp.Body)
	}
	sub := f.score(t)
	if sub.Response.MemberID != m || sub.Response.Store != "s1" || len(sub.Response.Answers) != 5 {
		t.Errorf("submission %+v", sub.Response)
	}
	// The same answers again (a retry, later): 202, nothing queued.
	f.now = f.now.Add(time.Minute)
	before := f.pub.count()
	resp = f.do(t, call{method: "POST", route: "/v1/surveys/{id}/responses", id: id, body: body, tok: memberToken(m)})
	var acc Accepted
	_ = json.Unmarshal([]byte(resp.Body), &acc)
	if resp.StatusCode != http.StatusAccepted || acc.Status != "already_recorded" || acc.ResponseID != sub.ResponseID || f.pub.count() != before {
		t.Errorf("retry: %d %s, %d events queued", resp.StatusCode, resp.Body, f.pub.count()-before)
	}
	// Other answers from the same member: a second response, 409 naming member_id.
	other := strings.Replace(body, `"value":3`, `"value":9`, 1)
	resp = f.do(t, call{method: "POST", route: "/v1/surveys/{id}/responses", id: id, body: other, tok: memberToken(m)})
	if resp.StatusCode != http.StatusConflict || !slices.Contains(problem(t, resp), "member_id") || f.pub.count() != before {
		t.Errorf("second response: %d %s", resp.StatusCode, resp.Body)
	}
	resp = f.do(t, call{method: "POST", route: "/v1/surveys/{id}/responses", id: id, body: body, tok: staffToken})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("staff answering: %d", resp.StatusCode)
	}
}

// TestBadAnswersWriteNothing: every kind of bad answer is a 400 naming its
// field, and nothing is queued or stored.
func TestBadAnswersWriteNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.create(t, `,"active_to":"`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"`)
	cases := []struct{ name, body, field string }{
		{"nps out of range", `{"store":"s1","channel":"store","answers":[{"question":"nps","value":11}]}`, "answers[0].value"},
		{"csat out of range", `{"store":"s1","channel":"store","answers":[{"question":"nps","value":5},{"question":"csat","value":0}]}`, "answers[1].value"},
		{"required missing", `{"store":"s1","channel":"store","answers":[{"question":"csat","value":4}]}`, "answers"},
		{"required null", `{"store":"s1","channel":"store","answers":[{"question":"nps","value":null}]}`, "answers[0].value"},
		{"unknown choice", `{"store":"s1","channel":"store","answers":[{"question":"nps","value":8},{"question":"visit","value":"steal"}]}`, "answers[1].value"},
		{"unknown question", `{"store":"s1","channel":"store","answers":[{"question":"nps","value":8},{"question":"colour","value":1}]}`, "answers[1].question"},
		{"text too long", `{"store":"s1","channel":"store","answers":[{"question":"nps","value":8},{"question":"why","value":"` + strings.Repeat("x", 201) + `"}]}`, "answers[1].value"},
		{"store not targeted", `{"store":"s9","channel":"store","answers":[{"question":"nps","value":8}]}`, "store"},
		{"channel not targeted", `{"store":"s1","channel":"app","answers":[{"question":"nps","value":8}]}`, "channel"},
		{"wrong type", `{"store":"s1","channel":"store","answers":[{"question":"nps","value":"eight"}]}`, "answers[0].value"},
		{"bad order id", `{"order_id":"#x","store":"s1","channel":"store","answers":[{"question":"nps","value":8}]}`, "order_id"},
		{"unknown field", `{"store":"s1","channel":"store","mood":"happy","answers":[{"question":"nps","value":8}]}`, "mood"},
	}
	for _, c := range cases {
		resp := f.do(t, call{method: "POST", route: "/v1/surveys/{id}/responses", id: id, body: c.body, tok: memberToken("m-" + uniq())})
		if resp.StatusCode != 400 || !slices.Contains(problem(t, resp), c.field) {
			t.Errorf("%s: %d %s, want 400 naming %s", c.name, resp.StatusCode, resp.Body, c.field)
		}
	}
	// Outside the window.
	f.now = f.now.Add(2 * time.Hour)
	resp := f.do(t, call{method: "POST", route: "/v1/surveys/{id}/responses", id: id,
		body: `{"store":"s1","channel":"store","answers":[{"question":"nps","value":8}]}`, tok: memberToken("m-" + uniq())})
	if resp.StatusCode != 400 || !slices.Contains(problem(t, resp), "survey") {
		t.Errorf("closed survey: %d %s", resp.StatusCode, resp.Body)
	}
	if n := f.pub.count(); n != 0 {
		t.Errorf("%d events queued for bad answers", n)
	}
	resp = f.do(t, call{method: "GET", route: "/v1/surveys/{id}/scores", id: id, tok: staffToken,
		query: map[string]string{"from": (survey.DayOf(f.now, zone) - 30).String(), "to": (survey.DayOf(f.now, zone) + 1).String(), "tz": "Asia/Shanghai"}})
	var rep survey.Report
	_ = json.Unmarshal([]byte(resp.Body), &rep)
	if resp.StatusCode != 200 || len(rep.Scores) == 0 || rep.Scores[0].Score.N != 0 || rep.Scores[0].Score.Skipped != 0 {
		t.Errorf("scores after bad answers only: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestLinkTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.create(t, "")
	m := "m-" + uniq()
	issue := func(c survey.Claims, ttl time.Duration) string {
		tok, _, err := f.links.IssueFor(c, f.now, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := issue(survey.Claims{Survey: id, Member: m, Order: "o-" + uniq(), Store: "s2", Channel: "online"}, time.Hour)
	post := func(tok, answers string) apigw.Response {
		return f.do(t, call{method: "POST", route: "/v1/survey-responses", body: `{"token":"` + tok + `","answers":` + answers + `}`})
	}
	forger, _ := survey.NewSigner("h1", map[string][]byte{"h1": []byte(strings.Repeat("k", 32))})
	forged, _, _ := forger.IssueFor(survey.Claims{Survey: id, Member: m, Store: "s2", Channel: "online"}, f.now, time.Hour)
	expired := issue(survey.Claims{Survey: id, Member: m, Store: "s2", Channel: "online"}, time.Minute)
	parts := strings.Split(good, ".")
	altered := parts[0] + "." + parts[1] + "x." + parts[2]
	f.now = f.now.Add(2 * time.Minute)
	for name, c := range map[string]struct {
		tok    string
		status int
	}{
		"forged":    {forged, 401},
		"expired":   {expired, 401},
		"altered":   {altered, 401},
		"malformed": {"not-a-token", 401},
		"missing":   {"", 400},
	} {
		resp := post(c.tok, goodAnswers)
		if resp.StatusCode != c.status || !slices.Contains(problem(t, resp), "token") {
			t.Errorf("%s token: %d %s, want %d naming token", name, resp.StatusCode, resp.Body, c.status)
		}
	}
	if n := f.pub.count(); n != 0 {
		t.Fatalf("%d events queued for refused tokens", n)
	}
	// A link to a survey that does not exist.
	ghost := issue(survey.Claims{Survey: "no-such-survey", Member: m, Store: "s2", Channel: "online"}, time.Hour)
	if resp := post(ghost, goodAnswers); resp.StatusCode != http.StatusForbidden || !slices.Contains(problem(t, resp), "token") {
		t.Errorf("ghost survey: %d %s", resp.StatusCode, resp.Body)
	}
	resp := post(good, goodAnswers)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("good token: %d %s", resp.StatusCode, resp.Body)
	}
	sub := f.score(t)
	if sub.Response.MemberID != m || sub.Response.Store != "s2" || sub.Response.Channel != "online" || sub.Nonce == "" {
		t.Errorf("link response bound to %+v nonce %q", sub.Response, sub.Nonce)
	}
	// Reused with other answers: 409 naming token; the same answers: 202 already recorded.
	if resp := post(good, strings.Replace(goodAnswers, `"value":3`, `"value":10`, 1)); resp.StatusCode != http.StatusConflict ||
		!slices.Contains(problem(t, resp), "token") {
		t.Errorf("reused token: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := post(good, goodAnswers); resp.StatusCode != http.StatusAccepted || !strings.Contains(resp.Body, "already_recorded") {
		t.Errorf("retried link answer: %d %s", resp.StatusCode, resp.Body)
	}
	if n := f.pub.count(); n != 1 {
		t.Errorf("%d events queued, want the one accepted answer", n)
	}
}

func TestScoresReportAndBadParameters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.create(t, `,"min_sample":2`)
	for i, nps := range []int{10, 9, 3} {
		body := fmt.Sprintf(`{"store":"s%d","channel":"store","answers":[{"question":"nps","value":%d},{"question":"csat","value":5}]}`, 1+i%2, nps)
		resp := f.do(t, call{method: "POST", route: "/v1/surveys/{id}/responses", id: id, body: body, tok: memberToken("m-" + uniq())})
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("answer %d: %d %s", i, resp.StatusCode, resp.Body)
		}
		f.score(t)
	}
	day := survey.DayOf(f.now, zone)
	q := map[string]string{"from": day.String(), "to": (day + 1).String(), "tz": "Asia/Shanghai", "granularity": "day"}
	resp := f.do(t, call{method: "GET", route: "/v1/surveys/{id}/scores", id: id, tok: staffToken, query: q})
	if resp.StatusCode != 200 {
		t.Fatalf("scores: %d %s", resp.StatusCode, resp.Body)
	}
	var rep struct {
		Scores []struct {
			Question string
			Score    struct {
				Status  string
				N       int64
				Skipped int64
				Value   *float64
				Counts  map[string]int64
			}
		}
		Ranking []struct{ Store string }
	}
	_ = json.Unmarshal([]byte(resp.Body), &rep)
	byQ := map[string]int{}
	for i, s := range rep.Scores {
		byQ[s.Question] = i
	}
	nps := rep.Scores[byQ["nps"]].Score
	// 2 promoters, 1 detractor of 3: NPS = 100·(2−1)/3 = 33.33.
	if nps.N != 3 || nps.Value == nil || *nps.Value != 33.33 || nps.Counts["promoters"] != 2 || nps.Counts["detractors"] != 1 {
		t.Errorf("nps %+v", nps)
	}
	// ease was skipped by all three: counted apart, insufficient.
	ease := rep.Scores[byQ["ease"]].Score
	if ease.N != 0 || ease.Skipped != 3 || ease.Status != "insufficient" || ease.Value != nil {
		t.Errorf("ease %+v", ease)
	}
	if len(rep.Ranking) != 2 {
		t.Errorf("ranking %+v", rep.Ranking)
	}
	for name, c := range map[string]struct {
		q     map[string]string
		field string
	}{
		"bad from":    {map[string]string{"from": "yesterday", "to": "2026-01-01", "tz": "Asia/Shanghai"}, "from"},
		"wrong zone":  {map[string]string{"from": "2026-01-01", "to": "2026-02-01", "tz": "Europe/Paris"}, "tz"},
		"bad channel": {map[string]string{"from": "2026-01-01", "to": "2026-02-01", "tz": "Asia/Shanghai", "channel": "fax"}, "channel"},
		"dimension":   {map[string]string{"from": "2026-01-01", "to": "2026-02-01", "tz": "Asia/Shanghai", "dimension": "delivery"}, "dimension"},
	} {
		resp := f.do(t, call{method: "GET", route: "/v1/surveys/{id}/scores", id: id, tok: staffToken, query: c.q})
		if resp.StatusCode != 400 || !slices.Contains(problem(t, resp), c.field) {
			t.Errorf("%s: %d %s, want 400 naming %s", name, resp.StatusCode, resp.Body, c.field)
		}
	}
	if resp := f.do(t, call{method: "GET", route: "/v1/surveys/{id}/scores", id: "nope-" + uniq(), tok: staffToken, query: q}); resp.StatusCode != 404 {
		t.Errorf("unknown survey: %d", resp.StatusCode)
	}
	if resp := f.do(t, call{method: "GET", route: "/v1/surveys/{id}/scores", id: id, tok: memberToken("m-1"), query: q}); resp.StatusCode != 403 {
		t.Errorf("member reading scores: %d", resp.StatusCode)
	}
}

func TestQueueDownIs503AndWritesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.create(t, "")
	f.pub.fail = true
	m := "m-" + uniq()
	body := `{"store":"s1","channel":"store","answers":[{"question":"nps","value":8}]}`
	resp := f.do(t, call{method: "POST", route: "/v1/surveys/{id}/responses", id: id, body: body, tok: memberToken(m)})
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("queue down: %d %s", resp.StatusCode, resp.Body)
	}
	f.pub.fail = false
	resp = f.do(t, call{method: "POST", route: "/v1/surveys/{id}/responses", id: id, body: body, tok: memberToken(m)})
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(resp.Body, `"accepted"`) {
		t.Errorf("retry after the queue came back: %d %s", resp.StatusCode, resp.Body)
	}
}

// TestAnswersGoToTheVersionOpenNow: an edit scheduled for later makes a
// version that is not open yet; until it opens, answers are validated
// against (and recorded for) the version open now.
func TestAnswersGoToTheVersionOpenNow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.create(t, "")
	f.now = f.now.Add(time.Minute)
	later := f.now.Add(24 * time.Hour).Format(time.RFC3339)
	edit := `{"name":"v2","active_from":"` + later + `","questions":[{"id":"rating","kind":"rating","prompt":"Rate us","required":true}]}`
	if resp := f.do(t, call{method: "PUT", route: "/v1/surveys/{id}", id: id, body: edit, tok: staffToken, headers: map[string]string{"If-Match": `"1"`}}); resp.StatusCode != 200 {
		t.Fatalf("edit: %d %s", resp.StatusCode, resp.Body)
	}
	body := `{"store":"s1","channel":"store","answers":[{"question":"nps","value":9}]}`
	resp := f.do(t, call{method: "POST", route: "/v1/surveys/{id}/responses", id: id, body: body, tok: memberToken("m-" + uniq())})
	if resp.StatusCode != http.StatusAccepted || f.pub.last(t).Response.Version != 1 {
		t.Fatalf("answer before v2 opens: %d %s", resp.StatusCode, resp.Body)
	}
	f.now = f.now.Add(25 * time.Hour)
	resp = f.do(t, call{method: "POST", route: "/v1/surveys/{id}/responses", id: id, body: body, tok: memberToken("m-" + uniq())})
	if resp.StatusCode != 400 || !slices.Contains(problem(t, resp), "answers[0].question") {
		t.Errorf("a v1 answer once v2 is open: %d %s", resp.StatusCode, resp.Body)
	}
}

// TestALinkAfterTheMembersOwnAnswerNamesTheMember: one response per
// member, whichever way it came: a link answer after the member answered
// with their own token is refused naming member_id (the link itself is
// unused).
func TestALinkAfterTheMembersOwnAnswerNamesTheMember(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.create(t, "")
	m := "m-" + uniq()
	body := `{"store":"s1","channel":"store","answers":[{"question":"nps","value":9}]}`
	if resp := f.do(t, call{method: "POST", route: "/v1/surveys/{id}/responses", id: id, body: body, tok: memberToken(m)}); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("own answer: %d %s", resp.StatusCode, resp.Body)
	}
	f.score(t)
	tok, _, err := f.links.IssueFor(survey.Claims{Survey: id, Member: m, Store: "s1", Channel: "store"}, f.now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	resp := f.do(t, call{method: "POST", route: "/v1/survey-responses", body: `{"token":"` + tok + `","answers":[{"question":"nps","value":3}]}`})
	if resp.StatusCode != http.StatusConflict || !slices.Equal(problem(t, resp), []string{"member_id"}) {
		t.Errorf("link answer after the member's own: %d %s, want 409 naming member_id", resp.StatusCode, resp.Body)
	}
}
