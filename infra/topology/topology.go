// Package topology describes the whole of Clientele as plain Go data: every
// function, HTTP route, queue, schedule and table, and what each function may
// touch. The CDK stack (infra) and the local runner (infra/local) both
// interpret it, so a route, queue, schedule, variable or grant cannot exist in
// one and be missing in the other.
package topology

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	// Schedules name IANA time zones; the database is embedded so every
	// machine resolves them the same way.
	_ "time/tzdata"

	"clientele/shared/env"
)

// Architecture of a function's binary on AWS.
type Architecture string

// Architectures.
const (
	ARM64 Architecture = "arm64"
	X8664 Architecture = "x86_64"
)

// Caller is a kind of token a route accepts.
type Caller string

// Callers. A member token names a member id in its member claim (sub, or
// custom:member_id with the default Cognito pool); staff tokens carry the
// scope or group "staff"; service tokens carry the service scope their route
// names (Route.ServiceScope).
const (
	Member  Caller = "member"
	Staff   Caller = "staff"
	Service Caller = "service"
)

// Function is one Lambda function: one package main under functions/.
type Function struct {
	// Name is the logical name ("members-api"); binaries go to bin/<Name>/bootstrap.
	Name string
	// Entry is the package directory relative to the module root.
	Entry        string
	Description  string
	MemoryMB     int
	Timeout      time.Duration
	Architecture Architecture
	// Env holds static variables beyond those derived from grants.
	Env map[string]string
	// ReadsTables and WritesTables name tables; writing implies reading.
	ReadsTables  []string
	WritesTables []string
	// Publishes names event types the function emits; it may send to every
	// queue that subscribes to one of them.
	Publishes []string
	// Access states, per table it reads or writes, the DynamoDB actions its
	// code calls; the stack grants exactly these (a test compares them with
	// the SDK operations the function's code can reach).
	Access []TableAccess
	// CompletesEvery, for a scheduled job, is the longest time without a
	// completed run (its RunCompleted metric) before an alarm fires.
	CompletesEvery time.Duration
	// UsesHMACKey gives the function the HMAC key (shared/hmackey): the
	// secret's ARN on AWS, the dev key locally.
	UsesHMACKey bool
	// ReservedConcurrency, when positive, caps the function's concurrent
	// executions so it cannot starve the account's pool (and guarantees it
	// that many).
	ReservedConcurrency int
	// WritesBuckets names buckets whose objects the function may put and
	// read back (to hand out presigned links); it gets each one's name in
	// CLIENTELE_BUCKET_<NAME> (System.BucketEnvironment).
	WritesBuckets []string
}

// Bucket is one S3 bucket: encrypted at rest, refusing requests not made
// over TLS, with no public access; its objects expire.
type Bucket struct {
	Name string
	// ExpireAfter is how long an object is kept: whole days, at least one
	// (an S3 lifecycle expiration).
	ExpireAfter time.Duration
}

// TableAccess is what a function may do to one table.
type TableAccess struct {
	Table string
	// Actions are DynamoDB API actions without the "dynamodb:" prefix.
	Actions []string
	// LeadingKeys, when set, limits the actions to items whose partition
	// key is one of these values (the dynamodb:LeadingKeys condition).
	LeadingKeys []string
	// Indexes, when set, limits the actions (Query and Scan only) to these
	// indexes of the table: the function cannot read the table's items,
	// only what the indexes project.
	Indexes []string
}

// WriteActions are the DynamoDB actions that change items; a function may
// use them only on the tables it writes.
var WriteActions = []string{"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}

// knownActions are the DynamoDB actions Access may name.
// DescribeTable is not an item action: it reads the table's description
// (the sweep engine sizes its fan-out from ItemCount).
var knownActions = []string{"GetItem", "BatchGetItem", "Query", "Scan", "ConditionCheckItem", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "DescribeTable"}

// Route is one HTTP API route.
type Route struct {
	Method string
	// Path uses API Gateway's syntax: /v1/members/{id}.
	Path     string
	Function string
	// Callers lists the tokens the route accepts; the function checks which
	// member a member token may touch. Empty only on a public route.
	Callers []Caller
	// Public marks a route without the JWT authorizer: the request carries
	// its own credential (a survey link token), which the function checks.
	// Only routes listed in PublicRoutes may be public, with no Callers and
	// a throttle of their own, tighter than the API's default.
	Public bool
	// ServiceScope is the scope a service token needs on the route
	// (shared/apigw enforces it): set exactly when Callers has Service.
	ServiceScope string
	// Throttle, when set, replaces the API's default limits on this route
	// (intake routes get their own so a busy till cannot exhaust reads).
	Throttle *Throttle
}

// Throttle is an API Gateway token bucket: a steady rate and a burst.
type Throttle struct {
	RatePerSecond float64
	Burst         int
}

// Integration is a brand system calling the API with its own OAuth client
// (client-credentials grant): a point of sale, the brand's app backend.
type Integration struct {
	// Name identifies the integration ("pos"); the default Cognito user pool
	// gets one app client per integration.
	Name string
	// Scopes are the service scopes its tokens carry.
	Scopes []string
}

// Queue is one standard SQS queue with its dead-letter queue.
type Queue struct {
	Name string
	// Subscribes lists the event types delivered to this queue.
	Subscribes []string
	// Consumer is the function fed by this queue; "" while no domain
	// consumes it yet (messages wait, and the DLQ alarm still applies).
	Consumer string
	// BatchSize and BatchWindow configure the event source mapping.
	BatchSize   int
	BatchWindow time.Duration
	// MaxConcurrency caps the concurrent invocations its event source
	// mapping makes (2 to 1000), so a backlog cannot take every execution.
	MaxConcurrency int
	// OldestMessageAlarm is the age of the oldest waiting message that
	// raises an alarm: a stuck consumer, or a queue no one consumes whose
	// messages would otherwise expire unnoticed. Below Retention.
	OldestMessageAlarm time.Duration
	// MaxReceiveCount is the number of receives before redrive to the DLQ.
	MaxReceiveCount int
	// Retention of messages in the queue and the DLQ.
	Retention    time.Duration
	DLQRetention time.Duration
}

// Schedule invokes a function on a cron expression.
type Schedule struct {
	Name string
	// Cron is a five-field cron expression in the system's time zone:
	// "0 2 * * *" is 02:00 where the brand is.
	Cron     string
	Function string
	// Payload is the JSON document the function receives.
	Payload string
	// Retries is how often the scheduler retries a failed delivery, and
	// MaxEventAge how long it keeps trying; then the invocation goes to the
	// schedule dead-letter queue.
	Retries     int
	MaxEventAge time.Duration
}

// KeyType is a DynamoDB attribute type for keys.
type KeyType string

// Key types.
const (
	String KeyType = "S"
	Number KeyType = "N"
)

// Key is a key attribute.
type Key struct {
	Name string
	Type KeyType
}

// Index is a global secondary index.
type Index struct {
	Name         string
	PartitionKey Key
	SortKey      *Key
	// KeysOnly projects the keys alone (KEYS_ONLY: an item rewritten with
	// the same index keys writes no index entry); else Include, when set,
	// projects the keys and these attributes (INCLUDE); else every
	// attribute (ALL).
	KeysOnly bool
	Include  []string
}

// Table is one DynamoDB table (on-demand, encrypted, point-in-time recovery).
type Table struct {
	Name         string
	PartitionKey Key
	SortKey      *Key
	Indexes      []Index
	// TTLAttribute holds an epoch-seconds expiry; DynamoDB deletes expired
	// items eventually, so code must check expiry itself.
	TTLAttribute string
}

// System is the whole deployment.
type System struct {
	Functions []Function
	Routes    []Route
	Queues    []Queue
	Schedules []Schedule
	Tables    []Table
	// Integrations are the service clients of the default identity provider.
	Integrations []Integration
	// TimeZone is the brand's IANA time zone ("Asia/Shanghai"): schedules
	// run on its wall clock, daylight saving included. Empty means UTC.
	TimeZone string
	// Throttle is the HTTP API's default limit for every route.
	Throttle Throttle
	// Buckets are the S3 buckets functions write (exports).
	Buckets []Bucket
}

// BucketEnvironment is the bucket variables of a function, given how the
// interpreter names buckets (a token on AWS, the logical name locally).
// Both interpreters add it to Environment.
func (s System) BucketEnvironment(function string, bucketName func(string) string) map[string]string {
	f, _ := s.Function(function)
	out := map[string]string{}
	for _, b := range f.WritesBuckets {
		out[env.BucketVar(b)] = bucketName(b)
	}
	return out
}

// Location is the system's time zone (UTC when TimeZone is empty).
func (s System) Location() (*time.Location, error) {
	if s.TimeZone == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(s.TimeZone)
}

// Function returns the named function.
func (s System) Function(name string) (Function, bool) {
	for _, f := range s.Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// Queue returns the named queue.
func (s System) Queue(name string) (Queue, bool) {
	for _, q := range s.Queues {
		if q.Name == name {
			return q, true
		}
	}
	return Queue{}, false
}

// DLQName is the name of a queue's dead-letter queue.
func DLQName(queue string) string { return queue + "-dlq" }

// VisibilityTimeout is the queue's visibility timeout: six times its
// consumer's timeout (AWS's advice for event source mappings), at least 30 s.
func (s System) VisibilityTimeout(q Queue) time.Duration {
	v := 30 * time.Second
	if f, ok := s.Function(q.Consumer); ok && 6*f.Timeout > v {
		v = 6 * f.Timeout
	}
	return v
}

// SendsTo lists the queues a function may send to: those subscribing to an
// event type it publishes.
func (s System) SendsTo(function string) []string {
	f, ok := s.Function(function)
	if !ok {
		return nil
	}
	set := map[string]bool{}
	for _, q := range s.Queues {
		for _, t := range q.Subscribes {
			for _, p := range f.Publishes {
				if t == p {
					set[q.Name] = true
				}
			}
		}
	}
	return sortedKeys(set)
}

// Consumes lists the queues feeding a function.
func (s System) Consumes(function string) []string {
	var out []string
	for _, q := range s.Queues {
		if q.Consumer == function {
			out = append(out, q.Name)
		}
	}
	return out
}

// PublicRoutes are the only route keys that may be Public: each carries
// its own credential in the request and its function checks it.
var PublicRoutes = []string{
	// A survey invitation's link token (shared/survey) is the credential.
	"POST /v1/survey-responses",
}

// ServesRoutes reports whether a function serves at least one HTTP route.
func (s System) ServesRoutes(function string) bool {
	for _, r := range s.Routes {
		if r.Function == function {
			return true
		}
	}
	return false
}

// ServiceScopes lists every scope a route asks of service tokens, sorted.
func (s System) ServiceScopes() []string {
	set := map[string]bool{}
	for _, r := range s.Routes {
		if r.ServiceScope != "" {
			set[r.ServiceScope] = true
		}
	}
	return sortedKeys(set)
}

// TablesOf lists every table a function may read (including those it writes).
func (s System) TablesOf(function string) []string {
	f, _ := s.Function(function)
	set := map[string]bool{}
	for _, t := range f.ReadsTables {
		set[t] = true
	}
	for _, t := range f.WritesTables {
		set[t] = true
	}
	return sortedKeys(set)
}

// EventRoutes maps each event type the function publishes to its queues.
func (s System) EventRoutes(function string) map[string][]string {
	f, _ := s.Function(function)
	out := map[string][]string{}
	for _, p := range f.Publishes {
		for _, q := range s.Queues {
			for _, t := range q.Subscribes {
				if t == p {
					out[p] = append(out[p], q.Name)
				}
			}
		}
	}
	return out
}

// Environment is the set of variables a function gets, given how the
// interpreter names tables and queues (physical names or tokens on AWS,
// logical names and loopback URLs locally). Both interpreters call this, so
// the variable names cannot differ.
func (s System) Environment(function, stage string, tableName, queueURL func(string) string) map[string]string {
	f, _ := s.Function(function)
	out := map[string]string{
		env.Service:     f.Name,
		env.Stage:       stage,
		env.EventRoutes: env.FormatEventRoutes(s.EventRoutes(function)),
	}
	if s.TimeZone != "" {
		out[env.TimeZone] = s.TimeZone
	}
	if s.ServesRoutes(function) {
		// How the functions read callers from tokens; the CDK stack points
		// the member claim at custom:member_id with its Cognito user pool.
		out[env.MemberClaim] = "sub"
		out[env.GroupsClaim] = "cognito:groups,groups"
	}
	for k, v := range f.Env {
		out[k] = v
	}
	for _, t := range s.TablesOf(function) {
		out[env.TableVar(t)] = tableName(t)
	}
	for _, q := range s.SendsTo(function) {
		out[env.QueueURLVar(q)] = queueURL(q)
	}
	return out
}

// Validate checks the references and limits the interpreters rely on.
func (s System) Validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	fns := map[string]bool{}
	for _, f := range s.Functions {
		if fns[f.Name] {
			bad("function %s declared twice", f.Name)
		}
		fns[f.Name] = true
		if f.Entry == "" || strings.HasPrefix(f.Entry, "/") || strings.Contains(f.Entry, "..") {
			bad("function %s: entry %q must be a relative package directory", f.Name, f.Entry)
		}
		if f.MemoryMB < 128 || f.MemoryMB > 10240 {
			bad("function %s: memory %d MB out of range", f.Name, f.MemoryMB)
		}
		if f.Timeout <= 0 || f.Timeout > 15*time.Minute {
			bad("function %s: timeout %s out of range", f.Name, f.Timeout)
		}
	}
	tables := map[string]bool{}
	for _, t := range s.Tables {
		tables[t.Name] = true
	}
	for _, f := range s.Functions {
		for _, t := range append(append([]string{}, f.ReadsTables...), f.WritesTables...) {
			if !tables[t] {
				bad("function %s: unknown table %s", f.Name, t)
			}
		}
		granted := map[string]bool{}
		for _, a := range f.Access {
			if granted[a.Table] {
				bad("function %s: access to %s stated twice", f.Name, a.Table)
			}
			granted[a.Table] = true
			writes := slices.Contains(f.WritesTables, a.Table)
			if !writes && !slices.Contains(f.ReadsTables, a.Table) {
				bad("function %s: access to %s, which it neither reads nor writes", f.Name, a.Table)
			}
			if len(a.Actions) == 0 {
				bad("function %s: no actions on %s", f.Name, a.Table)
			}
			for _, action := range a.Actions {
				if !slices.Contains(knownActions, action) {
					bad("function %s: unknown DynamoDB action %s", f.Name, action)
				}
				if slices.Contains(WriteActions, action) && !writes {
					bad("function %s: %s on %s, which it only reads", f.Name, action, a.Table)
				}
				if len(a.Indexes) > 0 && action != "Query" && action != "Scan" {
					bad("function %s: %s on indexes of %s: only Query and Scan read an index", f.Name, action, a.Table)
				}
			}
			for _, ix := range a.Indexes {
				if t, ok := s.table(a.Table); !ok || !slices.ContainsFunc(t.Indexes, func(i Index) bool { return i.Name == ix }) {
					bad("function %s: access to index %s, which %s does not have", f.Name, ix, a.Table)
				}
			}
		}
		if f.CompletesEvery != 0 && (f.CompletesEvery < 24*time.Hour || f.CompletesEvery > 7*24*time.Hour || f.CompletesEvery%(24*time.Hour) != 0) {
			bad("function %s: completes-every %s must be whole days from 1 to 7", f.Name, f.CompletesEvery)
		}
		if f.ReservedConcurrency < 0 {
			bad("function %s: negative reserved concurrency", f.Name)
		}
	}
	seen := map[string]bool{}
	for _, r := range s.Routes {
		key := r.Method + " " + r.Path
		if seen[key] {
			bad("route %s declared twice", key)
		}
		seen[key] = true
		if !fns[r.Function] {
			bad("route %s: unknown function %s", key, r.Function)
		}
		switch {
		case r.Public && len(r.Callers) > 0:
			bad("route %s: a public route takes no tokens, so it names no callers", key)
		case r.Public && !slices.Contains(PublicRoutes, key):
			bad("route %s: public, but not listed in PublicRoutes", key)
		case r.Public && r.ServiceScope != "":
			bad("route %s: a public route asks no service scope", key)
		case r.Public && (r.Throttle == nil || (s.Throttle.RatePerSecond > 0 &&
			(r.Throttle.RatePerSecond >= s.Throttle.RatePerSecond || r.Throttle.Burst >= s.Throttle.Burst))):
			bad("route %s: a public route needs its own throttle, tighter than the default", key)
		case !r.Public && len(r.Callers) == 0:
			bad("route %s: no callers", key)
		}
		if r.ServiceScope != "" && !slices.Contains(r.Callers, Service) {
			bad("route %s: a service scope on a route services may not call", key)
		}
	}
	scopes := map[string]bool{}
	for _, sc := range s.ServiceScopes() {
		scopes[sc] = true
	}
	integrations := map[string]bool{}
	for _, in := range s.Integrations {
		if integrations[in.Name] || in.Name == "" {
			bad("integration %q declared twice or unnamed", in.Name)
		}
		integrations[in.Name] = true
		if len(in.Scopes) == 0 {
			bad("integration %s: no scopes", in.Name)
		}
		for _, sc := range in.Scopes {
			if !scopes[sc] {
				bad("integration %s: scope %s is asked by no route", in.Name, sc)
			}
		}
	}
	for _, q := range s.Queues {
		if q.Consumer != "" && !fns[q.Consumer] {
			bad("queue %s: unknown consumer %s", q.Name, q.Consumer)
		}
		if q.MaxConcurrency != 0 && (q.MaxConcurrency < 2 || q.MaxConcurrency > 1000) {
			bad("queue %s: maximum concurrency %d out of 2-1000", q.Name, q.MaxConcurrency)
		}
		if q.MaxReceiveCount < 1 {
			bad("queue %s: maxReceiveCount must be positive", q.Name)
		}
		if q.BatchSize < 1 || q.BatchSize > 10000 {
			bad("queue %s: batch size %d out of range", q.Name, q.BatchSize)
		}
		if q.BatchSize > 10 && q.BatchWindow == 0 {
			bad("queue %s: batch size above 10 needs a batch window", q.Name)
		}
	}
	for _, sc := range s.Schedules {
		if !fns[sc.Function] {
			bad("schedule %s: unknown function %s", sc.Name, sc.Function)
		}
		if len(strings.Fields(sc.Cron)) != 5 {
			bad("schedule %s: cron %q must have five fields", sc.Name, sc.Cron)
		}
		if sc.Retries < 0 || sc.Retries > 185 {
			bad("schedule %s: retries %d out of 0-185", sc.Name, sc.Retries)
		}
		if sc.MaxEventAge != 0 && (sc.MaxEventAge < time.Minute || sc.MaxEventAge > 24*time.Hour) {
			bad("schedule %s: maximum event age %s out of 1 min-24 h", sc.Name, sc.MaxEventAge)
		}
	}
	if _, err := s.Location(); err != nil {
		bad("time zone %q: %v", s.TimeZone, err)
	}
	buckets := map[string]bool{}
	for _, b := range s.Buckets {
		if b.Name == "" || buckets[b.Name] {
			bad("bucket %q declared twice or unnamed", b.Name)
		}
		buckets[b.Name] = true
		if b.ExpireAfter < 24*time.Hour || b.ExpireAfter%(24*time.Hour) != 0 {
			bad("bucket %s: objects must expire after whole days, at least one (%s)", b.Name, b.ExpireAfter)
		}
	}
	for _, f := range s.Functions {
		for _, b := range f.WritesBuckets {
			if !buckets[b] {
				bad("function %s: unknown bucket %s", f.Name, b)
			}
		}
	}
	for _, r := range s.Routes {
		if r.Throttle != nil && (r.Throttle.RatePerSecond <= 0 || r.Throttle.Burst <= 0) {
			bad("route %s %s: throttle needs a positive rate and burst", r.Method, r.Path)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("topology: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Complete checks, beyond Validate, what a deployment needs stated and the
// local runner can do without: the DynamoDB actions of every table a
// function uses, a service scope on every route services may call, a
// maximum concurrency on every consumed queue, and dead-letter queues that
// keep messages longer than their queues. The CDK stack requires it.
func (s System) Complete() error {
	var errs []string
	if err := s.Validate(); err != nil {
		errs = append(errs, err.Error())
	}
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	for _, f := range s.Functions {
		for _, t := range s.TablesOf(f.Name) {
			if !slices.ContainsFunc(f.Access, func(a TableAccess) bool { return a.Table == t }) {
				bad("function %s: no access stated for table %s", f.Name, t)
			}
		}
	}
	for _, r := range s.Routes {
		if slices.Contains(r.Callers, Service) && r.ServiceScope == "" {
			bad("route %s %s: services may call it but no service scope is named", r.Method, r.Path)
		}
	}
	if s.Throttle.RatePerSecond <= 0 || s.Throttle.Burst <= 0 {
		bad("no default API throttle")
	}
	for _, sc := range s.Schedules {
		if sc.MaxEventAge == 0 {
			bad("schedule %s: no maximum event age", sc.Name)
		}
	}
	for _, q := range s.Queues {
		if q.Consumer != "" && q.MaxConcurrency == 0 {
			bad("queue %s: no maximum concurrency for its event source", q.Name)
		}
		if q.DLQRetention <= q.Retention {
			bad("queue %s: its dead-letter queue must keep messages longer than the queue (%s <= %s)", q.Name, q.DLQRetention, q.Retention)
		}
		if q.OldestMessageAlarm <= 0 || q.OldestMessageAlarm >= q.Retention {
			bad("queue %s: oldest-message alarm %s must be positive and below the retention %s", q.Name, q.OldestMessageAlarm, q.Retention)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("topology incomplete for a deployment: %s", strings.Join(errs, "; "))
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// table is the table named name.
func (s System) table(name string) (Table, bool) {
	for _, t := range s.Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}
