package apigw

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"clientele/shared/fault"
)

// Cursors signs pagination positions so that a cursor is opaque and bound to
// the scope (e.g. the member id) it was issued for: it cannot be edited or
// replayed against another member's data.
type Cursors struct{ Key []byte }

type cursorBody struct {
	Scope    string            `json:"s"`
	Position map[string]string `json:"p"`
}

// Encode returns an opaque cursor for a position within scope.
func (c Cursors) Encode(scope string, position map[string]string) string {
	body, _ := json.Marshal(cursorBody{scope, position})
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + base64.RawURLEncoding.EncodeToString(c.sign(payload))
}

// Decode verifies a cursor and returns its position. A cursor that was
// altered, or issued for another scope, is Invalid naming the "cursor" field.
func (c Cursors) Decode(scope, cursor string) (map[string]string, error) {
	bad := fault.Field("cursor", "not a cursor issued for this resource")
	payload, sig, ok := strings.Cut(cursor, ".")
	if !ok {
		return nil, bad
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, c.sign(payload)) {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, bad
	}
	var b cursorBody
	if json.Unmarshal(raw, &b) != nil || b.Scope != scope {
		return nil, bad
	}
	return b.Position, nil
}

func (c Cursors) sign(payload string) []byte {
	m := hmac.New(sha256.New, c.Key)
	m.Write([]byte("cursor\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}
