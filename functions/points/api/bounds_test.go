package main

import (
	"math"
	"slices"
	"testing"

	"clientele/shared/fault"
)

// TestRedemptionAmountsAreBounded: a redemption's points are bounded at
// intake like an adjustment's, so no amount reaches the ledger that its
// arithmetic would have to refuse.
func TestRedemptionAmountsAreBounded(t *testing.T) {
	t.Parallel()
	huge := int64(math.MaxInt64)
	over := int64(MaxRedemption + 1)
	cases := []struct {
		in    RedemptionInput
		field string
	}{
		{RedemptionInput{Amount: &huge, Reason: "gift"}, "amount"},
		{RedemptionInput{Amount: &over, Reason: "gift"}, "amount"},
		{RedemptionInput{RewardID: "COUPON-50", Cost: &huge}, "cost"},
	}
	for _, c := range cases {
		_, _, _, err := c.in.validate()
		e, ok := fault.As(err)
		if !ok || e.Kind != fault.Invalid || !slices.ContainsFunc(e.Fields, func(f fault.FieldError) bool { return f.Field == c.field }) {
			t.Errorf("%+v: %v does not name %s", c.in, err, c.field)
		}
	}
	most := int64(MaxRedemption)
	if _, _, _, err := (RedemptionInput{Amount: &most, Reason: "gift"}).validate(); err != nil {
		t.Errorf("the largest redemption was refused: %v", err)
	}
}
