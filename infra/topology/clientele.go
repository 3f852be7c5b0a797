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
	MemberRegistered = "member.registered"
	MemberErased     = "member.erased"
	// MemberProfilingRefused tells segmentation to remove a result at once.
	MemberProfilingRefused = "member.profiling_refused"
	PointsPurchase         = "points.purchase"
	PointsReturn           = "points.return"
	PointsBonusRequested   = "points.bonus_requested"
	PointsExpiring         = "points.expiring"
)

// Event types between the feedback, survey and segmentation domains
// (shared/event documents their data).
const (
	FeedbackFollowUpRequested = "feedback.follow_up_requested"
	FeedbackCaseResolved      = "feedback.case_resolved"
	MemberSegmentChanged      = "member.segment_changed"
)

// Feedback domain: its table, queue, scope and events (shared/feedback
// documents the data of the feedback.* notification events).
const (
	FeedbackTable = "feedback"
	// FeedbackEvents carries what the feedback worker acts on: new cases to
	// triage, follow-up requests from other domains, erasures.
	FeedbackEvents = "feedback-events"
	// ScopeFeedbackWrite sends feedback: a brand's app, chat or call-centre
	// system.
	ScopeFeedbackWrite = "feedback:write"
	// FeedbackReceived: feedback-api accepted a case; the worker triages it.
	FeedbackReceived = "feedback.received"
	// Notification events for the brand's messaging integration and team
	// leads: a staff reply to the customer, an SLA about to breach, an SLA
	// breached (escalated), a problem cluster opened.
	FeedbackReplied       = "feedback.replied"
	FeedbackSLAWarning    = "feedback.sla_warning"
	FeedbackSLABreached   = "feedback.sla_breached"
	FeedbackClusterOpened = "feedback.cluster_opened"
)

// FeedbackDesk is the feedback service desk every feedback function runs
// with (CLIENTELE_FEEDBACK_DESK, read by feedback.ParseDesk): SLA targets,
// calendars with holidays and make-up days, teams, the burst rule. "{}"
// keeps the defaults (docs/feedback.md).
const FeedbackDesk = `{}`

func feedbackEnv() map[string]string { return map[string]string{env.FeedbackDesk: FeedbackDesk} }

// feedbackThrottle bounds feedback intake: chat and call-centre systems post
// in bursts after an incident.
var feedbackThrottle = Throttle{RatePerSecond: 100, Burst: 300}

// feedbackTypes are the events the feedback functions publish.
var feedbackTypes = []string{FeedbackReceived, FeedbackReplied, FeedbackSLAWarning, FeedbackSLABreached,
	FeedbackClusterOpened, FeedbackCaseResolved, PointsBonusRequested}

// Survey domain: its table, queue and events (shared/event documents their
// data; docs/surveys.md the domain).
const (
	SurveysTable = "surveys"
	// SurveyEvents carries what the surveys worker acts on: responses to
	// score, purchases and resolved cases that may invite, erasures.
	SurveyEvents = "survey-events"
	// SurveyResponseSubmitted: surveys-api accepted a response; the worker
	// scores it exactly once.
	SurveyResponseSubmitted = "survey.response_submitted"
	// SurveyInvitation asks the brand's messaging integration to send a
	// member a survey link (a signed, single-use link token).
	SurveyInvitation = "survey.invitation"
)

// surveyResponseThrottle bounds the public response route: anyone holding
// a link may call it, so it gets less than the default.
var surveyResponseThrottle = Throttle{RatePerSecond: 20, Burst: 40}

// SurveyInvitations is the brand's invitation policy (CLIENTELE_SURVEY_INVITATIONS,
// read by survey.ParseInvitationPolicy): which surveys a purchase or a
// resolved feedback case invites to, after what delay, at what sampling
// rate, through which channel, the fatigue window across all surveys, and
// the points a completed response earns.
// A rule whose survey does not exist (or is closed) invites no one.
const SurveyInvitations = `{"fatigue_days":30,"link_ttl_days":14,"completion_bonus":20,"rules":[` +
	`{"trigger":"purchase","survey":"post-purchase","delay_hours":48,"sampling":1,"channel":"email"},` +
	`{"trigger":"case_resolved","survey":"case-resolved","delay_hours":2,"sampling":1,"channel":"email"}]}`

func surveysEnv() map[string]string {
	return map[string]string{env.SurveyInvitations: SurveyInvitations}
}

// surveyTypes are the events the survey functions publish.
var surveyTypes = []string{SurveyResponseSubmitted, SurveyInvitation, FeedbackFollowUpRequested, PointsBonusRequested}

// PointsPolicy is the loyalty programme every points function runs with
// (CLIENTELE_POINTS_POLICY, read by points.ParsePolicy): one value, so the
// API, the worker and the nightly job cannot disagree. "{}" keeps the
// defaults (1 point per currency unit, 24 months to month end, 14-day
// return window, member/silver/gold/platinum at 0/1000/5000/20000, debt on
// shortfalls); a brand edits it here and redeploys.
const PointsPolicy = `{}`

func pointsEnv() map[string]string { return map[string]string{env.PointsPolicy: PointsPolicy} }

// Segmentation (issue 8): the nightly run over every member, its results
// and the events marketing tools consume.
const (
	// SegmentationTable holds each member's latest result, the sweep runs
	// and checkpoints of kind "segmentation", each run's plan and summary,
	// and its outbox (shared/dynamo/segmentation.go).
	SegmentationTable = "segmentation"
	// SegmentationSweep carries the run's segment messages (sweep.segmentation),
	// member.erased and member.profiling_refused to the segmentation worker.
	SegmentationSweep = "segmentation-sweep"
	// MarketingEvents carries member.segment_changed to the brand's
	// marketing tools. No Clientele function consumes it.
	MarketingEvents = "marketing-events"
	// SweepSegmentation is the event type of segmentation's segment
	// messages: whoever starts or continues a run publishes it.
	SweepSegmentation = "sweep.segmentation"
	// SegmentsByName is the segmentation table's sparse index of results by
	// RFM segment (GET /v1/segments/{name}/members).
	SegmentsByName = "by-segment"
	// ProfilesByShard and StatsByShard are the members' and the points
	// table's sparse indexes by segmentation shard: the nightly run reads
	// every member through them, by the byte (shared/dynamo/segmentation_shard.go).
	ProfilesByShard = "profiles-by-shard"
	StatsByShard    = "stats-by-shard"
	// ExportsBucket holds segment exports (CSV) behind presigned links.
	ExportsBucket = "exports"
	// SegmentExportRequested asks the segmentation worker for an export.
	SegmentExportRequested = "segmentation.export_requested"
	// SegmentationConfig is the run's configuration (CLIENTELE_SEGMENTATION_CONFIG,
	// read by functions/segmentation/worker): "{}" keeps the defaults of
	// segment.DefaultConfig with 16 scan segments.
	SegmentationConfig = `{}`
)

func segmentationEnv() map[string]string {
	return map[string]string{env.SegmentationConfig: SegmentationConfig}
}

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
			// Profiles only (they alone carry seg_shard), with no personal
			// data: what segmentation reads of every member each night.
			Indexes: []Index{{Name: ProfilesByShard, PartitionKey: Key{Name: "seg_shard", Type: Number}, SortKey: &Key{Name: "id", Type: String},
				Include: []string{"status", "created_at", "seg_profiling"}}},
			TTLAttribute: "expires_at",
		}, {
			Name:         PointsTable,
			PartitionKey: Key{Name: "pk", Type: String},
			SortKey:      &Key{Name: "sk", Type: String},
			// Accounts only, with their purchase facts (a few dozen bytes):
			// what segmentation reads of every buyer each night.
			Indexes: []Index{{Name: StatsByShard, PartitionKey: Key{Name: "seg_shard", Type: Number}, SortKey: &Key{Name: "member_id", Type: String},
				Include: []string{"seg_facts"}}},
			TTLAttribute: "expires_at",
		}, {
			Name:         SegmentationTable,
			PartitionKey: Key{Name: "pk", Type: String},
			SortKey:      &Key{Name: "sk", Type: String},
			// Only result items carry seg_pk: the index holds nothing else,
			// and keys only, so a nightly rewrite that keeps the segment
			// writes no index entry.
			Indexes: []Index{{Name: SegmentsByName, PartitionKey: Key{Name: "seg_pk", Type: String}, SortKey: &Key{Name: "seg_sk", Type: String},
				KeysOnly: true}},
			TTLAttribute: "expires_at",
		}, {
			// Cases and their list, SLA-due, cluster and report items
			// (docs/feedback.md): every index is an item written in the
			// case's transaction, so the SLA sweep queries the due items
			// and no GSI is needed.
			Name:         FeedbackTable,
			PartitionKey: Key{Name: "pk", Type: String},
			SortKey:      &Key{Name: "sk", Type: String},
			TTLAttribute: "expires_at",
		}, {
			// Definitions, responses, claims, link nonces (TTL), invitations,
			// fatigue and aggregate cells (docs/surveys.md): no index.
			Name:         SurveysTable,
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
			// The export includes the member's points account and ledger,
			// their segmentation result, feedback cases and survey responses.
			ReadsTables:  []string{PointsTable, SegmentationTable, FeedbackTable, SurveysTable},
			WritesTables: []string{MembersTable},
			Publishes:    []string{MemberRegistered, MemberErased, MemberProfilingRefused},
			// The export values points with the brand's policy.
			Env:         pointsEnv(),
			UsesHMACKey: true,
			Access: []TableAccess{
				{Table: MembersTable, Actions: []string{"GetItem", "Query", "PutItem", "DeleteItem"}},
				{Table: PointsTable, Actions: []string{"GetItem", "Query"}},
				{Table: SegmentationTable, Actions: []string{"GetItem"}},
				// The export lists the member's feedback cases.
				{Table: FeedbackTable, Actions: []string{"GetItem", "Query"}},
				// The export lists the member's survey responses.
				{Table: SurveysTable, Actions: []string{"Query", "BatchGetItem"}},
			},
		}, {
			Name:         "outbox-relay",
			Entry:        "functions/outbox/relay",
			Description:  "Publishes events left in table outboxes by functions that stopped between commit and send",
			MemoryMB:     128,
			Timeout:      60 * time.Second,
			Architecture: ARM64,
			WritesTables: []string{MembersTable, PointsTable, SegmentationTable, FeedbackTable, SurveysTable},
			Publishes: append(append([]string{MemberRegistered, MemberErased, MemberProfilingRefused, PointsPurchase, PointsReturn, PointsBonusRequested, PointsExpiring, MemberSegmentChanged},
				feedbackTypes...), surveyTypes...),
			// Reads and clears the outboxes, and nothing else of either table.
			Access: []TableAccess{
				{Table: MembersTable, Actions: []string{"Query", "DeleteItem"}, LeadingKeys: []string{OutboxPartition}},
				{Table: PointsTable, Actions: []string{"Query", "DeleteItem"}, LeadingKeys: []string{OutboxPartition}},
				{Table: SegmentationTable, Actions: []string{"Query", "DeleteItem"}, LeadingKeys: []string{OutboxPartition}},
				{Table: FeedbackTable, Actions: []string{"Query", "DeleteItem"}, LeadingKeys: []string{OutboxPartition}},
				{Table: SurveysTable, Actions: []string{"Query", "DeleteItem"}, LeadingKeys: []string{OutboxPartition}},
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
		}, {
			Name:         "segmentation-worker",
			Entry:        "functions/segmentation/worker",
			Description:  "Nightly segmentation: starts the day's run, scores scan segments, merges and fits, removes erased members' results",
			MemoryMB:     1024,
			Timeout:      15 * time.Minute,
			Architecture: ARM64,
			Env:          segmentationEnv(),
			// Members (status, registration, profiling refusal) and their
			// purchase facts are Queried from the two sharded indexes: the
			// worker cannot read a profile or an account itself.
			ReadsTables:  []string{MembersTable, PointsTable},
			WritesTables: []string{SegmentationTable},
			Publishes:    []string{SweepSegmentation, MemberSegmentChanged},
			// Segment exports: the CSV objects segmentation-api links to.
			WritesBuckets: []string{ExportsBucket},
			Access: []TableAccess{
				{Table: MembersTable, Actions: []string{"Query"}, Indexes: []string{ProfilesByShard}},
				{Table: PointsTable, Actions: []string{"Query"}, Indexes: []string{StatsByShard}},
				{Table: SegmentationTable, Actions: []string{"GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}},
			},
			CompletesEvery: 24 * time.Hour,
		}, {
			Name:         "segmentation-api",
			Entry:        "functions/segmentation/api",
			Description:  "Segmentation results for staff: a member's segment, segment summaries and members, runs, exports",
			MemoryMB:     512,
			Timeout:      29 * time.Second,
			Architecture: ARM64,
			Env:          segmentationEnv(),
			// A member who refused profiling or was erased is not shown,
			// even before the next run removes their result.
			ReadsTables:  []string{MembersTable},
			WritesTables: []string{SegmentationTable},
			// POST /v1/segmentation/runs starts (or resumes) today's run;
			// POST /v1/segments/{name}/exports asks the worker for an export.
			Publishes:   []string{SweepSegmentation, SegmentExportRequested},
			UsesHMACKey: true,
			// Segment exports: presigned links to the worker's CSV objects.
			WritesBuckets: []string{ExportsBucket},
			Access: []TableAccess{
				{Table: MembersTable, Actions: []string{"GetItem"}},
				{Table: SegmentationTable, Actions: []string{"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem"}},
			},
		}, {
			Name:         "feedback-api",
			Entry:        "functions/feedback/api",
			Description:  "Feedback intake, case workflow for staff and members, triage rules, reports",
			MemoryMB:     256,
			Timeout:      10 * time.Second,
			Architecture: ARM64,
			Env:          feedbackEnv(),
			WritesTables: []string{FeedbackTable},
			Publishes:    []string{FeedbackReceived, FeedbackReplied, FeedbackCaseResolved, PointsBonusRequested},
			UsesHMACKey:  true,
			Access: []TableAccess{
				{Table: FeedbackTable, Actions: []string{"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"}},
			},
		}, {
			Name:         "feedback-worker",
			Entry:        "functions/feedback/worker",
			Description:  "Triages cases, opens problem clusters, follow-ups and erasure; sweeps SLA due times",
			MemoryMB:     256,
			Timeout:      60 * time.Second,
			Architecture: ARM64,
			Env:          feedbackEnv(),
			WritesTables: []string{FeedbackTable},
			Publishes:    []string{FeedbackSLAWarning, FeedbackSLABreached, FeedbackClusterOpened},
			Access: []TableAccess{
				{Table: FeedbackTable, Actions: []string{"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"}},
			},
		}, {
			Name:         "surveys-api",
			Entry:        "functions/surveys/api",
			Description:  "Survey definitions and scores for staff; responses from members and invitation links",
			MemoryMB:     512,
			Timeout:      10 * time.Second,
			Architecture: ARM64,
			Env:          surveysEnv(),
			WritesTables: []string{SurveysTable},
			Publishes:    []string{SurveyResponseSubmitted},
			// Link tokens are signed with a key derived from the HMAC key.
			UsesHMACKey: true,
			Access: []TableAccess{
				{Table: SurveysTable, Actions: []string{"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "ConditionCheckItem"}},
			},
		}, {
			Name:         "surveys-worker",
			Entry:        "functions/surveys/worker",
			Description:  "Scores responses exactly once, requests follow-ups and bonuses, invites, erases",
			MemoryMB:     256,
			Timeout:      30 * time.Second,
			Architecture: ARM64,
			Env:          surveysEnv(),
			// Invitations check the member's consents.
			ReadsTables:  []string{MembersTable},
			WritesTables: []string{SurveysTable},
			Publishes:    []string{SurveyInvitation, FeedbackFollowUpRequested, PointsBonusRequested},
			UsesHMACKey:  true,
			Access: []TableAccess{
				{Table: MembersTable, Actions: []string{"GetItem"}},
				{Table: SurveysTable, Actions: []string{"GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"}},
			},
		}},
		// One OAuth client each in the default Cognito user pool: the point
		// of sale records purchases and returns but cannot sign members up.
		Integrations: []Integration{
			{Name: "pos", Scopes: []string{ScopePointsWrite}},
			{Name: "brand-app", Scopes: []string{ScopeMembersWrite, ScopePointsWrite}},
			// The brand's chat and call-centre systems send feedback only.
			{Name: "customer-care", Scopes: []string{ScopeFeedbackWrite}},
		},
		// The brand's wall clock: "nightly" is night where its members are.
		TimeZone: "Asia/Shanghai",
		// Exports are fetched through links valid for an hour; a week is
		// plenty to retry a download, and nothing personal lingers longer.
		Buckets: []Bucket{{Name: ExportsBucket, ExpireAfter: 7 * 24 * time.Hour}},
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
		}, {
			// Starts the day's segmentation at 02:30 local time (after
			// points-nightly); the later hours start nothing (one run per
			// day) but mark a run past its deadline failed with its missing
			// segments, for staff to resume.
			Name:        "segmentation-nightly",
			Cron:        "30 2-8 * * *",
			Function:    "segmentation-worker",
			Payload:     `{"job":"nightly"}`,
			Retries:     2,
			MaxEventAge: time.Hour,
		}, {
			// Warns before SLA breaches and flags breaches: queries the due
			// items of the last 48 hours and the warning lead, never the
			// table.
			Name:        "feedback-sla-sweep",
			Cron:        "*/5 * * * *",
			Function:    "feedback-worker",
			Payload:     `{"job":"sla-sweep"}`,
			Retries:     0,
			MaxEventAge: 5 * time.Minute,
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
			{Method: "GET", Path: "/v1/members/{id}/segment", Function: "segmentation-api", Callers: []Caller{Staff}},
			{Method: "GET", Path: "/v1/segments", Function: "segmentation-api", Callers: []Caller{Staff}},
			{Method: "GET", Path: "/v1/segments/{name}/members", Function: "segmentation-api", Callers: []Caller{Staff}},
			{Method: "GET", Path: "/v1/segmentation/runs/{id}", Function: "segmentation-api", Callers: []Caller{Staff}},
			{Method: "POST", Path: "/v1/segmentation/runs", Function: "segmentation-api", Callers: []Caller{Staff}},
			{Method: "POST", Path: "/v1/feedback", Function: "feedback-api", Callers: []Caller{Member, Service, Staff}, ServiceScope: ScopeFeedbackWrite, Throttle: &feedbackThrottle},
			{Method: "GET", Path: "/v1/feedback/cases", Function: "feedback-api", Callers: []Caller{Member, Staff}},
			{Method: "GET", Path: "/v1/feedback/cases/{id}", Function: "feedback-api", Callers: []Caller{Member, Staff}},
			{Method: "POST", Path: "/v1/feedback/cases/{id}/assign", Function: "feedback-api", Callers: []Caller{Staff}},
			{Method: "POST", Path: "/v1/feedback/cases/{id}/status", Function: "feedback-api", Callers: []Caller{Staff}},
			{Method: "POST", Path: "/v1/feedback/cases/{id}/notes", Function: "feedback-api", Callers: []Caller{Staff}},
			{Method: "POST", Path: "/v1/feedback/cases/{id}/replies", Function: "feedback-api", Callers: []Caller{Member, Staff}},
			{Method: "POST", Path: "/v1/feedback/cases/{id}/resolve", Function: "feedback-api", Callers: []Caller{Staff}},
			{Method: "POST", Path: "/v1/feedback/cases/{id}/reopen", Function: "feedback-api", Callers: []Caller{Staff}},
			{Method: "GET", Path: "/v1/feedback/rules", Function: "feedback-api", Callers: []Caller{Staff}},
			{Method: "PUT", Path: "/v1/feedback/rules", Function: "feedback-api", Callers: []Caller{Staff}},
			{Method: "POST", Path: "/v1/feedback/rules/dry-run", Function: "feedback-api", Callers: []Caller{Staff}},
			{Method: "GET", Path: "/v1/feedback/clusters", Function: "feedback-api", Callers: []Caller{Staff}},
			{Method: "GET", Path: "/v1/feedback/reports/{week}", Function: "feedback-api", Callers: []Caller{Staff}},
			{Method: "POST", Path: "/v1/surveys", Function: "surveys-api", Callers: []Caller{Staff}},
			{Method: "GET", Path: "/v1/surveys", Function: "surveys-api", Callers: []Caller{Staff}},
			{Method: "GET", Path: "/v1/surveys/{id}", Function: "surveys-api", Callers: []Caller{Member, Staff}},
			{Method: "PUT", Path: "/v1/surveys/{id}", Function: "surveys-api", Callers: []Caller{Staff}},
			{Method: "GET", Path: "/v1/surveys/{id}/scores", Function: "surveys-api", Callers: []Caller{Staff}},
			{Method: "POST", Path: "/v1/surveys/{id}/responses", Function: "surveys-api", Callers: []Caller{Member}},
			// The invitation's link token is the credential: no JWT.
			{Method: "POST", Path: "/v1/survey-responses", Function: "surveys-api", Public: true, Throttle: &surveyResponseThrottle},
			{Method: "POST", Path: "/v1/segments/{name}/exports", Function: "segmentation-api", Callers: []Caller{Staff}},
			{Method: "GET", Path: "/v1/segments/{name}/exports/{id}", Function: "segmentation-api", Callers: []Caller{Staff}},
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
			Subscribes: []string{PointsExpiring, FeedbackReplied, FeedbackSLAWarning, FeedbackSLABreached, FeedbackClusterOpened, FeedbackCaseResolved, SurveyInvitation},
			BatchSize:  10,
			// No Clientele consumer: the brand's messaging integration must
			// drain it; alarm well before messages expire.
			OldestMessageAlarm: 24 * time.Hour,
			MaxReceiveCount:    5,
			Retention:          4 * 24 * time.Hour,
			DLQRetention:       14 * 24 * time.Hour,
		}, {
			Name:       SegmentationSweep,
			Subscribes: []string{SweepSegmentation, MemberErased, MemberProfilingRefused, SegmentExportRequested},
			Consumer:   "segmentation-worker",
			// One segment per invocation: a segment can take minutes.
			BatchSize: 1,
			// The run's fan-out runs this many segments at once (DynamoDB
			// on-demand absorbs it; the APIs keep the rest of the account's
			// concurrency).
			MaxConcurrency: 64,
			// A run takes well under an hour; a segment message waiting two
			// hours means the workers are failing or throttled.
			OldestMessageAlarm: 2 * time.Hour,
			// Continuations are new messages, so receives count only failures.
			MaxReceiveCount: 5,
			Retention:       2 * 24 * time.Hour,
			DLQRetention:    14 * 24 * time.Hour,
		}, {
			Name:       MarketingEvents,
			Subscribes: []string{MemberSegmentChanged},
			BatchSize:  10,
			// No Clientele consumer: the brand's marketing integration must
			// drain it; alarm well before messages expire.
			OldestMessageAlarm: 24 * time.Hour,
			MaxReceiveCount:    5,
			Retention:          4 * 24 * time.Hour,
			DLQRetention:       14 * 24 * time.Hour,
		}, {
			Name:       FeedbackEvents,
			Subscribes: []string{FeedbackReceived, FeedbackFollowUpRequested, MemberErased},
			Consumer:   "feedback-worker",
			BatchSize:  10,
			// Enough parallel triage for a burst of intake; cluster opening
			// is conditional, so concurrency cannot open one twice.
			MaxConcurrency:     10,
			OldestMessageAlarm: 15 * time.Minute,
			MaxReceiveCount:    5,
			Retention:          4 * 24 * time.Hour,
			DLQRetention:       14 * 24 * time.Hour,
		}, {
			Name:       SurveyEvents,
			Subscribes: []string{SurveyResponseSubmitted, PointsPurchase, FeedbackCaseResolved, MemberErased},
			Consumer:   "surveys-worker",
			BatchSize:  10,
			// Responses to one survey meet on its every-store month cell;
			// more parallel batches only add transaction conflicts.
			MaxConcurrency:     5,
			OldestMessageAlarm: 15 * time.Minute,
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
