package local

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"clientele/infra/topology"
	"clientele/shared/env"
)

func TestPlanOfASmallSystem(t *testing.T) {
	t.Parallel()
	sys := topology.System{
		Tables: []topology.Table{
			{Name: "ledger", PartitionKey: topology.Key{Name: "pk", Type: topology.String}},
			{Name: "members", PartitionKey: topology.Key{Name: "pk", Type: topology.String}},
		},
		Functions: []topology.Function{
			{Name: "points-worker", Entry: "functions/points/worker", MemoryMB: 256, Timeout: 20 * time.Second,
				ReadsTables: []string{"members", "ledger"}, WritesTables: []string{"ledger"}},
			{Name: "members-api", Entry: "functions/members/api", MemoryMB: 256, Timeout: 10 * time.Second,
				WritesTables: []string{"members"}, Publishes: []string{"member.registered"}, Env: map[string]string{"X_STATIC": "1"}, UsesHMACKey: true},
		},
		Routes: []topology.Route{
			{Method: "get", Path: "/v1/members/{id}", Function: "members-api", Callers: []topology.Caller{topology.Member}},
			{Method: "POST", Path: "/v1/members", Function: "members-api", Callers: []topology.Caller{topology.Service}},
		},
		Queues: []topology.Queue{
			{Name: "points-events", Subscribes: []string{"member.registered"}, Consumer: "points-worker",
				BatchSize: 25, BatchWindow: 2 * time.Second, MaxReceiveCount: 5, Retention: time.Hour, DLQRetention: 2 * time.Hour},
			{Name: "idle", MaxReceiveCount: 3, BatchSize: 1},
		},
		Schedules: []topology.Schedule{{Name: "expiry", Cron: "0 2 * * *", Function: "points-worker", Payload: `{"job":"expire"}`}},
	}
	if err := sys.Validate(); err != nil {
		t.Fatal(err)
	}
	p := Plan(sys)

	wantRoutes := []PlannedRoute{
		{Key: "GET /v1/members/{id}", Method: "GET", Path: "/v1/members/{id}", Function: "members-api", Authorized: true, Callers: []topology.Caller{topology.Member}},
		{Key: "POST /v1/members", Method: "POST", Path: "/v1/members", Function: "members-api", Authorized: true, Callers: []topology.Caller{topology.Service}},
	}
	if !reflect.DeepEqual(p.Routes, wantRoutes) {
		t.Errorf("routes:\n got %+v\nwant %+v", p.Routes, wantRoutes)
	}

	if len(p.Functions) != 2 || p.Functions[0].Name != "members-api" || p.Functions[1].Name != "points-worker" {
		t.Fatalf("functions not sorted by name: %+v", p.Functions)
	}
	api, worker := p.Functions[0], p.Functions[1]
	wantEnv := []string{env.EventRoutes, env.GroupsClaim, env.HMACKey, env.MemberClaim, env.QueueURLVar("points-events"), env.Service, env.Stage, env.TableVar("members"), "X_STATIC"}
	slices.Sort(wantEnv)
	if !slices.Equal(api.EnvNames, wantEnv) {
		t.Errorf("members-api env names:\n got %v\nwant %v", api.EnvNames, wantEnv)
	}
	if !slices.Equal(api.ReadWriteTables, []string{"members"}) || api.ReadOnlyTables != nil {
		t.Errorf("members-api tables: read-only %v, read-write %v", api.ReadOnlyTables, api.ReadWriteTables)
	}
	if !slices.Equal(api.SendsTo, []string{"points-events"}) || api.Consumes != nil {
		t.Errorf("members-api queues: sends %v, consumes %v", api.SendsTo, api.Consumes)
	}
	if !slices.Equal(api.Routes, []string{"GET /v1/members/{id}", "POST /v1/members"}) {
		t.Errorf("members-api routes: %v", api.Routes)
	}
	if !slices.Equal(worker.ReadOnlyTables, []string{"members"}) || !slices.Equal(worker.ReadWriteTables, []string{"ledger"}) {
		t.Errorf("points-worker tables: read-only %v, read-write %v", worker.ReadOnlyTables, worker.ReadWriteTables)
	}
	if !slices.Equal(worker.Consumes, []string{"points-events"}) || !slices.Equal(worker.Schedules, []string{"expiry"}) || worker.SendsTo != nil {
		t.Errorf("points-worker: consumes %v, schedules %v, sends %v", worker.Consumes, worker.Schedules, worker.SendsTo)
	}

	wantQueues := []PlannedQueue{
		{Name: "idle", DeadLetterQueue: "idle-dlq", MaxReceiveCount: 3, VisibilityTimeout: 30 * time.Second, BatchSize: 1},
		{Name: "points-events", DeadLetterQueue: "points-events-dlq", MaxReceiveCount: 5, VisibilityTimeout: 2 * time.Minute,
			Retention: time.Hour, DLQRetention: 2 * time.Hour, Consumer: "points-worker", BatchSize: 25, BatchWindow: 2 * time.Second,
			ReportBatchItemFailures: true},
	}
	if !reflect.DeepEqual(p.Queues, wantQueues) {
		t.Errorf("queues:\n got %+v\nwant %+v", p.Queues, wantQueues)
	}
	if !reflect.DeepEqual(p.Schedules, []PlannedSchedule{{Name: "expiry", Cron: "0 2 * * *", Function: "points-worker", Payload: `{"job":"expire"}`}}) {
		t.Errorf("schedules: %+v", p.Schedules)
	}
	if len(p.Tables) != 2 || p.Tables[0].Name != "ledger" {
		t.Errorf("tables: %+v", p.Tables)
	}
}

// TestPlanOfClientele checks invariants of the real topology's plan, which
// grows as domains arrive.
func TestPlanOfClientele(t *testing.T) {
	t.Parallel()
	sys := topology.Clientele()
	p := Plan(sys)
	if len(p.Routes) != len(sys.Routes) || len(p.Functions) != len(sys.Functions) || len(p.Queues) != len(sys.Queues) {
		t.Fatalf("plan lost entries: %d/%d routes, %d/%d functions, %d/%d queues",
			len(p.Routes), len(sys.Routes), len(p.Functions), len(sys.Functions), len(p.Queues), len(sys.Queues))
	}
	functions := map[string]PlannedFunction{}
	for _, f := range p.Functions {
		functions[f.Name] = f
		for name := range sys.Environment(f.Name, "any", identity, identity) {
			if !slices.Contains(f.EnvNames, name) {
				t.Errorf("%s: env name %s missing", f.Name, name)
			}
		}
		fn, _ := sys.Function(f.Name)
		if slices.Contains(f.EnvNames, env.HMACKey) != fn.UsesHMACKey {
			t.Errorf("%s: %s given: %v, uses it: %v", f.Name, env.HMACKey, !fn.UsesHMACKey, fn.UsesHMACKey)
		}
	}
	for _, r := range p.Routes {
		if r.Authorized == slices.Contains(topology.PublicRoutes, r.Key) {
			t.Errorf("%s: behind the authorizer %v, public %v", r.Key, r.Authorized, slices.Contains(topology.PublicRoutes, r.Key))
		}
		if !slices.Contains(functions[r.Function].Routes, r.Key) {
			t.Errorf("%s: function %s does not list it", r.Key, r.Function)
		}
	}
	if got := newRouteTable(p.Routes); len(got.routes) != len(p.Routes) {
		t.Errorf("route table has %d routes", len(got.routes))
	}
}
