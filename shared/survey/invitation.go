package survey

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"clientele/shared/fault"
)

// Triggers of an invitation.
const (
	// TriggerPurchase invites after a purchase (points.purchase).
	TriggerPurchase = "purchase"
	// TriggerCaseResolved invites after a feedback case was resolved
	// (feedback.case_resolved).
	TriggerCaseResolved = "case_resolved"
)

// ContactChannels an invitation may be sent through (the member's consent
// for marketing on that channel, or on "any", is required).
var ContactChannels = []string{"email", "sms", "push"}

// Invitation policy defaults and bounds.
const (
	DefaultFatigueDays = 30
	DefaultLinkTTLDays = 14
	maxDelayHours      = 30 * 24
	maxRules           = 50
)

// InvitationRule invites to one survey on one trigger.
type InvitationRule struct {
	Trigger string `json:"trigger"`
	Survey  string `json:"survey"`
	// DelayHours is how long after the occasion the invitation should be
	// sent (the messaging integration honours the event's send_after).
	DelayHours int `json:"delay_hours"`
	// Sampling is the share of occasions invited, 0 to 1.
	Sampling float64 `json:"sampling"`
	// Channel is the contact channel (email, sms, push).
	Channel string `json:"channel"`
}

// InvitationPolicy is a brand's invitation rules.
type InvitationPolicy struct {
	// FatigueDays: a member gets at most one invitation per this many days,
	// across all surveys.
	FatigueDays int `json:"fatigue_days"`
	// LinkTTLDays is how long an invitation's link token stays valid.
	LinkTTLDays int `json:"link_ttl_days"`
	// CompletionBonus is the points a member's completed response earns
	// (points.bonus_requested, once per response); 0 grants none.
	CompletionBonus int64            `json:"completion_bonus"`
	Rules           []InvitationRule `json:"rules"`
}

// Fatigue is the fatigue window.
func (p InvitationPolicy) Fatigue() time.Duration {
	return time.Duration(p.FatigueDays) * 24 * time.Hour
}

// LinkTTL is how long a link stays valid.
func (p InvitationPolicy) LinkTTL() time.Duration {
	return time.Duration(p.LinkTTLDays) * 24 * time.Hour
}

// Delay is the rule's delay.
func (r InvitationRule) Delay() time.Duration { return time.Duration(r.DelayHours) * time.Hour }

// RulesFor lists the rules of a trigger.
func (p InvitationPolicy) RulesFor(trigger string) []InvitationRule {
	var out []InvitationRule
	for _, r := range p.Rules {
		if r.Trigger == trigger {
			out = append(out, r)
		}
	}
	return out
}

// ParseInvitationPolicy reads a policy from JSON ("" or "{}" keeps the
// defaults and no rules) and reports every invalid field by its path.
func ParseInvitationPolicy(raw string) (InvitationPolicy, error) {
	p := InvitationPolicy{FatigueDays: DefaultFatigueDays, LinkTTLDays: DefaultLinkTTLDays}
	if raw == "" {
		return p, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return InvitationPolicy{}, fault.Field("policy", "not a valid invitation policy: "+err.Error())
	}
	var fs fault.Fields
	if p.FatigueDays < 0 || p.FatigueDays > 365 {
		fs.Add("fatigue_days", "must be 0 to 365")
	}
	if p.LinkTTLDays < 1 || time.Duration(p.LinkTTLDays)*24*time.Hour > MaxTokenTTL {
		fs.Add("link_ttl_days", fmt.Sprintf("must be 1 to %d", int(MaxTokenTTL/(24*time.Hour))))
	}
	if p.CompletionBonus < 0 || p.CompletionBonus > 100_000 {
		fs.Add("completion_bonus", "must be 0 to 100000")
	}
	if len(p.Rules) > maxRules {
		fs.Add("rules", fmt.Sprintf("at most %d rules", maxRules))
	}
	for i, r := range p.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		if r.Trigger != TriggerPurchase && r.Trigger != TriggerCaseResolved {
			fs.Add(path+".trigger", "must be purchase or case_resolved")
		}
		if r.Survey == "" {
			fs.Add(path+".survey", "is required")
		}
		if r.DelayHours < 0 || r.DelayHours > maxDelayHours {
			fs.Add(path+".delay_hours", fmt.Sprintf("must be 0 to %d", maxDelayHours))
		}
		if !(r.Sampling >= 0 && r.Sampling <= 1) {
			fs.Add(path+".sampling", "must be 0 to 1")
		}
		if !slices.Contains(ContactChannels, r.Channel) {
			fs.Add(path+".channel", "must be email, sms or push")
		}
	}
	if err := fs.Err(); err != nil {
		return InvitationPolicy{}, err
	}
	return p, nil
}

// Sampled decides, deterministically from the occasion's key (an order id,
// a case id) and the survey, whether an occasion is in a sample of the
// given rate: a redelivered occasion gets the same answer, and over many
// occasions the share sampled approaches the rate.
func Sampled(rate float64, survey, key string) bool {
	if rate >= 1 {
		return true
	}
	if rate <= 0 {
		return false
	}
	h := sha256.Sum256([]byte(survey + "\x00" + key))
	u := float64(binary.BigEndian.Uint64(h[:8])>>11) / float64(uint64(1)<<53)
	return u < rate
}

// Submission is a validated response on its way to the scoring worker
// (the data of "survey.response_submitted").
type Submission struct {
	// ResponseID identifies the response: the same for every retry of one
	// answer (derived from the link's nonce, or from the member's claim).
	ResponseID string `json:"response_id"`
	// Nonce and NonceExpires are the link token's ("" for a member token).
	Nonce        string    `json:"nonce,omitempty"`
	NonceExpires time.Time `json:"nonce_expires,omitzero"`
	Response     Response  `json:"response"`
}

// OccasionChannel maps the channel of a resolved feedback case (web, app,
// mini_program, store, phone, social, email, survey) to the survey channel
// its invitation's response is counted under: the shop channel nearest to
// it, "online" for the remote ones.
func OccasionChannel(feedbackChannel string) string {
	switch feedbackChannel {
	case "store", "app", "social", "online":
		return feedbackChannel
	case "mini_program":
		return "app"
	}
	return "online"
}
