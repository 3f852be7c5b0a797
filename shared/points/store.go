package points

import (
	"context"
	"errors"

	"clientele/shared/event"
	"clientele/shared/idempotency"
)

// Change is what one operation on an account writes besides the account
// itself, all in the same transaction.
type Change struct {
	Entries []Entry
	// Order is written with the change: created (NewOrder, which fails if
	// the order id was seen: purchases deduplicate on it) or updated
	// (conditioned on its version).
	Order    *Order
	NewOrder bool
	// Seen lists source ids (return ids, event ids, bonus ids) that must
	// not have been applied before; they are recorded in the transaction.
	Seen []string
	// Fingerprints holds the content fingerprints of Seen ids (see
	// ReturnFingerprint), stored on their markers so that a later message
	// reusing the id with other content is told apart from a redelivery.
	Fingerprints map[string]string
	Events       []event.Envelope
}

// Write carries the idempotency receipt of an HTTP write.
type Write struct {
	Reservation *idempotency.Reservation
	Receipt     func(*Account, Change) (idempotency.Receipt, error)
}

// ErrAlreadyApplied reports that the change's order or source id was
// already applied: a redelivery, which the caller treats as success.
var ErrAlreadyApplied = errors.New("already applied")

// Store persists accounts, their ledger and orders.
type Store interface {
	// Apply loads the member's account (a new one if it has none), runs fn
	// on it, checks the account and the change (Account.CheckChange: a
	// failure is Internal and writes nothing) and writes the account, fn's
	// change and the receipt in one transaction conditioned on the
	// account's version,
	// retrying lost races with jittered backoff. ErrAlreadyApplied when the
	// order or a source id was seen; fn's errors as they are; Unavailable
	// on throttling.
	Apply(ctx context.Context, memberID string, fn func(*Account) (Change, error), w Write) (*Account, Change, error)
	// Account returns the member's account; NotFound when it has none.
	Account(ctx context.Context, memberID string) (*Account, error)
	// Entries lists entries newest first, limit at a time, after the
	// position returned by the previous page ("" for the first page).
	Entries(ctx context.Context, memberID, after string, limit int) ([]Entry, string, error)
	// Order returns a processed order; NotFound.
	Order(ctx context.Context, orderID string) (Order, error)
}
