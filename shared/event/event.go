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

// Event types.
const (
	TypeMemberRegistered = "member.registered"
	TypeMemberErased     = "member.erased"
)
