package local_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/golang-jwt/jwt/v5"

	"clientele/infra/local"
	"clientele/infra/topology"
	"clientele/shared/dynamo/dynamolocal"
	"clientele/shared/env"
)

// testSystem is a small topology served by the functions in testdata.
func testSystem() topology.System {
	all := []topology.Caller{topology.Member, topology.Staff, topology.Service}
	return topology.System{
		Tables: []topology.Table{{
			Name:         "records",
			PartitionKey: topology.Key{Name: "id", Type: topology.String},
			Indexes: []topology.Index{{
				Name:         "by-kind",
				PartitionKey: topology.Key{Name: "kind_attribute", Type: topology.String},
				SortKey:      &topology.Key{Name: "id", Type: topology.String},
			}},
			TTLAttribute: "expires_at",
		}},
		Functions: []topology.Function{
			{Name: "echo", Entry: "infra/local/testdata/echo", MemoryMB: 128, Timeout: time.Second,
				Publishes: []string{"job.requested"}, Env: map[string]string{"CLIENTELE_ECHO_STATIC": "static"}, UsesHMACKey: true},
			{Name: "consumer", Entry: "infra/local/testdata/consumer", MemoryMB: 128, Timeout: 2 * time.Second,
				WritesTables: []string{"records"}},
			{Name: "recorder", Entry: "infra/local/testdata/recorder", MemoryMB: 256, Timeout: 10 * time.Second,
				WritesTables: []string{"records"}},
		},
		Routes: []topology.Route{
			{Method: "GET", Path: "/v1/echo/{id}", Function: "echo", Callers: []topology.Caller{topology.Member, topology.Staff}},
			{Method: "GET", Path: "/v1/echo/fixed", Function: "echo", Callers: all},
			{Method: "GET", Path: "/v1/echo/{id}/items/{item}", Function: "echo", Callers: all},
			{Method: "GET", Path: "/v1/files/{path+}", Function: "echo", Callers: all},
			{Method: "POST", Path: "/v1/echo", Function: "echo", Callers: []topology.Caller{topology.Service}},
			{Method: "POST", Path: "/v1/blobs", Function: "echo", Callers: all},
			{Method: "POST", Path: "/v1/jobs", Function: "echo", Callers: all},
			{Method: "GET", Path: "/v1/sleep", Function: "echo", Callers: all},
			{Method: "GET", Path: "/v1/crash", Function: "echo", Callers: all},
			// The one kind of route without the authorizer (topology.PublicRoutes).
			{Method: "POST", Path: "/v1/survey-responses", Function: "echo", Public: true, Throttle: &topology.Throttle{RatePerSecond: 5, Burst: 5}},
		},
		Queues: []topology.Queue{{
			Name:            "jobs",
			Subscribes:      []string{"job.requested"},
			Consumer:        "consumer",
			BatchSize:       10,
			BatchWindow:     500 * time.Millisecond,
			MaxReceiveCount: 5,
			Retention:       24 * time.Hour,
			DLQRetention:    24 * time.Hour,
		}},
		Schedules: []topology.Schedule{
			{Name: "nightly", Cron: "0 3 * * *", Function: "recorder", Payload: `{"job":"nightly","segments":4}`},
			{Name: "heartbeat", Cron: "*/30 * * * *", Function: "recorder"},
		},
	}
}

// testVisibility keeps redrive tests short: five receives take about 12 s.
const testVisibility = 2 * time.Second

// stackLog collects the stack's log; the tail is shown when a test fails.
// CLIENTELE_LOCAL_TEST_LOG=1 streams it to stderr as well.
type stackLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *stackLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if os.Getenv("CLIENTELE_LOCAL_TEST_LOG") != "" {
		os.Stderr.Write(p)
	}
	return l.buf.Write(p)
}

func (l *stackLog) tail(lines int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	all := strings.Split(strings.TrimRight(l.buf.String(), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

func testConfig(t *testing.T, dataDir string, log io.Writer) local.Config {
	t.Helper()
	root, err := local.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return local.Config{
		Root:              root,
		System:            testSystem(),
		DataDir:           dataDir,
		APIAddr:           "127.0.0.1:0",
		DynamoDBEndpoint:  os.Getenv(dynamolocal.EndpointVar),
		Log:               log,
		ExtraEnv:          map[string]string{"TEST_EXTRA": "extra"},
		VisibilityTimeout: testVisibility,
	}
}

func startStack(t *testing.T, cfg local.Config) *local.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stack, err := local.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("starting the local stack failed. It needs Java 11+ on PATH and DynamoDB Local in %s "+
			"(run .ci/fetch-dynamodb-local.sh), or %s naming a DynamoDB endpoint:\n%v",
			dynamolocal.Dir(), dynamolocal.EndpointVar, err)
	}
	return stack
}

// TestLocalStack runs one stack (goaws allows one per process) through the
// API, queue and schedule scenarios in parallel, then restarts it.
func TestLocalStack(t *testing.T) {
	if testing.Short() {
		t.Skip("make test-short: the local stack builds functions and starts DynamoDB Local; make test runs it")
	}
	log := &stackLog{}
	dataDir := t.TempDir()
	cfg := testConfig(t, dataDir, log)
	started := time.Now()
	stack := startStack(t, cfg)
	t.Logf("stack started in %s", time.Since(started).Round(time.Millisecond))
	defer func() {
		if stack != nil {
			if err := stack.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("last lines of the stack's log:\n%s", log.tail(150))
		}
	}()
	e := &scenarios{stack: stack, db: dynamoClient(stack), sqs: sqsClient(stack), stackDataDir: dataDir}

	t.Run("scenarios", func(t *testing.T) {
		t.Run("routes match methods and path parameters", e.testRoutes)
		t.Run("unknown routes are 404", e.testNotFound)
		t.Run("missing or bad tokens are 401", e.testUnauthorized)
		t.Run("only public routes take callers without a token", e.testPublicRoutes)
		t.Run("claims and scopes are shaped like AWS", e.testClaims)
		t.Run("event is payload format 2.0", e.testEventShape)
		t.Run("function environment", e.testEnvironment)
		t.Run("response headers and cookies", e.testResponse)
		t.Run("bodies: text stays text, binary round-trips base64", e.testBodies)
		t.Run("concurrent requests use several instances", e.testConcurrency)
		t.Run("timed-out invocation restarts the process", e.testTimeout)
		t.Run("crashed process is replaced", e.testCrash)
		t.Run("partial batch failure retries one message into the DLQ", e.testPartialBatchFailure)
		t.Run("message sent by a function reaches its consumer", e.testFunctionToQueue)
		t.Run("schedule fires through the endpoint", e.testScheduleEndpoint)
		t.Run("FireSchedule sends EventBridge's event without a payload", e.testFireSchedule)
	})
	if t.Failed() {
		return
	}
	t.Run("cold starts are recorded", func(t *testing.T) {
		for _, fn := range []string{"echo", "consumer", "recorder"} {
			st := stack.Stats(fn)
			if len(st.ColdStarts) == 0 {
				t.Errorf("%s: no cold start recorded: %+v", fn, st)
			}
			for _, d := range st.ColdStarts {
				if d <= 0 || d > 30*time.Second {
					t.Errorf("%s: implausible cold start %s", fn, d)
				}
			}
			t.Logf("%s: cold starts %v, %d invocations", fn, st.ColdStarts, st.Invocations)
		}
	})
	t.Run("restart keeps tables and the issuer key", func(t *testing.T) {
		token, err := stack.Token(topology.Staff, "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		putRecord(t, e.db, "persisted", "survives a restart")
		if err := stack.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		stack = nil
		stack = startStack(t, cfg)
		e2 := &scenarios{stack: stack, db: dynamoClient(stack)}
		if got := getRecord(t, e2.db, "persisted"); got["body"] != "survives a restart" {
			t.Errorf("after restart the item is %v", got)
		}
		resp, _ := e2.call(t, "GET", "/v1/echo/after-restart", nil, token, nil)
		if resp.StatusCode != 200 {
			t.Errorf("a token issued before the restart got %d", resp.StatusCode)
		}
	})
}

// scenarios holds what the scenarios share.
type scenarios struct {
	stack *local.Stack
	db    *dynamodb.Client
	sqs   *sqs.Client
	// stackDataDir holds the issuer key, with which tests forge tokens the
	// dev issuer would not sign (expired, wrong audience, ...).
	stackDataDir string
}

func dynamoClient(s *local.Stack) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.DynamoDBEndpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
}

func sqsClient(s *local.Stack) *sqs.Client {
	return sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.SQSEndpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
}

// token returns a dev token or fails the test.
func (e *scenarios) token(t *testing.T, role topology.Caller, sub string) string {
	t.Helper()
	tok, err := e.stack.Token(role, sub, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// call sends a request to the local API with an optional bearer token.
func (e *scenarios) call(t *testing.T, method, path string, body []byte, token string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.stack.APIURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

// echoReply is the body the echo function answers with.
type echoReply struct {
	Event       events.APIGatewayV2HTTPRequest `json:"event"`
	Env         map[string]string              `json:"env"`
	PID         int                            `json:"pid"`
	RequestID   string                         `json:"requestId"`
	FunctionARN string                         `json:"functionArn"`
	DeadlineMS  int64                          `json:"deadlineMs"`
}

// echo calls the echo function and decodes its reply, failing unless 200.
func (e *scenarios) echo(t *testing.T, method, path, token string, header http.Header) (*http.Response, echoReply) {
	t.Helper()
	resp, body := e.call(t, method, path, nil, token, header)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: status %d: %s", method, path, resp.StatusCode, body)
	}
	var reply echoReply
	if err := json.Unmarshal(body, &reply); err != nil {
		t.Fatalf("%s %s: decoding %s: %v", method, path, body, err)
	}
	return resp, reply
}

func (e *scenarios) testRoutes(t *testing.T) {
	t.Parallel()
	staff := e.token(t, topology.Staff, "")
	cases := []struct {
		path, routeKey string
		params         map[string]string
	}{
		{"/v1/echo/abc", "GET /v1/echo/{id}", map[string]string{"id": "abc"}},
		{"/v1/echo/fixed", "GET /v1/echo/fixed", nil},
		{"/v1/echo/a%20b/items/42", "GET /v1/echo/{id}/items/{item}", map[string]string{"id": "a b", "item": "42"}},
		{"/v1/files/reports/2024/q1.csv", "GET /v1/files/{path+}", map[string]string{"path": "reports/2024/q1.csv"}},
	}
	for _, c := range cases {
		_, reply := e.echo(t, "GET", c.path, staff, nil)
		if reply.Event.RouteKey != c.routeKey || reply.Event.RequestContext.RouteKey != c.routeKey {
			t.Errorf("%s: routeKey %q / %q, want %q", c.path, reply.Event.RouteKey, reply.Event.RequestContext.RouteKey, c.routeKey)
		}
		if !mapsEqual(reply.Event.PathParameters, c.params) {
			t.Errorf("%s: pathParameters %v, want %v", c.path, reply.Event.PathParameters, c.params)
		}
		if reply.Event.RawPath != c.path {
			t.Errorf("%s: rawPath %q", c.path, reply.Event.RawPath)
		}
	}
}

func (e *scenarios) testNotFound(t *testing.T) {
	t.Parallel()
	staff := e.token(t, topology.Staff, "")
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/nothing"},
		{"DELETE", "/v1/echo/abc"},
		{"GET", "/v1/echo/abc/"},
		{"GET", "/v1/echo"},
		{"GET", "/v1/files/"},
	} {
		resp, body := e.call(t, c.method, c.path, nil, staff, nil)
		if resp.StatusCode != 404 || strings.TrimSpace(string(body)) != `{"message":"Not Found"}` {
			t.Errorf("%s %s: %d %s, want 404 {\"message\":\"Not Found\"}", c.method, c.path, resp.StatusCode, body)
		}
	}
	// Unknown routes are 404 even without a token, as on API Gateway.
	if resp, _ := e.call(t, "GET", "/v1/nothing", nil, "", nil); resp.StatusCode != 404 {
		t.Errorf("unknown route without token: %d", resp.StatusCode)
	}
}

// signWithStackKey signs arbitrary claims with the stack's issuer key, read
// from the data directory, to build tokens the dev issuer would not.
func signWithStackKey(t *testing.T, dataDir string, claims jwt.MapClaims, kid string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dataDir, "issuer-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// kidOf reads the kid of a token the stack issued.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := parsed.Header["kid"].(string)
	return kid
}

func (e *scenarios) testUnauthorized(t *testing.T) {
	t.Parallel()
	other, err := local.OpenIssuer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := other.Token(topology.Staff, "", time.Hour)
	good := e.token(t, topology.Staff, "")
	kid := kidOf(t, good)
	now := time.Now()
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": local.IssuerName, "aud": local.Audience, "sub": "x", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	expired := base()
	expired["exp"] = now.Add(-time.Minute).Unix()
	notYet := base()
	notYet["nbf"] = now.Add(time.Hour).Unix()
	wrongIssuer := base()
	wrongIssuer["iss"] = "someone-else"
	wrongAudience := base()
	wrongAudience["aud"] = "another-api"
	noExpiry := base()
	delete(noExpiry, "exp")
	cases := map[string]string{
		"no token":            "",
		"garbage":             "Bearer not-a-jwt",
		"foreign key":         "Bearer " + foreign,
		"expired":             "Bearer " + signWithStackKey(t, e.stackDataDir, expired, kid),
		"not yet valid":       "Bearer " + signWithStackKey(t, e.stackDataDir, notYet, kid),
		"wrong issuer":        "Bearer " + signWithStackKey(t, e.stackDataDir, wrongIssuer, kid),
		"wrong audience":      "Bearer " + signWithStackKey(t, e.stackDataDir, wrongAudience, kid),
		"no expiry":           "Bearer " + signWithStackKey(t, e.stackDataDir, noExpiry, kid),
		"unknown kid":         "Bearer " + signWithStackKey(t, e.stackDataDir, base(), "other-kid"),
		"tampered":            "Bearer " + good[:len(good)-4] + "AAAA",
		"basic authorization": "Basic dXNlcjpwYXNz",
	}
	for name, header := range cases {
		h := http.Header{}
		if header != "" {
			h.Set("Authorization", header)
		}
		resp, body := e.call(t, "GET", "/v1/echo/abc", nil, "", h)
		if resp.StatusCode != 401 || string(body) != `{"message":"Unauthorized"}` || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s, want 401 {\"message\":\"Unauthorized\"}", name, resp.StatusCode, body)
		}
	}
	// API Gateway accepts the token with or without "Bearer ".
	h := http.Header{"Authorization": {good}}
	if resp, body := e.call(t, "GET", "/v1/echo/abc", nil, "", h); resp.StatusCode != 200 {
		t.Errorf("token without Bearer prefix: %d %s", resp.StatusCode, body)
	}
	// A token using client_id instead of aud (Cognito access tokens) passes.
	clientIDOnly := base()
	delete(clientIDOnly, "aud")
	clientIDOnly["client_id"] = local.Audience
	if resp, body := e.call(t, "GET", "/v1/echo/abc", nil, signWithStackKey(t, e.stackDataDir, clientIDOnly, kid), nil); resp.StatusCode != 200 {
		t.Errorf("token with client_id audience: %d %s", resp.StatusCode, body)
	}
}

// testPublicRoutes calls every route without a token: the public route
// reaches its function with no authorizer context; every other answers
// API Gateway's 401.
func (e *scenarios) testPublicRoutes(t *testing.T) {
	t.Parallel()
	for _, r := range testSystem().Routes {
		path := strings.NewReplacer("{id}", "p1", "{item}", "i1", "{path+}", "a/b").Replace(r.Path)
		resp, body := e.call(t, r.Method, path, []byte(`{}`), "", http.Header{"Content-Type": {"application/json"}})
		if !r.Public {
			if resp.StatusCode != 401 || string(body) != `{"message":"Unauthorized"}` {
				t.Errorf("%s %s without a token: %d %s, want 401", r.Method, path, resp.StatusCode, body)
			}
			continue
		}
		if resp.StatusCode != 200 {
			t.Fatalf("public %s %s without a token: %d %s, want the function's 200", r.Method, path, resp.StatusCode, body)
		}
		var reply echoReply
		if err := json.Unmarshal(body, &reply); err != nil {
			t.Fatal(err)
		}
		if reply.Event.RouteKey != r.Method+" "+r.Path || reply.Event.RequestContext.Authorizer != nil {
			t.Errorf("public route: route key %q, authorizer %+v; want %s and no authorizer", reply.Event.RouteKey,
				reply.Event.RequestContext.Authorizer, r.Method+" "+r.Path)
		}
	}
}

func (e *scenarios) testClaims(t *testing.T) {
	t.Parallel()
	_, staff := e.echo(t, "GET", "/v1/echo/s", e.token(t, topology.Staff, ""), nil)
	jwtDesc := staff.Event.RequestContext.Authorizer.JWT
	claims := jwtDesc.Claims
	if claims["cognito:groups"] != "[staff]" || claims["sub"] != local.DefaultStaffSubject || claims["iss"] != local.IssuerName || claims["scope"] != "staff" {
		t.Errorf("staff claims: %v", claims)
	}
	if _, err := strconv.ParseInt(claims["exp"], 10, 64); err != nil {
		t.Errorf("exp claim %q is not rendered as an integer", claims["exp"])
	}
	if !slices.Equal(jwtDesc.Scopes, []string{"staff"}) {
		t.Errorf("staff scopes: %v", jwtDesc.Scopes)
	}

	_, member := e.echo(t, "GET", "/v1/echo/m", e.token(t, topology.Member, "01HMEMBER"), nil)
	mj := member.Event.RequestContext.Authorizer.JWT
	if mj.Claims["sub"] != "01HMEMBER" || mj.Claims["scope"] != "" || mj.Scopes != nil {
		t.Errorf("member claims %v scopes %v", mj.Claims, mj.Scopes)
	}

	_, service := e.echo(t, "GET", "/v1/echo/fixed", e.token(t, topology.Service, ""), nil)
	sj := service.Event.RequestContext.Authorizer.JWT
	if sj.Claims["sub"] != local.DefaultServiceSubject || sj.Claims["client_id"] != local.DefaultServiceSubject || !slices.Equal(sj.Scopes, local.ServiceScopes()) || !slices.Contains(sj.Scopes, "members:write") || !slices.Contains(sj.Scopes, "points:write") {
		t.Errorf("service claims %v scopes %v", sj.Claims, sj.Scopes)
	}

	// Array claims render as API Gateway renders them: "[a b]".
	kid := kidOf(t, e.token(t, topology.Staff, ""))
	now := time.Now()
	custom := signWithStackKey(t, e.stackDataDir, jwt.MapClaims{
		"iss": local.IssuerName, "aud": local.Audience, "sub": "u1", "exp": now.Add(time.Hour).Unix(),
		"cognito:groups": []string{"staff", "admin"}, "email_verified": true, "scope": "staff reports/read",
	}, kid)
	_, reply := e.echo(t, "GET", "/v1/echo/c", custom, nil)
	cj := reply.Event.RequestContext.Authorizer.JWT
	if cj.Claims["cognito:groups"] != "[staff admin]" || cj.Claims["email_verified"] != "true" {
		t.Errorf("custom claims: %v", cj.Claims)
	}
	if !slices.Equal(cj.Scopes, []string{"staff", "reports/read"}) {
		t.Errorf("custom scopes: %v", cj.Scopes)
	}
	if _, err := e.stack.Token(topology.Member, "", time.Hour); err == nil {
		t.Error("a member token without a subject was issued")
	}
}

func (e *scenarios) testEventShape(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Add("X-Custom", "a")
	h.Add("X-Custom", "b")
	h.Add("Cookie", "first=1; second=2")
	h.Set("User-Agent", "clientele-test/1.0")
	before := time.Now()
	resp, reply := e.echo(t, "GET", "/v1/echo/shape?q=1&q=2&name=J%C3%BCrgen&empty=", e.token(t, topology.Staff, ""), h)
	ev := reply.Event
	rc := ev.RequestContext
	if ev.Version != "2.0" || rc.Stage != "$default" || rc.AccountID == "" || rc.APIID == "" {
		t.Errorf("version %q stage %q account %q api %q", ev.Version, rc.Stage, rc.AccountID, rc.APIID)
	}
	if ev.Headers["x-custom"] != "a,b" {
		t.Errorf("duplicate headers: %q", ev.Headers["x-custom"])
	}
	if _, ok := ev.Headers["cookie"]; ok {
		t.Error("the cookie header should move to cookies")
	}
	if !slices.Equal(ev.Cookies, []string{"first=1", "second=2"}) {
		t.Errorf("cookies: %v", ev.Cookies)
	}
	for k := range ev.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header %q is not lowercase", k)
		}
	}
	if ev.Headers["host"] == "" || ev.Headers["x-forwarded-for"] != "127.0.0.1" || ev.Headers["x-forwarded-proto"] != "http" {
		t.Errorf("host/forwarded headers: %v", ev.Headers)
	}
	wantQuery := map[string]string{"q": "1,2", "name": "Jürgen", "empty": ""}
	if !mapsEqual(ev.QueryStringParameters, wantQuery) {
		t.Errorf("queryStringParameters %v, want %v", ev.QueryStringParameters, wantQuery)
	}
	if ev.RawQueryString != "q=1&q=2&name=J%C3%BCrgen&empty=" {
		t.Errorf("rawQueryString %q", ev.RawQueryString)
	}
	if rc.HTTP.Method != "GET" || rc.HTTP.Path != "/v1/echo/shape" || rc.HTTP.Protocol != "HTTP/1.1" ||
		rc.HTTP.SourceIP != "127.0.0.1" || rc.HTTP.UserAgent != "clientele-test/1.0" {
		t.Errorf("requestContext.http: %+v", rc.HTTP)
	}
	if rc.RequestID == "" || resp.Header.Get("Apigw-Requestid") != rc.RequestID {
		t.Errorf("requestId %q, apigw-requestid header %q", rc.RequestID, resp.Header.Get("Apigw-Requestid"))
	}
	if at := time.UnixMilli(rc.TimeEpoch); at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("timeEpoch %v is not now", at)
	}
	if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc.Time); err != nil {
		t.Errorf("time %q: %v", rc.Time, err)
	}
	if ev.Body != "" || ev.IsBase64Encoded {
		t.Errorf("a GET has no body: %q %v", ev.Body, ev.IsBase64Encoded)
	}
	if len(reply.RequestID) != 36 || reply.FunctionARN != "arn:aws:lambda:us-east-1:000000000000:function:echo" {
		t.Errorf("lambda context: request id %q, ARN %q", reply.RequestID, reply.FunctionARN)
	}
	// The deadline is the 1 s timeout after the process took the event.
	if dl := time.UnixMilli(reply.DeadlineMS); !dl.After(before.Add(time.Second-10*time.Millisecond)) || dl.After(time.Now().Add(time.Second)) {
		t.Errorf("deadline %v, want 1 s after the request (sent at %v)", dl, before)
	}
}

func (e *scenarios) testEnvironment(t *testing.T) {
	t.Parallel()
	_, reply := e.echo(t, "GET", "/v1/echo/env", e.token(t, topology.Staff, ""), nil)
	want := map[string]string{
		env.Service:                       "echo",
		env.Stage:                         "local",
		env.EventRoutes:                   "job.requested=jobs",
		env.QueueURLVar("jobs"):           e.stack.QueueURL("jobs"),
		env.HMACKey:                       local.DevHMACKey,
		"CLIENTELE_ECHO_STATIC":           "static",
		"TEST_EXTRA":                      "extra",
		"AWS_LAMBDA_FUNCTION_NAME":        "echo",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_REGION":                      "us-east-1",
		"AWS_ENDPOINT_URL_DYNAMODB":       e.stack.DynamoDBEndpoint,
		"AWS_ENDPOINT_URL_SQS":            e.stack.SQSEndpoint,
	}
	for k, v := range want {
		if reply.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, reply.Env[k], v)
		}
	}
	if _, ok := reply.Env[env.TableVar("records")]; ok {
		t.Error("echo was granted no table but got a table variable")
	}
	if !strings.HasPrefix(reply.Env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", reply.Env["AWS_LAMBDA_RUNTIME_API"])
	}
	if reply.Env["AWS_PROFILE"] != "" {
		t.Error("the runner's environment leaked into the function")
	}
}

func (e *scenarios) testResponse(t *testing.T) {
	t.Parallel()
	resp, _ := e.echo(t, "GET", "/v1/echo/response", e.token(t, topology.Staff, ""), nil)
	if got := resp.Header.Values("X-Multi"); !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("multiValueHeaders: %v", got)
	}
	if got := resp.Header.Values("Set-Cookie"); !slices.Equal(got, []string{"session=abc; Path=/; HttpOnly", "theme=dark"}) {
		t.Errorf("cookies: %v", got)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("content-type %q", resp.Header.Get("Content-Type"))
	}
}

func (e *scenarios) testBodies(t *testing.T) {
	t.Parallel()
	service := e.token(t, topology.Service, "")
	staff := e.token(t, topology.Staff, "")

	jsonBody := []byte(`{"name":"Li Ning","points":10}`)
	resp, body := e.call(t, "POST", "/v1/echo", jsonBody, service, http.Header{"Content-Type": {"application/json; charset=utf-8"}})
	var reply echoReply
	if resp.StatusCode != 200 || json.Unmarshal(body, &reply) != nil {
		t.Fatalf("POST /v1/echo: %d %s", resp.StatusCode, body)
	}
	if reply.Event.Body != string(jsonBody) || reply.Event.IsBase64Encoded {
		t.Errorf("JSON body arrived as %q (base64 %v)", reply.Event.Body, reply.Event.IsBase64Encoded)
	}
	if reply.Event.Headers["content-length"] != strconv.Itoa(len(jsonBody)) {
		t.Errorf("content-length header %q", reply.Event.Headers["content-length"])
	}

	form := []byte("a=1&b=2")
	_, body = e.call(t, "POST", "/v1/echo", form, service, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if err := json.Unmarshal(body, &reply); err != nil || !reply.Event.IsBase64Encoded || reply.Event.Body != "YT0xJmI9Mg==" {
		t.Errorf("form body arrived as %q (base64 %v), HTTP API base64-encodes it", reply.Event.Body, reply.Event.IsBase64Encoded)
	}

	blob := make([]byte, 4096)
	_, _ = rand.Read(blob)
	resp, body = e.call(t, "POST", "/v1/blobs", blob, staff, http.Header{"Content-Type": {"application/octet-stream"}})
	if resp.StatusCode != 201 || !bytes.Equal(body, blob) {
		t.Errorf("binary round trip: status %d, %d bytes back, equal %v", resp.StatusCode, len(body), bytes.Equal(body, blob))
	}
	if resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("binary content-type %q", resp.Header.Get("Content-Type"))
	}

	text := []byte("héllo wörld")
	resp, body = e.call(t, "POST", "/v1/blobs", text, staff, http.Header{"Content-Type": {"text/plain; charset=utf-8"}})
	if resp.StatusCode != 201 || !bytes.Equal(body, text) {
		t.Errorf("text round trip: %d %q", resp.StatusCode, body)
	}
}

func (e *scenarios) testConcurrency(t *testing.T) {
	t.Parallel()
	token := e.token(t, topology.Staff, "")
	const n = 4
	pids := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, body := e.call(t, "GET", "/v1/echo/concurrent?sleep=400ms", nil, token, nil)
			var reply echoReply
			if resp.StatusCode != 200 || json.Unmarshal(body, &reply) != nil {
				t.Errorf("concurrent request %d: %d %s", i, resp.StatusCode, body)
				return
			}
			pids[i] = reply.PID
		})
	}
	wg.Wait()
	distinct := map[int]bool{}
	for _, p := range pids {
		distinct[p] = true
	}
	if len(distinct) < 2 {
		t.Errorf("%d concurrent requests ran in %d process(es): %v", n, len(distinct), pids)
	}
}

func (e *scenarios) testTimeout(t *testing.T) {
	t.Parallel()
	token := e.token(t, topology.Staff, "")
	before := e.stack.Stats("echo").Timeouts
	started := time.Now()
	resp, body := e.call(t, "GET", "/v1/sleep", nil, token, nil)
	took := time.Since(started)
	if resp.StatusCode != 500 || strings.TrimSpace(string(body)) != `{"message":"Internal Server Error"}` {
		t.Errorf("timed-out invocation: %d %s, want 500 Internal Server Error", resp.StatusCode, body)
	}
	if took < time.Second || took > 10*time.Second {
		t.Errorf("the 1 s timeout took %s to apply", took)
	}
	if after := e.stack.Stats("echo").Timeouts; after != before+1 {
		t.Errorf("timeouts counted %d → %d", before, after)
	}
	e.echo(t, "GET", "/v1/echo/after-timeout", token, nil)
}

func (e *scenarios) testCrash(t *testing.T) {
	t.Parallel()
	token := e.token(t, topology.Staff, "")
	before := e.stack.Stats("echo").Crashes
	resp, body := e.call(t, "GET", "/v1/crash", nil, token, nil)
	if resp.StatusCode != 500 {
		t.Errorf("crashed invocation: %d %s, want 500", resp.StatusCode, body)
	}
	if after := e.stack.Stats("echo").Crashes; after < before+1 {
		t.Errorf("crashes counted %d → %d", before, after)
	}
	e.echo(t, "GET", "/v1/echo/after-crash", token, nil)
}

func (e *scenarios) testPartialBatchFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kind := fmt.Sprintf("batch-%d", time.Now().UnixNano())
	bodies := []string{"good 1", "good 2", "please fail", "good 3", "good 4"}
	sent := time.Now()
	for _, b := range bodies {
		_, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl:    aws.String(e.stack.QueueURL("jobs")),
			MessageBody: aws.String(b),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{
				"kind": {DataType: aws.String("String"), StringValue: aws.String(kind)},
			},
		})
		if err != nil {
			t.Fatalf("SendMessage: %v", err)
		}
	}

	// The failing message is retried until goaws moves it to the DLQ.
	dlq := e.stack.QueueURL(topology.DLQName("jobs"))
	deadline := time.Now().Add(5*(testVisibility+time.Second) + 15*time.Second)
	var dead []sqstypes.Message
	for len(dead) == 0 && time.Now().Before(deadline) {
		out, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), WaitTimeSeconds: 1, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatalf("ReceiveMessage from the DLQ: %v", err)
		}
		for _, m := range out.Messages {
			if aws.ToString(m.Body) == "please fail" {
				dead = append(dead, m)
			}
		}
	}
	if len(dead) != 1 {
		t.Fatalf("the failing message did not reach the DLQ within the deadline")
	}
	t.Logf("failing message reached the DLQ after %s", time.Since(sent).Round(time.Millisecond))

	records := queryKind(t, e.db, kind)
	if len(records) != len(bodies) {
		t.Fatalf("%d records for %d messages: %v", len(records), len(bodies), records)
	}
	for _, r := range records {
		switch r["body"] {
		case "please fail":
			if r["attempts"] != "5" || r["receive_count"] != "5" {
				t.Errorf("failing message: attempts %s, last ApproximateReceiveCount %s; want 5 and 5", r["attempts"], r["receive_count"])
			}
		default:
			if r["attempts"] != "1" || r["receive_count"] != "1" {
				t.Errorf("%q: attempts %s, receive count %s; want 1", r["body"], r["attempts"], r["receive_count"])
			}
			// Other scenarios' messages may share the batch.
			if size, _ := strconv.Atoi(r["batch_size"]); size < len(bodies) {
				t.Errorf("%q was processed in a batch of %s, want all %d together", r["body"], r["batch_size"], len(bodies))
			}
		}
		if r["event_source"] != "aws:sqs" || r["source_arn"] != "arn:aws:sqs:us-east-1:000000000000:jobs" {
			t.Errorf("eventSource %q, eventSourceARN %q", r["event_source"], r["source_arn"])
		}
		ms, _ := strconv.ParseInt(r["sent_ms"], 10, 64)
		if at := time.UnixMilli(ms); at.Before(sent.Add(-time.Second)) || at.After(sent.Add(2*time.Second)) {
			t.Errorf("%q: SentTimestamp %v is not when it was sent (%v)", r["body"], at, sent)
		}
	}
}

func (e *scenarios) testFunctionToQueue(t *testing.T) {
	t.Parallel()
	resp, body := e.call(t, "POST", "/v1/jobs", []byte("job from the API"), e.token(t, topology.Service, ""),
		http.Header{"Content-Type": {"text/plain"}})
	if resp.StatusCode != 202 || len(body) == 0 {
		t.Fatalf("POST /v1/jobs: %d %s", resp.StatusCode, body)
	}
	messageID := string(body)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if r := getRecord(t, e.db, messageID); r["body"] == "job from the API" {
			if r["attempts"] != "1" {
				t.Errorf("attempts %s", r["attempts"])
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the consumer never recorded message %s", messageID)
}

func (e *scenarios) testScheduleEndpoint(t *testing.T) {
	t.Parallel()
	resp, err := http.Post(e.stack.ScheduleURL("nightly"), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("firing nightly: %d %s", resp.StatusCode, body)
	}
	var fired struct {
		Schedule, Function string
		Response           map[string]string
	}
	if err := json.Unmarshal(body, &fired); err != nil || fired.Schedule != "nightly" || fired.Function != "recorder" || fired.Response["recorded"] != "schedule:nightly" {
		t.Errorf("fire response %s", body)
	}
	if got := getRecord(t, e.db, "schedule:nightly"); got["payload"] != `{"job":"nightly","segments":4}` {
		t.Errorf("the function received %q, want the schedule's payload as is", got["payload"])
	}
	// A JSON body replaces the payload for one firing; a body that is not
	// JSON is refused.
	override := `{"job":"override","resume":"2026-03-10"}`
	if resp, err := http.Post(e.stack.ScheduleURL("nightly"), "application/json", strings.NewReader(override)); err != nil || resp.StatusCode != 200 {
		t.Fatalf("firing with a payload: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	if got := getRecord(t, e.db, "schedule:override"); got["payload"] != override {
		t.Errorf("the function received %q, want the posted payload", got["payload"])
	}
	if resp, err := http.Post(e.stack.ScheduleURL("nightly"), "application/json", strings.NewReader("resume please")); err != nil || resp.StatusCode != 400 {
		t.Errorf("a body that is not JSON: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := http.Post(e.stack.ScheduleURL("missing"), "application/json", nil); err != nil || resp.StatusCode != 404 {
		t.Errorf("unknown schedule: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := http.Get(e.stack.ScheduleURL("nightly")); err != nil || resp.StatusCode != 405 {
		t.Errorf("GET on the fire endpoint: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
}

func (e *scenarios) testFireSchedule(t *testing.T) {
	t.Parallel()
	if err := e.stack.FireSchedule(context.Background(), "heartbeat"); err != nil {
		t.Fatalf("FireSchedule: %v", err)
	}
	got := getRecord(t, e.db, "schedule:Scheduled Event")
	var ev events.CloudWatchEvent
	if err := json.Unmarshal([]byte(got["payload"]), &ev); err != nil || ev.Source != "aws.events" || ev.DetailType != "Scheduled Event" {
		t.Errorf("heartbeat event: %s", got["payload"])
	}
	if err := e.stack.FireSchedule(context.Background(), "missing"); err == nil {
		t.Error("FireSchedule of an unknown schedule succeeded")
	}
}

// putRecord writes an item straight into the records table.
func putRecord(t *testing.T, db *dynamodb.Client, id, body string) {
	t.Helper()
	_, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String("records"),
		Item: map[string]dbtypes.AttributeValue{
			"id":   &dbtypes.AttributeValueMemberS{Value: id},
			"body": &dbtypes.AttributeValueMemberS{Value: body},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// getRecord reads an item of the records table as strings (nil if absent).
func getRecord(t *testing.T, db *dynamodb.Client, id string) map[string]string {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String("records"),
		Key:            map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return flatten(out.Item)
}

// queryKind reads the records a batch test wrote, through the GSI.
func queryKind(t *testing.T, db *dynamodb.Client, kind string) []map[string]string {
	t.Helper()
	out, err := db.Query(context.Background(), &dynamodb.QueryInput{
		TableName:                 aws.String("records"),
		IndexName:                 aws.String("by-kind"),
		KeyConditionExpression:    aws.String("kind_attribute = :k"),
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":k": &dbtypes.AttributeValueMemberS{Value: kind}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var records []map[string]string
	for _, item := range out.Items {
		records = append(records, flatten(item))
	}
	return records
}

func flatten(item map[string]dbtypes.AttributeValue) map[string]string {
	if item == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range item {
		switch x := v.(type) {
		case *dbtypes.AttributeValueMemberS:
			out[k] = x.Value
		case *dbtypes.AttributeValueMemberN:
			out[k] = x.Value
		}
	}
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
