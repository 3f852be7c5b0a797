package apigw_test

import (
	"encoding/base64"
	"maps"
	"strings"
	"testing"

	"clientele/shared/apigw"
	"clientele/shared/fault"
)

var cursorKey = []byte("0123456789abcdef0123456789abcdef")

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	c := apigw.Cursors{Key: cursorKey}
	positions := []map[string]string{
		{"pk": "MEMBER#01HZX", "sk": "LEDGER#2024-06-01T00:00:00Z#01J"},
		{"k": "with \"quotes\", dots. and 你好"},
		{},
	}
	for _, pos := range positions {
		cur := c.Encode("member:01HZX", pos)
		if strings.ContainsAny(cur, "+/= ") {
			t.Errorf("cursor %q is not URL-safe", cur)
		}
		got, err := c.Decode("member:01HZX", cur)
		if err != nil {
			t.Fatalf("Decode(%q): %v", cur, err)
		}
		if len(pos) > 0 && !maps.Equal(got, pos) {
			t.Errorf("Decode = %v, want %v", got, pos)
		}
	}
}

func TestCursorRejections(t *testing.T) {
	t.Parallel()
	c := apigw.Cursors{Key: cursorKey}
	const scope = "member:01HZX"
	good := c.Encode(scope, map[string]string{"sk": "LEDGER#5"})
	payload, sig, _ := strings.Cut(good, ".")

	// A payload edited to point elsewhere, keeping the original signature.
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"s":"member:01HZX","p":{"sk":"LEDGER#999"}}`)) + "." + sig
	// Flip the first signature character (which carries 6 significant bits).
	flip := func(s string) string {
		r := []byte(s)
		if r[0] == 'A' {
			r[0] = 'B'
		} else {
			r[0] = 'A'
		}
		return string(r)
	}
	cases := []struct {
		name   string
		c      apigw.Cursors
		scope  string
		cursor string
	}{
		{"empty", c, scope, ""},
		{"no separator", c, scope, payload},
		{"only separator", c, scope, "."},
		{"tampered payload", c, scope, forged},
		{"payload byte changed", c, scope, flip(payload) + "." + sig},
		{"tampered signature", c, scope, payload + "." + flip(sig)},
		{"truncated signature", c, scope, payload + "." + sig[:len(sig)-4]},
		{"signature not base64", c, scope, payload + ".!!!"},
		{"no signature", c, scope, payload + "."},
		{"another scope", c, "member:01OTHER", good},
		{"scope prefix", c, "member:01HZ", good},
		{"another key", apigw.Cursors{Key: []byte("another key, same length as the..")}, scope, good},
		{"no key", apigw.Cursors{}, scope, good},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pos, err := tc.c.Decode(tc.scope, tc.cursor)
			wantFault(t, err, fault.Invalid, "cursor")
			if pos != nil {
				t.Errorf("position = %v, want nil on error", pos)
			}
		})
	}
}

func TestCursorIsBoundToItsKey(t *testing.T) {
	t.Parallel()
	a := apigw.Cursors{Key: []byte("key-a")}
	b := apigw.Cursors{Key: []byte("key-b")}
	pos := map[string]string{"sk": "1"}
	if a.Encode("s", pos) == b.Encode("s", pos) {
		t.Fatal("two keys produced the same cursor")
	}
	if _, err := b.Decode("s", a.Encode("s", pos)); !fault.Is(err, fault.Invalid) {
		t.Fatalf("Decode with another key: %v", err)
	}
}
