package member_test

import (
	"strings"
	"testing"

	"clientele/shared/apigw/openapicheck"
	"clientele/shared/member"
)

// cjk returns n Chinese characters (3 bytes each in UTF-8).
func cjk(n int) string { return strings.Repeat("中", n) }

// TestTextLimitsCountCharacters: every string field of the member request
// schemas that docs/openapi.json bounds with maxLength accepts that many
// Chinese characters and refuses one more, naming the field: limits count
// characters, as maxLength does, not bytes.
func TestTextLimitsCountCharacters(t *testing.T) {
	t.Parallel()
	limits := openapicheck.Load(t, "../../docs/openapi.json").MaxLengths(t, "SignupInput", "ConsentInput", "PatchInput")
	email := func(n int) string { return cjk(n-len([]rune("@例子.中国"))) + "@例子.中国" }
	signup := func(in member.SignupInput) error {
		if in.Email == "" && in.Phone == "" {
			in.Phone = "+8613800138000"
		}
		in.SignupChannel = "app"
		_, _, err := member.NewMember(in, "service", now, cn)
		return err
	}
	patch := func(p member.PatchInput) error {
		m := member.Member{ID: "m1", Phone: "+8613800138000", Status: member.Active, Version: 1}
		return member.ApplyPatch(&m, p, now, cn)
	}
	set := func(s string) member.Optional[string] { return member.Optional[string]{Set: true, Value: s} }
	cases := map[string]struct {
		field string
		text  func(n int) string
		try   func(s string) error
	}{
		"SignupInput.name":  {"name", cjk, func(s string) error { return signup(member.SignupInput{Name: s}) }},
		"SignupInput.email": {"email", email, func(s string) error { return signup(member.SignupInput{Email: s}) }},
		"ConsentInput.source": {"consents[0].source", cjk, func(s string) error {
			return signup(member.SignupInput{Consents: []member.ConsentInput{{Purpose: "profiling", Granted: granted(true), Source: s}}})
		}},
		"PatchInput.name":  {"name", cjk, func(s string) error { return patch(member.PatchInput{Name: set(s)}) }},
		"PatchInput.email": {"email", email, func(s string) error { return patch(member.PatchInput{Email: set(s)}) }},
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
		if reason, ok := fieldsOf(t, c.try(c.text(limit+1)))[c.field]; !ok || reason == "" {
			t.Errorf("%s: %d characters accepted or refused without naming %s", key, limit+1, c.field)
		}
	}
	for key := range cases {
		if _, ok := limits[key]; !ok {
			t.Errorf("%s has a case but no maxLength in docs/openapi.json", key)
		}
	}
}
