package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"clientele/infra/topology"
	"clientele/shared/env"
)

// A productionCheck is one property a review of the synthesized template
// found missing once. Each is a pure function of the template, so
// TestProductionChecksCatchTheirRegressions can break a copy of the template
// the way the stack once was broken and see the check fail: a check that
// cannot fail would pass there.
type productionCheck struct {
	name  string
	check func(tpl *cfnTemplate) []string
}

var productionChecks = []productionCheck{
	{"function log writes", checkLogWrites},
	{"alarm key lets CloudWatch encrypt", checkAlarmKey},
	{"alarm topic encrypted", checkTopicEncrypted},
	{"alarm topic lets CloudWatch publish", checkTopicPolicy},
	{"issuer in the stack's region", checkIssuerRegion},
}

func TestProductionChecksHold(t *testing.T) {
	s := clientele(t)
	for _, c := range productionChecks {
		for _, problem := range c.check(&s.cfn) {
			t.Errorf("%s: %s", c.name, problem)
		}
	}
}

// TestProductionChecksCatchTheirRegressions applies each regression the
// issue names to a copy of the template and expects its check to fail.
func TestProductionChecksCatchTheirRegressions(t *testing.T) {
	s := clientele(t)
	mutations := []struct {
		name, check string
		mutate      func(t *testing.T, tpl *cfnTemplate)
	}{
		{"a function loses its log-write grant", "function log writes", func(t *testing.T, tpl *cfnTemplate) {
			removeStatements(t, tpl, "AWS::IAM::Policy", func(st map[string]any) bool {
				return slices.Contains(asList(st["Action"]), any("logs:PutLogEvents"))
			}, 1)
		}},
		{"the alarm key loses its CloudWatch statement", "alarm key lets CloudWatch encrypt", func(t *testing.T, tpl *cfnTemplate) {
			removeStatements(t, tpl, "AWS::KMS::Key", func(st map[string]any) bool {
				return strings.Contains(fmt.Sprint(st["Principal"]), "cloudwatch.amazonaws.com")
			}, -1)
		}},
		{"the topic loses its encryption", "alarm topic encrypted", func(t *testing.T, tpl *cfnTemplate) {
			for _, r := range tpl.Resources {
				if r.Type == "AWS::SNS::Topic" {
					delete(r.Properties, "KmsMasterKeyId")
				}
			}
		}},
		{"the topic policy only denies", "alarm topic lets CloudWatch publish", func(t *testing.T, tpl *cfnTemplate) {
			removeStatements(t, tpl, "AWS::SNS::TopicPolicy", func(st map[string]any) bool { return st["Effect"] == "Allow" }, -1)
		}},
		{"the topic policy forgets the source account", "alarm topic lets CloudWatch publish", func(t *testing.T, tpl *cfnTemplate) {
			for _, r := range tpl.Resources {
				if r.Type == "AWS::SNS::TopicPolicy" {
					for _, st := range asList(dig(r.Properties, "PolicyDocument", "Statement")) {
						if m, ok := dig(st, "Condition").(map[string]any); ok {
							delete(m, "StringEquals")
						}
					}
				}
			}
		}},
		{"the issuer's region is hard-coded", "issuer in the stack's region", func(t *testing.T, tpl *cfnTemplate) {
			for _, r := range tpl.Resources {
				if r.Type == "AWS::ApiGatewayV2::Authorizer" {
					cfg := r.Properties["JwtConfiguration"].(map[string]any)
					cfg["Issuer"] = map[string]any{"Fn::Join": []any{"", []any{
						"https://cognito-idp.us-east-1.amazonaws.com/", map[string]any{"Ref": userPoolID(tpl)},
					}}}
				}
			}
		}},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			tpl := copyTemplate(t, &s.cfn)
			m.mutate(t, tpl)
			i := slices.IndexFunc(productionChecks, func(c productionCheck) bool { return c.name == m.check })
			if i < 0 {
				t.Fatalf("no check %q", m.check)
			}
			if problems := productionChecks[i].check(tpl); len(problems) == 0 {
				t.Errorf("check %q passes although %s", m.check, m.name)
			}
		})
	}
}

// copyTemplate deep-copies a template through JSON.
func copyTemplate(t *testing.T, tpl *cfnTemplate) *cfnTemplate {
	t.Helper()
	raw, err := json.Marshal(tpl)
	if err != nil {
		t.Fatal(err)
	}
	var out cfnTemplate
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// removeStatements deletes the matching statements from the policy
// documents of resources of one type (KMS keys' KeyPolicy, the others'
// PolicyDocument): the first n matches, or all when n < 0. It fails the test
// when nothing matched, so a mutation cannot silently do nothing.
func removeStatements(t *testing.T, tpl *cfnTemplate, typ string, match func(map[string]any) bool, n int) {
	t.Helper()
	removed := 0
	for _, r := range tpl.Resources {
		if r.Type != typ {
			continue
		}
		doc := "PolicyDocument"
		if typ == "AWS::KMS::Key" {
			doc = "KeyPolicy"
		}
		policy, _ := r.Properties[doc].(map[string]any)
		var kept []any
		for _, st := range asList(dig(policy, "Statement")) {
			if m, ok := st.(map[string]any); ok && match(m) && (n < 0 || removed < n) {
				removed++
				continue
			}
			kept = append(kept, st)
		}
		if policy != nil {
			policy["Statement"] = kept
		}
	}
	if removed == 0 {
		t.Fatalf("no %s statement matched", typ)
	}
}

// resourcesOf returns a template's resources of one type by logical id.
func resourcesOf(tpl *cfnTemplate, typ string) map[string]cfnResource {
	out := map[string]cfnResource{}
	for id, r := range tpl.Resources {
		if r.Type == typ {
			out[id] = r
		}
	}
	return out
}

func userPoolID(tpl *cfnTemplate) string {
	for id := range resourcesOf(tpl, "AWS::Cognito::UserPool") {
		return id
	}
	return ""
}

// checkLogWrites: every function's role may create streams in and write to
// the function's own log group (without it the function runs blind).
func checkLogWrites(tpl *cfnTemplate) []string {
	var problems []string
	for id, fn := range resourcesOf(tpl, "AWS::Lambda::Function") {
		role := logicalID(fn.Properties["Role"])
		group := logicalID(dig(fn.Properties, "LoggingConfig", "LogGroup"))
		if group == "" {
			problems = append(problems, id+": no log group of its own")
			continue
		}
		granted := map[string]bool{}
		for _, p := range resourcesOf(tpl, "AWS::IAM::Policy") {
			if !slices.ContainsFunc(asList(p.Properties["Roles"]), func(r any) bool { return logicalID(r) == role }) {
				continue
			}
			for _, st := range asList(dig(p.Properties, "PolicyDocument", "Statement")) {
				if dig(st, "Effect") != "Allow" || !slices.Contains(references(dig(st, "Resource")), group) {
					continue
				}
				for _, a := range asList(dig(st, "Action")) {
					granted[fmt.Sprint(a)] = true
				}
			}
		}
		for _, a := range []string{"logs:CreateLogStream", "logs:PutLogEvents"} {
			if !granted[a] {
				problems = append(problems, fmt.Sprintf("%s: role %s lacks %s on log group %s", id, role, a, group))
			}
		}
	}
	return problems
}

// alarmTopics returns the SNS topics alarms notify.
func alarmTopics(tpl *cfnTemplate) map[string]cfnResource {
	return resourcesOf(tpl, "AWS::SNS::Topic")
}

// checkTopicEncrypted: the alarm topic is encrypted with a key of the stack.
func checkTopicEncrypted(tpl *cfnTemplate) []string {
	topics := alarmTopics(tpl)
	if len(topics) == 0 {
		return []string{"no alarm topic"}
	}
	var problems []string
	for id, topic := range topics {
		if tpl.Resources[logicalID(topic.Properties["KmsMasterKeyId"])].Type != "AWS::KMS::Key" {
			problems = append(problems, fmt.Sprintf("topic %s: KmsMasterKeyId %v is not a key of the stack", id, topic.Properties["KmsMasterKeyId"]))
		}
	}
	return problems
}

// checkAlarmKey: the alarm topic's key lets CloudWatch generate data keys
// and decrypt, limited to this account; otherwise publishing fails.
func checkAlarmKey(tpl *cfnTemplate) []string {
	var problems []string
	for id, topic := range alarmTopics(tpl) {
		keyID := logicalID(topic.Properties["KmsMasterKeyId"])
		key, ok := tpl.Resources[keyID]
		if !ok {
			problems = append(problems, fmt.Sprintf("topic %s has no key", id))
			continue
		}
		found := false
		for _, st := range asList(dig(key.Properties, "KeyPolicy", "Statement")) {
			actions := asList(dig(st, "Action"))
			if dig(st, "Effect") == "Allow" && dig(st, "Principal", "Service") == "cloudwatch.amazonaws.com" &&
				slices.Contains(actions, any("kms:Decrypt")) && slices.Contains(actions, any("kms:GenerateDataKey*")) &&
				isAccountRef(dig(st, "Condition", "StringEquals", "aws:SourceAccount")) {
				found = true
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("key %s of topic %s: no statement letting CloudWatch (this account) use it", keyID, id))
		}
	}
	return problems
}

func isAccountRef(v any) bool { return dig(v, "Ref") == "AWS::AccountId" }

// checkTopicPolicy: the topic policy allows CloudWatch to publish, only for
// this account's alarms of this stack, beside the SSL-only deny, and every
// alarm notifies the topic.
func checkTopicPolicy(tpl *cfnTemplate) []string {
	var problems []string
	alarms := resourcesOf(tpl, "AWS::CloudWatch::Alarm")
	for topicID := range alarmTopics(tpl) {
		var allow, deny bool
		for _, p := range resourcesOf(tpl, "AWS::SNS::TopicPolicy") {
			if !slices.Contains(references(p.Properties["Topics"]), topicID) {
				continue
			}
			for _, st := range asList(dig(p.Properties, "PolicyDocument", "Statement")) {
				if dig(st, "Effect") == "Deny" && dig(st, "Condition", "Bool", "aws:SecureTransport") == "false" {
					deny = true
				}
				if dig(st, "Effect") != "Allow" || dig(st, "Principal", "Service") != "cloudwatch.amazonaws.com" ||
					!slices.Contains(asList(dig(st, "Action")), any("sns:Publish")) {
					continue
				}
				if !isAccountRef(dig(st, "Condition", "StringEquals", "aws:SourceAccount")) {
					problems = append(problems, fmt.Sprintf("topic %s: CloudWatch may publish without an aws:SourceAccount condition", topicID))
					continue
				}
				sources := references(dig(st, "Condition", "ArnLike", "aws:SourceArn"))
				missing := 0
				for id := range alarms {
					if !slices.Contains(sources, id) {
						missing++
					}
				}
				if missing > 0 || len(sources) == 0 {
					problems = append(problems, fmt.Sprintf("topic %s: aws:SourceArn leaves out %d of %d alarms", topicID, missing, len(alarms)))
					continue
				}
				allow = true
			}
		}
		if !allow {
			problems = append(problems, fmt.Sprintf("topic %s: no statement lets this stack's alarms publish", topicID))
		}
		if !deny {
			problems = append(problems, fmt.Sprintf("topic %s: no statement denies requests without TLS", topicID))
		}
		for id, a := range alarms {
			if !slices.Contains(references(a.Properties["AlarmActions"]), topicID) {
				problems = append(problems, fmt.Sprintf("alarm %s does not notify topic %s", id, topicID))
			}
		}
	}
	return problems
}

// checkIssuerRegion: with the stack's user pool, the authorizer trusts the
// pool's issuer in whatever region the stack is deployed to.
func checkIssuerRegion(tpl *cfnTemplate) []string {
	pool := userPoolID(tpl)
	if pool == "" {
		return nil
	}
	var problems []string
	for id, a := range resourcesOf(tpl, "AWS::ApiGatewayV2::Authorizer") {
		issuer := dig(a.Properties, "JwtConfiguration", "Issuer")
		raw, _ := json.Marshal(issuer)
		join, _ := dig(issuer, "Fn::Join").([]any)
		if len(join) != 2 {
			problems = append(problems, fmt.Sprintf("authorizer %s: issuer %s is not built from the region and the pool", id, raw))
			continue
		}
		parts := asList(join[1])
		want := []any{"https://cognito-idp.", map[string]any{"Ref": "AWS::Region"}, ".amazonaws.com/", map[string]any{"Ref": pool}}
		if fmt.Sprint(parts) != fmt.Sprint(want) {
			problems = append(problems, fmt.Sprintf("authorizer %s: issuer %s, want https://cognito-idp.<stack region>.amazonaws.com/<pool>", id, raw))
		}
	}
	return problems
}

func TestDefaultUserPoolServesMembersServicesAndStaff(t *testing.T) {
	s := clientele(t)
	system := topology.Clientele()
	pools := s.ofType("AWS::Cognito::UserPool")
	if len(pools) != 1 {
		t.Fatalf("%d user pools", len(pools))
	}
	poolID := userPoolID(&s.cfn)
	pool := pools[poolID].Properties
	if pool["MfaConfiguration"] != "ON" {
		t.Errorf("MfaConfiguration %v, want ON (required, staff included)", pool["MfaConfiguration"])
	}
	memberAttribute := false
	for _, a := range asList(pool["Schema"]) {
		if dig(a, "Name") == "member_id" && dig(a, "AttributeDataType") == "String" {
			memberAttribute = true
		}
	}
	if !memberAttribute {
		t.Errorf("no custom member_id attribute in %v", pool["Schema"])
	}
	groups := s.ofType("AWS::Cognito::UserPoolGroup")
	if len(groups) != 1 {
		t.Errorf("%d groups, want the staff group", len(groups))
	}
	for _, g := range groups {
		if g.Properties["GroupName"] != "staff" || logicalID(g.Properties["UserPoolId"]) != poolID {
			t.Errorf("group %v", g.Properties)
		}
	}
	var servers []cfnResource
	for _, r := range s.ofType("AWS::Cognito::UserPoolResourceServer") {
		servers = append(servers, r)
	}
	if len(servers) != 1 {
		t.Fatalf("%d resource servers", len(servers))
	}
	var scopes []string
	for _, sc := range asList(servers[0].Properties["Scopes"]) {
		scopes = append(scopes, dig(sc, "ScopeName").(string))
	}
	slices.Sort(scopes)
	if !slices.Equal(scopes, system.ServiceScopes()) || servers[0].Properties["Identifier"] != resourceServerID {
		t.Errorf("resource server %v scopes %v, want %s with %v", servers[0].Properties["Identifier"], scopes, resourceServerID, system.ServiceScopes())
	}
	if n := len(s.ofType("AWS::Cognito::UserPoolDomain")); n != 1 {
		t.Errorf("%d domains, want one for the token endpoint", n)
	}
	var integrationScopes [][]string
	for id, c := range s.ofType("AWS::Cognito::UserPoolClient") {
		p := c.Properties
		if slices.Contains(asList(p["AllowedOAuthFlows"]), any("client_credentials")) {
			if p["GenerateSecret"] != true {
				t.Errorf("integration client %s has no secret", id)
			}
			var got []string
			for _, sc := range asList(p["AllowedOAuthScopes"]) {
				raw, _ := json.Marshal(sc)
				got = append(got, string(raw))
			}
			slices.Sort(got)
			integrationScopes = append(integrationScopes, got)
			continue
		}
		// The app client members and staff sign in with: it reads the
		// member id but may never write it.
		if !slices.Contains(asList(p["ReadAttributes"]), any(cognitoMemberClaim)) {
			t.Errorf("app client %s cannot read %s: %v", id, cognitoMemberClaim, p["ReadAttributes"])
		}
		if w := asList(p["WriteAttributes"]); len(w) == 0 || slices.Contains(w, any(cognitoMemberClaim)) {
			t.Errorf("app client %s: write attributes %v must be explicit and leave out %s", id, w, cognitoMemberClaim)
		}
	}
	if len(integrationScopes) != len(system.Integrations) {
		t.Errorf("%d client-credentials clients, want one per integration (%d)", len(integrationScopes), len(system.Integrations))
	}
	for _, in := range system.Integrations {
		found := false
		for _, got := range integrationScopes {
			if len(got) == len(in.Scopes) && strings.Contains(strings.Join(got, " "), "/"+in.Scopes[0]) {
				found = true
			}
		}
		if !found {
			t.Errorf("integration %s: no client with scopes %v among %v", in.Name, in.Scopes, integrationScopes)
		}
	}
	for _, f := range system.Functions {
		vars := dig(s.cfn.Resources[s.functionID(t, f.Name)].Properties, "Environment", "Variables")
		want := any(nil)
		if system.ServesRoutes(f.Name) {
			want = cognitoMemberClaim
		}
		if got := dig(vars, env.MemberClaim); got != want {
			t.Errorf("%s: %s = %v, want %v", f.Name, env.MemberClaim, got, want)
		}
	}
}

func TestBrandIdentityProviderClaimMapping(t *testing.T) {
	s := mustSynth(t, &ClienteleStackProps{
		System:      topology.Clientele(),
		JWTIssuer:   "https://brand.eu.auth0.com/",
		JWTAudience: []string{"https://api.brand.example"},
		MemberClaim: "https://brand.example/member_id",
		GroupsClaim: "https://brand.example/roles",
	})
	for _, c := range productionChecks {
		for _, problem := range c.check(&s.cfn) {
			t.Errorf("%s: %s", c.name, problem)
		}
	}
	vars := dig(s.cfn.Resources[s.functionID(t, "members-api")].Properties, "Environment", "Variables")
	if dig(vars, env.MemberClaim) != "https://brand.example/member_id" || dig(vars, env.GroupsClaim) != "https://brand.example/roles" {
		t.Errorf("claim mapping %v / %v", dig(vars, env.MemberClaim), dig(vars, env.GroupsClaim))
	}
	defer func() {
		if recover() == nil {
			t.Error("a claim mapping without an issuer was accepted")
		}
	}()
	NewClienteleStack(nil, "Clientele", &ClienteleStackProps{System: topology.Clientele(), MemberClaim: "sub"})
}

func TestStageNames(t *testing.T) {
	t.Parallel()
	for stage, ok := range map[string]bool{"dev": true, "prod": true, "eu-prod-2": true, "": false, "Prod": false, "2prod": false, "prod_eu": false, "a-very-long-stage-name-x": false} {
		if validStage(stage) != ok {
			t.Errorf("validStage(%q) = %v", stage, !ok)
		}
	}
	if StackName("prod") != "Clientele-prod" {
		t.Errorf("StackName(prod) = %s", StackName("prod"))
	}
}

// alarmsOn returns the alarms on a metric whose dimensions refer to the
// resource (or, for EMF metrics, name the function).
func alarmsOn(s *synthesized, namespace, metric, resource string) []cfnResource {
	var out []cfnResource
	for _, a := range s.ofType("AWS::CloudWatch::Alarm") {
		p := a.Properties
		if p["Namespace"] != namespace || p["MetricName"] != metric {
			continue
		}
		dims, _ := json.Marshal(p["Dimensions"])
		if slices.Contains(references(p["Dimensions"]), resource) || strings.Contains(string(dims), `"Value":"`+resource+`"`) {
			out = append(out, a)
		}
	}
	return out
}

func TestMonitoringCoversQueuesAPIFunctionsAndRuns(t *testing.T) {
	s := clientele(t)
	system := topology.Clientele()
	for _, q := range system.Queues {
		id := queueIDByName(t, s, system, q.Name)
		alarms := alarmsOn(s, "AWS/SQS", "ApproximateAgeOfOldestMessage", id)
		if len(alarms) != 1 || alarms[0].Properties["Threshold"] != q.OldestMessageAlarm.Seconds() {
			t.Errorf("queue %s: oldest-message alarms %v, want one at %v s", q.Name, alarms, q.OldestMessageAlarm.Seconds())
		}
		dlq := s.cfn.Resources[logicalID(dig(s.cfn.Resources[id].Properties, "RedrivePolicy", "deadLetterTargetArn"))]
		if dlq.Properties["MessageRetentionPeriod"].(float64) <= s.cfn.Resources[id].Properties["MessageRetentionPeriod"].(float64) {
			t.Errorf("queue %s: its DLQ keeps messages %v s, no longer than the queue", q.Name, dlq.Properties["MessageRetentionPeriod"])
		}
	}
	for _, f := range system.Functions {
		id := s.functionID(t, f.Name)
		alarms := alarmsOn(s, "AWS/Lambda", "Duration", id)
		if len(alarms) != 1 || alarms[0].Properties["Threshold"] != 0.9*float64(f.Timeout.Milliseconds()) {
			t.Errorf("%s: duration alarms %v, want one at 90%% of the timeout", f.Name, alarms)
		}
		if f.CompletesEvery == 0 {
			continue
		}
		runs := alarmsOn(s, "Clientele", "RunCompleted", f.Name)
		days := f.CompletesEvery.Hours() / 24
		if len(runs) != 1 || runs[0].Properties["TreatMissingData"] != "breaching" || runs[0].Properties["EvaluationPeriods"] != days ||
			runs[0].Properties["ComparisonOperator"] != "LessThanThreshold" || runs[0].Properties["Period"] != 86400.0 {
			t.Errorf("%s: run alarms %v, want one firing after %v days without a completed run (missing data breaching)", f.Name, runs, days)
		}
		if len(alarmsOn(s, "Clientele", "InvariantViolations", f.Name)) != 1 {
			t.Errorf("%s: no alarm on invariant violations", f.Name)
		}
	}
	api := ""
	for id := range s.ofType("AWS::ApiGatewayV2::Api") {
		api = id
	}
	for _, metric := range []string{"5xx", "Latency"} {
		if len(alarmsOn(s, "AWS/ApiGateway", metric, api)) != 1 {
			t.Errorf("no API %s alarm", metric)
		}
	}
	dashboards := s.ofType("AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("%d dashboards", len(dashboards))
	}
	for _, d := range dashboards {
		body, _ := json.Marshal(d.Properties["DashboardBody"])
		for _, want := range []string{"PointsLiability", "ApproximateAgeOfOldestMessage", "Latency", "RunCompleted"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("dashboard shows no %s", want)
			}
		}
	}
}

// queueIDByName finds a topology queue's resource through a function that
// sends to it.
func queueIDByName(t *testing.T, s *synthesized, system topology.System, queue string) string {
	t.Helper()
	return s.queueID(t, senderTo(t, system, queue), queue)
}

func TestStagesDecideWhatIsKeptAndProtected(t *testing.T) {
	prod := clientele(t)
	dev := mustSynth(t, &ClienteleStackProps{System: topology.Clientele(), Stage: "dev"})
	if !*prod.stack.TerminationProtection() || *dev.stack.TerminationProtection() {
		t.Errorf("termination protection: prod %v, dev %v", *prod.stack.TerminationProtection(), *dev.stack.TerminationProtection())
	}
	for _, c := range []struct {
		s      *synthesized
		policy string
		guard  bool
	}{{prod, "Retain", true}, {dev, "Delete", false}} {
		for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::Cognito::UserPool", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"} {
			for id, r := range c.s.ofType(typ) {
				if r.DeletionPolicy != c.policy {
					t.Errorf("%s %s: DeletionPolicy %q, want %q", dig(c.s.cfn.Resources[id].Properties, "Tags"), id, r.DeletionPolicy, c.policy)
				}
			}
		}
		for id, r := range c.s.ofType("AWS::DynamoDB::Table") {
			if (r.Properties["DeletionProtectionEnabled"] == true) != c.guard {
				t.Errorf("table %s: deletion protection %v, want %v", id, r.Properties["DeletionProtectionEnabled"], c.guard)
			}
		}
	}
	for _, c := range []struct {
		s     *synthesized
		stage string
	}{{prod, "prod"}, {dev, "dev"}} {
		for id, r := range c.s.ofType("AWS::DynamoDB::Table") {
			tags := map[string]any{}
			for _, tag := range asList(r.Properties["Tags"]) {
				tags[dig(tag, "Key").(string)] = dig(tag, "Value")
			}
			if tags["app"] != "clientele" || tags["stage"] != c.stage || tags["data-classification"] != dataClassification {
				t.Errorf("table %s tags %v", id, tags)
			}
		}
		for _, f := range topology.Clientele().Functions {
			if got := dig(c.s.cfn.Resources[c.s.functionID(t, f.Name)].Properties, "Environment", "Variables", env.Stage); got != c.stage {
				t.Errorf("%s in %s: %s = %v", f.Name, c.stage, env.Stage, got)
			}
		}
	}
}

func TestFunctionsTraceAndLogJSONWithALevel(t *testing.T) {
	s := clientele(t)
	for _, f := range topology.Clientele().Functions {
		p := s.cfn.Resources[s.functionID(t, f.Name)].Properties
		if dig(p, "TracingConfig", "Mode") != "Active" {
			t.Errorf("%s: tracing %v", f.Name, p["TracingConfig"])
		}
		if dig(p, "LoggingConfig", "LogFormat") != "JSON" || dig(p, "LoggingConfig", "ApplicationLogLevel") != "INFO" {
			t.Errorf("%s: logging %v, want JSON at INFO", f.Name, p["LoggingConfig"])
		}
	}
}

func TestSchedulerCanDeadLetterToTheEncryptedQueue(t *testing.T) {
	s := clientele(t)
	var role string
	for id, r := range s.ofType("AWS::IAM::Role") {
		if strings.Contains(fmt.Sprint(r.Properties["AssumeRolePolicyDocument"]), "scheduler.amazonaws.com") {
			role = id
		}
	}
	if role == "" {
		t.Fatal("no role for EventBridge Scheduler")
	}
	var sends, kms bool
	for _, p := range s.ofType("AWS::IAM::Policy") {
		if !slices.ContainsFunc(asList(p.Properties["Roles"]), func(r any) bool { return logicalID(r) == role }) {
			continue
		}
		for _, st := range asList(dig(p.Properties, "PolicyDocument", "Statement")) {
			actions := asList(dig(st, "Action"))
			sends = sends || slices.Contains(actions, any("sqs:SendMessage"))
			via, _ := json.Marshal(dig(st, "Condition", "StringEquals", "kms:ViaService"))
			kms = kms || (slices.Contains(actions, any("kms:GenerateDataKey")) && strings.Contains(string(via), "sqs."))
		}
	}
	if !sends || !kms {
		t.Errorf("scheduler role: sends to the failures queue %v, may use its key through SQS %v", sends, kms)
	}
}
