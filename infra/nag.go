package main

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"clientele/infra/topology"
)

// Reasons for the cdk-nag findings the stack accepts. Each names what is
// accepted and why; everything else cdk-nag's AwsSolutions pack checks is
// fixed in the resources themselves.
const (
	reasonKMSGrantWildcards = "kms:GenerateDataKey* and kms:ReEncrypt* let DynamoDB encrypt the items a function writes " +
		"to tables encrypted with the stack's data key: the statement names that one key, carries a kms:ViaService " +
		"condition for DynamoDB in the stack's region, and the wildcards only cover the variants of those two " +
		"operations DynamoDB calls on the function's behalf."
	reasonIndexWildcard = "Queries and scans on the table's global secondary indexes, granted only with Query or Scan: " +
		"<table ARN>/index/* covers only indexes of this one table, which the topology declares."
	reasonHMACKeyRotation = "The HMAC key keys uniqueness items and signs pagination cursors kept in the tables; " +
		"rotating it on a schedule would orphan every uniqueness item keyed with the old value, so it is rotated " +
		"deliberately, together with a re-keying migration, never automatically."
	reasonScheduleFailuresIsADLQ = "This queue is itself a dead-letter queue: EventBridge Scheduler's for the schedules and " +
		"the scheduled functions' on-failure destination; an alarm fires on its first message."
	reasonFunctionVersions = "<function ARN>:* is CDK's grantInvoke for the scheduled functions: it covers the versions and " +
		"aliases of those named functions only, nothing else."
	reasonXRayWildcard = "xray:PutTraceSegments and xray:PutTelemetryRecords, added for active tracing, support no " +
		"resource-level permissions: AWS documents Resource \"*\" for them, and they only write trace data."
	reasonDeadLetterQueue = "This queue is a dead-letter queue: messages land here after the source queue's receives " +
		"are spent; redriving from it is an operator's decision (an alarm fires on its first message)."
	reasonSyncFunctionDLQ = "Invoked synchronously by API Gateway: a failure is returned to the caller as a 5xx " +
		"(and alarmed on); there is no asynchronous event to dead-letter."
	reasonQueueFedFunctionDLQ = "Invoked by an SQS event source mapping: failed messages go to the queue's own " +
		"dead-letter queue through its redrive policy, which is alarmed on."
	reasonScheduledFunctionDLQ = "Invoked asynchronously by EventBridge Scheduler: failures go to the schedule failures " +
		"queue through the function's on-failure destination (AWS::Lambda::EventInvokeConfig), which this rule does " +
		"not recognise, and the scheduler's own dead-letter queue."
	reasonSQSMappingDestination = "SQS event source mappings support no on-failure destination; failed messages are " +
		"redriven to the queue's dead-letter queue after its maxReceiveCount, and that queue is alarmed on."
	reasonPublicRoute = "A public route (topology.PublicRoutes): a survey invitation's link is answered without logging in, " +
		"so the request carries its own credential, an HMAC-signed, expiring, single-use link token the function " +
		"verifies before anything is written; the route has its own throttle, tighter than the API's default."
	reasonUserPoolPlusTier = "The default user pool is a starting point on the Essentials plan: Plus (threat protection) " +
		"is billed per monthly active user, a cost each brand decides for its member base; production deployments " +
		"may point the API at the brand's own identity provider with the jwtIssuer/jwtAudience context instead."
)

// suppressAcceptedFindings records, with reasons, the cdk-nag findings on
// the functions' roles and the HMAC key.
func (s *clienteleStack) suppressAcceptedFindings() {
	for _, f := range s.system.Functions {
		appliesTo := []interface{}{"Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"}
		suppressions := []*cdknag.NagPackSuppression{{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String(reasonKMSGrantWildcards),
			AppliesTo: &appliesTo,
		}}
		var indexes []interface{}
		for _, t := range s.system.TablesOf(f.Name) {
			if table, ok := s.tableSpec(t); ok && len(table.Indexes) > 0 {
				cfnTable := s.tables[t].Node().DefaultChild().(awscdk.CfnElement)
				indexes = append(indexes, "Resource::<"+*s.stack.GetLogicalId(cfnTable)+".Arn>/index/*")
			}
		}
		if len(indexes) > 0 {
			suppressions = append(suppressions, &cdknag.NagPackSuppression{
				Id:        jsii.String("AwsSolutions-IAM5"),
				Reason:    jsii.String(reasonIndexWildcard),
				AppliesTo: &indexes,
			})
		}
		cdknag.NagSuppressions_AddResourceSuppressions(s.roles[f.Name], &suppressions, jsii.Bool(true))
	}
	for _, f := range s.system.Functions {
		suppress(s.roles[f.Name], "AwsSolutions-IAM5", reasonXRayWildcard, []interface{}{"Resource::*"})
		reason := reasonSyncFunctionDLQ
		switch {
		case slices.ContainsFunc(s.system.Schedules, func(sc topology.Schedule) bool { return sc.Function == f.Name }):
			reason = reasonScheduledFunctionDLQ
		case len(s.system.Consumes(f.Name)) > 0:
			reason = reasonQueueFedFunctionDLQ
		}
		suppress(s.functions[f.Name], "Serverless-LambdaDLQ", reason, nil)
		if len(s.system.Consumes(f.Name)) > 0 {
			suppress(s.functions[f.Name], "Serverless-LambdaEventSourceMappingDestination", reasonSQSMappingDestination, nil)
		}
	}
	for _, q := range s.system.Queues {
		suppress(s.dlqs[q.Name], "Serverless-SQSRedrivePolicy", reasonDeadLetterQueue, nil)
	}
	if s.scheduleFailures != nil {
		suppress(s.scheduleFailures, "Serverless-SQSRedrivePolicy", reasonDeadLetterQueue, nil)
	}
	if s.schedulerRole != nil {
		var appliesTo []interface{}
		for _, sc := range s.system.Schedules {
			fn := s.functions[sc.Function].Node().DefaultChild().(awscdk.CfnElement)
			appliesTo = append(appliesTo, "Resource::<"+*s.stack.GetLogicalId(fn)+".Arn>:*")
		}
		suppress(s.schedulerRole, "AwsSolutions-IAM5", reasonFunctionVersions, appliesTo)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(s.hmacKey, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SMG4"),
		Reason: jsii.String(reasonHMACKeyRotation),
	}}, jsii.Bool(true))
}

// suppressUserPoolFindings records the accepted findings on the default
// Cognito user pool.
func (s *clienteleStack) suppressUserPoolFindings(pool awscognito.UserPool) {
	cdknag.NagSuppressions_AddResourceSuppressions(pool, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-COG8"), Reason: jsii.String(reasonUserPoolPlusTier)},
	}, jsii.Bool(true))
}

// suppressPublicRoute records that one public route has no authorizer
// (AwsSolutions-APIG4); every other route keeps the JWT authorizer.
func suppressPublicRoute(route constructs.IConstruct) {
	// On the route resource itself, not its children (the Lambda permission).
	cdknag.NagSuppressions_AddResourceSuppressions(route.Node().DefaultChild(), &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-APIG4"), Reason: jsii.String(reasonPublicRoute)},
	}, jsii.Bool(false))
}

// tableSpec returns the topology's declaration of the named table.
func (s *clienteleStack) tableSpec(name string) (topology.Table, bool) {
	for _, t := range s.system.Tables {
		if t.Name == name {
			return t, true
		}
	}
	return topology.Table{}, false
}

// suppress records one accepted finding on a construct and its children,
// limited to the findings appliesTo names when it is not empty.
func suppress(construct constructs.IConstruct, id, reason string, appliesTo []interface{}) {
	suppression := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		suppression.AppliesTo = &appliesTo
	}
	cdknag.NagSuppressions_AddResourceSuppressions(construct, &[]*cdknag.NagPackSuppression{suppression}, jsii.Bool(true))
}
