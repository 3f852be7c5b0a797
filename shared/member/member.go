// Package member holds the member domain: the Member type, the rules for
// signup, profile changes and consents, and the Store interface. It imports
// no AWS package.
package member

import (
	"context"
	"crypto/rand"
	"time"

	"clientele/shared/event"
	"clientele/shared/idempotency"
)

// Status of a member record.
type Status string

// Statuses.
const (
	Active Status = "active"
	// Erased members keep only an anonymised tombstone.
	Erased Status = "erased"
)

// Channel is where a member signed up.
type Channel string

// Signup channels.
const (
	ChannelOnline Channel = "online"
	ChannelApp    Channel = "app"
	ChannelStore  Channel = "store"
	ChannelSocial Channel = "social"
)

// Purpose of a consent.
type Purpose string

// Consent purposes.
const (
	Marketing      Purpose = "marketing"
	Profiling      Purpose = "profiling"
	DataProcessing Purpose = "data_processing"
)

// ConsentChannel is the contact channel a consent covers; AnyChannel covers
// purposes that are not about contact (profiling, data processing).
type ConsentChannel string

// Consent channels.
const (
	Email      ConsentChannel = "email"
	SMS        ConsentChannel = "sms"
	Push       ConsentChannel = "push"
	AnyChannel ConsentChannel = "any"
)

// Consent is the current state of one purpose and channel.
type Consent struct {
	Purpose   Purpose        `json:"purpose"`
	Channel   ConsentChannel `json:"channel"`
	Granted   bool           `json:"granted"`
	Source    string         `json:"source"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// ConsentRecord is one entry in a member's append-only consent history.
type ConsentRecord struct {
	Consent
	// RecordedBy says which kind of caller recorded it (member, staff, service).
	RecordedBy string `json:"recorded_by"`
}

// Member is a customer of the brand.
type Member struct {
	ID             string    `json:"id"`
	Status         Status    `json:"status"`
	Email          string    `json:"email,omitempty"`
	Phone          string    `json:"phone,omitempty"`
	Name           string    `json:"name,omitempty"`
	Birthday       string    `json:"birthday,omitempty"`
	PreferredStore string    `json:"preferred_store,omitempty"`
	SignupChannel  Channel   `json:"signup_channel,omitempty"`
	ReferralCode   string    `json:"referral_code,omitempty"`
	ReferredBy     string    `json:"referred_by,omitempty"`
	Consents       []Consent `json:"consents,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	ErasedAt       time.Time `json:"erased_at,omitzero"`
	// Version increases with every change; it is the ETag.
	Version int64 `json:"version"`
}

// RefusedProfiling says whether the member refused the profiling consent
// (a profiling consent recorded as not granted; none recorded is not a
// refusal): segmentation neither scores nor keeps a result for them.
func (m *Member) RefusedProfiling() bool {
	for _, c := range m.Consents {
		if c.Purpose == Profiling && !c.Granted {
			return true
		}
	}
	return false
}

// Write carries what a store writes in the same transaction as a change:
// the idempotency receipt (rendered from the final member) and the events to
// publish through the outbox.
type Write struct {
	Reservation *idempotency.Reservation
	Receipt     func(Member) (idempotency.Receipt, error)
	Events      func(Member) ([]event.Envelope, error)
}

// Store persists members. Email and phone are unique across members.
type Store interface {
	// Create stores a new member with its uniqueness claims. Conflict (naming
	// the field: email, phone or referral_code) when a value is taken;
	// NotFound naming referral_code when the referrer's code is unknown is
	// the caller's job (see ReferrerOf).
	Create(ctx context.Context, m Member, history []ConsentRecord, w Write) error
	// Get returns the member or NotFound.
	Get(ctx context.Context, id string) (Member, error)
	// Update applies fn to the current member and writes the result if the
	// version did not change meanwhile; uniqueness claims follow email and
	// phone changes atomically. NotFound, Conflict (taken value or a lost
	// race), or fn's own error.
	Update(ctx context.Context, id string, fn func(*Member) ([]ConsentRecord, error), w Write) (Member, error)
	// Erase replaces the member by a tombstone, releases its uniqueness
	// claims, deletes its consent history and stored responses. NotFound.
	Erase(ctx context.Context, id string, at time.Time, w Write) (Member, error)
	// ConsentHistory lists every consent change, oldest first.
	ConsentHistory(ctx context.Context, id string) ([]ConsentRecord, error)
	// ReferrerOf resolves a referral code to a member id; NotFound.
	ReferrerOf(ctx context.Context, code string) (string, error)
}

// referralAlphabet avoids look-alike characters (Crockford's base 32).
const referralAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewReferralCode returns a random 8-character referral code.
func NewReferralCode() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = referralAlphabet[int(b[i])%len(referralAlphabet)]
	}
	return string(b[:])
}
