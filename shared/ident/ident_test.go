package ident_test

import (
	"regexp"
	"strings"
	"testing"

	"clientele/shared/ident"
)

func TestValid(t *testing.T) {
	t.Parallel()
	pattern := regexp.MustCompile(ident.Pattern)
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"01HMEMBER0000000000000000A", true},
		{"pos-client", true},
		{"auth0|abc.def", true},
		{"a", true},
		{strings.Repeat("x", ident.MaxLen), true},
		{strings.Repeat("x", ident.MaxLen+1), false},
		{strings.Repeat("x", 3000), false},
		{"", false},
		{"-leading", false},
		{"with space", false},
		{"中文", false},
		{"tab\there", false},
		{"percent%2F", false},
	} {
		if got := ident.Valid(tc.id); got != tc.want {
			t.Errorf("Valid(%.40q) = %v, want %v", tc.id, got, tc.want)
		}
		if got := pattern.MatchString(tc.id); got != tc.want {
			t.Errorf("Pattern matches %.40q = %v, want %v", tc.id, got, tc.want)
		}
	}
}
