package local

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"clientele/infra/topology"
)

func TestIssuerKeyPersistsInTheDataDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	first, err := OpenIssuer(dir)
	if err != nil {
		t.Fatal(err)
	}
	token, err := first.Token(topology.Service, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	second, err := OpenIssuer(dir)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := second.authorize("Bearer " + token)
	if err != nil {
		t.Fatalf("a reopened issuer rejects its own token: %v", err)
	}
	if desc.Claims["sub"] != DefaultServiceSubject || desc.Claims["client_id"] != DefaultServiceSubject {
		t.Errorf("claims %v", desc.Claims)
	}
	info, err := os.Stat(filepath.Join(dir, issuerKeyFile))
	if err != nil || info.Mode().Perm()&0o077 != 0 {
		t.Errorf("key file mode %v, err %v: want it private", info.Mode(), err)
	}
	if ignore, err := os.ReadFile(filepath.Join(dir, ".gitignore")); err != nil || !strings.Contains(string(ignore), "*") {
		t.Errorf("data directory .gitignore: %q %v", ignore, err)
	}
	var jwks struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(second.JWKS(), &jwks); err != nil || len(jwks.Keys) != 1 || jwks.Keys[0]["kid"] != first.kid || jwks.Keys[0]["alg"] != "RS256" {
		t.Errorf("JWKS %s", second.JWKS())
	}
}

func TestTokenRoles(t *testing.T) {
	t.Parallel()
	issuer, err := OpenIssuer("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := issuer.Token(topology.Member, "", time.Hour); err == nil {
		t.Error("member token without subject")
	}
	if _, err := issuer.Token("admin", "x", time.Hour); err == nil {
		t.Error("unknown role accepted")
	}
	staff, _ := issuer.Token(topology.Staff, "", time.Hour)
	desc, err := issuer.authorize(staff)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Claims["cognito:groups"] != "[staff]" || len(desc.Scopes) != 1 || desc.Scopes[0] != "staff" || desc.Claims["sub"] != DefaultStaffSubject {
		t.Errorf("staff: %v %v", desc.Claims, desc.Scopes)
	}
}

func TestRenderClaim(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   any
		want string
	}{
		{"plain", "plain"},
		{json.Number("1700000000"), "1700000000"},
		{true, "true"},
		{[]any{"staff", "admin"}, "[staff admin]"},
		{[]any{json.Number("1"), []any{"a"}}, "[1 [a]]"},
		{map[string]any{"b": "2", "a": json.Number("1")}, "map[a:1 b:2]"},
	}
	for _, c := range cases {
		if got := renderClaim(c.in); got != c.want {
			t.Errorf("renderClaim(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}
