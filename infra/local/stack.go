package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"clientele/infra/topology"
	"clientele/shared/dynamo/dynamolocal"
	"clientele/shared/env"
)

// The local account: region, account id and the credentials every client
// and function uses. DynamoDB Local runs with -sharedDb, so the keys do not
// partition its data.
const (
	localRegion    = "us-east-1"
	localAccountID = "000000000000"
	localAPIID     = "local"
	localAccessKey = "local"
	localSecretKey = "local"
	localSenderID  = "AIDALOCALSENDER000000"
)

// DevHMACKey is the CLIENTELE_HMAC_KEY every function gets locally (on AWS
// each stack generates its own, 64 alphanumeric characters like this one).
// It is not a secret: never use it anywhere else.
const DevHMACKey = "LocalDevelopmentHMACKeyNotASecretDoNotUseItAnywhereElse000000000"

// DefaultMaxInstances is how many processes of one function may run at
// once when Config.MaxInstances is zero.
const DefaultMaxInstances = 4

// Config configures Start.
type Config struct {
	// Root is the module root the function entries are relative to; the
	// binaries go to Root/bin/local/<function>/bootstrap. "" means the
	// module holding the working directory.
	Root string
	// System is the topology to run.
	System topology.System
	// DataDir persists DynamoDB data (DataDir/dynamodb) and the dev issuer
	// key; "" means in-memory tables and an ephemeral key. Queues are always
	// in memory.
	DataDir string
	// APIAddr is where the HTTP API listens: "127.0.0.1:8080" for make run,
	// "127.0.0.1:0" (the default) for any free port.
	APIAddr string
	// SQSAddr is where goaws listens; "" means any free loopback port.
	SQSAddr string
	// DynamoDBEndpoint, when set, is used instead of starting DynamoDB Local.
	DynamoDBEndpoint string
	// DynamoDBPort is the port DynamoDB Local listens on; 0 means any free one.
	DynamoDBPort int
	// Log receives the runner's log (slog text) and, line by line prefixed
	// with "<function>#<n> | ", what the functions and DynamoDB Local print.
	// Nil discards everything.
	Log io.Writer
	// LogLevel is the runner's own log level (default info).
	LogLevel slog.Level
	// ExtraEnv is merged into every function's environment, last.
	ExtraEnv map[string]string
	// VisibilityTimeout, when positive, replaces System.VisibilityTimeout
	// for every queue (rounded up to whole seconds), so tests can watch
	// retries and redrives without waiting 30 s per receive.
	VisibilityTimeout time.Duration
	// MaxInstances bounds the processes per function (default 4), and so
	// the concurrent invocations of each function.
	MaxInstances int
}

// Stack is a running local Clientele: the HTTP API, DynamoDB (Local or
// given), SQS (goaws, in process), every function under a local Lambda
// Runtime API, the event source mappings and the schedules.
type Stack struct {
	// APIURL is the HTTP API's base URL ("http://127.0.0.1:8080").
	APIURL string
	// DynamoDBEndpoint and SQSEndpoint are what AWS_ENDPOINT_URL_DYNAMODB
	// and AWS_ENDPOINT_URL_SQS point at.
	DynamoDBEndpoint string
	SQSEndpoint      string
	// S3Endpoint is what AWS_ENDPOINT_URL_S3 points at (gofakes3, in
	// process; "" when the topology has no bucket).
	S3Endpoint string

	plan      PlanView
	log       *slog.Logger
	issuer    *Issuer
	dynamo    *dynamolocal.Server
	sqs       *sqsServer
	s3        *s3Server
	functions map[string]*lambdaFunction
	schedules *scheduler
	api       *http.Server

	cancel    context.CancelFunc
	pollers   sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Start builds the functions and starts everything, returning once the API
// answers. On error, whatever was started is stopped again.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if err := cfg.System.Validate(); err != nil {
		return nil, err
	}
	if cfg.Root == "" {
		if cfg.Root, err = ModuleRoot("."); err != nil {
			return nil, err
		}
	}
	if cfg.APIAddr == "" {
		cfg.APIAddr = "127.0.0.1:0"
	}
	if cfg.SQSAddr == "" {
		cfg.SQSAddr = "127.0.0.1:0"
	}
	if cfg.MaxInstances <= 0 {
		cfg.MaxInstances = DefaultMaxInstances
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	out := &syncWriter{dst: cfg.Log}
	s := &Stack{
		plan:      Plan(cfg.System),
		log:       slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: cfg.LogLevel})),
		functions: map[string]*lambdaFunction{},
	}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if cfg.DataDir != "" {
		if err := ensureDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	if cfg.DynamoDBEndpoint == "" && cfg.DynamoDBPort != 0 {
		// DynamoDB Local would only say it exited; say why.
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.DynamoDBPort)))
		if err != nil {
			return nil, fmt.Errorf("DynamoDB Local's port %d is taken (another DynamoDB Local?); choose another or 0 for any free port: %w", cfg.DynamoDBPort, err)
		}
		ln.Close()
	}
	if s.issuer, err = OpenIssuer(cfg.DataDir); err != nil {
		return nil, err
	}
	if s.sqs, err = startSQS(cfg.SQSAddr, newLinePrefixer(out, "goaws | ")); err != nil {
		return nil, err
	}
	s.SQSEndpoint = s.sqs.endpoint
	if len(s.plan.Buckets) > 0 {
		if s.s3, err = startS3(s.plan.Buckets); err != nil {
			return nil, err
		}
		s.S3Endpoint = s.s3.endpoint
	}

	// Building the functions and starting Java take the longest; overlap them.
	started := time.Now()
	var buildErr, dynamoErr error
	var wg sync.WaitGroup
	wg.Go(func() { buildErr = buildFunctions(ctx, cfg.Root, s.plan.Functions, s.log) })
	if cfg.DynamoDBEndpoint != "" {
		s.DynamoDBEndpoint = cfg.DynamoDBEndpoint
	} else {
		wg.Go(func() {
			opts := dynamolocal.Options{Port: cfg.DynamoDBPort, Log: newLinePrefixer(out, "dynamodb-local | ")}
			if cfg.DataDir != "" {
				opts.DBPath = filepath.Join(cfg.DataDir, "dynamodb")
			}
			s.dynamo, dynamoErr = dynamolocal.Start(ctx, opts)
		})
	}
	wg.Wait()
	if err := errors.Join(buildErr, dynamoErr); err != nil {
		return nil, err
	}
	if s.dynamo != nil {
		s.DynamoDBEndpoint = s.dynamo.Endpoint
	}
	s.log.Info("functions built and DynamoDB up", "functions", len(s.plan.Functions), "took", time.Since(started).Round(time.Millisecond))

	creds := credentials.NewStaticCredentialsProvider(localAccessKey, localSecretKey, "")
	dynamoClient := dynamodb.New(dynamodb.Options{Region: localRegion, BaseEndpoint: aws.String(s.DynamoDBEndpoint), Credentials: creds})
	if err := ensureTables(ctx, dynamoClient, s.plan.Tables, s.log); err != nil {
		return nil, err
	}
	sqsClient := sqs.New(sqs.Options{Region: localRegion, BaseEndpoint: aws.String(s.SQSEndpoint), Credentials: creds})
	for _, q := range s.plan.Queues {
		visibility := q.VisibilityTimeout
		if cfg.VisibilityTimeout > 0 {
			visibility = cfg.VisibilityTimeout
		}
		if err := s.sqs.createQueue(ctx, sqsClient, q, visibility); err != nil {
			return nil, err
		}
	}

	if len(cfg.ExtraEnv) > 0 {
		// Names only: a value may be a key.
		s.log.Info("extra environment for every function", "names", sortedKeys(cfg.ExtraEnv))
	}
	for _, f := range s.plan.Functions {
		def, _ := cfg.System.Function(f.Name)
		s.functions[f.Name] = newLambdaFunction(f.Name, BinaryPath(cfg.Root, f.Name), f.Timeout,
			s.functionEnv(cfg, def), cfg.MaxInstances, out, s.log)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for _, q := range s.plan.Queues {
		if q.Consumer == "" {
			continue
		}
		m := &eventSourceMapping{
			queue:       q,
			queueURL:    s.QueueURL(q.Name),
			fn:          s.functions[q.Consumer],
			client:      sqsClient,
			log:         s.log,
			concurrency: cfg.MaxInstances,
		}
		s.pollers.Go(func() { m.run(runCtx) })
	}
	if s.schedules, err = newScheduler(runCtx, s.plan.Schedules, s.functions, s.log); err != nil {
		return nil, err
	}
	s.schedules.cron.Start()

	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return nil, fmt.Errorf("API listener on %s: %w", cfg.APIAddr, err)
	}
	s.APIURL = "http://" + ln.Addr().String()
	s.api = &http.Server{
		Handler: &gateway{
			routes:    newRouteTable(s.plan.Routes),
			functions: s.functions,
			issuer:    s.issuer,
			schedules: s.schedules,
			apiURL:    s.APIURL,
			log:       s.log,
		},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = s.api.Serve(ln) }()
	s.log.Info("local stack started", "api", s.APIURL, "dynamodb", s.DynamoDBEndpoint, "sqs", s.SQSEndpoint,
		"took", time.Since(started).Round(time.Millisecond))
	return s, nil
}

// functionEnv is a function's environment: what the Lambda runtime sets,
// the local endpoints and credentials, the topology's variables (tables by
// logical name, queues by local URL), the dev HMAC key, then ExtraEnv.
// Nothing is inherited from the runner's own environment, so a developer's
// AWS profile cannot reach a real account.
func (s *Stack) functionEnv(cfg Config, f topology.Function) []string {
	vars := map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
		"LANG":                            "en_US.UTF-8",
		"TZ":                              "UTC",
		"LAMBDA_TASK_ROOT":                filepath.Dir(BinaryPath(cfg.Root, f.Name)),
		"_HANDLER":                        "bootstrap",
		"AWS_REGION":                      localRegion,
		"AWS_DEFAULT_REGION":              localRegion,
		"AWS_LAMBDA_FUNCTION_NAME":        f.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(f.MemoryMB),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + f.Name,
		"AWS_ACCESS_KEY_ID":               localAccessKey,
		"AWS_SECRET_ACCESS_KEY":           localSecretKey,
		"AWS_EC2_METADATA_DISABLED":       "true",
		"AWS_ENDPOINT_URL_DYNAMODB":       s.DynamoDBEndpoint,
		"AWS_ENDPOINT_URL_SQS":            s.SQSEndpoint,
	}
	if s.S3Endpoint != "" {
		vars["AWS_ENDPOINT_URL_S3"] = s.S3Endpoint
	}
	if f.UsesHMACKey {
		vars[env.HMACKey] = DevHMACKey
	}
	for k, v := range cfg.System.Environment(f.Name, localStage, identity, s.QueueURL) {
		vars[k] = v
	}
	for k, v := range cfg.System.BucketEnvironment(f.Name, identity) {
		vars[k] = v
	}
	for k, v := range cfg.ExtraEnv {
		vars[k] = v
	}
	out := make([]string, 0, len(vars))
	for _, k := range sortedKeys(vars) {
		out = append(out, k+"="+vars[k])
	}
	return out
}

// QueueURL is the local URL of a queue (or of a dead-letter queue, by its
// topology.DLQName).
func (s *Stack) QueueURL(name string) string { return s.sqs.queueURL(name) }

// Plan is the plan the stack runs.
func (s *Stack) Plan() PlanView { return s.plan }

// Token signs a dev token the local API accepts; see Issuer.Token.
func (s *Stack) Token(role topology.Caller, sub string, ttl time.Duration) (string, error) {
	return s.issuer.Token(role, sub, ttl)
}

// Invoke runs a function once with a payload, like `aws lambda invoke`, and
// returns its response. A failure of the function is an *InvokeError.
func (s *Stack) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	f, ok := s.functions[function]
	if !ok {
		return nil, fmt.Errorf("no function named %s", function)
	}
	return f.Invoke(ctx, payload)
}

// FireSchedule invokes a schedule's function now with the schedule's event
// and waits for it; the error is the function's, if it failed.
func (s *Stack) FireSchedule(ctx context.Context, name string) error {
	sc, ok := s.schedules.byName[name]
	if !ok {
		return fmt.Errorf("no schedule named %s", name)
	}
	_, err := s.schedules.fire(ctx, sc, "FireSchedule")
	return err
}

// ScheduleURL is the endpoint that fires a schedule now (POST, no auth,
// loopback callers only).
func (s *Stack) ScheduleURL(name string) string {
	return s.APIURL + localPathPrefix + "schedules/" + name
}

// Stats returns the counters of one function, cold starts included.
func (s *Stack) Stats(function string) FunctionStats {
	if f, ok := s.functions[function]; ok {
		return f.Stats()
	}
	return FunctionStats{Name: function}
}

// Close stops the schedules, the API, the pollers, every function process,
// goaws and DynamoDB Local, in that order. It is safe to call twice.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.schedules != nil {
			s.schedules.cron.Stop()
		}
		if s.cancel != nil {
			s.cancel()
		}
		if s.api != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := s.api.Shutdown(ctx); err != nil {
				_ = s.api.Close()
			}
			cancel()
		}
		var wg sync.WaitGroup
		for _, f := range s.functions {
			wg.Go(f.close)
		}
		wg.Wait()
		s.pollers.Wait()
		if s.s3 != nil {
			if err := s.s3.close(); err != nil {
				errs = append(errs, fmt.Errorf("stopping the local S3: %w", err))
			}
		}
		if s.sqs != nil {
			if err := s.sqs.close(); err != nil {
				errs = append(errs, fmt.Errorf("stopping goaws: %w", err))
			}
		}
		if s.dynamo != nil {
			s.dynamo.Close()
		}
		s.closeErr = errors.Join(errs...)
		if s.log != nil {
			s.log.Info("local stack stopped")
		}
	})
	return s.closeErr
}

// FunctionNames lists the stack's functions, sorted.
func (s *Stack) FunctionNames() []string {
	names := make([]string, 0, len(s.functions))
	for n := range s.functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
