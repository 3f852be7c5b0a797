package feedback

import "time"

// Event types the feedback domain publishes. feedback.received goes to the
// feedback worker; the others go to the brand's messaging integration and
// team leads (the notification queue). None carries the customer's text.
const (
	TypeReceived      = "feedback.received"
	TypeReplied       = "feedback.replied"
	TypeSLAWarning    = "feedback.sla_warning"
	TypeSLABreached   = "feedback.sla_breached"
	TypeClusterOpened = "feedback.cluster_opened"
)

// Received is the data of "feedback.received": a case to triage.
type Received struct {
	CaseID string `json:"case_id"`
}

// Replied is the data of "feedback.replied": staff replied to the customer
// of a case. The integration reads the reply (the case's history) through
// the API with its own credentials, so the text never travels on a queue.
type Replied struct {
	CaseID   string    `json:"case_id"`
	MemberID string    `json:"member_id,omitempty"`
	Channel  Channel   `json:"channel"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	// WaitsForCustomer: the reply asked the customer something.
	WaitsForCustomer bool `json:"waits_for_customer"`
}

// SLANotice is the data of "feedback.sla_warning" and
// "feedback.sla_breached".
type SLANotice struct {
	CaseID   string   `json:"case_id"`
	Priority Priority `json:"priority"`
	Team     string   `json:"team,omitempty"`
	Assignee string   `json:"assignee,omitempty"`
	Store    string   `json:"store,omitempty"`
	// Clock is first_response, next_response or resolution.
	Clock string    `json:"clock"`
	Due   time.Time `json:"due"`
	// EscalateTo names the team lead a breach escalates to.
	EscalateTo string `json:"escalate_to,omitempty"`
}

// ClusterOpened is the data of "feedback.cluster_opened".
type ClusterOpened struct {
	ClusterID string        `json:"cluster_id"`
	Key       string        `json:"key"`
	Window    time.Time     `json:"window"`
	Decision  BurstDecision `json:"decision"`
	// FirstCase is the case whose triage opened it.
	FirstCase string `json:"first_case"`
}
