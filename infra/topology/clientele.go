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
	return map[string]string{env.SurveyInvitations: SurveyInvitations, env.TimeZone: brandTimeZone}
}

// brandTimeZone is System.TimeZone, also handed to the survey functions,
// which keep their daily aggregates by the brand's local days.
const brandTimeZone = "Asia/Shanghai"

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
			// The export includes the member's points account and ledger.
			ReadsTables:  []string{PointsTable, SurveysTable},
			WritesTables: []string{MembersTable},
			Publishes:    []string{MemberRegistered, MemberErased},
			// The export values points with the brand's policy.
			Env:         pointsEnv(),
			UsesHMACKey: true,
			Access: []TableAccess{
				{Table: MembersTable, Actions: []string{"GetItem", "Query", "PutItem", "DeleteItem"}},
				{Table: PointsTable, Actions: []string{"GetItem", "Query"}},
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
			WritesTables: []string{MembersTable, PointsTable, SurveysTable},
			Publishes: append([]string{MemberRegistered, MemberErased, PointsPurchase, PointsReturn, PointsBonusRequested, PointsExpiring},
				surveyTypes...),
			// Reads and clears the outboxes, and nothing else of either table.
			Access: []TableAccess{
				{Table: MembersTable, Actions: []string{"Query", "DeleteItem"}, LeadingKeys: []string{OutboxPartition}},
				{Table: PointsTable, Actions: []string{"Query", "DeleteItem"}, LeadingKeys: []string{OutboxPartition}},
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
			Name:         "points-nightly",
			Entry:        "functions/points/nightly",
			Description:  "Releases pending points, expires lots, warns of expiry, downgrades tiers, birthday bonuses",
			MemoryMB:     512,
			Timeout:      15 * time.Minute,
			Architecture: ARM64,
			Env:          pointsEnv(),
			ReadsTables:  []string{MembersTable},
			WritesTables: []string{PointsTable},
			Publishes:    []string{PointsExpiring},
			Access: []TableAccess{
				{Table: MembersTable, Actions: []string{"Scan"}},
				{Table: PointsTable, Actions: []string{"Scan", "GetItem", "Query", "PutItem", "DeleteItem"}},
			},
			// Scans both tables: capped so a run cannot starve the APIs.
			ReservedConcurrency: 2,
			CompletesEvery:      24 * time.Hour,
		}, {
			Name:         "points-reconcile",
			Entry:        "functions/points/reconcile",
			Description:  "Checks the ledger invariants and reports the outstanding points liability",
			MemoryMB:     512,
			Timeout:      15 * time.Minute,
			Architecture: ARM64,
			ReadsTables:  []string{PointsTable},
			Env:          pointsEnv(),
			Access: []TableAccess{
				{Table: PointsTable, Actions: []string{"Scan", "GetItem", "Query"}},
			},
			ReservedConcurrency: 1,
			CompletesEvery:      7 * 24 * time.Hour,
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
			// Nightly at 01:00 local time, and hourly until 04:00 so a run cut
			// short by the function timeout finishes (each member once per day).
			Name:        "points-nightly",
			Cron:        "0 1-4 * * *",
			Function:    "points-nightly",
			Payload:     `{"job":"nightly"}`,
			Retries:     2,
			MaxEventAge: time.Hour,
		}, {
			Name:        "points-reconcile",
			Cron:        "0 5 * * 0",
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
			{Method: "POST", Path: "/v1/surveys", Function: "surveys-api", Callers: []Caller{Staff}},
			{Method: "GET", Path: "/v1/surveys", Function: "surveys-api", Callers: []Caller{Staff}},
			{Method: "GET", Path: "/v1/surveys/{id}", Function: "surveys-api", Callers: []Caller{Member, Staff}},
			{Method: "PUT", Path: "/v1/surveys/{id}", Function: "surveys-api", Callers: []Caller{Staff}},
			{Method: "GET", Path: "/v1/surveys/{id}/scores", Function: "surveys-api", Callers: []Caller{Staff}},
			{Method: "POST", Path: "/v1/surveys/{id}/responses", Function: "surveys-api", Callers: []Caller{Member}},
			// The invitation's link token is the credential: no JWT.
			{Method: "POST", Path: "/v1/survey-responses", Function: "surveys-api", Public: true, Throttle: &surveyResponseThrottle},
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
			Subscribes: []string{PointsExpiring, SurveyInvitation},
			BatchSize:  10,
			// No Clientele consumer: the brand's messaging integration must
			// drain it; alarm well before messages expire.
			OldestMessageAlarm: 24 * time.Hour,
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
		}},
	}
}
