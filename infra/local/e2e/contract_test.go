package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"clientele/infra/topology"
)

// TestContractThroughTheGateway drives the error paths of the contract
// through the local gateway; the kin-openapi transport behind call checks
// each exchange against docs/openapi.json on top of the assertions here.
func TestContractThroughTheGateway(t *testing.T) {
	staff := token(t, topology.Staff, "")
	service := token(t, topology.Service, "")
	long := strings.Repeat("m", 3000)

	// A rejected token is API Gateway's own answer, byte for byte.
	r := call(t, "GET", "/v1/members/01HMEMBER", "not-a-jwt", "")
	if r.status != 401 || string(r.body) != `{"message":"Unauthorized"}` || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("rejected token: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	// Oversized ids: 404 for a path id that cannot exist, 400 for a token
	// subject that breaks the id rule; never a 500.
	for _, path := range []string{"/v1/members/" + long, "/v1/members/" + long + "/points", "/v1/members/" + long + "/export",
		"/v1/members/" + long + "/points/entries"} {
		if r := call(t, "GET", path, staff, ""); r.status != 404 {
			t.Errorf("GET %.40s…: %d %.300s, want 404", path, r.status, r.body)
		}
	}
	if r := call(t, "GET", "/v1/members/"+long, token(t, topology.Member, long), ""); r.status != 400 {
		t.Errorf("member token with a 3000-character sub: %d %.300s, want 400", r.status, r.body)
	}
	// Every error of a request, each named by its JSON path.
	r = call(t, "POST", "/v1/purchases", service, `{"order_id":"o-1","member_id":"m-1","channel":"bogus","currency":"CNY",
		"purchased_at":"yesterday","lines":[{"sku":"S","quantity":"two","amount":100}]}`)
	var p struct {
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(r.body, &p)
	var fields []string
	for _, e := range p.Errors {
		fields = append(fields, e.Field)
	}
	slices.Sort(fields)
	if r.status != 400 || !slices.Equal(fields, []string{"channel", "lines[0].quantity", "purchased_at"}) {
		t.Errorf("purchase with three errors: %d %s", r.status, r.body)
	}
	// Points for a member that does not exist: 404 naming the field.
	r = call(t, "POST", "/v1/members/01HNOSUCHMEMBER0000000000/points/adjustments", staff, `{"amount":5,"reason_code":"goodwill"}`)
	if r.status != 404 {
		t.Errorf("adjustment for an unknown member: %d %s", r.status, r.body)
	}
	// Text limits count characters: 64 Chinese characters are a valid SKU.
	r = call(t, "POST", "/v1/purchases", service, `{"order_id":"o-cjk","member_id":"01HNOSUCHMEMBER0000000000","channel":"online","currency":"CNY",
		"lines":[{"sku":"`+strings.Repeat("货", 64)+`","quantity":1,"amount":100}]}`)
	if r.status != 404 || strings.Contains(string(r.body), "sku") {
		t.Errorf("a 64-character CJK sku for an unknown member: %d %s, want 404 for member_id only", r.status, r.body)
	}
}
