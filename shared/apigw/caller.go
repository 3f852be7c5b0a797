package apigw

import (
	"encoding/json"
	"os"
	"strings"

	"clientele/shared/env"
	"clientele/shared/fault"
)

// CallerKind is the kind of token that made a request.
type CallerKind uint8

// Caller kinds. A member token names a member id in the member claim (see
// ClaimMapping). A staff token carries the scope or group "staff". A service
// token (a brand's app backend or point of sale) carries one of the service
// scopes (ServiceScopes), plain or prefixed by a resource server
// ("clientele/points:write"); each route accepting services names the one
// scope it needs (RouteServiceScope).
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

// Service scopes: what a service token may be given. A point of sale gets
// ScopePointsWrite only, so it records purchases and returns but cannot sign
// members up; a brand's app backend gets ScopeMembersWrite too.
const (
	ScopeMembersWrite = "members:write"
	ScopePointsWrite  = "points:write"
)

// ScopeFeedbackWrite sends feedback (POST /v1/feedback): a brand's app,
// chat or call-centre system.
const ScopeFeedbackWrite = "feedback:write"

// ServiceScopes lists every service scope; the default Cognito user pool's
// resource server defines exactly these.
var ServiceScopes = []string{ScopeMembersWrite, ScopePointsWrite, ScopeFeedbackWrite}

// routeServiceScopes names the scope a service token needs on each route
// that accepts services. The topology states the same per route, and a test
// in infra holds the two equal.
var routeServiceScopes = map[string]string{
	"POST /v1/members":   ScopeMembersWrite,
	"POST /v1/purchases": ScopePointsWrite,
	"POST /v1/returns":   ScopePointsWrite,
	"POST /v1/feedback":  ScopeFeedbackWrite,
}

// RouteServiceScope returns the scope a service token needs on a route
// ("POST /v1/purchases"), or "" when the route accepts no service token.
func RouteServiceScope(routeKey string) string { return routeServiceScopes[routeKey] }

// Environment variables configuring the claim mapping (set by the CDK stack
// and the local runner from the topology; see docs/operations.md).
const (
	// MemberClaimVar names the claim holding the member id: "sub" (the
	// default, for an identity provider whose subjects are member ids, and
	// the local runner) or "custom:member_id" (the default Cognito pool,
	// where an administrator links each user to a member).
	MemberClaimVar = env.MemberClaim
	// GroupsClaimVar names the claims listing the caller's groups,
	// comma-separated; unset reads both "cognito:groups" and "groups".
	GroupsClaimVar = env.GroupsClaim
)

// ClaimMapping says which claims of a token name the member and the groups.
type ClaimMapping struct {
	// MemberClaim holds the member id of a member token; "" means "sub".
	MemberClaim string
	// GroupsClaims list the claims read as groups; nil means
	// "cognito:groups" and "groups".
	GroupsClaims []string
}

// ClaimMappingFromEnv reads the mapping from CLIENTELE_MEMBER_CLAIM and
// CLIENTELE_GROUPS_CLAIM.
func ClaimMappingFromEnv() ClaimMapping {
	m := ClaimMapping{MemberClaim: os.Getenv(MemberClaimVar)}
	if g := strings.TrimSpace(os.Getenv(GroupsClaimVar)); g != "" {
		m.GroupsClaims = strings.Split(g, ",")
	}
	return m
}

// Caller is who made a request, from the JWT authorizer's claims.
type Caller struct {
	Kind CallerKind
	// Subject is the member id for a member, the token's sub otherwise.
	Subject string
	Scopes  []string
	Groups  []string
	// route is the route key the token was presented on; Allow checks a
	// service token's scope against it.
	route string
}

// CallerOf reads the caller from the authorizer context with the claim
// mapping from the environment (ClaimMappingFromEnv).
func CallerOf(req Request) (Caller, error) {
	return CallerWith(req, ClaimMappingFromEnv())
}

// CallerWith reads the caller from the authorizer context with the given
// claim mapping. Requests without claims or without a subject are
// Unauthorized, and so is a token that is neither staff nor service and
// names no member in the member claim (a Cognito user not linked to one).
func CallerWith(req Request, m ClaimMapping) (Caller, error) {
	auth := req.RequestContext.Authorizer
	if auth == nil || auth.JWT == nil || auth.JWT.Claims == nil {
		return Caller{}, fault.New(fault.Unauthorized, "a bearer token is required")
	}
	claims := auth.JWT.Claims
	c := Caller{Subject: claims["sub"], route: req.RouteKey}
	if c.Subject == "" {
		return Caller{}, fault.New(fault.Unauthorized, "the token has no subject")
	}
	if err := checkSubject(c.Subject); err != nil {
		return Caller{}, err
	}
	c.Scopes = dedupe(append(strings.Fields(claims["scope"]), auth.JWT.Scopes...))
	groupsClaims := m.GroupsClaims
	if len(groupsClaims) == 0 {
		groupsClaims = []string{"cognito:groups", "groups"}
	}
	for _, g := range groupsClaims {
		c.Groups = append(c.Groups, listClaim(claims[strings.TrimSpace(g)])...)
	}
	isService := false
	for _, s := range ServiceScopes {
		isService = isService || hasScope(c.Scopes, s)
	}
	switch {
	case hasScope(c.Scopes, "staff") || contains(c.Groups, "staff"):
		c.Kind = StaffCaller
	case isService:
		c.Kind = ServiceCaller
	default:
		c.Kind = MemberCaller
		memberClaim := m.MemberClaim
		if memberClaim == "" {
			memberClaim = "sub"
		}
		c.Subject = claims[memberClaim]
		if c.Subject == "" {
			return Caller{}, fault.New(fault.Unauthorized, "the token is not a staff or service token and names no member in its %s claim", memberClaim)
		}
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

// Allow returns Forbidden unless the caller is of one of the kinds. A
// service token must also carry the scope its route needs
// (RouteServiceScope): a point of sale's points:write does not sign members
// up.
func (c Caller) Allow(kinds ...CallerKind) error {
	for _, k := range kinds {
		if c.Kind != k {
			continue
		}
		if k == ServiceCaller {
			need := RouteServiceScope(c.route)
			if need == "" {
				return fault.New(fault.Forbidden, "a service token may not call %s", c.route)
			}
			if !hasScope(c.Scopes, need) {
				return fault.New(fault.Forbidden, "a service token needs the scope %s to call %s", need, c.route)
			}
		}
		return nil
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
