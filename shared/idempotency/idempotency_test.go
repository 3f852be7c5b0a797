package idempotency_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"clientele/shared/fault"
	"clientele/shared/idempotency"
)

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestStorageKeyScoping(t *testing.T) {
	t.Parallel()
	const key = "6b0e1c8a-0d4f-4c52-9a8e-2f7b3d1e5c90"
	base := idempotency.StorageKey("member:m1 POST /v1/members/{id}/consents", key)
	if !hexSHA256.MatchString(base) {
		t.Fatalf("StorageKey = %q, want 64 hex characters", base)
	}
	if base != idempotency.StorageKey("member:m1 POST /v1/members/{id}/consents", key) {
		t.Fatal("StorageKey is not deterministic")
	}
	if strings.Contains(base, key) || strings.Contains(base, "m1") {
		t.Fatal("StorageKey reveals its inputs")
	}
	others := map[string]string{
		"another member":  idempotency.StorageKey("member:m2 POST /v1/members/{id}/consents", key),
		"another kind":    idempotency.StorageKey("staff:m1 POST /v1/members/{id}/consents", key),
		"another route":   idempotency.StorageKey("member:m1 PATCH /v1/members/{id}", key),
		"another key":     idempotency.StorageKey("member:m1 POST /v1/members/{id}/consents", key+"x"),
		"key case":        idempotency.StorageKey("member:m1 POST /v1/members/{id}/consents", strings.ToUpper(key)),
		"boundary moved":  idempotency.StorageKey("member:m1 POST /v1/members/{id}/consents"+key[:4], key[4:]),
		"scope as key":    idempotency.StorageKey(key, "member:m1 POST /v1/members/{id}/consents"),
		"empty scope":     idempotency.StorageKey("", key),
		"scope separator": idempotency.StorageKey("member:m1 POST /v1/members/{id}/consents ", key),
	}
	seen := map[string]string{base: "base"}
	for name, k := range others {
		if prev, dup := seen[k]; dup {
			t.Errorf("%s collides with %s", name, prev)
		}
		seen[k] = name
	}
}

func TestRequestHashSensitivity(t *testing.T) {
	t.Parallel()
	body := []byte(`{"consents":[{"purpose":"marketing","channel":"sms","granted":true}]}`)
	base := idempotency.RequestHash("PUT", "/v1/members/m1/consents", body)
	if !hexSHA256.MatchString(base) {
		t.Fatalf("RequestHash = %q", base)
	}
	if base != idempotency.RequestHash("PUT", "/v1/members/m1/consents", append([]byte(nil), body...)) {
		t.Fatal("RequestHash is not deterministic")
	}
	others := map[string]string{
		"method":         idempotency.RequestHash("POST", "/v1/members/m1/consents", body),
		"path":           idempotency.RequestHash("PUT", "/v1/members/m2/consents", body),
		"body value":     idempotency.RequestHash("PUT", "/v1/members/m1/consents", []byte(strings.Replace(string(body), "true", "false", 1))),
		"body spacing":   idempotency.RequestHash("PUT", "/v1/members/m1/consents", append(body, '\n')),
		"empty body":     idempotency.RequestHash("PUT", "/v1/members/m1/consents", nil),
		"path into body": idempotency.RequestHash("PUT", "/v1/members/m1", append([]byte("/consents"), body...)),
		"method in path": idempotency.RequestHash("", "PUT/v1/members/m1/consents", body),
	}
	seen := map[string]string{base: "base"}
	for name, h := range others {
		if prev, dup := seen[h]; dup {
			t.Errorf("changing the %s collides with %s", name, prev)
		}
		seen[h] = name
	}
}

func TestValidateKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		key string
		ok  bool
	}{
		{"6b0e1c8a-0d4f-4c52-9a8e-2f7b3d1e5c90", true},
		{"a", true},
		{"!", true},
		{"~", true},
		{"order:2024-06-01/POS-17#42", true},
		{strings.Repeat("k", 255), true},
		{"", false},
		{strings.Repeat("k", 256), false},
		{"has space", false},
		{" leading", false},
		{"tab\there", false},
		{"new\nline", false},
		{"nul\x00", false},
		{"del\x7f", false},
		{"clé", false},
		{"键", false},
	}
	for _, c := range cases {
		err := idempotency.ValidateKey(c.key)
		if c.ok {
			if err != nil {
				t.Errorf("ValidateKey(%q) = %v, want nil", c.key, err)
			}
			continue
		}
		e, ok := fault.As(err)
		if !ok || e.Kind != fault.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != idempotency.HeaderName {
			t.Errorf("ValidateKey(%q) = %v, want Invalid naming %s", c.key, err, idempotency.HeaderName)
		}
	}
}

func TestLockTimeoutShorterThanRetention(t *testing.T) {
	t.Parallel()
	if idempotency.LockTimeout <= 0 || idempotency.LockTimeout >= idempotency.Retention {
		t.Fatalf("LockTimeout %v, Retention %v", idempotency.LockTimeout, idempotency.Retention)
	}
}

func ExampleStorageKey() {
	a := idempotency.StorageKey("member:m1 POST /v1/members/{id}/redemptions", "key-1")
	b := idempotency.StorageKey("member:m2 POST /v1/members/{id}/redemptions", "key-1")
	fmt.Println(len(a), a == b)
	// Output: 64 false
}
