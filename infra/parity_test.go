package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"

	"clientele/infra/local"
	"clientele/infra/topology"
	"clientele/shared/env"
)

// TestCDKAndLocalRunnerAgree holds the topology's two interpreters in
// parity: the synthesized CloudFormation template and the local runner's
// plan must have the same routes (and the functions behind them), the same
// variable names on every function, and the same grants: tables read or
// written, queues sent to and consumed, schedules.
func TestCDKAndLocalRunnerAgree(t *testing.T) {
	for name, system := range map[string]topology.System{"clientele": topology.Clientele(), "synthetic": syntheticSystem()} {
		t.Run(name, func(t *testing.T) {
			var s *synthesized
			if name == "clientele" {
				s = clientele(t)
			} else {
				s = mustSynth(t, &ClienteleStackProps{System: system})
			}
			checkParity(t, s, system, local.Plan(system))
		})
	}
}

func checkParity(t *testing.T, s *synthesized, system topology.System, plan local.PlanView) {
	t.Helper()
	// Which function does each Lambda resource run?
	nameOf := map[string]string{}
	for id, r := range s.ofType("AWS::Lambda::Function") {
		if n, ok := dig(r.Properties, "Environment", "Variables", env.Service).(string); ok {
			nameOf[id] = n
		}
	}

	// Routes and their functions.
	integrationFn := map[string]string{}
	for id, r := range s.ofType("AWS::ApiGatewayV2::Integration") {
		integrationFn[id] = nameOf[firstRef(r.Properties["IntegrationUri"], nameOf)]
	}
	cdkRoutes := map[string]string{}
	for _, r := range s.ofType("AWS::ApiGatewayV2::Route") {
		key, _ := r.Properties["RouteKey"].(string)
		target := ""
		for _, ref := range references(r.Properties["Target"]) {
			if fn, ok := integrationFn[ref]; ok {
				target = fn
			}
		}
		cdkRoutes[key] = target
	}
	localRoutes := map[string]string{}
	for _, r := range plan.Routes {
		localRoutes[r.Key] = r.Function
	}
	if !mapsEqual(cdkRoutes, localRoutes) {
		t.Errorf("routes differ:\nCDK   %v\nlocal %v", cdkRoutes, localRoutes)
	}
	// Which routes sit behind the JWT authorizer (all but the public ones).
	cdkAuthorized, localAuthorized := map[string]string{}, map[string]string{}
	for _, r := range s.ofType("AWS::ApiGatewayV2::Route") {
		key, _ := r.Properties["RouteKey"].(string)
		cdkAuthorized[key] = fmt.Sprint(r.Properties["AuthorizationType"] == "JWT")
	}
	for _, r := range plan.Routes {
		localAuthorized[r.Key] = fmt.Sprint(r.Authorized)
	}
	if !mapsEqual(cdkAuthorized, localAuthorized) {
		t.Errorf("authorized routes differ:\nCDK   %v\nlocal %v", cdkAuthorized, localAuthorized)
	}

	// Logical ids of tables and queues, through the variables that name them.
	tableName, queueName := map[string]string{}, map[string]string{}
	for _, f := range system.Functions {
		vars, _ := dig(s.cfn.Resources[s.functionID(t, f.Name)].Properties, "Environment", "Variables").(map[string]any)
		for _, tb := range system.Tables {
			if v, ok := vars[env.TableVar(tb.Name)]; ok {
				tableName[logicalID(v)] = tb.Name
			}
		}
		for _, q := range system.Queues {
			if v, ok := vars[env.QueueURLVar(q.Name)]; ok {
				queueName[logicalID(v)] = q.Name
			}
		}
	}
	for _, q := range system.Queues {
		if q.Consumer != "" {
			queueName[queueIDByConsumer(t, s, q.Name)] = q.Name
		}
	}
	bucketName := map[string]string{}
	for _, f := range system.Functions {
		vars, _ := dig(s.cfn.Resources[s.functionID(t, f.Name)].Properties, "Environment", "Variables").(map[string]any)
		for _, b := range system.Buckets {
			if v, ok := vars[env.BucketVar(b.Name)]; ok {
				bucketName[logicalID(v)] = b.Name
			}
		}
	}

	for _, pf := range plan.Functions {
		id := s.functionID(t, pf.Name)
		vars, _ := dig(s.cfn.Resources[id].Properties, "Environment", "Variables").(map[string]any)
		// The CDK stack names the HMAC key's secret where the local runner
		// gives the dev key itself.
		var names []string
		for _, k := range cdkVariableNames(vars) {
			if k == env.HMACKeySecret {
				k = env.HMACKey
			}
			names = append(names, k)
		}
		sort.Strings(names)
		if !slices.Equal(names, pf.EnvNames) {
			t.Errorf("%s: variables differ:\nCDK   %v\nlocal %v", pf.Name, names, pf.EnvNames)
		}

		reads, writes, sends, puts := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, st := range s.statements(t, pf.Name) {
			for _, r := range asList(st["Resource"]) {
				ref := logicalID(r)
				if ref == "" {
					if refs := references(r); len(refs) > 0 {
						ref = refs[0]
					}
				}
				for _, a := range asList(st["Action"]) {
					action, _ := a.(string)
					if tb, ok := tableName[ref]; ok {
						if slices.Contains(writeActions, action) {
							writes[tb] = true
						} else if strings.HasPrefix(action, "dynamodb:") {
							reads[tb] = true
						}
					}
					if q, ok := queueName[ref]; ok && action == "sqs:SendMessage" {
						sends[q] = true
					}
					if b, ok := bucketName[ref]; ok && action == "s3:PutObject" {
						puts[b] = true
					}
				}
			}
		}
		var readOnly []string
		for tb := range reads {
			if !writes[tb] {
				readOnly = append(readOnly, tb)
			}
		}
		if got := sortedSet(writes); !slices.Equal(got, nonNil(pf.ReadWriteTables)) {
			t.Errorf("%s: tables written: CDK %v, local %v", pf.Name, got, pf.ReadWriteTables)
		}
		sort.Strings(readOnly)
		if !slices.Equal(nonNil(readOnly), nonNil(pf.ReadOnlyTables)) {
			t.Errorf("%s: tables only read: CDK %v, local %v", pf.Name, readOnly, pf.ReadOnlyTables)
		}
		if got := sortedSet(sends); !slices.Equal(got, nonNil(pf.SendsTo)) {
			t.Errorf("%s: queues sent to: CDK %v, local %v", pf.Name, got, pf.SendsTo)
		}
		if got := sortedSet(puts); !slices.Equal(got, nonNil(pf.WritesBuckets)) {
			t.Errorf("%s: buckets written: CDK %v, local %v", pf.Name, got, pf.WritesBuckets)
		}

		var consumes []string
		for _, m := range s.ofType("AWS::Lambda::EventSourceMapping") {
			if logicalID(m.Properties["FunctionName"]) == id {
				consumes = append(consumes, queueName[logicalID(m.Properties["EventSourceArn"])])
			}
		}
		sort.Strings(consumes)
		if !slices.Equal(nonNil(consumes), nonNil(pf.Consumes)) {
			t.Errorf("%s: queues consumed: CDK %v, local %v", pf.Name, consumes, pf.Consumes)
		}

		var cdkSchedules []string
		for _, r := range s.ofType("AWS::Scheduler::Schedule") {
			if logicalID(dig(r.Properties, "Target", "Arn")) == id {
				expr, _ := r.Properties["ScheduleExpression"].(string)
				cdkSchedules = append(cdkSchedules, fmt.Sprintf("%s %v", expr, r.Properties["ScheduleExpressionTimezone"]))
			}
		}
		var localSchedules []string
		for _, ps := range plan.Schedules {
			if ps.Function != pf.Name {
				continue
			}
			cron, err := eventBridgeCron(ps.Cron)
			if err != nil {
				t.Fatal(err)
			}
			tz := ps.TimeZone
			if tz == "" {
				tz = "UTC"
			}
			localSchedules = append(localSchedules, fmt.Sprintf("%s %s", *awsevents.Schedule_Cron(cron).ExpressionString(), tz))
		}
		sort.Strings(cdkSchedules)
		sort.Strings(localSchedules)
		if !slices.Equal(cdkSchedules, localSchedules) {
			t.Errorf("%s: schedules differ:\nCDK   %v\nlocal %v", pf.Name, cdkSchedules, localSchedules)
		}
	}
}

// firstRef returns the first referenced resource that is a known function.
func firstRef(v any, functions map[string]string) string {
	for _, ref := range references(v) {
		if _, ok := functions[ref]; ok {
			return ref
		}
	}
	return ""
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

func sortedSet(m map[string]bool) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
