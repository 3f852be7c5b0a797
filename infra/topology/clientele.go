package topology

import (
	"time"

	"clientele/shared/env"
)

// Logical table names.
const (
	MembersTable = "members"
	PointsTable  = "points"
)

// OutboxPartition is the partition key of every table's outbox items
// (shared/dynamo); the outbox relay may touch nothing else.
const OutboxPartition = "OUTBOX"

// Logical queue names.
const (
	// PointsEvents carries events the points worker acts on (welcome bonus,
	// erasure scrubbing). Its consumer arrives with the points ledger.
	PointsEvents = "points-events"
	// NotificationEvents carries what a brand's messaging integration sends
	// to members (points about to expire). No Clientele function consumes it.
	NotificationEvents = "notification-events"
)

// Points sweeps (helper A: points-nightly and points-reconcile on the sweep
// engine): each kind's function publishes sweep.<kind> to fan a run out as
// segment messages on <kind>-sweep, which feeds the same function.
const (
	PointsNightlySweep     = "points-nightly-sweep"
	PointsReconcileSweep   = "points-reconcile-sweep"
	SweepPointsNightly     = "sweep.points-nightly"
	SweepPointsReconcile   = "sweep.points-reconcile"
	pointsSweepConcurrency = 8
)

// Service scopes (shared/apigw enforces them per route).
const (
	// ScopeMembersWrite signs members up: the brand's app backend.
	ScopeMembersWrite = "members:write"
	// ScopePointsWrite records purchases and returns: points of sale.
	ScopePointsWrite = "points:write"
)

// Event types published between domains.
const (
	MemberRegistered     = "member.registered"
	MemberErased         = "member.erased"
	PointsPurchase       = "points.purchase"
	PointsReturn         = "points.return"
	PointsBonusRequested = "points.bonus_requested"
	PointsExpiring       = "points.expiring"
)

// Event types between the feedback, survey and segmentation domains
// (shared/event documents their data).
const (
	FeedbackFollowUpRequested = "feedback.follow_up_requested"
	FeedbackCaseResolved      = "feedback.case_resolved"
	MemberSegmentChanged      = "member.segment_changed"
)

// PointsPolicy is the loyalty programme every points function runs with
// (CLIENTELE_POINTS_POLICY, read by points.ParsePolicy): one value, so the
// API, the worker and the nightly job cannot disagree. "{}" keeps the
// defaults (1 point per currency unit, 24 months to month end, 14-day
// return window, member/silver/gold/platinum at 0/1000/5000/20000, debt on
// shortfalls); a brand edits it here and redeploys.
const PointsPolicy = `{}`

func pointsEnv() map[string]string { return map[string]string{env.PointsPolicy: PointsPolicy} }

// Intake limits: tills post purchases and returns in bursts at closing
// time; signups come from the brand's app backend. Each route has its own
// bucket, apart from the reads members make.
var (
	intakeThrottle = Throttle{RatePerSecond: 200, Burst: 400}
	signupThrottle = Throttle{RatePerSecond: 20, Burst: 50}
)

// Clientele is the deployed system.
func Clientele() System {
	return System{
		Tables: []Table{{
			Name:         MembersTable,
			PartitionKey: Key{Name: "pk", Type: String},
			SortKey:      &Key{Name: "sk", Type: String},
			TTLAttribute: "expires_at",
		}, {
			Name:         PointsTable,
			PartitionKey: Key{Name: "pk", Type: String},
			SortKey:      &Key{Name: "sk", Type: String},
			TTLAttribute: "expires_at",
		}},
		Functions: []Function{{
			Name:         "members-api",
			Entry:        "functions/members/api",
			Description:  "Member signup, profile, consents, erasure and export",
			MemoryMB:     256,
			Timeout:      10 * time.Second,
			Architecture: ARM64,
			// The export includes the member's points account and ledger.
			ReadsTables:  []string{PointsTable},
			WritesTables: []string{MembersTable},
			Publishes:    []string{MemberRegistered, MemberErased},
			// The export values points with the brand's policy.
			Env:         pointsEnv(),
			UsesHMACKey: true,
			Access: []TableAccess{
				{Table: MembersTable, Actions: []string{"GetItem", "Query", "PutItem", "DeleteItem"}},
				{Table: PointsTable, Actions: []string{"GetItem", "Query"}},
			},
		}, {
			Name:         "outbox-relay",
			Entry:        "functions/outbox/relay",
			Description:  "Publishes events left in table outboxes by functions that stopped between commit and send",
			MemoryMB:     128,
			Timeout:      60 * time.Second,
			Architecture: ARM64,
			WritesTables: []string{MembersTable, PointsTable},
			Publishes:    []string{MemberRegistered, MemberErased, PointsPurchase, PointsReturn, PointsBonusRequested, PointsExpiring},
			// Reads and clears the outboxes, and nothing else of either table.
			Access: []TableAccess{
				{Table: MembersTable, Actions: []string{"Query", "DeleteItem"}, LeadingKeys: []string{OutboxPartition}},
				{Table: PointsTable, Actions: []string{"Query", "DeleteItem"}, LeadingKeys: []string{OutboxPartition}},
			},
			// One relay at a time is enough and keeps it from racing itself.
			ReservedConcurrency: 1,
		}, {
			Name:         "points-api",
			Entry:        "functions/points/api",
			Description:  "Points balance, ledger, redemptions, adjustments; purchase and return intake",
			MemoryMB:     256,
			Timeout:      10 * time.Second,
			Architecture: ARM64,
			// Members must exist and not be erased to get points.
			ReadsTables:  []string{MembersTable},
			Env:          pointsEnv(),
			WritesTables: []string{PointsTable},
			Publishes:    []string{PointsPurchase, PointsReturn},
			UsesHMACKey:  true,
			Access: []TableAccess{
				{Table: MembersTable, Actions: []string{"GetItem"}},
				{Table: PointsTable, Actions: []string{"GetItem", "Query", "PutItem", "DeleteItem"}},
			},
		}, {
			Name:         "points-worker",
			Entry:        "functions/points/worker",
			Description:  "Applies purchases, returns, welcome, referral and requested bonuses exactly once",
			MemoryMB:     256,
			Timeout:      30 * time.Second,
			Architecture: ARM64,
			Env:          pointsEnv(),
			WritesTables: []string{PointsTable},
			Publishes:    []string{PointsBonusRequested},
			Access: []TableAccess{
				{Table: PointsTable, Actions: []string{"GetItem", "Query", "PutItem", "DeleteItem"}},
			},
		}, {
			Name:        "points-nightly",
			Entry:       "functions/points/nightly",
			Description: "Releases pending points, expires lots, warns of expiry, downgrades tiers, birthday bonuses",
			MemoryMB:    512,
			// A segment's delivery checkpoints each page and hands the rest
			// to the next delivery when short of time; a crashed delivery
			// is redelivered after the visibility timeout (6 × this).
			Timeout:      5 * time.Minute,
			Architecture: ARM64,
			Env:          pointsEnv(),
			ReadsTables:  []string{MembersTable},
			WritesTables: []string{PointsTable},
			Publishes:    []string{PointsExpiring, SweepPointsNightly},
			Access: []TableAccess{
				{Table: MembersTable, Actions: []string{"Scan"}},
				// Accounts and their ledger; the run and its checkpoints
				// (SWEEP# items: UpdateItem counts segments); the table's
				// size for the fan-out.
				{Table: PointsTable, Actions: []string{"Scan", "GetItem", "Query", "PutItem", "DeleteItem", "UpdateItem", "DescribeTable"}},
			},
			// One invocation per segment message, at most
			// pointsSweepConcurrency at once, plus the schedule's: capped
			// so a run cannot starve the APIs of DynamoDB capacity or the
			// account of executions.
			ReservedConcurrency: pointsSweepConcurrency + 2,
			CompletesEvery:      24 * time.Hour,
		}, {
			Name:        "points-reconcile",
			Entry:       "functions/points/reconcile",
			Description: "Checks the ledger invariants and reports the outstanding points liability",
			MemoryMB:    512,
			// As points-nightly: a segment's delivery hands the rest to the
			// next one when short of time.
			Timeout:      5 * time.Minute,
			Architecture: ARM64,
			// Reads the accounts and their ledgers; writes only its runs and
			// checkpoints (SWEEP# items).
			WritesTables: []string{PointsTable},
			Env:          pointsEnv(),
			Publishes:    []string{SweepPointsReconcile},
			Access: []TableAccess{
				{Table: PointsTable, Actions: []string{"Scan", "GetItem", "Query", "PutItem", "UpdateItem", "DescribeTable"}},
			},
			// One invocation per segment message, at most
			// pointsSweepConcurrency at once, plus the schedule's.
			ReservedConcurrency: pointsSweepConcurrency + 2,
			CompletesEvery:      7 * 24 * time.Hour,
		}},
		// One OAuth client each in the default Cognito user pool: the point
		// of sale records purchases and returns but cannot sign members up.
		Integrations: []Integration{
			{Name: "pos", Scopes: []string{ScopePointsWrite}},
			{Name: "brand-app", Scopes: []string{ScopeMembersWrite, ScopePointsWrite}},
		},
		// The brand's wall clock: "nightly" is night where its members are.
		TimeZone: "Asia/Shanghai",
		// Every route by default; intake routes have their own below.
		Throttle: Throttle{RatePerSecond: 100, Burst: 200},
		Schedules: []Schedule{{
			Name:     "outbox-relay",
			Cron:     "* * * * *",
			Function: "outbox-relay",
			Payload:  `{"source":"schedule"}`,
			// The next run a minute later does the same work.
			Retries:     0,
			MaxEventAge: time.Minute,
		}, {
			// Nightly at 01:00 local time starts the day's run (a sweep of
			// segments on points-nightly-sweep); the hourly triggers until
			// 04:00 start nothing and check it: past its deadline it is
			// marked failed with its missing segments (resume by hand).
			Name:        "points-nightly",
			Cron:        "0 1-4 * * *",
			Function:    "points-nightly",
			Payload:     `{"job":"nightly"}`,
			Retries:     2,
			MaxEventAge: time.Hour,
		}, {
			// Sundays at 05:00 local time starts the week's run; the hourly
			// triggers until 11:00 only check it (a run past its 5-hour
			// deadline is marked failed; resume it by hand).
			Name:        "points-reconcile",
			Cron:        "0 5-11 * * 0",
			Function:    "points-reconcile",
			Payload:     `{"job":"reconcile"}`,
			Retries:     2,
			MaxEventAge: 6 * time.Hour,
		}},
		Routes: []Route{
			{Method: "POST", Path: "/v1/members", Function: "members-api", Callers: []Caller{Service, Staff}, ServiceScope: ScopeMembersWrite, Throttle: &signupThrottle},
			{Method: "GET", Path: "/v1/members/{id}", Function: "members-api", Callers: []Caller{Member, Staff}},
			{Method: "PATCH", Path: "/v1/members/{id}", Function: "members-api", Callers: []Caller{Member, Staff}},
			{Method: "DELETE", Path: "/v1/members/{id}", Function: "members-api", Callers: []Caller{Member, Staff}},
			{Method: "PUT", Path: "/v1/members/{id}/consents", Function: "members-api", Callers: []Caller{Member, Staff}},
			{Method: "GET", Path: "/v1/members/{id}/export", Function: "members-api", Callers: []Caller{Member, Staff}},
			{Method: "GET", Path: "/v1/members/{id}/points", Function: "points-api", Callers: []Caller{Member, Staff}},
			{Method: "GET", Path: "/v1/members/{id}/points/entries", Function: "points-api", Callers: []Caller{Member, Staff}},
			{Method: "POST", Path: "/v1/members/{id}/points/redemptions", Function: "points-api", Callers: []Caller{Member, Staff}},
			{Method: "POST", Path: "/v1/members/{id}/points/adjustments", Function: "points-api", Callers: []Caller{Staff}},
			{Method: "POST", Path: "/v1/purchases", Function: "points-api", Callers: []Caller{Service, Staff}, ServiceScope: ScopePointsWrite, Throttle: &intakeThrottle},
			{Method: "POST", Path: "/v1/returns", Function: "points-api", Callers: []Caller{Service, Staff}, ServiceScope: ScopePointsWrite, Throttle: &intakeThrottle},
		},
		Queues: []Queue{{
			Name:           PointsEvents,
			Subscribes:     []string{MemberRegistered, MemberErased, PointsPurchase, PointsReturn, PointsBonusRequested},
			Consumer:       "points-worker",
			BatchSize:      10,
			MaxConcurrency: 10,
			// The worker keeps up within seconds; a quarter of an hour means
			// it is failing or throttled.
			OldestMessageAlarm: 15 * time.Minute,
			MaxReceiveCount:    5,
			Retention:          4 * 24 * time.Hour,
			DLQRetention:       14 * 24 * time.Hour,
		}, {
			Name:       NotificationEvents,
			Subscribes: []string{PointsExpiring},
			BatchSize:  10,
			// No Clientele consumer: the brand's messaging integration must
			// drain it; alarm well before messages expire.
			OldestMessageAlarm: 24 * time.Hour,
			MaxReceiveCount:    5,
			Retention:          4 * 24 * time.Hour,
			DLQRetention:       14 * 24 * time.Hour,
		}, {
			Name:       PointsNightlySweep,
			Subscribes: []string{SweepPointsNightly},
			Consumer:   "points-nightly",
			// One segment per invocation.
			BatchSize:      1,
			MaxConcurrency: pointsSweepConcurrency,
			// A run's deadline is 2 h 30 min; older messages mean a stuck run.
			OldestMessageAlarm: 3 * time.Hour,
			MaxReceiveCount:    5,
			Retention:          2 * 24 * time.Hour,
			DLQRetention:       14 * 24 * time.Hour,
		}, {
			Name:               PointsReconcileSweep,
			Subscribes:         []string{SweepPointsReconcile},
			Consumer:           "points-reconcile",
			BatchSize:          1,
			MaxConcurrency:     pointsSweepConcurrency,
			OldestMessageAlarm: 6 * time.Hour,
			MaxReceiveCount:    5,
			Retention:          2 * 24 * time.Hour,
			DLQRetention:       14 * 24 * time.Hour,
		}},
	}
}
