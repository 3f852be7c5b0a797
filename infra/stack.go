package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"clientele/infra/topology"
	"clientele/shared/env"
	"clientele/shared/metrics"
)

// logRetention is how long function and API access logs are kept.
const logRetention = awslogs.RetentionDays_ONE_MONTH

// ClienteleStackProps configures NewClienteleStack.
type ClienteleStackProps struct {
	awscdk.StackProps
	// System is the topology to deploy, normally topology.Clientele().
	// NewClienteleStack panics if it does not validate.
	System topology.System
	// JWTIssuer and JWTAudience, when both are set, point the HTTP API's JWT
	// authorizer at an existing identity provider and no Cognito user pool is
	// created. When both are empty the stack creates a user pool and an app
	// client and trusts their tokens. Setting only one is an error.
	JWTIssuer   string
	JWTAudience []string
	// MemberClaim and GroupsClaim map a brand's own identity provider's
	// claims to callers (CLIENTELE_MEMBER_CLAIM, CLIENTELE_GROUPS_CLAIM; see
	// shared/apigw.ClaimMapping); empty keeps "sub" and
	// "cognito:groups,groups". Only used with JWTIssuer: the default user
	// pool's mapping is fixed (custom:member_id, cognito:groups).
	MemberClaim string
	GroupsClaim string
	// Stage names the deployment ("dev", "prod"); empty means "dev".
	Stage string
	// Code returns the deployment package of the named function. Nil means
	// BinaryCode: bin/<function>, which `make build` fills with an arm64
	// bootstrap. Tests pass a placeholder so they never need the binaries.
	Code func(function string) awslambda.Code
}

// BinaryCode is the default ClienteleStackProps.Code: the directory
// bin/<function> (relative to the directory cdk runs in, the module root),
// holding the bootstrap executable `make build` produces.
func BinaryCode(function string) awslambda.Code {
	return awslambda.Code_FromAsset(jsii.String(BinaryDir(function)), nil)
}

// BinaryDir is the directory holding a function's bootstrap for BinaryCode.
func BinaryDir(function string) string { return "bin/" + function }

// dataClassification tags every resource: the stack holds members'
// personal data (names, contacts, birthdays, purchase history).
const dataClassification = "personal"

// IsProduction reports whether a stage keeps its data when the stack or a
// resource is deleted, and protects the stack from deletion: "prod" and
// stages starting with "prod-".
func IsProduction(stage string) bool { return stage == "prod" || strings.HasPrefix(stage, "prod-") }

// clienteleStack holds what NewClienteleStack builds while it wires the
// pieces together.
type clienteleStack struct {
	stack     awscdk.Stack
	system    topology.System
	code      func(function string) awslambda.Code
	dataKey   awskms.Key
	tables    map[string]awsdynamodb.Table
	buckets   map[string]awss3.Bucket
	queues    map[string]awssqs.Queue
	dlqs      map[string]awssqs.Queue
	functions map[string]awslambda.Function
	roles     map[string]awsiam.Role
	logGroups map[string]awslogs.LogGroup
	hmacKey   awssecretsmanager.Secret
	alarms    awssns.Topic
	// alarmList holds every alarm, for the topic policy's source ARNs.
	alarmList []awscloudwatch.Alarm
	stage     string
	// keep is the removal policy of data: retained in production,
	// destroyed with the stack elsewhere.
	keep awscdk.RemovalPolicy
	api  awsapigatewayv2.HttpApi
	// scheduleFailures receives scheduled invocations that failed for good.
	scheduleFailures awssqs.Queue
	schedulerRole    awsiam.Role
	// asyncConfigured marks functions whose on-failure destination is set.
	asyncConfigured map[string]bool
	// claims is the claim mapping every route-serving function gets.
	claims map[string]string
}

// NewClienteleStack builds the CloudFormation stack for a topology: the
// DynamoDB tables, SQS queues with their dead-letter queues, one Lambda
// function per topology function with exactly the grants the topology gives
// it, the HTTP API with a JWT authorizer, the schedules, alarms on dead-letter
// queues and function errors, and outputs naming what clients and operators
// need. No resource gets a physical name, so several stacks can share an
// account and region. Nil props deploy topology.Clientele() with a new
// Cognito user pool; an invalid topology or JWT configuration panics.
func NewClienteleStack(scope constructs.Construct, id string, props *ClienteleStackProps) awscdk.Stack {
	if props == nil {
		props = &ClienteleStackProps{System: topology.Clientele()}
	}
	if err := props.System.Complete(); err != nil {
		panic(err)
	}
	if (props.JWTIssuer == "") != (len(props.JWTAudience) == 0) {
		panic("clientele stack: set both JWTIssuer and JWTAudience to use an existing identity provider, or neither to create a Cognito user pool")
	}
	if props.JWTIssuer == "" && (props.MemberClaim != "" || props.GroupsClaim != "") {
		panic("clientele stack: MemberClaim and GroupsClaim map a brand's own identity provider; the default user pool's claims are fixed")
	}
	code := props.Code
	if code == nil {
		code = BinaryCode
	}
	stage := props.Stage
	if stage == "" {
		stage = "dev"
	}
	stackProps := props.StackProps
	if stackProps.TerminationProtection == nil {
		stackProps.TerminationProtection = jsii.Bool(IsProduction(stage))
	}
	if stackProps.Description == nil {
		stackProps.Description = jsii.String("Clientele: serverless customer management (members, points, feedback, surveys, segmentation)")
	}
	s := &clienteleStack{
		stack:           awscdk.NewStack(scope, jsii.String(id), &stackProps),
		system:          props.System,
		code:            code,
		tables:          map[string]awsdynamodb.Table{},
		buckets:         map[string]awss3.Bucket{},
		queues:          map[string]awssqs.Queue{},
		dlqs:            map[string]awssqs.Queue{},
		functions:       map[string]awslambda.Function{},
		roles:           map[string]awsiam.Role{},
		logGroups:       map[string]awslogs.LogGroup{},
		stage:           stage,
		asyncConfigured: map[string]bool{},
		claims:          map[string]string{env.MemberClaim: cognitoMemberClaim, env.GroupsClaim: "cognito:groups"},
	}
	s.keep = awscdk.RemovalPolicy_DESTROY
	if IsProduction(stage) {
		s.keep = awscdk.RemovalPolicy_RETAIN
	}
	for k, v := range map[string]string{"app": "clientele", "stage": stage, "data-classification": dataClassification} {
		awscdk.Tags_Of(s.stack).Add(jsii.String(k), jsii.String(v), nil)
	}
	if props.JWTIssuer != "" {
		s.claims = map[string]string{env.MemberClaim: "sub", env.GroupsClaim: "cognito:groups,groups"}
		if props.MemberClaim != "" {
			s.claims[env.MemberClaim] = props.MemberClaim
		}
		if props.GroupsClaim != "" {
			s.claims[env.GroupsClaim] = props.GroupsClaim
		}
	}
	s.dataKey = awskms.NewKey(s.stack, jsii.String("DataKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts Clientele's tables, queues and HMAC key at rest"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     s.keep,
	})
	s.addAlarmTopic()
	for _, t := range s.system.Tables {
		s.addTable(t)
	}
	for _, q := range s.system.Queues {
		s.addQueue(q)
	}
	for _, b := range s.system.Buckets {
		s.addBucket(b)
	}
	s.addHMACKey()
	for _, f := range s.system.Functions {
		s.addFunction(f)
	}
	for _, q := range s.system.Queues {
		s.connectConsumer(q)
	}
	s.addHTTPAPI(props.JWTIssuer, props.JWTAudience)
	if len(s.system.Schedules) > 0 {
		s.addScheduleFailures()
	}
	for _, sc := range s.system.Schedules {
		s.addSchedule(sc)
	}
	s.addAPIAlarms()
	s.addDashboard()
	s.allowAlarmsToPublish()
	s.suppressAcceptedFindings()
	return s.stack
}

// allowAlarmsToPublish lets CloudWatch publish to the alarm topic on behalf
// of this stack's alarms. The topic's SSL-only statement makes CloudFormation
// write a topic policy, and a topic policy replaces SNS's default one, so
// without this statement no alarm would ever notify anyone.
func (s *clienteleStack) allowAlarmsToPublish() {
	arns := make([]*string, 0, len(s.alarmList))
	for _, a := range s.alarmList {
		arns = append(arns, a.AlarmArn())
	}
	s.alarms.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchAlarmsToPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{s.alarms.TopicArn()},
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": s.stack.Account()},
			"ArnLike":      map[string]interface{}{"aws:SourceArn": arns},
		},
	}))
}

// addAlarmTopic creates the SNS topic every alarm notifies; operators
// subscribe to it (its ARN is an output). CloudWatch can only publish to an
// encrypted topic whose key it may use, hence a key of its own.
func (s *clienteleStack) addAlarmTopic() {
	key := awskms.NewKey(s.stack, jsii.String("AlarmTopicKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts Clientele's alarm notifications"),
		EnableKeyRotation: jsii.Bool(true),
		// Alarm notifications are transient; nothing kept needs this key.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchAlarmsToPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": s.stack.Account()},
		},
	}), nil)
	s.alarms = awssns.NewTopic(s.stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		MasterKey:  key,
		EnforceSSL: jsii.Bool(true),
	})
	output(s.stack, "AlarmTopicArn", s.alarms.TopicArn(), "SNS topic every Clientele alarm notifies; subscribe the on-call channel")
}

// addTable creates one on-demand table, encrypted with the data key, with
// point-in-time recovery and deletion protection, retained when the stack
// is deleted.
func (s *clienteleStack) addTable(t topology.Table) {
	props := &awsdynamodb.TableProps{
		PartitionKey: attribute(t.PartitionKey),
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:         awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
		EncryptionKey:      s.dataKey,
		DeletionProtection: jsii.Bool(IsProduction(s.stage)),
		RemovalPolicy:      s.keep,
	}
	if t.SortKey != nil {
		props.SortKey = attribute(*t.SortKey)
	}
	if t.TTLAttribute != "" {
		props.TimeToLiveAttribute = jsii.String(t.TTLAttribute)
	}
	table := awsdynamodb.NewTable(s.stack, jsii.String(pascal(t.Name)+"Table"), props)
	for _, index := range t.Indexes {
		indexProps := &awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(index.Name),
			PartitionKey:   attribute(index.PartitionKey),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		}
		switch {
		case index.KeysOnly:
			indexProps.ProjectionType = awsdynamodb.ProjectionType_KEYS_ONLY
		case index.Include != nil:
			indexProps.ProjectionType = awsdynamodb.ProjectionType_INCLUDE
			indexProps.NonKeyAttributes = jsii.Strings(index.Include...)
		}
		if index.SortKey != nil {
			indexProps.SortKey = attribute(*index.SortKey)
		}
		table.AddGlobalSecondaryIndex(indexProps)
	}
	s.tables[t.Name] = table
	output(s.stack, pascal(t.Name)+"TableName", table.TableName(), fmt.Sprintf("Physical name of the %s table", t.Name))
}

// addQueue creates a queue and its dead-letter queue, both encrypted with
// the data key and refusing requests not made over TLS, and an alarm that
// fires as soon as a message lands in the dead-letter queue.
func (s *clienteleStack) addQueue(q topology.Queue) {
	id := pascal(q.Name)
	dlq := awssqs.NewQueue(s.stack, jsii.String(id+"DeadLetterQueue"), &awssqs.QueueProps{
		Encryption:          awssqs.QueueEncryption_KMS,
		EncryptionMasterKey: s.dataKey,
		EnforceSSL:          jsii.Bool(true),
		RetentionPeriod:     seconds(q.DLQRetention),
	})
	queue := awssqs.NewQueue(s.stack, jsii.String(id+"Queue"), &awssqs.QueueProps{
		Encryption:          awssqs.QueueEncryption_KMS,
		EncryptionMasterKey: s.dataKey,
		EnforceSSL:          jsii.Bool(true),
		RetentionPeriod:     seconds(q.Retention),
		VisibilityTimeout:   seconds(s.system.VisibilityTimeout(q)),
		DeadLetterQueue: &awssqs.DeadLetterQueue{
			Queue:           dlq,
			MaxReceiveCount: jsii.Number(q.MaxReceiveCount),
		},
	})
	s.queues[q.Name], s.dlqs[q.Name] = queue, dlq
	s.alarmOn(dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
		Period:    awscdk.Duration_Minutes(jsii.Number(1)),
		Statistic: jsii.String("Maximum"),
	}), id+"DeadLetterQueueAlarm",
		fmt.Sprintf("Messages from %s reached its dead-letter queue after %d receives; inspect them, fix the cause, then redrive", q.Name, q.MaxReceiveCount))
	s.alarm(id+"OldestMessageAlarm", queue.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{
		Period:    awscdk.Duration_Minutes(jsii.Number(5)),
		Statistic: jsii.String("Maximum"),
	}), q.OldestMessageAlarm.Seconds(), 1, awscloudwatch.TreatMissingData_NOT_BREACHING,
		fmt.Sprintf("The oldest message in %s has waited over %s: its consumer is failing, throttled or missing; messages expire after %s", q.Name, q.OldestMessageAlarm, q.Retention))
	output(s.stack, id+"QueueUrl", queue.QueueUrl(), fmt.Sprintf("URL of the %s queue", q.Name))
	output(s.stack, id+"DeadLetterQueueUrl", dlq.QueueUrl(), fmt.Sprintf("URL of the %s dead-letter queue", q.Name))
}

// addHMACKey generates the per-stack secret the functions use to key
// uniqueness items and sign pagination cursors. It is retained with the
// tables: replacing it would orphan every uniqueness item keyed with it.
func (s *clienteleStack) addHMACKey() {
	s.hmacKey = awssecretsmanager.NewSecret(s.stack, jsii.String("HMACKey"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("Clientele HMAC key for uniqueness items and pagination cursors"),
		EncryptionKey: s.dataKey,
		RemovalPolicy: s.keep,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
		},
	})
}

// addFunction creates one function with its own log group and its own role,
// which holds nothing but what the topology grants: writing to its log
// group, reading or writing its tables, sending to the queues that subscribe
// to what it publishes (consumers get theirs in connectConsumer).
func (s *clienteleStack) addFunction(f topology.Function) {
	id := pascal(f.Name)
	logGroup := awslogs.NewLogGroup(s.stack, jsii.String(id+"LogGroup"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: s.keep,
	})
	// A role of its own instead of the default one, which would attach the
	// AWS managed AWSLambdaBasicExecutionRole (logs:* on every log group).
	role := awsiam.NewRole(s.stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Execution role of the " + f.Name + " function"),
	})
	logGroup.GrantWrite(role)

	environment := s.system.Environment(f.Name, s.stage,
		func(table string) string { return *s.tables[table].TableName() },
		func(queue string) string { return *s.queues[queue].QueueUrl() })
	for k, v := range s.system.BucketEnvironment(f.Name, func(b string) string { return *s.buckets[b].BucketName() }) {
		environment[k] = v
	}
	// The HMAC key stays in Secrets Manager: only functions that use it get
	// its ARN, read it at run time through the Parameters and Secrets
	// extension (shared/hmackey), which caches it, and may read that one
	// secret. The value appears in no template and no function
	// configuration.
	var paramsAndSecrets awslambda.ParamsAndSecretsLayerVersion
	if f.UsesHMACKey {
		environment[env.HMACKeySecret] = *s.hmacKey.SecretArn()
		paramsAndSecrets = awslambda.ParamsAndSecretsLayerVersion_FromVersion(awslambda.ParamsAndSecretsVersions_V1_0_103, &awslambda.ParamsAndSecretsOptions{
			CacheEnabled:      jsii.Bool(true),
			CacheSize:         jsii.Number(10),
			SecretsManagerTtl: awscdk.Duration_Minutes(jsii.Number(5)),
			LogLevel:          awslambda.ParamsAndSecretsLogLevel_WARN,
		})
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
			Resources: &[]*string{s.hmacKey.SecretArn()},
		}))
		s.grantDataKey(role, "secretsmanager", "kms:Decrypt")
	}
	if s.system.ServesRoutes(f.Name) {
		for k, v := range s.claims {
			environment[k] = v
		}
	}

	fn := awslambda.NewFunction(s.stack, jsii.String(id+"Function"), &awslambda.FunctionProps{
		Description:      jsii.String(f.Description),
		Runtime:          awslambda.Runtime_PROVIDED_AL2023(),
		Handler:          jsii.String("bootstrap"),
		Code:             s.code(f.Name),
		Architecture:     architecture(f.Architecture),
		MemorySize:       jsii.Number(f.MemoryMB),
		Timeout:          seconds(f.Timeout),
		Environment:      stringMap(environment),
		Role:             role,
		LogGroup:         logGroup,
		ParamsAndSecrets: paramsAndSecrets,
		Tracing:          awslambda.Tracing_ACTIVE,
		LoggingFormat:    awslambda.LoggingFormat_JSON,
		// slog's levels (shared/logging) are Lambda's: records below the
		// application level are dropped before they are stored.
		ApplicationLogLevelV2: applicationLogLevel(f.Env[env.LogLevel]),
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
	})
	if f.ReservedConcurrency > 0 {
		fn.Node().DefaultChild().(awslambda.CfnFunction).SetReservedConcurrentExecutions(jsii.Number(f.ReservedConcurrency))
	}
	s.grantTables(f, role)
	s.grantBuckets(f, role)
	if queues := s.system.SendsTo(f.Name); len(queues) > 0 {
		var arns []*string
		for _, q := range queues {
			arns = append(arns, s.queues[q].QueueArn())
		}
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("sqs:SendMessage"),
			Resources: &arns,
		}))
		s.grantDataKey(role, "sqs", "kms:GenerateDataKey", "kms:Decrypt")
	}
	s.functions[f.Name], s.roles[f.Name], s.logGroups[f.Name] = fn, role, logGroup

	fiveMinuteSum := &awscloudwatch.MetricOptions{
		Period:    awscdk.Duration_Minutes(jsii.Number(5)),
		Statistic: jsii.String("Sum"),
	}
	s.alarmOn(fn.MetricErrors(fiveMinuteSum), id+"ErrorsAlarm",
		fmt.Sprintf("%s returned errors (unhandled failures or timeouts) in the last five minutes; see its log group", f.Name))
	s.alarmOn(fn.MetricThrottles(fiveMinuteSum), id+"ThrottlesAlarm",
		fmt.Sprintf("%s was throttled in the last five minutes: the account or function concurrency limit was reached", f.Name))
	s.alarm(id+"DurationAlarm", fn.MetricDuration(&awscloudwatch.MetricOptions{
		Period:    awscdk.Duration_Minutes(jsii.Number(5)),
		Statistic: jsii.String("Maximum"),
	}), 0.9*float64(f.Timeout.Milliseconds()), 1, awscloudwatch.TreatMissingData_NOT_BREACHING,
		fmt.Sprintf("%s ran for over 90%% of its %s timeout: it is about to time out", f.Name, f.Timeout))
	if f.CompletesEvery > 0 {
		days := f.CompletesEvery.Hours() / 24
		completed := s.runMetric(f.Name, metrics.RunCompleted, "Sum")
		alarm := completed.CreateAlarm(s.stack, jsii.String(id+"RunNotCompletedAlarm"), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String(fmt.Sprintf("No run of %s completed in %v day(s): runs fail, time out or are not scheduled; see its log group", f.Name, days)),
			ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(days),
			DatapointsToAlarm:  jsii.Number(days),
			TreatMissingData:   awscloudwatch.TreatMissingData_BREACHING,
		})
		alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(s.alarms))
		s.alarmList = append(s.alarmList, alarm)
		s.alarm(id+"InvariantViolationsAlarm", s.runMetric(f.Name, metrics.InvariantViolations, "Maximum"), 0, 1, awscloudwatch.TreatMissingData_NOT_BREACHING,
			fmt.Sprintf("%s found broken ledger invariants; its log lists them", f.Name))
	}
}

// connectConsumer feeds a queue to its consumer, if it has one, reporting
// partial batch failures so only the failed messages are retried, with at
// most the queue's MaxConcurrency invocations at once. The mapping is built
// directly (not through SqsEventSource, whose grant gives kms:Decrypt
// without a kms:ViaService condition).
func (s *clienteleStack) connectConsumer(q topology.Queue) {
	if q.Consumer == "" {
		return
	}
	fn, queue, role := s.functions[q.Consumer], s.queues[q.Name], s.roles[q.Consumer]
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"),
		Resources: &[]*string{queue.QueueArn()},
	}))
	s.grantDataKey(role, "sqs", "kms:Decrypt")
	options := &awslambda.EventSourceMappingOptions{
		EventSourceArn:          queue.QueueArn(),
		BatchSize:               jsii.Number(q.BatchSize),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(q.MaxConcurrency),
	}
	if q.BatchWindow > 0 {
		options.MaxBatchingWindow = seconds(q.BatchWindow)
	}
	mapping := fn.AddEventSourceMapping(jsii.String(pascal(q.Name)+"EventSource"), options)
	// The mapping starts polling as soon as it exists: after the grants.
	mapping.Node().AddDependency(role)
}

// grantTables gives a function's role exactly the DynamoDB actions the
// topology states for each table (on its indexes too for Query and Scan),
// limited to the stated partition keys, and the use of the data key only
// through DynamoDB.
func (s *clienteleStack) grantTables(f topology.Function, role awsiam.Role) {
	writes := false
	for _, access := range f.Access {
		table := s.tables[access.Table]
		resources := []*string{table.TableArn()}
		if len(access.Indexes) > 0 {
			// Only what these indexes project, never the table's items.
			resources = resources[:0]
			for _, ix := range access.Indexes {
				resources = append(resources, jsii.String(*table.TableArn()+"/index/"+ix))
			}
		} else if spec, _ := s.tableSpec(access.Table); len(spec.Indexes) > 0 &&
			(slices.Contains(access.Actions, "Query") || slices.Contains(access.Actions, "Scan")) {
			resources = append(resources, jsii.String(*table.TableArn()+"/index/*"))
		}
		actions := make([]*string, 0, len(access.Actions))
		for _, a := range access.Actions {
			actions = append(actions, jsii.String("dynamodb:"+a))
			writes = writes || slices.Contains(topology.WriteActions, a)
		}
		statement := &awsiam.PolicyStatementProps{Actions: &actions, Resources: &resources}
		if len(access.LeadingKeys) > 0 {
			statement.Conditions = &map[string]interface{}{
				"ForAllValues:StringEquals": map[string]interface{}{"dynamodb:LeadingKeys": access.LeadingKeys},
			}
		}
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(statement))
	}
	if len(f.Access) == 0 {
		return
	}
	if writes {
		s.grantDataKey(role, "dynamodb", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*")
	} else {
		s.grantDataKey(role, "dynamodb", "kms:Decrypt", "kms:DescribeKey")
	}
}

// grantDataKey lets a role use the data key for the actions, only in
// requests the named service (dynamodb, sqs, secretsmanager) makes on its
// behalf in the stack's region (kms:ViaService).
func (s *clienteleStack) grantDataKey(role awsiam.Role, service string, actions ...string) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: &[]*string{s.dataKey.KeyArn()},
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"kms:ViaService": fmt.Sprintf("%s.%s.amazonaws.com", service, *s.stack.Region())},
		},
	}))
}

// addHTTPAPI creates the HTTP API: one route per topology route, each behind
// the JWT authorizer and integrated with its function (payload format 2.0),
// and a $default stage writing access logs to a log group of its own.
func (s *clienteleStack) addHTTPAPI(issuer string, audience []string) {
	if issuer == "" {
		issuer, audience = s.addUserPool()
	}
	output(s.stack, "JwtIssuer", jsii.String(issuer), "Issuer the HTTP API's JWT authorizer trusts")
	authorizer := awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("JwtAuthorizer"), jsii.String(issuer),
		&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{JwtAudience: jsii.Strings(audience...)})

	api := awsapigatewayv2.NewHttpApi(s.stack, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("Clientele HTTP API"),
		CreateDefaultStage: jsii.Bool(false),
	})
	accessLogs := awslogs.NewLogGroup(s.stack, jsii.String("HttpApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: s.keep,
	})
	stage := api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(s.system.Throttle.RatePerSecond),
			BurstLimit: jsii.Number(s.system.Throttle.Burst),
		},
		AccessLogSettings: &accessLogSettings{
			destination: awsapigatewayv2.NewLogGroupLogDestination(accessLogs),
			format:      awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat)),
		},
	})

	integrations := map[string]awsapigatewayv2integrations.HttpLambdaIntegration{}
	for _, r := range s.system.Routes {
		integration, ok := integrations[r.Function]
		if !ok {
			integration = awsapigatewayv2integrations.NewHttpLambdaIntegration(
				jsii.String(pascal(r.Function)+"Integration"), s.functions[r.Function],
				&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
					PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
				})
			integrations[r.Function] = integration
		}
		// Every route needs a valid token; which caller kinds (member,
		// staff, service) a route accepts is checked by the function,
		// since member tokens carry no scope the authorizer could test.
		// A public route (topology.PublicRoutes) carries its own credential.
		var routeAuthorizer awsapigatewayv2.IHttpRouteAuthorizer = authorizer
		if r.Public {
			routeAuthorizer = awsapigatewayv2.NewHttpNoneAuthorizer()
		}
		routes := api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(strings.ToUpper(r.Method))},
			Integration: integration,
			Authorizer:  routeAuthorizer,
		})
		if r.Public {
			for _, route := range *routes {
				suppressPublicRoute(route)
			}
		}
	}
	// Per-route limits (the L2 stage only sets the default route settings).
	routeSettings := map[string]interface{}{}
	for _, r := range s.system.Routes {
		if r.Throttle != nil {
			routeSettings[strings.ToUpper(r.Method)+" "+r.Path] = map[string]interface{}{
				"ThrottlingRateLimit":  r.Throttle.RatePerSecond,
				"ThrottlingBurstLimit": r.Throttle.Burst,
			}
		}
	}
	if len(routeSettings) > 0 {
		stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).AddPropertyOverride(jsii.String("RouteSettings"), routeSettings)
	}
	s.api = api
	output(s.stack, "ApiUrl", stage.Url(), "Base URL of the Clientele HTTP API")
}

// accessLogFormat is one JSON object per request. It leaves out the caller's
// IP address, user agent and token claims: no personal data in logs.
const accessLogFormat = `{"requestId":"$context.requestId","requestTime":"$context.requestTime",` +
	`"routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol",` +
	`"responseLength":"$context.responseLength","responseLatency":"$context.responseLatency",` +
	`"integrationStatus":"$context.integrationStatus","integrationLatency":"$context.integrationLatency",` +
	`"integrationError":"$context.integrationErrorMessage","authorizerError":"$context.authorizer.error"}`

// accessLogSettings implements awsapigatewayv2.IAccessLogSettings.
type accessLogSettings struct {
	destination awsapigatewayv2.IAccessLogDestination
	format      awsapigateway.AccessLogFormat
}

// Destination is where the stage writes access logs.
func (a *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination {
	return a.destination
}

// Format is the access log line.
func (a *accessLogSettings) Format() awsapigateway.AccessLogFormat { return a.format }

// cognitoMemberClaim is the ID-token claim of the default user pool naming
// the member a user is linked to.
const cognitoMemberClaim = "custom:member_id"

// resourceServerID is the default user pool's resource server: service
// scopes appear in tokens as "clientele/points:write".
const resourceServerID = "clientele"

// addUserPool creates the default identity provider, a Cognito user pool
// serving the three kinds of caller:
//   - members: the brand's app backend signs a member up (POST /v1/members
//     with a members:write token), then creates or updates the member's
//     pool user with custom:member_id set to the new member id; the ID token
//     carries it and the functions read it (CLIENTELE_MEMBER_CLAIM). Users
//     cannot write that attribute themselves (the app client may not), and a
//     user without it is refused.
//   - staff: users in the "staff" group.
//   - services: one client-credentials app client per topology integration,
//     with the scopes of the resource server it is given.
//
// No self sign-up; MFA (TOTP) is required of every user. It returns the
// issuer and audience (every app client) of the tokens it issues.
func (s *clienteleStack) addUserPool() (issuer string, audience []string) {
	pool := awscognito.NewUserPool(s.stack, jsii.String("UserPool"), &awscognito.UserPoolProps{
		SelfSignUpEnabled:   jsii.Bool(false),
		SignInAliases:       &awscognito.SignInAliases{Email: jsii.Bool(true)},
		SignInCaseSensitive: jsii.Bool(false),
		AutoVerify:          &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:            jsii.Number(12),
			RequireDigits:        jsii.Bool(true),
			RequireLowercase:     jsii.Bool(true),
			RequireUppercase:     jsii.Bool(true),
			RequireSymbols:       jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		CustomAttributes: &map[string]awscognito.ICustomAttribute{
			"member_id": awscognito.NewStringAttribute(&awscognito.StringAttributeProps{
				MinLen: jsii.Number(1), MaxLen: jsii.Number(64), Mutable: jsii.Bool(true),
			}),
		},
		Mfa:                awscognito.Mfa_REQUIRED,
		MfaSecondFactor:    &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery:    awscognito.AccountRecovery_EMAIL_ONLY,
		FeaturePlan:        awscognito.FeaturePlan_ESSENTIALS,
		DeletionProtection: jsii.Bool(IsProduction(s.stage)),
		RemovalPolicy:      s.keep,
	})
	awscognito.NewCfnUserPoolGroup(s.stack, jsii.String("StaffGroup"), &awscognito.CfnUserPoolGroupProps{
		UserPoolId:  pool.UserPoolId(),
		GroupName:   jsii.String("staff"),
		Description: jsii.String("Clientele staff: any member, adjustments; MFA is required of every pool user"),
	})
	client := pool.AddClient(jsii.String("AppClient"), &awscognito.UserPoolClientOptions{
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		GenerateSecret:             jsii.Bool(false),
		DisableOAuth:               jsii.Bool(true),
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Days(jsii.Number(30)),
		// Members read their member id but can never write it: only an
		// administrator (the brand's backend) links a user to a member.
		ReadAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true), EmailVerified: jsii.Bool(true)}).
			WithCustomAttributes(jsii.String("member_id")),
		WriteAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true)}),
	})
	audience = []string{*client.UserPoolClientId()}

	scopes := map[string]awscognito.ResourceServerScope{}
	var scopeList []awscognito.ResourceServerScope
	for _, name := range s.system.ServiceScopes() {
		scope := awscognito.NewResourceServerScope(&awscognito.ResourceServerScopeProps{
			ScopeName:        jsii.String(name),
			ScopeDescription: jsii.String("Clientele service scope " + name),
		})
		scopes[name] = scope
		scopeList = append(scopeList, scope)
	}
	var resourceServer awscognito.UserPoolResourceServer
	if len(scopeList) > 0 {
		resourceServer = pool.AddResourceServer(jsii.String("ResourceServer"), &awscognito.UserPoolResourceServerOptions{
			Identifier: jsii.String(resourceServerID),
			Scopes:     &scopeList,
		})
	}
	if len(s.system.Integrations) > 0 {
		// The token endpoint services get their tokens from. The prefix must
		// be unique in the region: app, stage and account.
		domain := pool.AddDomain(jsii.String("Domain"), &awscognito.UserPoolDomainOptions{
			CognitoDomain: &awscognito.CognitoDomainOptions{
				DomainPrefix: jsii.String(fmt.Sprintf("clientele-%s-%s", strings.ToLower(s.stage), *s.stack.Account())),
			},
		})
		output(s.stack, "TokenEndpoint", jsii.String(*domain.BaseUrl(nil)+"/oauth2/token"),
			"OAuth token endpoint for the integrations' client-credentials grant")
	}
	for _, in := range s.system.Integrations {
		var oauthScopes []awscognito.OAuthScope
		for _, name := range in.Scopes {
			oauthScopes = append(oauthScopes, awscognito.OAuthScope_ResourceServer(resourceServer, scopes[name]))
		}
		integration := pool.AddClient(jsii.String(pascal(in.Name)+"IntegrationClient"), &awscognito.UserPoolClientOptions{
			GenerateSecret: jsii.Bool(true),
			AuthFlows:      &awscognito.AuthFlow{},
			OAuth: &awscognito.OAuthSettings{
				Flows:  &awscognito.OAuthFlows{ClientCredentials: jsii.Bool(true)},
				Scopes: &oauthScopes,
			},
			EnableTokenRevocation: jsii.Bool(true),
			AccessTokenValidity:   awscdk.Duration_Hours(jsii.Number(1)),
		})
		integration.Node().AddDependency(resourceServer)
		audience = append(audience, *integration.UserPoolClientId())
		output(s.stack, pascal(in.Name)+"IntegrationClientId", integration.UserPoolClientId(),
			fmt.Sprintf("App client of the %s integration (scopes %s); its secret: aws cognito-idp describe-user-pool-client", in.Name, strings.Join(in.Scopes, " ")))
	}
	s.suppressUserPoolFindings(pool)
	output(s.stack, "UserPoolId", pool.UserPoolId(), "Cognito user pool whose tokens the HTTP API accepts")
	output(s.stack, "UserPoolClientId", client.UserPoolClientId(), "Cognito app client id of the brand's app (members and staff sign in with SRP)")
	issuer = fmt.Sprintf("https://cognito-idp.%s.amazonaws.com/%s", *s.stack.Region(), *pool.UserPoolId())
	return issuer, audience
}

// addScheduleFailures creates the queue receiving what the schedules could
// not get done: deliveries EventBridge Scheduler gave up on and scheduled
// invocations that failed after Lambda's retries (the functions' on-failure
// destination), with an alarm as soon as one arrives.
func (s *clienteleStack) addScheduleFailures() {
	s.scheduleFailures = awssqs.NewQueue(s.stack, jsii.String("ScheduleFailuresQueue"), &awssqs.QueueProps{
		Encryption:          awssqs.QueueEncryption_KMS,
		EncryptionMasterKey: s.dataKey,
		EnforceSSL:          jsii.Bool(true),
		RetentionPeriod:     awscdk.Duration_Days(jsii.Number(14)),
	})
	s.alarmOn(s.scheduleFailures.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
		Period:    awscdk.Duration_Minutes(jsii.Number(1)),
		Statistic: jsii.String("Maximum"),
	}), "ScheduleFailuresAlarm",
		"A scheduled run failed for good (delivery or function error); the message names the schedule; fix the cause and run it again")
	output(s.stack, "ScheduleFailuresQueueUrl", s.scheduleFailures.QueueUrl(), "Scheduled invocations that failed for good")
	// One role for every schedule, assumable only by this account's
	// schedules; the targets grant it invoking their functions and sending
	// to the failures queue.
	s.schedulerRole = awsiam.NewRole(s.stack, jsii.String("SchedulerRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{
				"StringEquals": map[string]interface{}{"aws:SourceAccount": s.stack.Account()},
			},
		}),
		Description: jsii.String("EventBridge Scheduler invoking Clientele's scheduled functions"),
	})
	// The failures queue is encrypted with the data key: the scheduler can
	// only dead-letter to it if it may use the key (through SQS only).
	s.grantDataKey(s.schedulerRole, "sqs", "kms:GenerateDataKey", "kms:Decrypt")
	suppress(s.scheduleFailures, "AwsSolutions-SQS3", reasonScheduleFailuresIsADLQ, nil)
}

// addSchedule invokes a function on the schedule's cron expression in the
// system's time zone with the schedule's JSON payload as the event, through
// EventBridge Scheduler: retried as the topology says, then dead-lettered;
// the function's own failures go to the same queue (on-failure destination).
func (s *clienteleStack) addSchedule(sc topology.Schedule) {
	cron, err := eventBridgeCron(sc.Cron)
	if err != nil {
		panic(fmt.Sprintf("schedule %s: %v", sc.Name, err))
	}
	timeZone := s.system.TimeZone
	if timeZone == "" {
		timeZone = "UTC"
	}
	target := &awsschedulertargets.ScheduleTargetBaseProps{
		Role:            s.schedulerRole,
		DeadLetterQueue: s.scheduleFailures,
		RetryAttempts:   jsii.Number(sc.Retries),
		MaxEventAge:     seconds(sc.MaxEventAge),
	}
	if strings.TrimSpace(sc.Payload) != "" {
		var payload interface{}
		if err := json.Unmarshal([]byte(sc.Payload), &payload); err != nil {
			panic(fmt.Sprintf("schedule %s: payload is not JSON: %v", sc.Name, err))
		}
		target.Input = awsscheduler.ScheduleTargetInput_FromObject(payload)
	}
	fn := s.functions[sc.Function]
	awsscheduler.NewSchedule(s.stack, jsii.String(pascal(sc.Name)+"Schedule"), &awsscheduler.ScheduleProps{
		Description: jsii.String(fmt.Sprintf("Runs %s on %q (%s): schedule %s", sc.Function, sc.Cron, timeZone, sc.Name)),
		Schedule: awsscheduler.ScheduleExpression_Cron(&awsscheduler.CronOptionsWithTimezone{
			Minute:   cron.Minute,
			Hour:     cron.Hour,
			Day:      cron.Day,
			Month:    cron.Month,
			WeekDay:  cron.WeekDay,
			TimeZone: awscdk.TimeZone_Of(jsii.String(timeZone)),
		}),
		Target: awsschedulertargets.NewLambdaInvoke(fn, target),
	})
	if !s.asyncConfigured[sc.Function] {
		s.asyncConfigured[sc.Function] = true
		// Built from the L1 resource so the grant is the function's own
		// (SqsDestination would give kms:* variants without kms:ViaService).
		role := s.roles[sc.Function]
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("sqs:SendMessage"),
			Resources: &[]*string{s.scheduleFailures.QueueArn()},
		}))
		s.grantDataKey(role, "sqs", "kms:GenerateDataKey", "kms:Decrypt")
		config := awslambda.NewCfnEventInvokeConfig(s.stack, jsii.String(pascal(sc.Function)+"AsyncInvokeConfig"), &awslambda.CfnEventInvokeConfigProps{
			FunctionName:             fn.FunctionName(),
			Qualifier:                jsii.String("$LATEST"),
			MaximumRetryAttempts:     jsii.Number(2),
			MaximumEventAgeInSeconds: jsii.Number(sc.MaxEventAge.Seconds()),
			DestinationConfig: &awslambda.CfnEventInvokeConfig_DestinationConfigProperty{
				OnFailure: &awslambda.CfnEventInvokeConfig_OnFailureProperty{Destination: s.scheduleFailures.QueueArn()},
			},
		})
		config.Node().AddDependency(role)
	}
}

// alarmOn creates an alarm firing when the metric goes above zero in one
// period, notifying the alarm topic. Missing data (no traffic) is fine.
func (s *clienteleStack) alarmOn(metric awscloudwatch.Metric, id, description string) {
	s.alarm(id, metric, 0, 1, awscloudwatch.TreatMissingData_NOT_BREACHING, description)
}

// alarm creates an alarm firing when the metric is above the threshold for
// the given number of periods, notifying the alarm topic.
func (s *clienteleStack) alarm(id string, metric awscloudwatch.IMetric, threshold float64, periods float64, missing awscloudwatch.TreatMissingData, description string) {
	alarm := awscloudwatch.NewAlarm(s.stack, jsii.String(id), &awscloudwatch.AlarmProps{
		Metric:             metric,
		AlarmDescription:   jsii.String(description),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		Threshold:          jsii.Number(threshold),
		EvaluationPeriods:  jsii.Number(periods),
		TreatMissingData:   missing,
	})
	alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(s.alarms))
	s.alarmList = append(s.alarmList, alarm)
}

// runMetric is a daily figure a scheduled job emits in embedded metric
// format (shared/metrics), for this stage.
func (s *clienteleStack) runMetric(function, name, statistic string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String(metrics.Namespace),
		MetricName: jsii.String(name),
		DimensionsMap: &map[string]*string{
			metrics.ServiceDimension: jsii.String(function),
			metrics.StageDimension:   jsii.String(s.stage),
		},
		Statistic: jsii.String(statistic),
		Period:    awscdk.Duration_Days(jsii.Number(1)),
	})
}

// apiLatencyAlarm is the p99 latency above which, for three five-minute
// periods in a row, the API alarms; apiServerErrorsAlarm the count of 5xx
// responses in five minutes.
const (
	apiLatencyAlarm      = 3 * time.Second
	apiServerErrorsAlarm = 5
)

// addAPIAlarms watches the API's 5xx responses and latency.
func (s *clienteleStack) addAPIAlarms() {
	s.alarm("HttpApiServerErrorsAlarm", s.api.MetricServerError(&awscloudwatch.MetricOptions{
		Period:    awscdk.Duration_Minutes(jsii.Number(5)),
		Statistic: jsii.String("Sum"),
	}), apiServerErrorsAlarm, 1, awscloudwatch.TreatMissingData_NOT_BREACHING,
		fmt.Sprintf("The HTTP API returned more than %d 5xx responses in five minutes; see the access logs and the functions' errors", apiServerErrorsAlarm))
	s.alarm("HttpApiLatencyAlarm", s.api.MetricLatency(&awscloudwatch.MetricOptions{
		Period:    awscdk.Duration_Minutes(jsii.Number(5)),
		Statistic: jsii.String("p99"),
	}), float64(apiLatencyAlarm.Milliseconds()), 3, awscloudwatch.TreatMissingData_NOT_BREACHING,
		fmt.Sprintf("The HTTP API's p99 latency stayed above %s for fifteen minutes", apiLatencyAlarm))
}

// addDashboard shows, on one page: the API's traffic, errors and latency;
// each function's errors, throttles and duration; each queue's backlog and
// oldest message; the scheduled jobs' runs and the points liability.
func (s *clienteleStack) addDashboard() {
	five := awscdk.Duration_Minutes(jsii.Number(5))
	sum := &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &metrics, Width: jsii.Number(8), Height: jsii.Number(6),
		})
	}
	var rows [][]awscloudwatch.IWidget
	rows = append(rows, []awscloudwatch.IWidget{
		graph("API requests and errors", s.api.MetricCount(sum), s.api.MetricClientError(sum), s.api.MetricServerError(sum)),
		graph("API latency p50/p99", s.api.MetricLatency(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("p50")}),
			s.api.MetricLatency(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("p99")})),
	})
	var errors, durations []awscloudwatch.IMetric
	for _, f := range s.system.Functions {
		fn := s.functions[f.Name]
		errors = append(errors, fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String(f.Name)}),
			fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String(f.Name + " throttles")}))
		durations = append(durations, fn.MetricDuration(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum"), Label: jsii.String(f.Name)}))
	}
	rows = append(rows, []awscloudwatch.IWidget{graph("Function errors and throttles", errors...), graph("Function duration (max)", durations...)})
	var backlog, ages []awscloudwatch.IMetric
	for _, q := range s.system.Queues {
		queue, dlq := s.queues[q.Name], s.dlqs[q.Name]
		max := &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum"), Label: jsii.String(q.Name)}
		backlog = append(backlog, queue.MetricApproximateNumberOfMessagesVisible(max),
			dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum"), Label: jsii.String(q.Name + " DLQ")}))
		ages = append(ages, queue.MetricApproximateAgeOfOldestMessage(max))
	}
	rows = append(rows, []awscloudwatch.IWidget{graph("Queue backlog", backlog...), graph("Oldest message age (s)", ages...)})
	var runs, business []awscloudwatch.IMetric
	for _, f := range s.system.Functions {
		if f.CompletesEvery == 0 {
			continue
		}
		runs = append(runs, s.runMetric(f.Name, metrics.RunCompleted, "Sum"), s.runMetric(f.Name, metrics.FailedItems, "Sum"),
			s.runMetric(f.Name, metrics.InvariantViolations, "Maximum"))
		business = append(business, s.runMetric(f.Name, metrics.PointsLiability, "Maximum"), s.runMetric(f.Name, metrics.PointsDebt, "Maximum"))
	}
	if len(runs) > 0 {
		rows = append(rows, []awscloudwatch.IWidget{graph("Scheduled runs", runs...), graph("Points liability and debt", business...)})
	}
	widgets := make([]*[]awscloudwatch.IWidget, len(rows))
	for i := range rows {
		widgets[i] = &rows[i]
	}
	awscloudwatch.NewDashboard(s.stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{Widgets: &widgets})
}

// output declares a stack output.
func output(stack awscdk.Stack, id string, value *string, description string) {
	awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{
		Value:       value,
		Description: jsii.String(description),
	})
}

// attribute converts a topology key to a DynamoDB attribute.
func attribute(k topology.Key) *awsdynamodb.Attribute {
	kind := awsdynamodb.AttributeType_STRING
	if k.Type == topology.Number {
		kind = awsdynamodb.AttributeType_NUMBER
	}
	return &awsdynamodb.Attribute{Name: jsii.String(k.Name), Type: kind}
}

// applicationLogLevel is Lambda's level for the function's
// CLIENTELE_LOG_LEVEL (info when unset), so Lambda keeps what slog writes.
func applicationLogLevel(level string) awslambda.ApplicationLogLevel {
	switch strings.ToLower(level) {
	case "debug":
		return awslambda.ApplicationLogLevel_DEBUG
	case "warn":
		return awslambda.ApplicationLogLevel_WARN
	case "error":
		return awslambda.ApplicationLogLevel_ERROR
	}
	return awslambda.ApplicationLogLevel_INFO
}

// architecture converts a topology architecture to Lambda's.
func architecture(a topology.Architecture) awslambda.Architecture {
	if a == topology.X8664 {
		return awslambda.Architecture_X86_64()
	}
	return awslambda.Architecture_ARM_64()
}

// seconds converts a duration to a CDK duration in whole seconds.
func seconds(d time.Duration) awscdk.Duration {
	return awscdk.Duration_Seconds(jsii.Number(d.Seconds()))
}

// stringMap converts a map to jsii's form.
func stringMap(m map[string]string) *map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = jsii.String(v)
	}
	return &out
}

// pascal turns a topology name ("points-events", "members-api") into a
// construct id part ("PointsEvents", "MembersApi").
func pascal(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == '.' || r == ' ' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
