package apigw

import (
	"encoding/json"
	"strings"

	"clientele/shared/fault"
)

// CallerKind is the kind of token that made a request.
type CallerKind uint8

// Caller kinds. A member token's subject is a member id. A staff token
// carries the scope or group "staff". A service token (a brand's app backend
// or point of sale) carries the scope "members:write".
const (
	MemberCaller CallerKind = iota + 1
	StaffCaller
	ServiceCaller
)

func (k CallerKind) String() string {
	switch k {
	case MemberCaller:
		return "member"
	case StaffCaller:
		return "staff"
	case ServiceCaller:
		return "service"
	}
	return "unknown"
}

// Caller is who made a request, from the JWT authorizer's claims.
type Caller struct {
	Kind    CallerKind
	Subject string
	Scopes  []string
	Groups  []string
}

// CallerOf reads the caller from the authorizer context. Requests without
// claims or without a subject are Unauthorized.
func CallerOf(req Request) (Caller, error) {
	auth := req.RequestContext.Authorizer
	if auth == nil || auth.JWT == nil || auth.JWT.Claims == nil {
		return Caller{}, fault.New(fault.Unauthorized, "a bearer token is required")
	}
	claims := auth.JWT.Claims
	c := Caller{Subject: claims["sub"]}
	if c.Subject == "" {
		return Caller{}, fault.New(fault.Unauthorized, "the token has no subject")
	}
	if err := checkSubject(c.Subject); err != nil {
		return Caller{}, err
	}
	c.Scopes = dedupe(append(strings.Fields(claims["scope"]), auth.JWT.Scopes...))
	c.Groups = append(listClaim(claims["cognito:groups"]), listClaim(claims["groups"])...)
	switch {
	case hasScope(c.Scopes, "staff") || contains(c.Groups, "staff"):
		c.Kind = StaffCaller
	case hasScope(c.Scopes, "members:write"):
		c.Kind = ServiceCaller
	default:
		c.Kind = MemberCaller
	}
	return c, nil
}

// listClaim reads an array claim as API Gateway renders it ("[a b]") or as
// JSON (["a","b"]), or a space-separated string.
func listClaim(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	var arr []string
	if strings.HasPrefix(v, "[") {
		if json.Unmarshal([]byte(v), &arr) == nil {
			return arr
		}
		v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	}
	return strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
}

// hasScope matches a scope exactly or as a resource-server scope ("api/staff").
func hasScope(scopes []string, want string) bool {
	for _, s := range scopes {
		if s == want || strings.HasSuffix(s, "/"+want) {
			return true
		}
	}
	return false
}

func contains(xs []string, want string) bool {
	for _, x := range xs {
		if x == want {
			return true
		}
	}
	return false
}

// Allow returns Forbidden unless the caller is of one of the kinds.
func (c Caller) Allow(kinds ...CallerKind) error {
	for _, k := range kinds {
		if c.Kind == k {
			return nil
		}
	}
	return fault.New(fault.Forbidden, "a %s token may not call this endpoint", c.Kind)
}

// AllowMember returns Forbidden unless the caller is staff, or the member
// whose id is memberID.
func (c Caller) AllowMember(memberID string) error {
	switch c.Kind {
	case StaffCaller:
		return nil
	case MemberCaller:
		if c.Subject == memberID {
			return nil
		}
		return fault.New(fault.Forbidden, "a member token may only touch its own member")
	}
	return fault.New(fault.Forbidden, "a %s token may not call this endpoint", c.Kind)
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	out := xs[:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
