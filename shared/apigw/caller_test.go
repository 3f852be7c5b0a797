package apigw_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"clientele/shared/apigw"
	"clientele/shared/fault"
)

// withClaims returns the testdata event with its JWT claims and scopes
// replaced, as API Gateway would render another token.
func withClaims(t *testing.T, claims map[string]string, scopes []string) apigw.Request {
	t.Helper()
	req := loadRequest(t, "http-api-jwt.json")
	req.RequestContext.Authorizer.JWT.Claims = claims
	req.RequestContext.Authorizer.JWT.Scopes = scopes
	return req
}

func TestCallerOfTestdataStaffToken(t *testing.T) {
	t.Parallel()
	c, err := apigw.CallerOf(loadRequest(t, "http-api-jwt.json"))
	if err != nil {
		t.Fatalf("CallerOf: %v", err)
	}
	if c.Kind != apigw.StaffCaller || c.Kind.String() != "staff" {
		t.Errorf("Kind = %s, want staff", c.Kind)
	}
	if c.Subject != "6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f" {
		t.Errorf("Subject = %q", c.Subject)
	}
	if !slices.Equal(c.Groups, []string{"staff", "admin"}) {
		t.Errorf("Groups = %q, want [staff admin] parsed from API Gateway's rendering", c.Groups)
	}
	if !slices.Contains(c.Scopes, "clientele/staff") || !slices.Contains(c.Scopes, "openid") {
		t.Errorf("Scopes = %q", c.Scopes)
	}
}

func TestCallerOfServiceTokenFromTestdata(t *testing.T) {
	t.Parallel()
	c, err := apigw.CallerOf(loadRequest(t, "http-api-signup-base64.json"))
	if err != nil {
		t.Fatalf("CallerOf: %v", err)
	}
	if c.Kind != apigw.ServiceCaller || c.Subject != "pos-client" {
		t.Errorf("caller = %+v, want service pos-client", c)
	}
}

func TestCallerOfKinds(t *testing.T) {
	t.Parallel()
	const sub = "01HZX3R8J6W9Q2M4N5P7T8V9AB"
	cases := []struct {
		name   string
		claims map[string]string
		scopes []string
		kind   apigw.CallerKind
		groups []string
	}{
		{"member: subject only", map[string]string{"sub": sub}, nil, apigw.MemberCaller, nil},
		{"member: openid scopes", map[string]string{"sub": sub, "scope": "openid profile"}, []string{"openid", "profile"}, apigw.MemberCaller, nil},
		{"member: groups without staff", map[string]string{"sub": sub, "cognito:groups": "[vip gold]"}, nil, apigw.MemberCaller, []string{"vip", "gold"}},
		{"member: group that only starts with staff", map[string]string{"sub": sub, "cognito:groups": "[staffing]"}, nil, apigw.MemberCaller, []string{"staffing"}},
		{"member: scope that only starts with staff", map[string]string{"sub": sub, "scope": "clientele/staffing staff:read"}, nil, apigw.MemberCaller, nil},
		{"staff: cognito:groups rendered by API Gateway", map[string]string{"sub": sub, "cognito:groups": "[staff admin]"}, nil, apigw.StaffCaller, []string{"staff", "admin"}},
		{"staff: cognito:groups as one group", map[string]string{"sub": sub, "cognito:groups": "[staff]"}, nil, apigw.StaffCaller, []string{"staff"}},
		{"staff: cognito:groups as JSON", map[string]string{"sub": sub, "cognito:groups": `["admin","staff"]`}, nil, apigw.StaffCaller, []string{"admin", "staff"}},
		{"staff: groups claim, comma separated", map[string]string{"sub": sub, "groups": "admin,staff"}, nil, apigw.StaffCaller, []string{"admin", "staff"}},
		{"staff: plain scope claim", map[string]string{"sub": sub, "scope": "staff"}, nil, apigw.StaffCaller, nil},
		{"staff: resource-server scope claim", map[string]string{"sub": sub, "scope": "openid clientele/staff"}, nil, apigw.StaffCaller, nil},
		{"staff: resource-server scope in jwt.scopes only", map[string]string{"sub": sub}, []string{"clientele/staff"}, apigw.StaffCaller, nil},
		{"staff wins over service", map[string]string{"sub": sub, "scope": "clientele/members:write clientele/staff"}, nil, apigw.StaffCaller, nil},
		{"service: plain scope", map[string]string{"sub": "pos-client", "scope": "members:write"}, nil, apigw.ServiceCaller, nil},
		{"service: resource-server scope", map[string]string{"sub": "pos-client", "scope": "clientele/members:write"}, []string{"clientele/members:write"}, apigw.ServiceCaller, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := apigw.CallerOf(withClaims(t, c.claims, c.scopes))
			if err != nil {
				t.Fatalf("CallerOf: %v", err)
			}
			if got.Kind != c.kind {
				t.Errorf("Kind = %s, want %s", got.Kind, c.kind)
			}
			if got.Subject != c.claims["sub"] {
				t.Errorf("Subject = %q, want %q", got.Subject, c.claims["sub"])
			}
			if !slices.Equal(got.Groups, c.groups) {
				t.Errorf("Groups = %q, want %q", got.Groups, c.groups)
			}
		})
	}
}

func TestCallerOfUnauthorized(t *testing.T) {
	t.Parallel()
	noAuth := loadRequest(t, "http-api-jwt.json")
	noAuth.RequestContext.Authorizer = nil
	noJWT := loadRequest(t, "http-api-jwt.json")
	noJWT.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{}
	cases := map[string]apigw.Request{
		"no authorizer": noAuth,
		"no jwt":        noJWT,
		"nil claims":    withClaims(t, nil, []string{"clientele/staff"}),
		"no subject":    withClaims(t, map[string]string{"scope": "clientele/staff", "cognito:groups": "[staff]"}, nil),
		"empty subject": withClaims(t, map[string]string{"sub": "", "scope": "staff"}, nil),
		"empty request": {},
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := apigw.CallerOf(req)
			e := wantFault(t, err, fault.Unauthorized, "")
			if e.Kind.Status() != 401 {
				t.Fatalf("status = %d", e.Kind.Status())
			}
		})
	}
}

func TestCallerAllow(t *testing.T) {
	t.Parallel()
	member := apigw.Caller{Kind: apigw.MemberCaller, Subject: "m1"}
	staff := apigw.Caller{Kind: apigw.StaffCaller, Subject: "s1"}
	signup := withClaims(t, map[string]string{"sub": "pos", "scope": "members:write"}, nil)
	signup.RouteKey = "POST /v1/members"
	service, err := apigw.CallerWith(signup, apigw.ClaimMapping{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		caller apigw.Caller
		kinds  []apigw.CallerKind
		ok     bool
	}{
		{"member allowed", member, []apigw.CallerKind{apigw.MemberCaller, apigw.StaffCaller}, true},
		{"staff allowed", staff, []apigw.CallerKind{apigw.StaffCaller}, true},
		{"service allowed", service, []apigw.CallerKind{apigw.ServiceCaller, apigw.StaffCaller}, true},
		{"member refused", member, []apigw.CallerKind{apigw.StaffCaller}, false},
		{"service refused", service, []apigw.CallerKind{apigw.MemberCaller, apigw.StaffCaller}, false},
		{"staff refused", staff, []apigw.CallerKind{apigw.ServiceCaller}, false},
		{"no kinds allows no one", staff, nil, false},
		{"zero caller refused", apigw.Caller{}, []apigw.CallerKind{apigw.MemberCaller}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.caller.Allow(c.kinds...)
			if c.ok {
				if err != nil {
					t.Fatalf("Allow: %v", err)
				}
				return
			}
			e := wantFault(t, err, fault.Forbidden, "")
			if !strings.Contains(e.Message, c.caller.Kind.String()) {
				t.Errorf("message %q does not name the caller kind %s", e.Message, c.caller.Kind)
			}
		})
	}
}

func TestCallerAllowMember(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		caller apigw.Caller
		member string
		ok     bool
	}{
		{"member itself", apigw.Caller{Kind: apigw.MemberCaller, Subject: "m1"}, "m1", true},
		{"another member", apigw.Caller{Kind: apigw.MemberCaller, Subject: "m1"}, "m2", false},
		{"member id differs only by case", apigw.Caller{Kind: apigw.MemberCaller, Subject: "m1"}, "M1", false},
		{"member with empty target", apigw.Caller{Kind: apigw.MemberCaller, Subject: "m1"}, "", false},
		{"staff any member", apigw.Caller{Kind: apigw.StaffCaller, Subject: "s1"}, "m2", true},
		{"service is not a member", apigw.Caller{Kind: apigw.ServiceCaller, Subject: "m1"}, "m1", false},
		{"unknown kind", apigw.Caller{Subject: "m1"}, "m1", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.caller.AllowMember(c.member)
			if c.ok {
				if err != nil {
					t.Fatalf("AllowMember: %v", err)
				}
				return
			}
			wantFault(t, err, fault.Forbidden, "")
		})
	}
}

func TestCallerKindString(t *testing.T) {
	t.Parallel()
	for k, want := range map[apigw.CallerKind]string{
		apigw.MemberCaller: "member", apigw.StaffCaller: "staff", apigw.ServiceCaller: "service", 0: "unknown", 99: "unknown",
	} {
		if got := k.String(); got != want {
			t.Errorf("CallerKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// claimConfigurations are the identity providers the stack supports, with
// the claim mapping the stack configures for each and tokens as each issues
// them.
var claimConfigurations = []struct {
	name    string
	mapping apigw.ClaimMapping
	member  map[string]string
	staff   map[string]string
	pos     map[string]string
	backend map[string]string
}{{
	name:    "default Cognito pool",
	mapping: apigw.ClaimMapping{MemberClaim: "custom:member_id"},
	// An ID token of a user linked to member 01HZ... by an administrator.
	member: map[string]string{"sub": "8d5f0e3a-cognito-sub", "custom:member_id": "01HZX3R8J6W9Q2M4N5P7T8V9AB", "token_use": "id"},
	staff:  map[string]string{"sub": "2b7c-cognito-sub", "cognito:groups": "[staff]", "token_use": "id"},
	// Client-credentials access tokens: sub is the app client id.
	pos:     map[string]string{"sub": "4pos0client", "client_id": "4pos0client", "scope": "clientele/points:write"},
	backend: map[string]string{"sub": "7app0client", "client_id": "7app0client", "scope": "clientele/members:write clientele/points:write"},
}, {
	name:    "brand identity provider, sub is the member id",
	mapping: apigw.ClaimMapping{},
	member:  map[string]string{"sub": "01HZX3R8J6W9Q2M4N5P7T8V9AB"},
	staff:   map[string]string{"sub": "jane@brand.example", "groups": "[staff]"},
	pos:     map[string]string{"sub": "pos", "scope": "points:write"},
	backend: map[string]string{"sub": "app", "scope": "members:write points:write"},
}, {
	name:    "brand identity provider with its own claims",
	mapping: apigw.ClaimMapping{MemberClaim: "https://brand.example/member_id", GroupsClaims: []string{"roles"}},
	member:  map[string]string{"sub": "auth0|123", "https://brand.example/member_id": "01HZX3R8J6W9Q2M4N5P7T8V9AB", "groups": "[staff]"},
	staff:   map[string]string{"sub": "auth0|456", "roles": `["staff"]`},
	pos:     map[string]string{"sub": "pos@clients", "scope": "points:write"},
	backend: map[string]string{"sub": "app@clients", "scope": "members:write points:write"},
}}

func TestClaimMappingPerIdentityProvider(t *testing.T) {
	t.Parallel()
	const memberID = "01HZX3R8J6W9Q2M4N5P7T8V9AB"
	for _, cfg := range claimConfigurations {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			caller := func(claims map[string]string, route string) apigw.Caller {
				t.Helper()
				req := withClaims(t, claims, nil)
				req.RouteKey = route
				c, err := apigw.CallerWith(req, cfg.mapping)
				if err != nil {
					t.Fatalf("CallerWith(%v): %v", claims, err)
				}
				return c
			}
			m := caller(cfg.member, "GET /v1/members/{id}")
			if m.Kind != apigw.MemberCaller || m.Subject != memberID {
				t.Errorf("member token read as %s %q, want member %s", m.Kind, m.Subject, memberID)
			}
			if err := m.AllowMember(memberID); err != nil {
				t.Errorf("member refused its own member: %v", err)
			}
			if err := m.AllowMember("01HZX3R8J6W9Q2M4N5P7T8V9AC"); err == nil {
				t.Error("member allowed another member")
			}
			if s := caller(cfg.staff, "GET /v1/members/{id}"); s.Kind != apigw.StaffCaller {
				t.Errorf("staff token read as %s", s.Kind)
			}
			for route, want := range map[string]bool{"POST /v1/members": false, "POST /v1/purchases": true, "POST /v1/returns": true} {
				c := caller(cfg.pos, route)
				if err := c.Allow(apigw.ServiceCaller, apigw.StaffCaller); (err == nil) != want {
					t.Errorf("point of sale on %s: %v, want allowed=%v", route, err, want)
				}
			}
			for _, route := range []string{"POST /v1/members", "POST /v1/purchases"} {
				if err := caller(cfg.backend, route).Allow(apigw.ServiceCaller, apigw.StaffCaller); err != nil {
					t.Errorf("app backend on %s: %v", route, err)
				}
			}
			if err := caller(cfg.backend, "GET /v1/members/{id}").Allow(apigw.ServiceCaller); err == nil {
				t.Error("service allowed on a route that names no service scope")
			}
		})
	}
}

func TestUnlinkedCognitoUserIsUnauthorized(t *testing.T) {
	t.Parallel()
	// A pool user that is neither staff nor linked to a member: its Cognito
	// sub must never be taken for a member id.
	req := withClaims(t, map[string]string{"sub": "8d5f0e3a-cognito-sub", "token_use": "id"}, nil)
	_, err := apigw.CallerWith(req, apigw.ClaimMapping{MemberClaim: "custom:member_id"})
	if e := wantFault(t, err, fault.Unauthorized, ""); !strings.Contains(e.Message, "custom:member_id") {
		t.Errorf("message %q does not name the member claim", e.Message)
	}
}

func TestClaimMappingFromEnv(t *testing.T) {
	t.Setenv(apigw.MemberClaimVar, "custom:member_id")
	t.Setenv(apigw.GroupsClaimVar, "roles,groups")
	got := apigw.ClaimMappingFromEnv()
	if got.MemberClaim != "custom:member_id" || !slices.Equal(got.GroupsClaims, []string{"roles", "groups"}) {
		t.Errorf("mapping %+v", got)
	}
	req := withClaims(t, map[string]string{"sub": "cognito-sub", "custom:member_id": "m1"}, nil)
	c, err := apigw.CallerOf(req)
	if err != nil || c.Subject != "m1" {
		t.Errorf("CallerOf = %+v, %v; want member m1 from the configured claim", c, err)
	}
}
