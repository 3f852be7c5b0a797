package fault_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"clientele/shared/fault"
)

func TestStatusTable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		kind fault.Kind
		want int
	}{
		{fault.Internal, http.StatusInternalServerError},
		{fault.Invalid, http.StatusBadRequest},
		{fault.Unauthorized, http.StatusUnauthorized},
		{fault.Forbidden, http.StatusForbidden},
		{fault.NotFound, http.StatusNotFound},
		{fault.Conflict, http.StatusConflict},
		{fault.PreconditionFailed, http.StatusPreconditionFailed},
		{fault.PreconditionRequired, http.StatusPreconditionRequired},
		{fault.TooLarge, http.StatusRequestEntityTooLarge},
		{fault.UnsupportedMedia, http.StatusUnsupportedMediaType},
		{fault.Unavailable, http.StatusServiceUnavailable},
	}
	for _, c := range cases {
		if got := c.kind.Status(); got != c.want {
			t.Errorf("%s.Status() = %d, want %d", c.kind, got, c.want)
		}
	}
}

func TestKindOfUnwraps(t *testing.T) {
	t.Parallel()
	base := fault.New(fault.Conflict, "email taken")
	wrapped := fmt.Errorf("signup: %w", base)
	if fault.KindOf(wrapped) != fault.Conflict {
		t.Fatalf("KindOf(wrapped) = %s", fault.KindOf(wrapped))
	}
	if fault.KindOf(errors.New("boom")) != fault.Internal {
		t.Fatal("plain errors must be internal")
	}
	if fault.Is(nil, fault.Internal) {
		t.Fatal("nil is no kind")
	}
}

func TestFieldsErr(t *testing.T) {
	t.Parallel()
	var fs fault.Fields
	if fs.Err() != nil {
		t.Fatal("no fields must be no error")
	}
	fs.Add("email", "not an email address")
	fs.Add("birthday", "in the future")
	e, ok := fault.As(fs.Err())
	if !ok || e.Kind != fault.Invalid || len(e.Fields) != 2 || e.Fields[1].Field != "birthday" {
		t.Fatalf("Err() = %#v", e)
	}
}

func ExampleField() {
	err := fault.Field("phone", "not a valid phone number")
	fmt.Println(err.Kind.Status(), err.Fields[0].Field)
	// Output: 400 phone
}
