package survey_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"clientele/shared/fault"
	"clientele/shared/survey"
)

var (
	keyA = bytes.Repeat([]byte{0xA5}, 32)
	keyB = bytes.Repeat([]byte{0x5B}, 32)
)

func signer(t *testing.T, current string) *survey.Signer {
	t.Helper()
	s, err := survey.NewSigner(current, map[string][]byte{"a": keyA, "b": keyB})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tokenFault checks err is a fault of kind k naming the token field with a
// reason containing want.
func tokenFault(t *testing.T, err error, k fault.Kind, want string) {
	t.Helper()
	var e *fault.Error
	if !errors.As(err, &e) || e.Kind != k || len(e.Fields) != 1 || e.Fields[0].Field != "token" || !strings.Contains(e.Fields[0].Reason, want) {
		t.Errorf("err = %v, want %s naming token: …%s…", err, k, want)
	}
}

func TestLinkTokenRoundTrip(t *testing.T) {
	t.Parallel()
	s := signer(t, "a")
	tok, c, err := s.Issue("sv1", "m1", "o1", now, 14*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Verify(tok, now.Add(14*24*time.Hour-time.Second), survey.Expect{Survey: "sv1"})
	if err != nil {
		t.Fatal(err)
	}
	if got != c || got.Member != "m1" || got.Order != "o1" || got.Key != "a" || len(got.Nonce) != 22 {
		t.Errorf("claims %+v, issued %+v", got, c)
	}
	tok2, c2, _ := s.Issue("sv1", "m1", "o1", now, time.Hour)
	if tok2 == tok || c2.Nonce == c.Nonce {
		t.Error("two tokens for the same invitation must differ by nonce")
	}
	// Rotation: a token signed with a still-known key verifies.
	if _, err := signer(t, "b").Verify(tok, now, survey.Expect{}); err != nil {
		t.Errorf("after rotation: %v", err)
	}
}

func TestLinkTokenRefusals(t *testing.T) {
	t.Parallel()
	s := signer(t, "a")
	tok, _, err := s.Issue("sv1", "m1", "o1", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := "v1." + base64.RawURLEncoding.EncodeToString(bytes.Replace(payload, []byte(`"m1"`), []byte(`"m2"`), 1)) + "." + parts[2]
	otherKey, _ := survey.NewSigner("x", map[string][]byte{"x": bytes.Repeat([]byte{1}, 32)})
	forged, _, _ := otherKey.Issue("sv1", "m1", "o1", now, time.Hour)
	sigFlip := []byte(tok)
	sigFlip[len(sigFlip)-2] ^= 1

	for name, c := range map[string]struct {
		token string
		at    time.Time
		want  survey.Expect
		kind  fault.Kind
		why   string
	}{
		"tampered member":   {tampered, now, survey.Expect{}, fault.Unauthorized, "signature does not match"},
		"unknown key":       {forged, now, survey.Expect{}, fault.Unauthorized, "signature does not match"},
		"flipped signature": {string(sigFlip), now, survey.Expect{}, fault.Unauthorized, ""},
		"not a token":       {"hello", now, survey.Expect{}, fault.Unauthorized, "malformed"},
		"no signature":      {"v1." + parts[1], now, survey.Expect{}, fault.Unauthorized, "no signature"},
		"bad base64":        {"v1.@@@." + parts[2], now, survey.Expect{}, fault.Unauthorized, "malformed payload"},
		"huge":              {"v1." + strings.Repeat("A", 5000) + ".x", now, survey.Expect{}, fault.Unauthorized, "malformed"},
		"expired":           {tok, now.Add(time.Hour), survey.Expect{}, fault.Unauthorized, "expired at"},
		"other survey":      {tok, now, survey.Expect{Survey: "sv2"}, fault.Forbidden, "another survey"},
		"other member":      {tok, now, survey.Expect{Member: "m2"}, fault.Forbidden, "another member"},
		"other order":       {tok, now, survey.Expect{Order: "o2"}, fault.Forbidden, "another order"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := s.Verify(c.token, c.at, c.want)
			tokenFault(t, err, c.kind, c.why)
		})
	}
}

func TestSignerSetup(t *testing.T) {
	t.Parallel()
	if _, err := survey.NewSigner("a", map[string][]byte{"a": []byte("short")}); err == nil {
		t.Error("a 5-byte key must be refused")
	}
	if _, err := survey.NewSigner("z", map[string][]byte{"a": keyA}); err == nil {
		t.Error("a current key that is not among the keys must be refused")
	}
	s := signer(t, "a")
	if _, _, err := s.Issue("sv1", "m1", "", now, 91*24*time.Hour); err == nil {
		t.Error("a ttl over 90 days must be refused")
	}
	if _, _, err := s.Issue("", "m1", "", now, time.Hour); err == nil {
		t.Error("a token without a survey must be refused")
	}
}
