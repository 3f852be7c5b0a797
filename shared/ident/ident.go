// Package ident is the one rule for identifiers that reach storage keys:
// member ids, order and return ids, reward ids, token subjects. An id that
// breaks it can never exist, so it is refused before any store sees it
// (DynamoDB refuses keys over 2048 bytes, which would surface as a 500).
package ident

// MaxLen is the longest id, in characters (all ASCII, so also bytes).
const MaxLen = 128

// Rule says the rule in words, for error reasons and the API document.
const Rule = "must be 1 to 128 ASCII letters, digits or ._:/@|- starting with a letter or digit"

// Pattern is Rule as a regular expression, as docs/openapi.json states it.
const Pattern = `^[A-Za-z0-9][A-Za-z0-9._:/@|-]{0,127}$`

// Valid reports whether s is an id: 1 to MaxLen characters of ASCII
// letters and digits and . _ : / @ | -, starting with a letter or digit.
func Valid(s string) bool {
	if s == "" || len(s) > MaxLen || !alnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !alnum(c) && c != '.' && c != '_' && c != ':' && c != '/' && c != '@' && c != '|' && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
