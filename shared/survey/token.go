package survey

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"clientele/shared/fault"
)

// Link tokens are the credential of a survey invitation's link: whoever
// holds one may answer that survey once, for that member and order,
// until it expires. Format: "v1.<payload>.<mac>", both parts base64url
// without padding; payload is the JSON Claims; mac is HMAC-SHA256 under
// the key the payload names, over "v1.<payload>".

// Token limits.
const (
	// MinKeyBytes is the shortest accepted HMAC key (256 bits).
	MinKeyBytes = 32
	// MaxTokenTTL bounds how long a link stays valid.
	MaxTokenTTL = 90 * 24 * time.Hour
	// maxTokenLen bounds what Verify decodes.
	maxTokenLen = 1024
	tokenPrefix = "v1."
)

// Claims are what a link token binds.
type Claims struct {
	Survey string `json:"s"`
	Member string `json:"m"`
	Order  string `json:"o,omitempty"`
	// Store and Channel are where the invitation's occasion happened (the
	// purchase, the resolved case): the response is counted there.
	Store   string `json:"st,omitempty"`
	Channel string `json:"ch,omitempty"`
	// Nonce makes the token single-use: the store records it with the
	// response, in the same transaction, and refuses a second use.
	Nonce string `json:"n"`
	// Expires is the Unix second the token stops being valid.
	Expires int64 `json:"e"`
	// Key is the id of the signing key.
	Key string `json:"k"`
}

// ExpiresAt is the instant the token stops being valid.
func (c Claims) ExpiresAt() time.Time { return time.Unix(c.Expires, 0).UTC() }

// Signer issues and verifies link tokens. It signs with its current key
// and verifies with any of its keys, so keys can be rotated: add the new
// key, make it current, drop the old one after MaxTokenTTL.
type Signer struct {
	keys    map[string][]byte
	current string
}

// NewSigner returns a signer that signs with keys[current].
func NewSigner(current string, keys map[string][]byte) (*Signer, error) {
	if _, ok := keys[current]; !ok {
		return nil, fmt.Errorf("survey: current key %q is not among the keys", current)
	}
	s := &Signer{keys: map[string][]byte{}, current: current}
	for id, k := range keys {
		if len(k) < MinKeyBytes {
			return nil, fmt.Errorf("survey: key %q has %d bytes, want at least %d", id, len(k), MinKeyBytes)
		}
		s.keys[id] = bytes.Clone(k)
	}
	return s, nil
}

// Issue returns a token bound to survey, member and order (order may be
// empty), valid for ttl from now, with a fresh random nonce.
func (s *Signer) Issue(survey, member, order string, now time.Time, ttl time.Duration) (string, Claims, error) {
	return s.IssueFor(Claims{Survey: survey, Member: member, Order: order}, now, ttl)
}

// IssueFor returns a token bound to the survey, member, order, store and
// channel of c, valid for ttl from now, with a fresh random nonce (c's
// Nonce, Expires and Key are set here).
func (s *Signer) IssueFor(c Claims, now time.Time, ttl time.Duration) (string, Claims, error) {
	if c.Survey == "" || c.Member == "" {
		return "", Claims{}, fault.New(fault.Internal, "a link token needs a survey and a member")
	}
	if ttl <= 0 || ttl > MaxTokenTTL {
		return "", Claims{}, fault.New(fault.Internal, "a link token lives more than 0 and at most %s", MaxTokenTTL)
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return "", Claims{}, fault.Wrap(fault.Internal, err, "no randomness for a nonce")
	}
	c.Nonce, c.Expires, c.Key = base64.RawURLEncoding.EncodeToString(nonce), now.Add(ttl).Unix(), s.current
	payload, err := json.Marshal(c)
	if err != nil {
		return "", Claims{}, fault.Wrap(fault.Internal, err, "encoding claims")
	}
	signed := tokenPrefix + base64.RawURLEncoding.EncodeToString(payload)
	return signed + "." + base64.RawURLEncoding.EncodeToString(s.mac(s.keys[s.current], signed)), c, nil
}

func (s *Signer) mac(key []byte, signed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// Expect is what a token must be bound to; empty fields are not checked.
type Expect struct {
	Survey, Member, Order string
}

// tokenError is an error naming the token field, of kind k.
func tokenError(k fault.Kind, reason string) error {
	return &fault.Error{Kind: k, Message: "the link token is not valid", Fields: []fault.FieldError{{Field: "token", Reason: reason}}}
}

// Verify checks a token's signature, expiry and binding, and returns its
// claims. A malformed or forged token, or one signed with an unknown key,
// is Unauthorized; an expired one is Unauthorized; a token bound to another
// survey, member or order is Forbidden. Each error names the field
// "token". Single use is the store's to enforce with the nonce.
func (s *Signer) Verify(token string, now time.Time, want Expect) (Claims, error) {
	if len(token) > maxTokenLen || !strings.HasPrefix(token, tokenPrefix) {
		return Claims{}, tokenError(fault.Unauthorized, "malformed: not a link token")
	}
	signed, sig, ok := strings.Cut(token[len(tokenPrefix):], ".")
	if !ok {
		return Claims{}, tokenError(fault.Unauthorized, "malformed: no signature")
	}
	signed = tokenPrefix + signed
	payload, err := base64.RawURLEncoding.DecodeString(signed[len(tokenPrefix):])
	if err != nil {
		return Claims{}, tokenError(fault.Unauthorized, "malformed payload")
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return Claims{}, tokenError(fault.Unauthorized, "malformed signature")
	}
	var c Claims
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Claims{}, tokenError(fault.Unauthorized, "malformed payload")
	}
	key, ok := s.keys[c.Key]
	if !ok || !hmac.Equal(mac, s.mac(key, signed)) {
		return Claims{}, tokenError(fault.Unauthorized, "the signature does not match: the token was altered or forged")
	}
	if c.Survey == "" || c.Member == "" || c.Nonce == "" {
		return Claims{}, tokenError(fault.Unauthorized, "malformed claims")
	}
	if !now.Before(c.ExpiresAt()) {
		return Claims{}, tokenError(fault.Unauthorized, "expired at "+c.ExpiresAt().Format(time.RFC3339))
	}
	switch {
	case want.Survey != "" && want.Survey != c.Survey:
		return Claims{}, tokenError(fault.Forbidden, "issued for another survey")
	case want.Member != "" && want.Member != c.Member:
		return Claims{}, tokenError(fault.Forbidden, "issued for another member")
	case want.Order != "" && want.Order != c.Order:
		return Claims{}, tokenError(fault.Forbidden, "issued for another order")
	}
	return c, nil
}

// LinkKeyID names the link-signing key derived from the deployment's HMAC
// key (LinkSigner).
const LinkKeyID = "h1"

// LinkSigner returns the signer the survey functions share: its one key is
// HMAC-SHA256(hmacKey, "clientele survey link tokens v1"), so link tokens
// are signed with a key of their own, never the HMAC key itself, and every
// function given the HMAC key derives the same one.
func LinkSigner(hmacKey string) (*Signer, error) {
	if len(hmacKey) < MinKeyBytes {
		return nil, fmt.Errorf("survey: the HMAC key has %d bytes, want at least %d", len(hmacKey), MinKeyBytes)
	}
	m := hmac.New(sha256.New, []byte(hmacKey))
	m.Write([]byte("clientele survey link tokens v1"))
	return NewSigner(LinkKeyID, map[string][]byte{LinkKeyID: m.Sum(nil)})
}
