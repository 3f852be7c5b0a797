// Package idempotency implements Stripe-style idempotency keys for HTTP
// writes. The first request with a key reserves it; the effect's own
// transaction then stores the response (status, headers, body) on the
// reservation, so either both the effect and the stored response exist or
// neither does. A replay within the retention window returns the stored
// response byte for byte; the same key with a different request is a
// Conflict, and so is a duplicate that arrives while the first is in flight.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"clientele/shared/fault"
)

// Retention is how long a response is replayed.
const Retention = 24 * time.Hour

// LockTimeout is how long an in-flight reservation blocks duplicates. It is
// longer than any HTTP function's timeout, so a reservation whose holder died
// can be taken over once it lapses; the holder's token then no longer matches
// and its late write fails.
const LockTimeout = 60 * time.Second

// HeaderName is the request header carrying the key.
const HeaderName = "Idempotency-Key"

// Reservation is a claimed key.
type Reservation struct {
	// StorageKey identifies the record (a hash of scope and key).
	StorageKey string
	// RequestHash fingerprints the request that claimed it.
	RequestHash string
	// Token is unique to this claim.
	Token string
}

// Receipt is a stored response.
type Receipt struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body"`
	// Subject is the member the response is about, so erasure can remove
	// stored responses that hold personal data.
	Subject string `json:"-"`
}

// Store keeps reservations and receipts.
type Store interface {
	// Reserve claims the key. It returns a non-nil Receipt when the key was
	// already completed with the same request (replay), Conflict when the key
	// is in flight or was used with a different request, Unavailable on
	// throttling.
	Reserve(ctx context.Context, r Reservation, now time.Time) (*Receipt, error)
	// Release drops an in-flight reservation whose request failed before its
	// effect, so the client may retry with the same key. Only the holder's
	// token releases it.
	Release(ctx context.Context, r Reservation) error
}

// StorageKey derives the record key from the caller's scope (who sent it,
// to which route) and the client's key, so clients cannot collide.
func StorageKey(scope, key string) string {
	h := sha256.Sum256([]byte(scope + "\x00" + key))
	return hex.EncodeToString(h[:])
}

// RequestHash fingerprints a request: method, path and body.
func RequestHash(method, path string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method + "\x00" + path + "\x00"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// ValidateKey checks a client key: 1 to 255 printable ASCII characters.
func ValidateKey(key string) error {
	if key == "" || len(key) > 255 {
		return fault.Field(HeaderName, "must be 1 to 255 characters")
	}
	for _, r := range key {
		if r < 0x21 || r > 0x7e {
			return fault.Field(HeaderName, "must be printable ASCII without spaces")
		}
	}
	return nil
}
