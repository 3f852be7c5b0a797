package local

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"clientele/infra/topology"
)

// signed signs claims with key under the issuer's kid.
func signed(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRejectedTokensAreLoggedWithTheirReasonAndNeverTheToken(t *testing.T) {
	t.Parallel()
	issuer, err := OpenIssuer("")
	if err != nil {
		t.Fatal(err)
	}
	other, err := OpenIssuer("")
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": IssuerName, "aud": Audience, "sub": "m-1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		edit(c)
		return c
	}
	fromOtherIssuer, err := other.Token(topology.Staff, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, header, reason string
	}{
		{"no header", "", "no Authorization header"},
		{"not a JWT", "Bearer not-a-jwt-at-all", "malformed"},
		{"another data directory's key", "Bearer " + fromOtherIssuer, "does not know"},
		{"forged with another key under our kid", "Bearer " + signed(t, jwt.SigningMethodRS256, otherKey, issuer.kid, claims(func(jwt.MapClaims) {})), "signature invalid"},
		{"HMAC instead of RSA", "Bearer " + signed(t, jwt.SigningMethodHS256, []byte("secret"), issuer.kid, claims(func(jwt.MapClaims) {})), "signature invalid"},
		{"expired", "Bearer " + signed(t, jwt.SigningMethodRS256, issuer.key, issuer.kid, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() })), "expired"},
		{"no exp", "Bearer " + signed(t, jwt.SigningMethodRS256, issuer.key, issuer.kid, claims(func(c jwt.MapClaims) { delete(c, "exp") })), "required claim"},
		{"not yet valid", "Bearer " + signed(t, jwt.SigningMethodRS256, issuer.key, issuer.kid, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })), "not valid yet"},
		{"other issuer", "Bearer " + signed(t, jwt.SigningMethodRS256, issuer.key, issuer.kid, claims(func(c jwt.MapClaims) { c["iss"] = "someone-else" })), "issuer is not"},
		{"other audience", "Bearer " + signed(t, jwt.SigningMethodRS256, issuer.key, issuer.kid, claims(func(c jwt.MapClaims) { c["aud"] = "another-api" })), "audience"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var logged bytes.Buffer
			g := &gateway{
				routes: newRouteTable([]PlannedRoute{{Key: "GET /v1/members/{id}", Method: "GET", Path: "/v1/members/{id}",
					Function: "members-api", Authorized: true}}),
				functions: map[string]*lambdaFunction{},
				issuer:    issuer,
				log:       slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelInfo})),
			}
			req := httptest.NewRequest(http.MethodGet, "/v1/members/m-1", nil)
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", rec.Code)
			}
			var line string
			for _, l := range strings.Split(logged.String(), "\n") {
				if strings.Contains(l, "token rejected") {
					line = l
				}
			}
			if line == "" {
				t.Fatalf("no info-level \"token rejected\" line in the log:\n%s", logged.String())
			}
			if !strings.Contains(line, c.reason) {
				t.Errorf("logged %q, want a reason containing %q", line, c.reason)
			}
			if token := strings.TrimPrefix(c.header, "Bearer "); token != "" {
				for _, part := range strings.Split(token, ".") {
					if len(part) >= 8 && strings.Contains(logged.String(), part) {
						t.Errorf("the log holds part of the token %q:\n%s", part, logged.String())
					}
				}
			}
		})
	}
}
