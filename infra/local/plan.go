package local

import (
	"slices"
	"sort"
	"time"

	"clientele/infra/topology"
	"clientele/shared/env"
)

// PlanView is what the local runner makes of a topology, computed without
// any I/O: the routes it serves, the variables and grants each function
// gets, the event source mappings and the schedules. Start runs exactly this
// plan, and a parity test compares it with the CDK template, so the two
// interpreters of the topology cannot drift apart unnoticed.
type PlanView struct {
	Routes    []PlannedRoute
	Functions []PlannedFunction
	Queues    []PlannedQueue
	Schedules []PlannedSchedule
	Tables    []PlannedTable
	// Buckets are the S3 buckets, by logical name (locally also their
	// physical name).
	Buckets []string
}

// PlannedRoute is one HTTP API route.
type PlannedRoute struct {
	// Key is API Gateway's route key: "POST /v1/members".
	Key      string
	Method   string
	Path     string
	Function string
	// Authorized says the route sits behind the JWT authorizer. Every
	// topology route does but the public ones (topology.PublicRoutes, which
	// carry their own credential); which caller kinds a route accepts is
	// checked by the function, since member tokens carry no scope an
	// authorizer could test.
	Authorized bool
	// Callers lists the caller kinds the function accepts (informational).
	Callers []topology.Caller
}

// PlannedFunction is one function with its configuration and grants.
type PlannedFunction struct {
	Name     string
	Entry    string
	MemoryMB int
	Timeout  time.Duration
	// EnvNames are the variables the deployment sets on the function, sorted:
	// those of topology.System.Environment plus the HMAC key for the
	// functions that use it (the CDK stack names its secret). The Lambda
	// runtime's own variables (AWS_REGION, AWS_LAMBDA_FUNCTION_NAME, ...)
	// and the local endpoint overrides are not listed.
	EnvNames []string
	// ReadOnlyTables may be read but not written; ReadWriteTables may be both.
	ReadOnlyTables  []string
	ReadWriteTables []string
	// SendsTo are the queues the function may send to.
	SendsTo []string
	// WritesBuckets are the buckets whose objects it may put and read.
	WritesBuckets []string
	// Consumes are the queues whose event source mappings invoke it.
	Consumes []string
	// Routes are the keys of the routes it serves; Schedules the schedules
	// that invoke it.
	Routes    []string
	Schedules []string
}

// PlannedQueue is one queue, its dead-letter queue and its event source
// mapping (when it has a consumer).
type PlannedQueue struct {
	Name              string
	DeadLetterQueue   string
	MaxReceiveCount   int
	VisibilityTimeout time.Duration
	Retention         time.Duration
	DLQRetention      time.Duration
	// Consumer is "" when nothing consumes the queue yet.
	Consumer    string
	BatchSize   int
	BatchWindow time.Duration
	// ReportBatchItemFailures is always true for a consumed queue: handlers
	// return events.SQSEventResponse naming only the failed messages.
	ReportBatchItemFailures bool
}

// PlannedSchedule is one schedule. Payload is the event the function
// receives as is; an empty Payload means EventBridge's own scheduled event.
type PlannedSchedule struct {
	Name string
	Cron string
	// TimeZone is the IANA zone the cron expression is read in ("" is UTC).
	TimeZone string
	Function string
	Payload  string
}

// PlannedTable is one table; locally its physical name is its logical name.
type PlannedTable struct {
	Name         string
	PartitionKey topology.Key
	SortKey      *topology.Key
	Indexes      []topology.Index
	TTLAttribute string
}

// Plan interprets a topology the way Start does, without starting anything.
// Lists are sorted by name (routes by key) so two plans compare with ==
// semantics on their contents.
func Plan(sys topology.System) PlanView {
	var p PlanView
	routesOf := map[string][]string{}
	for _, r := range sys.Routes {
		key := routeKey(r.Method, r.Path)
		p.Routes = append(p.Routes, PlannedRoute{
			Key:        key,
			Method:     normalizeMethod(r.Method),
			Path:       r.Path,
			Function:   r.Function,
			Authorized: !r.Public,
			Callers:    slices.Clone(r.Callers),
		})
		routesOf[r.Function] = append(routesOf[r.Function], key)
	}
	sort.Slice(p.Routes, func(i, j int) bool { return p.Routes[i].Key < p.Routes[j].Key })

	schedulesOf := map[string][]string{}
	for _, s := range sys.Schedules {
		p.Schedules = append(p.Schedules, PlannedSchedule{Name: s.Name, Cron: s.Cron, TimeZone: sys.TimeZone, Function: s.Function, Payload: s.Payload})
		schedulesOf[s.Function] = append(schedulesOf[s.Function], s.Name)
	}
	sort.Slice(p.Schedules, func(i, j int) bool { return p.Schedules[i].Name < p.Schedules[j].Name })

	for _, f := range sys.Functions {
		var names []string
		if f.UsesHMACKey {
			names = append(names, env.HMACKey)
		}
		for k := range sys.Environment(f.Name, localStage, identity, identity) {
			names = append(names, k)
		}
		for k := range sys.BucketEnvironment(f.Name, identity) {
			names = append(names, k)
		}
		sort.Strings(names)
		writes := sortedSet(f.WritesTables)
		var readOnly []string
		for _, t := range sortedSet(f.ReadsTables) {
			if !slices.Contains(writes, t) {
				readOnly = append(readOnly, t)
			}
		}
		p.Functions = append(p.Functions, PlannedFunction{
			Name:            f.Name,
			Entry:           f.Entry,
			MemoryMB:        f.MemoryMB,
			Timeout:         f.Timeout,
			EnvNames:        slices.Compact(names),
			ReadOnlyTables:  readOnly,
			ReadWriteTables: writes,
			SendsTo:         sortedSet(sys.SendsTo(f.Name)),
			WritesBuckets:   sortedSet(f.WritesBuckets),
			Consumes:        sortedSet(sys.Consumes(f.Name)),
			Routes:          sortedSet(routesOf[f.Name]),
			Schedules:       sortedSet(schedulesOf[f.Name]),
		})
	}
	sort.Slice(p.Functions, func(i, j int) bool { return p.Functions[i].Name < p.Functions[j].Name })

	for _, b := range sys.Buckets {
		p.Buckets = append(p.Buckets, b.Name)
	}
	sort.Strings(p.Buckets)

	for _, q := range sys.Queues {
		p.Queues = append(p.Queues, PlannedQueue{
			Name:                    q.Name,
			DeadLetterQueue:         topology.DLQName(q.Name),
			MaxReceiveCount:         q.MaxReceiveCount,
			VisibilityTimeout:       sys.VisibilityTimeout(q),
			Retention:               q.Retention,
			DLQRetention:            q.DLQRetention,
			Consumer:                q.Consumer,
			BatchSize:               q.BatchSize,
			BatchWindow:             q.BatchWindow,
			ReportBatchItemFailures: q.Consumer != "",
		})
	}
	sort.Slice(p.Queues, func(i, j int) bool { return p.Queues[i].Name < p.Queues[j].Name })

	for _, t := range sys.Tables {
		p.Tables = append(p.Tables, PlannedTable{
			Name:         t.Name,
			PartitionKey: t.PartitionKey,
			SortKey:      t.SortKey,
			Indexes:      slices.Clone(t.Indexes),
			TTLAttribute: t.TTLAttribute,
		})
	}
	sort.Slice(p.Tables, func(i, j int) bool { return p.Tables[i].Name < p.Tables[j].Name })
	return p
}

// localStage is the stage name functions see locally (CLIENTELE_STAGE).
const localStage = "local"

// identity names a table or queue by its logical name (Plan only needs the
// variable names, not their values).
func identity(name string) string { return name }

// sortedSet returns the distinct values of xs in order; nil for none.
func sortedSet(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	out := slices.Clone(xs)
	sort.Strings(out)
	return slices.Compact(out)
}
