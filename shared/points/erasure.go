package points

import (
	"context"
	"strings"
)

// RewardReasonPrefix starts the reason of a reward redemption
// ("reward:<reward id>"), a code; any other redemption reason is the
// member's own words.
const RewardReasonPrefix = "reward:"

// HasFreeText reports whether the entry carries text a person wrote: a
// staff adjustment's note, or the reason a member gave for a redemption.
func (e Entry) HasFreeText() bool {
	return e.Note != "" || e.freeReason()
}

func (e Entry) freeReason() bool {
	return e.Kind == Redeem && e.Reason != "" && !strings.HasPrefix(e.Reason, RewardReasonPrefix)
}

// WithoutFreeText returns the entry without the text a person wrote; its
// amount, kind, reason code, reward, source, lots and actor stay, so the
// anonymised ledger still balances and can be audited.
func (e Entry) WithoutFreeText() Entry {
	if e.freeReason() {
		e.Reason = ""
	}
	e.Note = ""
	return e
}

// Eraser removes a member's free text from the points data on erasure.
type Eraser interface {
	// EraseFreeText rewrites the member's ledger entries and stored HTTP
	// responses without free text (WithoutFreeText) and returns how many
	// items it changed. Running it again changes nothing.
	EraseFreeText(ctx context.Context, memberID string) (int, error)
}
