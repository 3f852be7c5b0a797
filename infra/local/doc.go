// Package local runs Clientele on one machine without AWS: the stand-in for
// AWS that `make run` starts (go run ./infra/local/cmd/clientele-local run)
// and that end-to-end tests start in process. It interprets the same
// topology (infra/topology) as the CDK stack; Plan shows the interpretation
// without starting anything, for the parity test against the CDK template.
//
// Start builds every function's real bootstrap for the host
// (bin/local/<function>/bootstrap, -tags lambda.norpc, CGO_ENABLED=0) and runs
// it as AWS would, behind local stand-ins:
//
//   - DynamoDB: AWS's DynamoDB Local (shared/dynamo/dynamolocal), its data in
//     <DataDir>/dynamodb, or in memory without a DataDir, or any endpoint
//     given. Tables, indexes and TTL come from the topology; existing tables
//     are kept (and gain new indexes), so data survives restarts.
//   - SQS: goaws in process, JSON protocol. Queues and dead-letter queues
//     come from the topology, with its redrive policy and visibility timeout.
//     They live in memory and start empty on every start. goaws keeps its
//     state in package variables: one Stack per process at a time.
//   - Lambda: every function process gets a Runtime API of its own
//     (/2018-06-01/runtime/invocation/next, /response, /error, /init/error)
//     on a loopback port and Lambda's environment (AWS_LAMBDA_*, AWS_REGION,
//     dummy credentials, AWS_ENDPOINT_URL_DYNAMODB and _SQS pointing at the
//     stand-ins, topology.System.Environment with stage "local", the dev
//     HMAC key, Config.ExtraEnv) and nothing of the runner's environment.
//     Up to Config.MaxInstances processes per function start on demand; a
//     timed-out invocation kills its process, a crashed process is replaced
//     on the next invocation, as on Lambda. Output is prefixed
//     "<function>#<n> | ". Stack.Stats reports init durations and cold starts.
//   - API Gateway (HTTP API, payload format 2.0): routes matched as API
//     Gateway does (literal before {param} before {greedy+}; 404
//     {"message":"Not Found"}), every route behind a JWT authorizer that
//     trusts the local issuer (401 {"message":"Unauthorized"}), claims and
//     scopes rendered as AWS renders them, bodies base64-encoded unless
//     textual, responses translated back (headers, multiValueHeaders,
//     cookies, base64 bodies, the inferred format), 30 s integration timeout.
//   - The SQS event source mapping: batches of up to BatchSize gathered
//     within BatchWindow, events.SQSEvent records as Lambda shapes them,
//     partial batch responses (only the listed failures stay), a function
//     error or timeout fails the whole batch, failures come back after the
//     visibility timeout and go to the dead-letter queue after
//     maxReceiveCount receives.
//   - EventBridge schedules: robfig/cron with five-field UTC expressions. The
//     event is the schedule's payload as is (what the stack's
//     RuleTargetInput.fromObject(payload) delivers), or EventBridge's
//     "Scheduled Event" when there is none. POST /_local/schedules/<name> on
//     the API's address (loopback callers only) or Stack.FireSchedule fires
//     one now and waits for the function.
//
// The local issuer (issuer "clientele-local", audience "clientele") signs
// dev tokens with an RSA key kept in <DataDir>/issuer-key.pem; its JWKS is at
// /.well-known/jwks.json. Stack.Token and `clientele-local token` issue
// member, staff and service tokens shaped like the deployed API's.
package local
