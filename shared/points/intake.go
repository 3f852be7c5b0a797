package points

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"time"
)

// Fingerprints identify the content of a purchase or a return, so that the
// same order or return id sent again with the same content is a harmless
// replay and with other content a conflict. Fields a sender may leave to
// the intake's clock (purchased_at, returned_at) are not part of the
// content: a retry without them must still match.

type canonicalLine struct {
	LineID   string `json:"l"`
	SKU      string `json:"s,omitempty"`
	Category string `json:"c,omitempty"`
	Quantity int64  `json:"q"`
	Amount   int64  `json:"a,omitempty"`
}

func fingerprint(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		// Only strings and integers: cannot fail.
		panic(err)
	}
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

// OrderFingerprint is the fingerprint of an order's purchase content:
// order and member ids, store, channel, currency and the lines sorted by
// line id. PurchaseFingerprint of the purchase that created the order
// gives the same value.
func OrderFingerprint(o Order) string {
	lines := make([]canonicalLine, len(o.Lines))
	for i, l := range o.Lines {
		lines[i] = canonicalLine{LineID: l.LineID, SKU: l.SKU, Category: l.Category, Quantity: l.Quantity, Amount: l.Amount}
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].LineID < lines[j].LineID })
	return fingerprint(struct {
		Kind     string          `json:"k"`
		ID       string          `json:"o"`
		Member   string          `json:"m"`
		Store    string          `json:"st,omitempty"`
		Channel  string          `json:"ch"`
		Currency string          `json:"cu"`
		Lines    []canonicalLine `json:"ls"`
	}{"purchase", o.ID, o.MemberID, o.Store, o.Channel, o.Currency, lines})
}

// PurchaseFingerprint is the fingerprint of a validated purchase (line ids
// defaulted by ValidatePurchase).
func PurchaseFingerprint(p Purchase) string {
	o := Order{ID: p.OrderID, MemberID: p.MemberID, Store: p.Store, Channel: p.Channel, Currency: p.Currency}
	for _, l := range p.Lines {
		o.Lines = append(o.Lines, OrderLine{LineID: l.LineID, SKU: l.SKU, Category: l.Category, Quantity: l.Quantity, Amount: l.Amount})
	}
	return OrderFingerprint(o)
}

// ReturnQuantities sums a return's units per line id.
func ReturnQuantities(r Return) map[string]int64 {
	out := map[string]int64{}
	for _, l := range r.Lines {
		out[l.LineID] += l.Quantity
	}
	return out
}

// ReturnFingerprint is the fingerprint of a return's content: its order id
// and the units per line (lines naming the same line id are summed, then
// sorted). The member is not part of it: an order has one member, and a
// return naming another is refused on its own.
func ReturnFingerprint(r Return) string {
	q := ReturnQuantities(r)
	lines := make([]canonicalLine, 0, len(q))
	for id, n := range q {
		lines = append(lines, canonicalLine{LineID: id, Quantity: n})
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].LineID < lines[j].LineID })
	return fingerprint(struct {
		Kind  string          `json:"k"`
		Order string          `json:"o"`
		Lines []canonicalLine `json:"ls"`
	}{"return", r.OrderID, lines})
}

// ReturnState is where a return stands after intake.
type ReturnState string

// Return states.
const (
	// ReturnReserved: its order is applied and its units are reserved on
	// the order; the worker applies it.
	ReturnReserved ReturnState = "reserved"
	// ReturnParked: its order is not applied yet; the worker that applies
	// the order applies it.
	ReturnParked ReturnState = "parked"
	// ReturnApplied: the worker applied it.
	ReturnApplied ReturnState = "applied"
	// ReturnRejected: it could never apply (its order turned out not to
	// have the units or lines, or to belong to another member).
	ReturnRejected ReturnState = "rejected"
)

// ReturnClaim is what intake knows about a return id.
type ReturnClaim struct {
	Return      Return
	Fingerprint string
	State       ReturnState
	// Replay is set when the claim existed before with the same content.
	Replay bool
}

// Metric names of the stable log records operators alarm on.
const (
	// MetricConflictingRedelivery: a message reused an applied order or
	// return id with other content; it was not applied.
	MetricConflictingRedelivery = "points.conflicting_redelivery"
	// MetricReturnRejected: a return accepted before its order was applied
	// turned out unable to apply once the order was.
	MetricReturnRejected = "points.return_rejected"
)

// Intake records, at the door, the order and return ids the points API
// accepted, with their fingerprints, and reserves returned units on their
// orders so that every return accepted for a known order can apply.
type Intake interface {
	// ClaimOrder records the purchase's order id and fingerprint. Conflict
	// naming order_id when the order id was accepted or applied with other
	// content; nil for a new id or a replay.
	ClaimOrder(ctx context.Context, p Purchase, now time.Time) error
	// AppliedOrderFingerprint returns the fingerprint stored with an applied
	// order; NotFound.
	AppliedOrderFingerprint(ctx context.Context, orderID string) (string, error)
	// AppliedReturnFingerprint returns the fingerprint stored with an
	// applied return; NotFound.
	AppliedReturnFingerprint(ctx context.Context, returnID string) (string, error)
	// ClaimReturn accepts a return: with its order applied, it checks the
	// return against the order (Invalid naming the field) and reserves its
	// units atomically (Conflict naming lines[i].quantity when other
	// returns hold them); with its order not applied yet, it parks the
	// return for the worker that applies the order. Conflict naming
	// return_id when the id is known with other content (or another
	// member); a claim with Replay set when it is known with the same.
	ClaimReturn(ctx context.Context, r Return, now time.Time) (ReturnClaim, error)
	// ParkedReturns lists the returns parked for an order, oldest first.
	ParkedReturns(ctx context.Context, orderID string) ([]Return, error)
	// PromoteParked reserves a parked return's units on its applied order
	// (state reserved), or rejects it (state rejected, with the reason as
	// an Invalid or Conflict error) when it cannot apply. A return already
	// promoted keeps its state.
	PromoteParked(ctx context.Context, r Return, now time.Time) (ReturnState, error)
	// Unpark forgets a parked return once it was applied or rejected.
	Unpark(ctx context.Context, r Return) error
}
