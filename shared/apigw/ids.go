package apigw

import (
	"clientele/shared/fault"
	"clientele/shared/ident"
)

// PathID returns the path parameter name as an id. A missing one is
// Invalid; one that breaks the id rule (ident.Valid) cannot name anything
// that exists, so it is NotFound, before any store sees the key.
func PathID(req Request, name string) (string, error) {
	v, err := PathParam(req, name)
	if err != nil {
		return "", err
	}
	if !ident.Valid(v) {
		return "", &fault.Error{Kind: fault.NotFound, Message: "nothing has this id",
			Fields: []fault.FieldError{{Field: name, Reason: "cannot exist: an id " + ident.Rule}}}
	}
	return v, nil
}

// BodyID checks an id carried in a request body, adding a field error
// naming its JSON path when it breaks the id rule. Empty ids are
// "is required" unless optional.
func BodyID(fs *fault.Fields, field, v string, optional bool) {
	switch {
	case v == "" && optional:
	case v == "":
		fs.Add(field, "is required")
	case !ident.Valid(v):
		fs.Add(field, ident.Rule)
	}
}

// checkSubject refuses a token whose subject breaks the id rule: it would
// become a storage key (a member id, an idempotency scope, an actor).
func checkSubject(sub string) error {
	if ident.Valid(sub) {
		return nil
	}
	return fault.Field("Authorization", "the token's sub claim "+ident.Rule)
}
