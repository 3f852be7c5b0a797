// Package event defines the envelope of every message Clientele sends between
// domains. Consumers deduplicate on ID (or on the source id inside Data).
package event

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
)

// Envelope wraps one domain event.
type Envelope struct {
	// ID is unique per event (a ULID); redeliveries keep it.
	ID string `json:"id"`
	// Type is the event type, e.g. "member.registered".
	Type string `json:"type"`
	// Version of the data schema for this type.
	Version    int       `json:"version"`
	OccurredAt time.Time `json:"occurred_at"`
	// Source is the function that emitted it.
	Source string          `json:"source"`
	Data   json.RawMessage `json:"data"`
}

// New builds an envelope with a fresh id.
func New(typ, source string, at time.Time, data any) (Envelope, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("event %s: %w", typ, err)
	}
	return Envelope{
		ID:         NewID(at),
		Type:       typ,
		Version:    1,
		OccurredAt: at.UTC(),
		Source:     source,
		Data:       raw,
	}, nil
}

// NewID returns a ULID for time at: sortable by time, unique.
func NewID(at time.Time) string {
	return ulid.MustNew(ulid.Timestamp(at), rand.Reader).String()
}

// Parse decodes and checks an envelope.
func Parse(body []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return Envelope{}, fmt.Errorf("envelope: %w", err)
	}
	if e.ID == "" || e.Type == "" || e.Version < 1 || len(e.Data) == 0 || string(e.Data) == "null" {
		return Envelope{}, fmt.Errorf("envelope: id, type, version and data are required")
	}
	return e, nil
}

// MemberRegistered is the data of "member.registered". It carries no
// personal data: consumers look the member up if they need more.
type MemberRegistered struct {
	MemberID      string    `json:"member_id"`
	SignupChannel string    `json:"signup_channel"`
	ReferredBy    string    `json:"referred_by,omitempty"`
	RegisteredAt  time.Time `json:"registered_at"`
}

// MemberErased is the data of "member.erased": every domain removes the
// member's personal data and keeps anonymised records.
type MemberErased struct {
	MemberID string    `json:"member_id"`
	ErasedAt time.Time `json:"erased_at"`
}

// MemberProfilingRefused is the data of "member.profiling_refused": the
// member refused the profiling consent (after not having refused it), so
// segmentation removes their result at once instead of at the next run.
type MemberProfilingRefused struct {
	MemberID  string    `json:"member_id"`
	RefusedAt time.Time `json:"refused_at"`
}

// Event types.
const (
	TypeMemberRegistered       = "member.registered"
	TypeMemberErased           = "member.erased"
	TypeMemberProfilingRefused = "member.profiling_refused"
)

// Points event types. points.purchase and points.return carry the intake
// bodies (points.Purchase, points.Return); consumers deduplicate on the
// order id and the return id.
const (
	TypePointsPurchase       = "points.purchase"
	TypePointsReturn         = "points.return"
	TypePointsBonusRequested = "points.bonus_requested"
	TypePointsExpiring       = "points.expiring"
)

// BonusRequested is the data of "points.bonus_requested": another domain
// (surveys, feedback, the referral rule) asks for a bonus. SourceID makes it
// idempotent: a bonus with a seen source id is not granted again.
type BonusRequested struct {
	MemberID string `json:"member_id"`
	Reason   string `json:"reason"`
	Amount   int64  `json:"amount"`
	SourceID string `json:"source_id"`
}

// PointsExpiring is the data of "points.expiring": a lot expires within
// DaysAhead days.
type PointsExpiring struct {
	MemberID  string    `json:"member_id"`
	Lot       string    `json:"lot"`
	Amount    int64     `json:"amount"`
	ExpiresAt time.Time `json:"expires_at"`
	DaysAhead int       `json:"days_ahead"`
}

// Cross-domain event types of feedback, surveys and segmentation.
const (
	// TypeFeedbackFollowUpRequested asks the feedback domain to open a case
	// linked to its source (a survey detractor), once per source.
	TypeFeedbackFollowUpRequested = "feedback.follow_up_requested"
	// TypeFeedbackCaseResolved tells other domains a case was resolved (the
	// survey domain may invite its author to a "how did we do" survey).
	TypeFeedbackCaseResolved = "feedback.case_resolved"
	// TypeMemberSegmentChanged tells marketing tools a member's segment,
	// value tier or lifecycle stage changed in a segmentation run.
	TypeMemberSegmentChanged = "member.segment_changed"
	// TypeSegmentExportRequested asks the segmentation worker to write a
	// segment's export (segmentation-api publishes it).
	TypeSegmentExportRequested = "segmentation.export_requested"
)

// SegmentExportRequested is the data of "segmentation.export_requested":
// the export to write (its record holds the segment and the object key).
type SegmentExportRequested struct {
	ExportID string `json:"export_id"`
}

// FollowUpRequested is the data of "feedback.follow_up_requested". Source
// and SourceID identify what asked (source "survey_response", the response
// id): the feedback domain opens at most one case per (Source, SourceID).
type FollowUpRequested struct {
	Source   string `json:"source"`
	SourceID string `json:"source_id"`
	MemberID string `json:"member_id,omitempty"`
	OrderID  string `json:"order_id,omitempty"`
	Store    string `json:"store,omitempty"`
	Channel  string `json:"channel"`
	// Reasons are why it was asked ("nps_detractor", "csat_low"), Summary a
	// short machine-written description ("NPS 3 on survey s1 v2").
	Reasons []string `json:"reasons"`
	Summary string   `json:"summary"`
	// Text is the customer's own words (the response's text answers), the
	// case's text; it may be empty.
	Text string `json:"text,omitempty"`
	// At is when the source happened (the response's submission time).
	At time.Time `json:"at"`
}

// CaseResolved is the data of "feedback.case_resolved". It carries no free
// text.
type CaseResolved struct {
	CaseID     string    `json:"case_id"`
	MemberID   string    `json:"member_id,omitempty"`
	Store      string    `json:"store,omitempty"`
	Channel    string    `json:"channel"`
	Category   string    `json:"category"`
	Resolution string    `json:"resolution"`
	ResolvedAt time.Time `json:"resolved_at"`
}

// SegmentLabels are the labels of a member's segmentation result whose
// change publishes "member.segment_changed", with the scores behind them.
type SegmentLabels struct {
	// RFMSegment is "" for a member without a purchase.
	RFMSegment     string `json:"rfm_segment"`
	ValueTier      string `json:"value_tier"`
	LifecycleStage string `json:"lifecycle_stage"`
	RScore         int8   `json:"r_score"`
	FScore         int8   `json:"f_score"`
	MScore         int8   `json:"m_score"`
}

// SegmentChanged is the data of "member.segment_changed": a segmentation
// run changed a member's segment, value tier or lifecycle stage. New is
// null when the member's result was removed because they withdrew the
// profiling consent (marketing tools must then forget Old). It carries no
// personal data.
type SegmentChanged struct {
	MemberID string `json:"member_id"`
	// RunID is the run that made the change ("segmentation-2026-11-30").
	RunID string         `json:"run_id"`
	Old   SegmentLabels  `json:"old"`
	New   *SegmentLabels `json:"new"`
	// Changed lists the labels that differ: rfm_segment, value_tier,
	// lifecycle_stage (all three when New is null).
	Changed []string `json:"changed"`
	// Reason says why, in the run's terms ("lifecycle_stage: recency_days
	// > at_risk_after_days (181 > 180)").
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Survey event types. "survey.response_submitted" carries a
// survey.Submission from surveys-api to surveys-worker (the response's
// answers, text included: the queue is the survey domain's own).
const (
	TypeSurveyResponseSubmitted = "survey.response_submitted"
	TypeSurveyInvitation        = "survey.invitation"
)

// SurveyInvitation is the data of "survey.invitation": the brand's
// messaging integration sends the member a link carrying Token, through
// Channel, not before SendAfter. The token is the link's credential
// (signed, single-use, expiring at ExpiresAt); the event carries no other
// personal data.
type SurveyInvitation struct {
	// InvitationID is unique per occasion and survey; a redelivered event
	// keeps it.
	InvitationID string `json:"invitation_id"`
	SurveyID     string `json:"survey_id"`
	MemberID     string `json:"member_id"`
	OrderID      string `json:"order_id,omitempty"`
	Store        string `json:"store,omitempty"`
	// Trigger is what occasioned it: "purchase" or "case_resolved".
	Trigger string `json:"trigger"`
	// Channel is the contact channel: email, sms or push.
	Channel   string    `json:"channel"`
	Token     string    `json:"token"`
	SendAfter time.Time `json:"send_after"`
	ExpiresAt time.Time `json:"expires_at"`
}
