package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"clientele/shared/fault"
	"clientele/shared/ident"
	"clientele/shared/points"
)

// cjk returns n Chinese characters (3 bytes each in UTF-8).
func cjk(n int) string { return strings.Repeat("货", n) }

// TestTextLimitsCountCharacters: every string field of the points request
// schemas that docs/openapi.json bounds with maxLength accepts that many
// characters (Chinese ones for text, ASCII for ids, which the id rule
// keeps ASCII) and refuses one more, naming the field by its JSON path.
func TestTextLimitsCountCharacters(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	limits := doc.MaxLengths(t, "Purchase", "PurchaseLine", "Return", "ReturnLine", "RedemptionInput", "AdjustmentInput")
	now := time.Now()
	purchase := func(edit func(*points.Purchase)) error {
		p := points.Purchase{OrderID: "o-1", MemberID: "m-1", Channel: "store", Store: "SH-001", Currency: "CNY",
			Lines: []points.PurchaseLine{{SKU: "S", Quantity: 1, Amount: 100}}}
		edit(&p)
		return points.ValidatePurchase(&p, policy, now)
	}
	ret := func(edit func(*points.Return)) error {
		r := points.Return{ReturnID: "r-1", OrderID: "o-1", Lines: []points.ReturnLine{{LineID: "S", Quantity: 1}}}
		edit(&r)
		return points.ValidateReturn(&r, now)
	}
	ascii := func(n int) string { return strings.Repeat("a", n) }
	cases := map[string]struct {
		field string
		text  func(n int) string
		try   func(s string) error
	}{
		"PurchaseLine.sku":      {"lines[0].sku", cjk, func(s string) error { return purchase(func(p *points.Purchase) { p.Lines[0].SKU = s }) }},
		"PurchaseLine.category": {"lines[0].category", cjk, func(s string) error { return purchase(func(p *points.Purchase) { p.Lines[0].Category = s }) }},
		"PurchaseLine.line_id":  {"lines[0].line_id", cjk, func(s string) error { return purchase(func(p *points.Purchase) { p.Lines[0].LineID = s }) }},
		"Purchase.store":        {"store", cjk, func(s string) error { return purchase(func(p *points.Purchase) { p.Store = s }) }},
		"Purchase.member_id":    {"member_id", ascii, func(s string) error { return purchase(func(p *points.Purchase) { p.MemberID = s }) }},
		"ReturnLine.line_id":    {"lines[0].line_id", cjk, func(s string) error { return ret(func(r *points.Return) { r.Lines[0].LineID = s }) }},
		"Return.member_id":      {"member_id", ascii, func(s string) error { return ret(func(r *points.Return) { r.MemberID = s }) }},
		"RedemptionInput.reason": {"reason", cjk, func(s string) error {
			amount := int64(1)
			_, _, _, err := RedemptionInput{Amount: &amount, Reason: s}.validate()
			return err
		}},
		"AdjustmentInput.note": {"note", cjk, func(s string) error {
			return AdjustmentInput{Amount: 1, ReasonCode: "other", Note: s}.validate()
		}},
	}
	for key, limit := range limits {
		c, ok := cases[key]
		if !ok {
			t.Errorf("%s has maxLength %d and no case here", key, limit)
			continue
		}
		if err := c.try(c.text(limit)); err != nil {
			t.Errorf("%s: %d characters (%d bytes) refused: %v", key, limit, len(c.text(limit)), err)
		}
		e, ok := fault.As(c.try(c.text(limit + 1)))
		named := false
		for _, f := range fieldErrors(e, ok) {
			named = named || f.Field == c.field
		}
		if !named {
			t.Errorf("%s: %d characters accepted or refused without naming %s: %v", key, limit+1, c.field, e)
		}
	}
	for key := range cases {
		if _, ok := limits[key]; !ok {
			t.Errorf("%s has a case but no maxLength in docs/openapi.json", key)
		}
	}
	// The ids the document bounds with a pattern state the one id rule.
	for _, key := range []string{"Purchase.order_id", "Purchase.member_id", "Return.return_id", "Return.order_id", "Return.member_id"} {
		schema, prop, _ := strings.Cut(key, ".")
		var p struct {
			Pattern string `json:"pattern"`
		}
		_ = json.Unmarshal(doc.Components.Schemas[schema].Properties[prop], &p)
		if p.Pattern != ident.Pattern {
			t.Errorf("%s: pattern %q, want the id rule %q", key, p.Pattern, ident.Pattern)
		}
	}
}

func fieldErrors(e *fault.Error, ok bool) []fault.FieldError {
	if !ok || e == nil || e.Kind != fault.Invalid {
		return nil
	}
	return e.Fields
}
