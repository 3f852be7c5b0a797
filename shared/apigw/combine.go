package apigw

import (
	"strings"

	"clientele/shared/fault"
)

// Combine reports a request's decode errors (from DecodeJSON) and its
// validation errors (from validating what did decode) together, so a
// client learns every error of a request at once. A decode error that is
// not about fields (wrong media type, too large, malformed JSON) is
// returned alone; so is the decode error when validation fails for a
// reason other than invalid fields. A validation error on a field that
// already has a decode error (or lies inside one) is dropped: the zero
// value the validator saw is not what the client sent.
func Combine(decodeErr, validateErr error) error {
	if decodeErr == nil {
		return validateErr
	}
	de, ok := fault.As(decodeErr)
	if !ok || de.Kind != fault.Invalid || len(de.Fields) == 0 {
		return decodeErr
	}
	for _, f := range de.Fields {
		if f.Field == "body" {
			return decodeErr
		}
	}
	ve, ok := fault.As(validateErr)
	if validateErr == nil || !ok || ve.Kind != fault.Invalid {
		return decodeErr
	}
	out := append(fault.Fields{}, de.Fields...)
	for _, f := range ve.Fields {
		if !covered(de.Fields, f.Field) && len(out) < MaxFieldErrors {
			out = append(out, f)
		}
	}
	return out.Err()
}

// covered reports whether field is, or lies inside or around, a field in
// fs: "lines[0].quantity" is covered by "lines[0].quantity" and "lines",
// and "lines" by "lines[0].quantity".
func covered(fs []fault.FieldError, field string) bool {
	for _, f := range fs {
		if f.Field == field || inside(field, f.Field) || inside(f.Field, field) {
			return true
		}
	}
	return false
}

// inside reports whether path lies under parent ("a.b" or "a[0]" under "a").
func inside(path, parent string) bool {
	return strings.HasPrefix(path, parent) && len(path) > len(parent) && (path[len(parent)] == '.' || path[len(parent)] == '[')
}
