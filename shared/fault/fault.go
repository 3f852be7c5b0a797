// Package fault is Clientele's error type: every error that crosses a
// package boundary carries a Kind, and one table (Status) maps kinds to HTTP
// statuses. Adapters translate AWS errors into kinds; handlers never inspect
// AWS error types.
package fault

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Kind classifies an error by what the caller can do about it.
type Kind uint8

// Kinds, from the caller's point of view.
const (
	Internal             Kind = iota // a bug or an unexpected dependency failure; details are logged, never shown
	Invalid                          // the request is malformed or breaks a rule; fix it and retry
	Unauthorized                     // no valid credentials
	Forbidden                        // credentials valid, action not allowed
	NotFound                         // the thing does not exist
	Conflict                         // the state of the thing forbids the action (duplicates, races, idempotency misuse)
	PreconditionFailed               // If-Match did not match the current version
	PreconditionRequired             // If-Match (or Idempotency-Key) is required and missing
	TooLarge                         // the body exceeds the limit
	UnsupportedMedia                 // the body is not JSON
	Unavailable                      // a dependency is throttling or down; retry later
)

var kindInfo = [...]struct {
	status int
	title  string
	slug   string
}{
	Internal:             {http.StatusInternalServerError, "Internal error", "internal"},
	Invalid:              {http.StatusBadRequest, "Invalid request", "invalid"},
	Unauthorized:         {http.StatusUnauthorized, "Unauthorized", "unauthorized"},
	Forbidden:            {http.StatusForbidden, "Forbidden", "forbidden"},
	NotFound:             {http.StatusNotFound, "Not found", "not-found"},
	Conflict:             {http.StatusConflict, "Conflict", "conflict"},
	PreconditionFailed:   {http.StatusPreconditionFailed, "Precondition failed", "precondition-failed"},
	PreconditionRequired: {http.StatusPreconditionRequired, "Precondition required", "precondition-required"},
	TooLarge:             {http.StatusRequestEntityTooLarge, "Request body too large", "too-large"},
	UnsupportedMedia:     {http.StatusUnsupportedMediaType, "Unsupported media type", "unsupported-media-type"},
	Unavailable:          {http.StatusServiceUnavailable, "Service unavailable", "unavailable"},
}

// Status is the one table from kinds to HTTP statuses.
func (k Kind) Status() int { return kindInfo[k].status }

// Title is the problem+json title for the kind.
func (k Kind) Title() string { return kindInfo[k].title }

// Slug is a short stable name for the kind, used in problem type URIs.
func (k Kind) Slug() string { return kindInfo[k].slug }

func (k Kind) String() string { return k.Slug() }

// FieldError names one invalid field and why.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error is a kind-coded error.
type Error struct {
	Kind Kind
	// Message is safe to show to a client (ignored for Internal).
	Message string
	// Fields lists invalid or conflicting fields.
	Fields []FieldError
	// Extra adds members to the problem document (e.g. "available": 120).
	Extra map[string]any
	// Err is the cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Slug())
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, " [%s: %s]", f.Field, f.Reason)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of the kind with a client-safe message.
func New(k Kind, format string, a ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, a...)}
}

// Wrap returns an error of the kind whose cause is err.
func Wrap(k Kind, err error, format string, a ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, a...), Err: err}
}

// Field returns an Invalid error naming one field.
func Field(field, reason string) *Error {
	return &Error{Kind: Invalid, Message: "the request has invalid fields", Fields: []FieldError{{field, reason}}}
}

// Fields collects field errors; Err returns nil when none were added.
type Fields []FieldError

// Add records a field error.
func (fs *Fields) Add(field, reason string) { *fs = append(*fs, FieldError{field, reason}) }

// Err returns an Invalid error listing the fields, or nil.
func (fs Fields) Err() error {
	if len(fs) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Message: "the request has invalid fields", Fields: fs}
}

// KindOf returns the kind of err: Internal for errors that carry none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err has kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
