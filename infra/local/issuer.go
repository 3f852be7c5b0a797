package local

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"clientele/infra/topology"
)

// The local issuer's identity. Tokens carry these as iss and aud; they do not
// depend on the port the API listens on, so a token outlives a restart.
const (
	IssuerName = "clientele-local"
	Audience   = "clientele"
)

// Default subjects of dev tokens that are not given one.
const (
	DefaultStaffSubject   = "staff-dev"
	DefaultServiceSubject = "pos-client"
)

// issuerKeyFile holds the issuer's RSA key inside the data directory.
const issuerKeyFile = "issuer-key.pem"

// Issuer is the local stand-in for the identity provider: an RSA key (API
// Gateway's JWT authorizer accepts only RSA algorithms) that signs dev tokens
// and that the local gateway trusts.
type Issuer struct {
	key *rsa.PrivateKey
	kid string
}

// OpenIssuer loads the issuer key kept in dataDir, creating it on first use.
// An empty dataDir gives an ephemeral key.
func OpenIssuer(dataDir string) (*Issuer, error) {
	if dataDir == "" {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		return newIssuer(key), nil
	}
	path := filepath.Join(dataDir, issuerKeyFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createIssuerKey(dataDir, path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the local issuer key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block; delete it to get a new key", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w; delete it to get a new key", path, err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s does not hold an RSA key; delete it to get a new key", path)
	}
	return newIssuer(key), nil
}

func createIssuerKey(dataDir, path string) (*Issuer, error) {
	if err := ensureDataDir(dataDir); err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	// Written to a temporary file and renamed, so two processes starting at
	// once cannot leave half a key; the loser's key is simply not used.
	tmp, err := os.CreateTemp(dataDir, issuerKeyFile+".*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return OpenIssuer(dataDir)
		}
		return nil, fmt.Errorf("saving the local issuer key: %w", err)
	}
	return newIssuer(key), nil
}

func newIssuer(key *rsa.PrivateKey) *Issuer {
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sum := sha256.Sum256(der)
	return &Issuer{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:12])}
}

// ensureDataDir creates the data directory with a .gitignore that ignores
// everything in it, so a data directory inside the checkout stays out of git.
func ensureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	ignore := filepath.Join(dir, ".gitignore")
	if _, err := os.Stat(ignore); errors.Is(err, os.ErrNotExist) {
		_ = os.WriteFile(ignore, []byte("# Written by clientele-local: local DynamoDB data and the dev issuer key.\n*\n"), 0o644)
	}
	return nil
}

// Token signs a dev token for a kind of caller, shaped like the access
// tokens the deployed API accepts:
//   - member: sub is the member id (required); no scope.
//   - staff: scope "staff" and cognito:groups ["staff"]; sub defaults to "staff-dev".
//   - service: every service scope a route of the topology asks for (ServiceScopes) and client_id = sub; sub defaults to "pos-client".
//
// A ttl of zero or less means one hour.
func (i *Issuer) Token(role topology.Caller, sub string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		ttl = time.Hour
	}
	now := time.Now()
	claims := jwt.MapClaims{
		"iss":       IssuerName,
		"aud":       Audience,
		"iat":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
		"jti":       newRequestUUID(),
		"token_use": "access",
	}
	switch role {
	case topology.Member:
		if sub == "" {
			return "", errors.New("a member token needs the member id as its subject")
		}
	case topology.Staff:
		if sub == "" {
			sub = DefaultStaffSubject
		}
		claims["scope"] = "staff"
		claims["cognito:groups"] = []string{"staff"}
		claims["username"] = sub
	case topology.Service:
		if sub == "" {
			sub = DefaultServiceSubject
		}
		claims["scope"] = strings.Join(ServiceScopes(), " ")
		claims["client_id"] = sub
	default:
		return "", fmt.Errorf("unknown role %q: want member, staff or service", role)
	}
	claims["sub"] = sub
	token := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	token.Header["kid"] = i.kid
	return token.SignedString(i.key)
}

// JWKS is the issuer's public key set (served at /.well-known/jwks.json).
func (i *Issuer) JWKS() []byte {
	pub := i.key.PublicKey
	doc := map[string]any{"keys": []map[string]string{{
		"kty": "RSA",
		"use": "sig",
		"alg": "RS256",
		"kid": i.kid,
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
	out, _ := json.Marshal(doc)
	return out
}

// Reasons authorize refuses a token, as rejectionReason words them.
var (
	errNoAuthorization = errors.New("no Authorization header")
	errUnknownKey      = errors.New("signed by a key this runner does not know (issued before the data directory's issuer key was replaced, or by another data directory): make a new token")
	errAudience        = errors.New("neither aud nor client_id names the audience " + strconv.Quote(Audience))
)

// rejectionReason says why authorize refused a token, for the runner's log:
// a fixed wording per cause, never the token or a part of it.
func rejectionReason(err error) string {
	switch {
	case errors.Is(err, errNoAuthorization):
		return errNoAuthorization.Error()
	case errors.Is(err, errUnknownKey):
		return errUnknownKey.Error()
	case errors.Is(err, errAudience):
		return errAudience.Error()
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed: not a JWT (want Authorization: Bearer <header.payload.signature>)"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "signature invalid, or an algorithm other than RS256/RS384/RS512"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired: make a new token (make token)"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "not valid yet (nbf or iat in the future)"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "issuer is not " + strconv.Quote(IssuerName)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "a required claim is missing (exp)"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unverifiable: no usable key or algorithm"
	}
	return "invalid token"
}

// authorize validates a bearer token as HTTP API's JWT authorizer does
// (signature by a known kid, iss, aud or client_id, exp, nbf) and returns the
// claims and scopes the function sees.
func (i *Issuer) authorize(header string) (*events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription, error) {
	raw := strings.TrimSpace(header)
	if raw == "" {
		return nil, errNoAuthorization
	}
	if prefix, rest, ok := strings.Cut(raw, " "); ok && strings.EqualFold(prefix, "Bearer") {
		raw = strings.TrimSpace(rest)
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != i.kid {
			return nil, errUnknownKey
		}
		return &i.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256", "RS384", "RS512"}), jwt.WithIssuer(IssuerName),
		jwt.WithExpirationRequired(), jwt.WithJSONNumber())
	if err != nil {
		return nil, err
	}
	if !audienceMatches(claims) {
		return nil, errAudience
	}
	rendered := make(map[string]string, len(claims))
	for k, v := range claims {
		rendered[k] = renderClaim(v)
	}
	return &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: rendered, Scopes: scopesOf(claims)}, nil
}

func audienceMatches(claims jwt.MapClaims) bool {
	if aud, err := claims.GetAudience(); err == nil && len(aud) > 0 {
		for _, a := range aud {
			if a == Audience {
				return true
			}
		}
		return false
	}
	clientID, _ := claims["client_id"].(string)
	return clientID == Audience
}

// scopesOf reads the scope claim (space-separated) or scp (a list).
func scopesOf(claims jwt.MapClaims) []string {
	if s, ok := claims["scope"].(string); ok {
		return strings.Fields(s)
	}
	switch scp := claims["scp"].(type) {
	case string:
		return strings.Fields(scp)
	case []any:
		var out []string
		for _, v := range scp {
			out = append(out, renderClaim(v))
		}
		return out
	}
	return nil
}

// renderClaim turns a claim value into the string HTTP API puts in
// authorizer.jwt.claims: strings as they are, numbers as written in the
// token, arrays as "[a b]" (cognito:groups ["staff","admin"] arrives as
// "[staff admin]"), objects as "map[k:v]" (the same rendering; not checked
// against AWS).
func renderClaim(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	case nil:
		return ""
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = renderClaim(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b bytes.Buffer
		b.WriteString("map[")
		for n, k := range keys {
			if n > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(k + ":" + renderClaim(x[k]))
		}
		b.WriteByte(']')
		return b.String()
	}
	return fmt.Sprint(v)
}

// ServiceScopes are the service scopes the routes of the deployed topology
// ask for, in the order they first appear: a local service token carries
// all of them, so it can call every service route (a brand's real
// integrations get only their own, topology.Integration).
func ServiceScopes() []string {
	var scopes []string
	for _, r := range topology.Clientele().Routes {
		if r.ServiceScope != "" && !slices.Contains(scopes, r.ServiceScope) {
			scopes = append(scopes, r.ServiceScope)
		}
	}
	return scopes
}
