package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"clientele/infra/topology"
	"clientele/shared/env"
)

// The tests drive one jsii kernel, a node process shared by the whole test
// binary, over one pipe that jsii-runtime-go does not lock: tests that call
// into CDK must not run in parallel. Only pure-Go tests call t.Parallel.

var (
	// testDir holds the placeholder code and every app's cloud assembly; it
	// is removed when the tests end.
	testDir string
	// placeholderDir stands in for bin/<function>: the tests never need the
	// function binaries built.
	placeholderDir string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clientele-infra-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testDir, placeholderDir = dir, filepath.Join(dir, "code")
	err = os.MkdirAll(placeholderDir, 0o755)
	if err == nil {
		err = os.WriteFile(filepath.Join(placeholderDir, "bootstrap"), []byte("#!/bin/sh\nexit 1\n"), 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	// No jsii.Close: in jsii-runtime-go 1.128 it races with the runtime's
	// own wait on the node process (go test -race reports it). The node
	// process ends when the test binary does and its stdin closes.
	os.RemoveAll(dir)
	os.Exit(code)
}

// placeholderCode is the tests' ClienteleStackProps.Code.
func placeholderCode(string) awslambda.Code {
	return awslambda.Code_FromAsset(jsii.String(placeholderDir), nil)
}

// synthesized is one stack after synthesis, with its template decoded.
type synthesized struct {
	stack    awscdk.Stack
	template assertions.Template
	cfn      cfnTemplate
}

// cfnTemplate is the part of a CloudFormation template the tests read.
type cfnTemplate struct {
	Resources map[string]cfnResource
	Outputs   map[string]struct{ Value any }
}

// cfnResource is one resource of a template.
type cfnResource struct {
	Type                string
	Properties          map[string]any
	DeletionPolicy      string
	UpdateReplacePolicy string
}

// synth builds a stack from props in an app configured like cdk.json's,
// runs cdk-nag's AwsSolutions checks on it, and synthesizes it.
func synth(props *ClienteleStackProps) (*synthesized, error) {
	cdkJSON, err := os.ReadFile("../cdk.json")
	if err != nil {
		return nil, err
	}
	var config struct{ Context map[string]any }
	if err := json.Unmarshal(cdkJSON, &config); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	outdir, err := os.MkdirTemp(testDir, "cdk.out-")
	if err != nil {
		return nil, err
	}
	app := awscdk.NewApp(&awscdk.AppProps{
		Context:            &config.Context,
		Outdir:             jsii.String(outdir),
		AnalyticsReporting: jsii.Bool(false),
	})
	if props.Code == nil {
		props.Code = placeholderCode
	}
	stack := NewClienteleStack(app, "Clientele", props)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(false)}), nil)
	awscdk.Aspects_Of(app).Add(cdknag.NewServerlessChecks(&cdknag.NagPackProps{Reports: jsii.Bool(false)}), nil)
	template := assertions.Template_FromStack(stack, nil)
	raw, err := json.Marshal(template.ToJSON())
	if err != nil {
		return nil, err
	}
	s := &synthesized{stack: stack, template: template}
	if err := json.Unmarshal(raw, &s.cfn); err != nil {
		return nil, err
	}
	return s, nil
}

// mustSynth is synth for one test.
func mustSynth(t *testing.T, props *ClienteleStackProps) *synthesized {
	t.Helper()
	s, err := synth(props)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// clienteleSynth is the stack of topology.Clientele(), synthesized once for
// every test that reads it.
var clienteleSynth = sync.OnceValues(func() (*synthesized, error) {
	return synth(&ClienteleStackProps{System: topology.Clientele(), Stage: "prod"})
})

func clientele(t *testing.T) *synthesized {
	t.Helper()
	s, err := clienteleSynth()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ofType returns the resources of one type by logical id.
func (s *synthesized) ofType(typ string) map[string]cfnResource {
	out := map[string]cfnResource{}
	for id, r := range s.cfn.Resources {
		if r.Type == typ {
			out[id] = r
		}
	}
	return out
}

// functionID returns the logical id of a topology function's Lambda function.
func (s *synthesized) functionID(t *testing.T, function string) string {
	t.Helper()
	for id, r := range s.ofType("AWS::Lambda::Function") {
		if dig(r.Properties, "Environment", "Variables", env.Service) == function {
			return id
		}
	}
	t.Fatalf("no Lambda function for %s", function)
	return ""
}

// statements returns the IAM statements attached to a function's role.
func (s *synthesized) statements(t *testing.T, function string) []map[string]any {
	t.Helper()
	role := logicalID(dig(s.cfn.Resources[s.functionID(t, function)].Properties, "Role"))
	var out []map[string]any
	for _, p := range s.ofType("AWS::IAM::Policy") {
		roles, _ := p.Properties["Roles"].([]any)
		if !slices.ContainsFunc(roles, func(r any) bool { return logicalID(r) == role }) {
			continue
		}
		for _, st := range asList(dig(p.Properties, "PolicyDocument", "Statement")) {
			out = append(out, st.(map[string]any))
		}
	}
	return out
}

// tableID and queueID find a logical table's or queue's resource through
// the variable the topology gives a function.
func (s *synthesized) tableID(t *testing.T, function, table string) string {
	t.Helper()
	return logicalID(dig(s.cfn.Resources[s.functionID(t, function)].Properties, "Environment", "Variables", env.TableVar(table)))
}

func (s *synthesized) queueID(t *testing.T, function, queue string) string {
	t.Helper()
	return logicalID(dig(s.cfn.Resources[s.functionID(t, function)].Properties, "Environment", "Variables", env.QueueURLVar(queue)))
}

// dig walks nested maps.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// asList returns v as a list, wrapping a single value.
func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

// logicalID returns the resource a {"Ref"} or {"Fn::GetAtt"} points at.
func logicalID(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if ref, ok := m["Ref"].(string); ok {
		return ref
	}
	if att, ok := m["Fn::GetAtt"].([]any); ok && len(att) == 2 {
		id, _ := att[0].(string)
		return id
	}
	return ""
}

// references lists every resource v refers to, pseudo parameters aside.
func references(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if id := logicalID(v); id != "" && !strings.HasPrefix(id, "AWS::") {
				out = append(out, id)
				return
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

// recoverAssertion turns a failed assertions.Template check (a panic from
// the jsii kernel) into a test error.
func recoverAssertion(t *testing.T, what string, check func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	check()
}

func TestResourceCountsFollowTopology(t *testing.T) {
	checkResourceCounts(t, clientele(t), topology.Clientele())
}

// checkResourceCounts checks how many resources of each type a stack built
// from the system has.
func checkResourceCounts(t *testing.T, s *synthesized, system topology.System) {
	t.Helper()
	consumers := 0
	for _, q := range system.Queues {
		if q.Consumer != "" {
			consumers++
		}
	}
	scheduled := map[string]bool{}
	for _, sc := range system.Schedules {
		scheduled[sc.Function] = true
	}
	runs := 0
	for _, f := range system.Functions {
		if f.CompletesEvery > 0 {
			runs++
		}
	}
	failureQueue := 0
	if len(system.Schedules) > 0 {
		failureQueue = 1
	}
	for typ, want := range map[string]int{
		"AWS::DynamoDB::Table":                len(system.Tables),
		"AWS::SQS::Queue":                     2*len(system.Queues) + failureQueue,
		"AWS::Scheduler::Schedule":            len(system.Schedules),
		"AWS::Lambda::EventInvokeConfig":      len(scheduled),
		"AWS::Lambda::Function":               len(system.Functions),
		"AWS::IAM::Role":                      len(system.Functions) + failureQueue,
		"AWS::ApiGatewayV2::Route":            len(system.Routes),
		"AWS::ApiGatewayV2::Authorizer":       1,
		"AWS::ApiGatewayV2::Stage":            1,
		"AWS::Events::Rule":                   0,
		"AWS::Lambda::EventSourceMapping":     consumers,
		"AWS::CloudWatch::Alarm":              2*len(system.Queues) + 3*len(system.Functions) + 2*runs + failureQueue + 2,
		"AWS::CloudWatch::Dashboard":          1,
		"AWS::Cognito::UserPool":              1,
		"AWS::Cognito::UserPoolClient":        1 + len(system.Integrations),
		"AWS::SecretsManager::Secret":         1,
		"AWS::Logs::LogGroup":                 len(system.Functions) + 1,
		"AWS::Lambda::LayerVersion":           0,
		"Custom::LogRetention":                0,
		"AWS::CloudFormation::CustomResource": 0,
	} {
		recoverAssertion(t, typ, func() { s.template.ResourceCountIs(jsii.String(typ), jsii.Number(want)) })
	}
}

func TestEveryRouteRequiresTheJWTAuthorizer(t *testing.T) {
	s := clientele(t)
	authorizers := s.ofType("AWS::ApiGatewayV2::Authorizer")
	routes := map[string]cfnResource{}
	for _, r := range s.ofType("AWS::ApiGatewayV2::Route") {
		routes[r.Properties["RouteKey"].(string)] = r
	}
	for _, want := range topology.Clientele().Routes {
		key := want.Method + " " + want.Path
		route, ok := routes[key]
		if !ok {
			t.Errorf("route %s missing; have %v", key, slices.Sorted(maps.Keys(routes)))
			continue
		}
		if want.Public {
			// The one kind of route without the authorizer: listed in
			// topology.PublicRoutes, checked by its function.
			if route.Properties["AuthorizationType"] != "NONE" || route.Properties["AuthorizerId"] != nil {
				t.Errorf("public route %s: AuthorizationType %v, authorizer %v; want NONE and none", key,
					route.Properties["AuthorizationType"], route.Properties["AuthorizerId"])
			}
			continue
		}
		if route.Properties["AuthorizationType"] != "JWT" {
			t.Errorf("route %s: AuthorizationType %v, want JWT", key, route.Properties["AuthorizationType"])
		}
		authorizer, ok := authorizers[logicalID(route.Properties["AuthorizerId"])]
		if !ok || authorizer.Properties["AuthorizerType"] != "JWT" {
			t.Errorf("route %s: authorizer %v is not the JWT authorizer", key, route.Properties["AuthorizerId"])
		}
	}
	if len(routes) != len(topology.Clientele().Routes) {
		t.Errorf("%d routes, topology has %d", len(routes), len(topology.Clientele().Routes))
	}
	recoverAssertion(t, "route key", func() {
		s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), map[string]any{
			"RouteKey": "POST /v1/members", "AuthorizationType": "JWT",
		})
	})
}

// TestOnlyPublicRoutesSuppressTheAuthorizationFinding: cdk-nag's
// AwsSolutions-APIG4 (no authorization) is suppressed on the public routes
// and on no other resource.
func TestOnlyPublicRoutesSuppressTheAuthorizationFinding(t *testing.T) {
	s := clientele(t)
	raw, err := json.Marshal(s.template.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
			Metadata   struct {
				CdkNag struct {
					RulesToSuppress []struct{ ID string } `json:"rules_to_suppress"`
				} `json:"cdk_nag"`
			}
		}
	}
	if err := json.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	public := map[string]bool{}
	for _, r := range topology.Clientele().Routes {
		if r.Public {
			public[r.Method+" "+r.Path] = true
		}
	}
	suppressed := 0
	for id, r := range tpl.Resources {
		has := slices.ContainsFunc(r.Metadata.CdkNag.RulesToSuppress, func(x struct{ ID string }) bool { return x.ID == "AwsSolutions-APIG4" })
		key, _ := r.Properties["RouteKey"].(string)
		isPublic := r.Type == "AWS::ApiGatewayV2::Route" && public[key]
		if has != isPublic {
			t.Errorf("%s (%s %s): APIG4 suppressed %v, public route %v", id, r.Type, key, has, isPublic)
		}
		if has {
			suppressed++
		}
	}
	if suppressed != len(public) {
		t.Errorf("%d routes suppress APIG4, %d are public", suppressed, len(public))
	}
}

// TestPublicRoutesHaveTheirOwnThrottle: a route without the authorizer
// gets the tighter limits the topology gives it.
func TestPublicRoutesHaveTheirOwnThrottle(t *testing.T) {
	s := clientele(t)
	for _, r := range topology.Clientele().Routes {
		if !r.Public {
			continue
		}
		recoverAssertion(t, "public route throttle", func() {
			s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
				"RouteSettings": assertions.Match_ObjectLike(&map[string]any{
					r.Method + " " + r.Path: map[string]any{"ThrottlingRateLimit": r.Throttle.RatePerSecond, "ThrottlingBurstLimit": r.Throttle.Burst},
				}),
			})
		})
	}
}

func TestIntegrationsUsePayloadFormat2(t *testing.T) {
	s := clientele(t)
	for id, r := range s.ofType("AWS::ApiGatewayV2::Integration") {
		if r.Properties["IntegrationType"] != "AWS_PROXY" || r.Properties["PayloadFormatVersion"] != "2.0" {
			t.Errorf("integration %s: type %v payload %v, want AWS_PROXY 2.0", id, r.Properties["IntegrationType"], r.Properties["PayloadFormatVersion"])
		}
	}
}

func TestDefaultAuthorizerTrustsTheStacksUserPool(t *testing.T) {
	s := clientele(t)
	pools := s.ofType("AWS::Cognito::UserPool")
	clients := s.ofType("AWS::Cognito::UserPoolClient")
	for _, a := range s.ofType("AWS::ApiGatewayV2::Authorizer") {
		issuer, _ := json.Marshal(dig(a.Properties, "JwtConfiguration", "Issuer"))
		if !strings.Contains(string(issuer), "https://cognito-idp.") {
			t.Errorf("issuer %s is not a Cognito issuer", issuer)
		}
		for _, id := range references(dig(a.Properties, "JwtConfiguration", "Issuer")) {
			if _, ok := pools[id]; !ok {
				t.Errorf("issuer refers to %s, not the user pool", id)
			}
		}
		audience := asList(dig(a.Properties, "JwtConfiguration", "Audience"))
		if len(audience) != len(clients) {
			t.Errorf("audience %v, want the id of every app client (%d)", audience, len(clients))
		}
		for _, aud := range audience {
			if clients[logicalID(aud)].Type == "" {
				t.Errorf("audience %v is not an app client of the pool", aud)
			}
		}
	}
	for id, p := range pools {
		if p.DeletionPolicy != "Retain" {
			t.Errorf("user pool %s: DeletionPolicy %q, want Retain", id, p.DeletionPolicy)
		}
	}
}

func TestJWTContextReplacesTheUserPool(t *testing.T) {
	const issuer = "https://id.example.com/"
	s := mustSynth(t, &ClienteleStackProps{
		System:      topology.Clientele(),
		JWTIssuer:   issuer,
		JWTAudience: []string{"clientele-api", "clientele-pos"},
	})
	if n := len(s.ofType("AWS::Cognito::UserPool")); n != 0 {
		t.Errorf("%d user pools, want none when an issuer is given", n)
	}
	recoverAssertion(t, "authorizer", func() {
		s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
			"AuthorizerType": "JWT",
			"JwtConfiguration": map[string]any{
				"Issuer":   issuer,
				"Audience": []any{"clientele-api", "clientele-pos"},
			},
		})
	})
}

func TestHalfAJWTConfigurationIsRejected(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewClienteleStack accepted an issuer without an audience")
		}
	}()
	NewClienteleStack(nil, "Clientele", &ClienteleStackProps{System: topology.Clientele(), JWTIssuer: "https://id.example.com/"})
}

func TestInvalidTopologyIsRejected(t *testing.T) {
	system := topology.Clientele()
	system.Routes = append(system.Routes, topology.Route{Method: "GET", Path: "/v1/nowhere", Function: "missing-api", Callers: []topology.Caller{topology.Staff}})
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "missing-api") {
			t.Errorf("panic %v, want the topology's validation error", r)
		}
	}()
	NewClienteleStack(nil, "Clientele", &ClienteleStackProps{System: system})
}

func TestTablesAreOnDemandEncryptedRecoverableAndRetained(t *testing.T) {
	s := clientele(t)
	tables := s.ofType("AWS::DynamoDB::Table")
	system := topology.Clientele()
	for _, want := range system.Tables {
		id := s.tableID(t, userOfTable(t, system, want.Name), want.Name)
		table, ok := tables[id]
		if !ok {
			t.Fatalf("table %s: %s is %q, not a table", want.Name, env.TableVar(want.Name), id)
		}
		p := table.Properties
		if p["BillingMode"] != "PAY_PER_REQUEST" {
			t.Errorf("table %s: BillingMode %v", want.Name, p["BillingMode"])
		}
		if dig(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") != true {
			t.Errorf("table %s: point-in-time recovery off", want.Name)
		}
		if dig(p, "SSESpecification", "SSEEnabled") != true || dig(p, "SSESpecification", "SSEType") != "KMS" ||
			s.cfn.Resources[logicalID(dig(p, "SSESpecification", "KMSMasterKeyId"))].Type != "AWS::KMS::Key" {
			t.Errorf("table %s: SSE %v, want KMS with the stack's key", want.Name, p["SSESpecification"])
		}
		if table.DeletionPolicy != "Retain" || table.UpdateReplacePolicy != "Retain" {
			t.Errorf("table %s: policies %q/%q, want Retain", want.Name, table.DeletionPolicy, table.UpdateReplacePolicy)
		}
		if p["DeletionProtectionEnabled"] != true {
			t.Errorf("table %s: deletion protection off", want.Name)
		}
		if dig(p, "TimeToLiveSpecification", "AttributeName") != want.TTLAttribute ||
			dig(p, "TimeToLiveSpecification", "Enabled") != true {
			t.Errorf("table %s: TTL %v, want %s", want.Name, p["TimeToLiveSpecification"], want.TTLAttribute)
		}
		keys := map[string]string{}
		for _, k := range asList(p["KeySchema"]) {
			keys[dig(k, "KeyType").(string)] = dig(k, "AttributeName").(string)
		}
		if keys["HASH"] != want.PartitionKey.Name || (want.SortKey != nil && keys["RANGE"] != want.SortKey.Name) {
			t.Errorf("table %s: key schema %v", want.Name, keys)
		}
		for _, name := range []string{"TableName"} {
			if _, ok := p[name]; ok {
				t.Errorf("table %s has a physical %s", want.Name, name)
			}
		}
	}
	for id, key := range s.ofType("AWS::KMS::Key") {
		if key.Properties["EnableKeyRotation"] != true {
			t.Errorf("key %s: rotation off", id)
		}
	}
}

func TestQueuesRedriveToEncryptedDeadLetterQueues(t *testing.T) {
	s := clientele(t)
	system := topology.Clientele()
	queues := s.ofType("AWS::SQS::Queue")
	for _, q := range system.Queues {
		id := s.queueID(t, senderTo(t, system, q.Name), q.Name)
		if _, ok := queues[id]; !ok {
			t.Fatalf("queue %s: %s is %q, not a queue", q.Name, env.QueueURLVar(q.Name), id)
		}
		checkQueue(t, s, system, q, id)
	}
}

// userOfTable names a function that may use the table.
func userOfTable(t *testing.T, system topology.System, table string) string {
	t.Helper()
	for _, f := range system.Functions {
		if slices.Contains(system.TablesOf(f.Name), table) {
			return f.Name
		}
	}
	t.Fatalf("no function uses table %s", table)
	return ""
}

// senderTo names a function that may send to the queue.
func senderTo(t *testing.T, system topology.System, queue string) string {
	t.Helper()
	for _, f := range system.Functions {
		if slices.Contains(system.SendsTo(f.Name), queue) {
			return f.Name
		}
	}
	t.Fatalf("no function sends to queue %s", queue)
	return ""
}

// checkQueue checks one topology queue's resources: redrive, timeouts,
// retention, encryption, TLS, and its dead-letter queue with its alarm.
func checkQueue(t *testing.T, s *synthesized, system topology.System, q topology.Queue, queueID string) {
	t.Helper()
	queue := s.cfn.Resources[queueID]
	p := queue.Properties
	if got := dig(p, "RedrivePolicy", "maxReceiveCount"); got != float64(q.MaxReceiveCount) {
		t.Errorf("queue %s: maxReceiveCount %v, want %d", q.Name, got, q.MaxReceiveCount)
	}
	visibility, _ := p["VisibilityTimeout"].(float64)
	if want := system.VisibilityTimeout(q).Seconds(); visibility != want {
		t.Errorf("queue %s: visibility timeout %v s, want %v s", q.Name, visibility, want)
	}
	if f, ok := system.Function(q.Consumer); ok && visibility < 6*f.Timeout.Seconds() {
		t.Errorf("queue %s: visibility timeout %v s is under six times %s's timeout", q.Name, visibility, f.Name)
	}
	if p["MessageRetentionPeriod"] != q.Retention.Seconds() {
		t.Errorf("queue %s: retention %v, want %v", q.Name, p["MessageRetentionPeriod"], q.Retention.Seconds())
	}
	dlqID := logicalID(dig(p, "RedrivePolicy", "deadLetterTargetArn"))
	dlq, ok := s.cfn.Resources[dlqID]
	if !ok || dlq.Type != "AWS::SQS::Queue" {
		t.Fatalf("queue %s: dead-letter target %q is not a queue", q.Name, dlqID)
	}
	if dlq.Properties["MessageRetentionPeriod"] != q.DLQRetention.Seconds() {
		t.Errorf("queue %s: DLQ retention %v, want %v", q.Name, dlq.Properties["MessageRetentionPeriod"], q.DLQRetention.Seconds())
	}
	for name, r := range map[string]cfnResource{q.Name: queue, q.Name + " DLQ": dlq} {
		if s.cfn.Resources[logicalID(r.Properties["KmsMasterKeyId"])].Type != "AWS::KMS::Key" {
			t.Errorf("%s: not encrypted with the stack's key: %v", name, r.Properties["KmsMasterKeyId"])
		}
		if _, ok := r.Properties["QueueName"]; ok {
			t.Errorf("%s has a physical name", name)
		}
	}
	for _, qid := range []string{queueID, dlqID} {
		if !deniesInsecureTransport(s, qid) {
			t.Errorf("queue %s: no policy denying requests without TLS", qid)
		}
	}
	alarmed := false
	for _, a := range s.ofType("AWS::CloudWatch::Alarm") {
		ap := a.Properties
		if ap["MetricName"] == "ApproximateNumberOfMessagesVisible" && ap["Namespace"] == "AWS/SQS" &&
			slices.Contains(references(ap["Dimensions"]), dlqID) &&
			ap["ComparisonOperator"] == "GreaterThanThreshold" && ap["Threshold"] == 0.0 && len(asList(ap["AlarmActions"])) == 1 {
			alarmed = true
		}
	}
	if !alarmed {
		t.Errorf("queue %s: no alarm on messages in its dead-letter queue", q.Name)
	}
}

// deniesInsecureTransport reports whether a queue policy denies every
// request to the queue not made over TLS.
func deniesInsecureTransport(s *synthesized, queueID string) bool {
	for _, p := range s.ofType("AWS::SQS::QueuePolicy") {
		if !slices.Contains(references(p.Properties["Queues"]), queueID) {
			continue
		}
		for _, st := range asList(dig(p.Properties, "PolicyDocument", "Statement")) {
			if dig(st, "Effect") == "Deny" && dig(st, "Condition", "Bool", "aws:SecureTransport") == "false" {
				return true
			}
		}
	}
	return false
}

func TestFunctionsRunBootstrapOnAL2023WithTheTopologysEnvironment(t *testing.T) {
	s := clientele(t)
	system := topology.Clientele()
	for _, f := range system.Functions {
		p := s.cfn.Resources[s.functionID(t, f.Name)].Properties
		if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" {
			t.Errorf("%s: runtime %v handler %v", f.Name, p["Runtime"], p["Handler"])
		}
		if got := asList(p["Architectures"]); len(got) != 1 || got[0] != string(f.Architecture) {
			t.Errorf("%s: architectures %v, want %s", f.Name, got, f.Architecture)
		}
		if p["MemorySize"] != float64(f.MemoryMB) || p["Timeout"] != f.Timeout.Seconds() || p["Description"] != f.Description {
			t.Errorf("%s: memory %v timeout %v description %v", f.Name, p["MemorySize"], p["Timeout"], p["Description"])
		}
		if _, ok := p["FunctionName"]; ok {
			t.Errorf("%s has a physical name", f.Name)
		}
		want := system.Environment(f.Name, "prod", func(string) string { return "" }, func(string) string { return "" })
		maps.Copy(want, system.BucketEnvironment(f.Name, func(string) string { return "" }))
		if f.UsesHMACKey {
			want[env.HMACKeySecret] = ""
		}
		vars, _ := dig(p, "Environment", "Variables").(map[string]any)
		if got, wantNames := cdkVariableNames(vars), slices.Sorted(maps.Keys(want)); !slices.Equal(got, wantNames) {
			t.Errorf("%s: variables %v, want %v", f.Name, got, wantNames)
		}
		for _, name := range []string{env.Service, env.Stage, env.EventRoutes} {
			if vars[name] != want[name] {
				t.Errorf("%s: %s = %v, want %q", f.Name, name, vars[name], want[name])
			}
		}
		if _, ok := vars[env.HMACKey]; ok {
			t.Errorf("%s: the HMAC key itself is in the function's configuration", f.Name)
		}
		if f.UsesHMACKey {
			if s.cfn.Resources[logicalID(vars[env.HMACKeySecret])].Type != "AWS::SecretsManager::Secret" {
				t.Errorf("%s: %s = %v, want the secret's ARN", f.Name, env.HMACKeySecret, vars[env.HMACKeySecret])
			}
			if layers := asList(p["Layers"]); len(layers) != 1 || !strings.Contains(strings.ToLower(fmt.Sprint(layers)), "paramsandsecrets") {
				t.Errorf("%s: layers %v, want the Parameters and Secrets extension", f.Name, layers)
			}
		} else if len(asList(p["Layers"])) != 0 {
			t.Errorf("%s does not use the HMAC key but has layers %v", f.Name, p["Layers"])
		}
		logGroup := s.cfn.Resources[logicalID(dig(p, "LoggingConfig", "LogGroup"))]
		if logGroup.Type != "AWS::Logs::LogGroup" || logGroup.Properties["RetentionInDays"] != 30.0 {
			t.Errorf("%s: log group %v, want its own with 30 days retention", f.Name, logGroup)
		}
	}
}

// cdkVariableNames lists a function's variables, sorted, without those the
// Parameters and Secrets extension's configuration adds.
func cdkVariableNames(vars map[string]any) []string {
	var out []string
	for name := range vars {
		if !extensionVariable(name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// extensionVariable reports a variable configuring the Parameters and
// Secrets extension.
func extensionVariable(name string) bool {
	for _, prefix := range []string{"PARAMETERS_SECRETS_EXTENSION_", "SECRETS_MANAGER_", "SSM_PARAMETER_STORE_"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// writeActions are DynamoDB actions a reading function must not have.
var writeActions = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}

// checkGrants checks that a function's role allows exactly what the
// topology grants it: on each table the DynamoDB actions its Access states
// (with the stated leading keys), sending to the queues it publishes to,
// consuming the queues that feed it, writing its own log group, and the data
// key only through the services that use it (kms:ViaService); no wildcard
// actions, nothing on every resource.
func checkGrants(t *testing.T, s *synthesized, system topology.System, function string) {
	t.Helper()
	f, _ := system.Function(function)
	fnProps := s.cfn.Resources[s.functionID(t, function)].Properties
	role := s.cfn.Resources[logicalID(fnProps["Role"])]
	if _, ok := role.Properties["ManagedPolicyArns"]; ok {
		t.Errorf("%s: role has managed policies %v", function, role.Properties["ManagedPolicyArns"])
	}
	logGroup := logicalID(dig(fnProps, "LoggingConfig", "LogGroup"))
	tableActions := map[string][]string{}
	tableKeys := map[string][]any{}
	queueActions := map[string][]string{}
	for _, st := range s.statements(t, function) {
		var actions []string
		for _, a := range asList(st["Action"]) {
			actions = append(actions, a.(string))
			if a == "*" || strings.HasSuffix(a.(string), ":*") {
				t.Errorf("%s: wildcard action %v", function, a)
			}
		}
		service, _, _ := strings.Cut(actions[0], ":")
		for _, a := range actions {
			if !strings.HasPrefix(a, service+":") {
				t.Errorf("%s: statement mixes services: %v", function, actions)
			}
		}
		for _, r := range asList(st["Resource"]) {
			if r == "*" {
				if service != "xray" {
					t.Errorf("%s: actions %v on every resource", function, actions)
				}
				continue
			}
			refs := references(r)
			if len(refs) != 1 {
				t.Errorf("%s: resource %v names %d resources", function, r, len(refs))
				continue
			}
			id := refs[0]
			typ := s.cfn.Resources[id].Type
			switch service {
			case "logs":
				if id != logGroup {
					t.Errorf("%s: %v on log group %s, not its own", function, actions, id)
				}
			case "kms":
				if !strings.HasPrefix(id, "DataKey") {
					t.Errorf("%s: %v on key %s", function, actions, id)
				}
				via, _ := json.Marshal(dig(st, "Condition", "StringEquals", "kms:ViaService"))
				if !strings.Contains(string(via), ".amazonaws.com") || !strings.Contains(string(via), "AWS::Region") {
					t.Errorf("%s: %v on the data key without a kms:ViaService condition in the stack's region: %s", function, actions, via)
				}
			case "dynamodb":
				if typ != "AWS::DynamoDB::Table" {
					t.Errorf("%s: %v on %s (%s)", function, actions, id, typ)
				}
				for _, a := range actions {
					if !slices.Contains(tableActions[id], a) {
						tableActions[id] = append(tableActions[id], a)
					}
				}
				tableKeys[id] = append(tableKeys[id], dig(st, "Condition", "ForAllValues:StringEquals", "dynamodb:LeadingKeys"))
			case "sqs":
				if typ != "AWS::SQS::Queue" {
					t.Errorf("%s: %v on %s (%s)", function, actions, id, typ)
				}
				queueActions[id] = append(queueActions[id], actions...)
			case "secretsmanager":
				if typ != "AWS::SecretsManager::Secret" || !slices.Equal(actions, []string{"secretsmanager:GetSecretValue"}) {
					t.Errorf("%s: %v on %s (%s)", function, actions, id, typ)
				}
			case "s3":
				// Objects of the buckets the function writes, nothing more.
				bucket := logicalID(dig(fnProps, "Environment", "Variables"))
				for _, b := range f.WritesBuckets {
					if v := logicalID(dig(fnProps, "Environment", "Variables", env.BucketVar(b))); v == id {
						bucket = v
					}
				}
				if typ != "AWS::S3::Bucket" || bucket != id ||
					!slices.Equal(slices.Sorted(slices.Values(actions)), []string{"s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"}) {
					t.Errorf("%s: %v on %s (%s), which the topology does not grant", function, actions, id, typ)
				}
			default:
				t.Errorf("%s: %v on %v, which the topology does not grant", function, actions, r)
			}
		}
	}
	wantTables := map[string]bool{}
	for _, access := range f.Access {
		id := s.tableID(t, function, access.Table)
		wantTables[id] = true
		var want []string
		for _, a := range access.Actions {
			want = append(want, "dynamodb:"+a)
		}
		slices.Sort(want)
		got := slices.Sorted(slices.Values(tableActions[id]))
		if !slices.Equal(got, want) {
			t.Errorf("%s on %s: actions %v, the topology states %v", function, access.Table, got, want)
		}
		for _, keys := range tableKeys[id] {
			if fmt.Sprint(asList(keys)) != fmt.Sprint(asList(stringsAsAny(access.LeadingKeys))) {
				t.Errorf("%s on %s: leading keys %v, the topology states %v", function, access.Table, keys, access.LeadingKeys)
			}
		}
		if !slices.Contains(f.WritesTables, access.Table) {
			for _, a := range got {
				if slices.Contains(writeActions, a) {
					t.Errorf("%s only reads %s but may %s", function, access.Table, a)
				}
			}
		}
	}
	for id := range tableActions {
		if !wantTables[id] {
			t.Errorf("%s: may touch table %s, which the topology does not grant", function, id)
		}
	}
	wantQueues := map[string][]string{}
	for _, q := range system.SendsTo(function) {
		id := s.queueID(t, function, q)
		wantQueues[id] = append(wantQueues[id], "sqs:SendMessage")
	}
	for _, q := range system.Consumes(function) {
		id := queueIDByConsumer(t, s, q)
		wantQueues[id] = append(wantQueues[id], "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes")
	}
	for id, want := range wantQueues {
		if got := slices.Sorted(slices.Values(queueActions[id])); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Errorf("%s: queue %s actions %v, want %v", function, id, got, want)
		}
	}
	if slices.ContainsFunc(system.Schedules, func(sc topology.Schedule) bool { return sc.Function == function }) {
		id := scheduleFailuresQueue(t, s)
		wantQueues[id] = append(wantQueues[id], "sqs:SendMessage")
	}
	for id, actions := range queueActions {
		if _, ok := wantQueues[id]; !ok {
			t.Errorf("%s: %v on queue %s, which the topology does not grant", function, actions, id)
		}
	}
}

func stringsAsAny(xs []string) []any {
	var out []any
	for _, x := range xs {
		out = append(out, x)
	}
	return out
}

// scheduleFailuresQueue finds the queue the schedules dead-letter to.
func scheduleFailuresQueue(t *testing.T, s *synthesized) string {
	t.Helper()
	for _, r := range s.ofType("AWS::Scheduler::Schedule") {
		return logicalID(dig(r.Properties, "Target", "DeadLetterConfig", "Arn"))
	}
	t.Fatal("no schedule")
	return ""
}

// queueIDByConsumer finds a queue through the event source mapping that
// feeds its consumer.
func queueIDByConsumer(t *testing.T, s *synthesized, queue string) string {
	t.Helper()
	for _, m := range s.ofType("AWS::Lambda::EventSourceMapping") {
		id := logicalID(m.Properties["EventSourceArn"])
		if strings.HasPrefix(id, pascal(queue)+"Queue") {
			return id
		}
	}
	t.Fatalf("no event source mapping for queue %s", queue)
	return ""
}

func TestRolesGrantOnlyWhatTheTopologyGrants(t *testing.T) {
	s := clientele(t)
	system := topology.Clientele()
	for _, f := range system.Functions {
		checkGrants(t, s, system, f.Name)
	}
	// The members API writes the members table and publishes to points-events
	// (and to the other queues that subscribe to member.erased).
	recoverAssertion(t, "members-api policy", func() {
		s.template.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
			"Roles": []any{map[string]any{"Ref": logicalID(s.cfn.Resources[s.functionID(t, "members-api")].Properties["Role"])}},
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"Action":   assertions.Match_ArrayWith(&[]any{"dynamodb:PutItem"}),
					"Resource": assertions.Match_AnyValue(),
				}),
				assertions.Match_ObjectLike(&map[string]any{
					"Action": "sqs:SendMessage",
					// Every queue subscribing to member.erased: points-events among them.
					"Resource": assertions.Match_ArrayWith(&[]any{map[string]any{"Fn::GetAtt": []any{s.queueID(t, "members-api", topology.PointsEvents), "Arn"}}}),
				}),
			})},
		})
	})
}

func TestNoResourceHasAPhysicalName(t *testing.T) {
	s := clientele(t)
	names := []string{"TableName", "QueueName", "FunctionName", "RoleName", "LogGroupName", "TopicName",
		"UserPoolName", "ClientName", "Name", "AliasName", "AlarmName", "PolicyName"}
	allowed := map[string][]string{
		// Required by CloudFormation, scoped to the API or the role, and
		// never unique in the account.
		"AWS::ApiGatewayV2::Api":        {"Name"},
		"AWS::ApiGatewayV2::Authorizer": {"Name"},
		"AWS::IAM::Policy":              {"PolicyName"},
		// The resource server's display name, unique only within its pool.
		"AWS::Cognito::UserPoolResourceServer": {"Name"},
		// The secret's name is generated by CloudFormation (no Name property).
	}
	for id, r := range s.cfn.Resources {
		if r.Type == "AWS::Lambda::Permission" || r.Type == "AWS::Lambda::EventSourceMapping" || r.Type == "AWS::Lambda::EventInvokeConfig" {
			continue // FunctionName refers to the function, it does not name it
		}
		for _, name := range names {
			if _, ok := r.Properties[name]; ok && !slices.Contains(allowed[r.Type], name) {
				t.Errorf("%s (%s) sets %s = %v", id, r.Type, name, r.Properties[name])
			}
		}
	}
}

func TestAPIStageWritesAccessLogs(t *testing.T) {
	s := clientele(t)
	for id, stage := range s.ofType("AWS::ApiGatewayV2::Stage") {
		if stage.Properties["StageName"] != "$default" || stage.Properties["AutoDeploy"] != true {
			t.Errorf("stage %s: %v", id, stage.Properties)
		}
		group := s.cfn.Resources[logicalID(dig(stage.Properties, "AccessLogSettings", "DestinationArn"))]
		if group.Type != "AWS::Logs::LogGroup" || group.Properties["RetentionInDays"] != 30.0 {
			t.Errorf("stage %s: access logs go to %v", id, group)
		}
		format, _ := dig(stage.Properties, "AccessLogSettings", "Format").(string)
		var fields map[string]string
		if err := json.Unmarshal([]byte(format), &fields); err != nil || fields["requestId"] == "" {
			t.Errorf("stage %s: access log format %q is not JSON with the request id (%v)", id, format, err)
		}
		for _, personal := range []string{"$context.identity.sourceIp", "$context.identity.userAgent"} {
			if strings.Contains(format, personal) {
				t.Errorf("stage %s: access logs record %s", id, personal)
			}
		}
	}
}

func TestOutputsNameTheAPITablesAndQueues(t *testing.T) {
	s := clientele(t)
	want := []string{"ApiUrl", "JwtIssuer", "UserPoolId", "UserPoolClientId", "AlarmTopicArn"}
	for _, table := range topology.Clientele().Tables {
		want = append(want, pascal(table.Name)+"TableName")
	}
	for _, q := range topology.Clientele().Queues {
		want = append(want, pascal(q.Name)+"QueueUrl", pascal(q.Name)+"DeadLetterQueueUrl")
	}
	for _, name := range want {
		if _, ok := s.cfn.Outputs[name]; !ok {
			t.Errorf("output %s missing; have %v", name, slices.Sorted(maps.Keys(s.cfn.Outputs)))
		}
	}
}

func TestEveryFunctionHasErrorAndThrottleAlarms(t *testing.T) {
	s := clientele(t)
	for _, f := range topology.Clientele().Functions {
		id := s.functionID(t, f.Name)
		for _, metric := range []string{"Errors", "Throttles"} {
			found := false
			for _, a := range s.ofType("AWS::CloudWatch::Alarm") {
				if a.Properties["MetricName"] == metric && a.Properties["Namespace"] == "AWS/Lambda" &&
					slices.Contains(references(a.Properties["Dimensions"]), id) && len(asList(a.Properties["AlarmActions"])) == 1 {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no %s alarm notifying the alarm topic", f.Name, metric)
			}
		}
	}
}

// checkNoNagFindings fails for every cdk-nag AwsSolutions error or warning
// left unsuppressed on the stack.
func checkNoNagFindings(t *testing.T, s *synthesized) {
	t.Helper()
	annotations := assertions.Annotations_FromStack(s.stack)
	pattern := assertions.Match_StringLikeRegexp(jsii.String("(AwsSolutions|Serverless)-.*"))
	for level, found := range map[string]*[]*cxapi.SynthesisMessage{
		"error":   annotations.FindError(jsii.String("*"), pattern),
		"warning": annotations.FindWarning(jsii.String("*"), pattern),
	} {
		for _, m := range *found {
			t.Errorf("cdk-nag %s at %s: %v", level, *m.Id, m.Entry.Data)
		}
	}
}

func TestCdkNagAwsSolutionsFindsNothingUnsuppressed(t *testing.T) {
	checkNoNagFindings(t, clientele(t))
}

// syntheticSystem exercises what topology.Clientele() does not have yet: a
// consumed queue with a batching window, a schedule, a table with an index,
// a read-only function and an x86 function.
func syntheticSystem() topology.System {
	return topology.System{
		Tables: []topology.Table{{
			Name:         "ledger",
			PartitionKey: topology.Key{Name: "pk", Type: topology.String},
			SortKey:      &topology.Key{Name: "sk", Type: topology.String},
			Indexes: []topology.Index{{
				Name:         "by-expiry",
				PartitionKey: topology.Key{Name: "gsi1pk", Type: topology.String},
				SortKey:      &topology.Key{Name: "expires", Type: topology.Number},
			}},
			TTLAttribute: "ttl",
		}},
		Functions: []topology.Function{
			{
				Name: "ledger-api", Entry: "functions/ledger/api", Description: "Reads the ledger",
				MemoryMB: 128, Timeout: 5 * time.Second, Architecture: topology.ARM64,
				ReadsTables: []string{"ledger"}, Publishes: []string{"ledger.requested"},
				Access: []topology.TableAccess{{Table: "ledger", Actions: []string{"GetItem", "Query"}}},
			},
			{
				Name: "ledger-worker", Entry: "functions/ledger/worker", Description: "Applies ledger events",
				MemoryMB: 512, Timeout: 20 * time.Second, Architecture: topology.X8664,
				WritesTables: []string{"ledger"}, Env: map[string]string{"CLIENTELE_LOG_LEVEL": "debug"},
				Access:              []topology.TableAccess{{Table: "ledger", Actions: []string{"Query", "UpdateItem"}, LeadingKeys: []string{"LEDGER"}}},
				ReservedConcurrency: 3,
			},
		},
		Routes: []topology.Route{
			{Method: "GET", Path: "/v1/ledger/{id}", Function: "ledger-api", Callers: []topology.Caller{topology.Member}, Throttle: &topology.Throttle{RatePerSecond: 5, Burst: 7}},
		},
		Queues: []topology.Queue{{
			Name: "ledger-events", Subscribes: []string{"ledger.requested"}, Consumer: "ledger-worker",
			BatchSize: 50, BatchWindow: 5 * time.Second, MaxReceiveCount: 3, MaxConcurrency: 5,
			OldestMessageAlarm: time.Hour,
			Retention:          4 * 24 * time.Hour, DLQRetention: 14 * 24 * time.Hour,
		}},
		Schedules: []topology.Schedule{{
			Name: "nightly-expiry", Cron: "30 3 * * 1-5", Function: "ledger-worker",
			Payload: `{"job":"expire","dryRun":false}`, Retries: 3, MaxEventAge: 2 * time.Hour,
		}},
		TimeZone: "Europe/Paris",
		Throttle: topology.Throttle{RatePerSecond: 10, Burst: 20},
	}
}

func TestSyntheticTopologyWiresConsumersSchedulesAndAlarms(t *testing.T) {
	system := syntheticSystem()
	if err := system.Validate(); err != nil {
		t.Fatal(err)
	}
	s := mustSynth(t, &ClienteleStackProps{System: system})
	checkResourceCounts(t, s, system)
	worker := s.functionID(t, "ledger-worker")
	queueID := s.queueID(t, "ledger-api", "ledger-events")

	recoverAssertion(t, "event source mapping", func() {
		s.template.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
			"FunctionName":                   map[string]any{"Ref": worker},
			"EventSourceArn":                 map[string]any{"Fn::GetAtt": []any{queueID, "Arn"}},
			"BatchSize":                      50,
			"MaximumBatchingWindowInSeconds": 5,
			"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
			"ScalingConfig":                  map[string]any{"MaximumConcurrency": 5},
		})
	})
	checkQueue(t, s, system, system.Queues[0], queueID)
	if got := s.cfn.Resources[queueID].Properties["VisibilityTimeout"]; got != 120.0 {
		t.Errorf("visibility timeout %v, want 6 × 20 s", got)
	}
	recoverAssertion(t, "schedule", func() {
		s.template.HasResourceProperties(jsii.String("AWS::Scheduler::Schedule"), map[string]any{
			"ScheduleExpression":         "cron(30 3 ? * MON-FRI *)",
			"ScheduleExpressionTimezone": "Europe/Paris",
			"State":                      "ENABLED",
			"Target": assertions.Match_ObjectLike(&map[string]any{
				"Arn":   map[string]any{"Fn::GetAtt": []any{worker, "Arn"}},
				"Input": assertions.Match_SerializedJson(map[string]any{"job": "expire", "dryRun": false}),
				"RetryPolicy": map[string]any{
					"MaximumRetryAttempts":     3,
					"MaximumEventAgeInSeconds": 7200,
				},
				"DeadLetterConfig": map[string]any{"Arn": assertions.Match_AnyValue()},
			}),
		})
	})
	recoverAssertion(t, "on-failure destination", func() {
		s.template.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
			"FunctionName":      map[string]any{"Ref": worker},
			"DestinationConfig": map[string]any{"OnFailure": map[string]any{"Destination": assertions.Match_AnyValue()}},
		})
	})
	recoverAssertion(t, "throttles", func() {
		s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
			"DefaultRouteSettings": map[string]any{"ThrottlingRateLimit": 10, "ThrottlingBurstLimit": 20},
			"RouteSettings": map[string]any{
				"GET /v1/ledger/{id}": map[string]any{"ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 7},
			},
		})
	})
	if got := s.cfn.Resources[worker].Properties["ReservedConcurrentExecutions"]; got != 3.0 {
		t.Errorf("ledger-worker reserved concurrency %v, want 3", got)
	}
	if arch := asList(s.cfn.Resources[worker].Properties["Architectures"]); len(arch) != 1 || arch[0] != "x86_64" {
		t.Errorf("ledger-worker architectures %v, want x86_64", arch)
	}
	if got := dig(s.cfn.Resources[worker].Properties, "Environment", "Variables", "CLIENTELE_LOG_LEVEL"); got != "debug" {
		t.Errorf("ledger-worker CLIENTELE_LOG_LEVEL = %v, want the topology's static debug", got)
	}
	if got := dig(s.cfn.Resources[worker].Properties, "LoggingConfig", "ApplicationLogLevel"); got != "DEBUG" {
		t.Errorf("ledger-worker application log level %v, want DEBUG to keep its debug records", got)
	}
	for _, f := range system.Functions {
		checkGrants(t, s, system, f.Name)
	}
	checkNoNagFindings(t, s)
}

func TestEventBridgeCron(t *testing.T) {
	for _, c := range []struct{ cron, want, err string }{
		{cron: "0 2 * * *", want: "cron(0 2 * * ? *)"},
		{cron: "* * * * *", want: "cron(* * * * ? *)"},
		{cron: "*/15 * * * *", want: "cron(0/15 * * * ? *)"},
		{cron: "30 3 * * 1-5", want: "cron(30 3 ? * MON-FRI *)"},
		{cron: "0 6 * * 0", want: "cron(0 6 ? * SUN *)"},
		{cron: "0 6 * * 7", want: "cron(0 6 ? * SUN *)"},
		{cron: "0 6 * * 5-7", want: "cron(0 6 ? * SUN,FRI,SAT *)"},
		{cron: "0 6 * * sat,sun", want: "cron(0 6 ? * SUN,SAT *)"},
		{cron: "0 6 * * MON,WED-FRI", want: "cron(0 6 ? * MON,WED-FRI *)"},
		{cron: "0 6 * * 1-5/2", want: "cron(0 6 ? * MON,WED,FRI *)"},
		{cron: "0 0 1 * *", want: "cron(0 0 1 * ? *)"},
		{cron: "0 0 1,15 JAN-MAR *", want: "cron(0 0 1,15 JAN-MAR ? *)"},
		{cron: "0 0 ? * *", want: "cron(0 0 * * ? *)"},
		{cron: "0 0 1 * 1", err: "both"},
		{cron: "0 0 * *", err: "five fields"},
		{cron: "0 0 L * *", err: "syntax"},
		{cron: "0 0 * * 8", err: "neither"},
		{cron: "0 0 * * 5-2", err: "backwards"},
	} {
		options, err := eventBridgeCron(c.cron)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("eventBridgeCron(%q) error %v, want one mentioning %q", c.cron, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("eventBridgeCron(%q): %v", c.cron, err)
			continue
		}
		if got := *awsevents.Schedule_Cron(options).ExpressionString(); got != c.want {
			t.Errorf("eventBridgeCron(%q) = %s, want %s", c.cron, got, c.want)
		}
	}
}

func TestPascal(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"points-events": "PointsEvents", "members-api": "MembersApi", "members": "Members", "a.b_c": "ABC"} {
		if got := pascal(in); got != want {
			t.Errorf("pascal(%q) = %q, want %q", in, got, want)
		}
	}
}
