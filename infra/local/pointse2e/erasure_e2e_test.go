package pointse2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"clientele/infra/topology"
	"clientele/shared/dynamo"
	"clientele/shared/points"
)

// TestErasureScrubsFreeTextEverywhere: a staff note and a member's own
// redemption reason are gone from the export and from every item of the
// points table once the member is erased through the members API; the
// anonymised ledger keeps its amounts, kinds and reason codes.
func TestErasureScrubsFreeTextEverywhere(t *testing.T) {
	t.Parallel()
	member := signup(t)
	staff, own := api.Token(t, topology.Staff, "staff-e2e"), api.Token(t, topology.Member, member)
	note := "called about Li Wei's parcel " + member
	reason := "gift for my sister Mei " + member
	await(t, member, "welcome bonus", func(a *points.Account) bool { return a.Available == 100 })
	if st, out := api.Call(t, "POST", "/v1/members/"+member+"/points/adjustments", staff,
		`{"amount":40,"reason_code":"goodwill","note":"`+note+`"}`, "Idempotency-Key", "adj-"+member); st != 201 {
		t.Fatalf("adjustment: %d %v", st, out)
	}
	if st, out := api.Call(t, "POST", "/v1/members/"+member+"/points/redemptions", own,
		`{"amount":30,"reason":"`+reason+`"}`, "Idempotency-Key", "red-"+member); st != 201 {
		t.Fatalf("redemption: %d %v", st, out)
	}
	if st, out := api.Call(t, "DELETE", "/v1/members/"+member, own, ""); st != 200 {
		t.Fatalf("erase: %d %v", st, out)
	}
	// Items of the points table holding the text: entries, stored
	// responses, anything.
	db := dynamo.NewLocalClient(stack.DynamoDBEndpoint)
	leftovers := func() []string {
		var out []string
		p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(topology.PointsTable)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				raw, _ := json.Marshal(it)
				if strings.Contains(string(raw), "Li Wei's parcel "+member) || strings.Contains(string(raw), "sister Mei "+member) {
					out = append(out, string(raw))
				}
			}
		}
		return out
	}
	// The points worker scrubs on member.erased, asynchronously.
	deadline := time.Now().Add(30 * time.Second)
	var export string
	for {
		st, out := api.Call(t, "GET", "/v1/members/"+member+"/export", staff, "")
		raw, _ := json.Marshal(out)
		export = string(raw)
		left := leftovers()
		if st == 200 && !strings.Contains(export, note) && !strings.Contains(export, reason) && len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("free text still held after erasure: export %d %s\nitems %v", st, export, left)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var doc struct {
		Domains struct {
			Points struct {
				Available int64          `json:"available"`
				Entries   []points.Entry `json:"entries"`
			} `json:"points"`
		} `json:"domains"`
	}
	if err := json.Unmarshal([]byte(export), &doc); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int64{}
	for _, e := range doc.Domains.Points.Entries {
		kinds[string(e.Kind)+" "+e.Reason] += e.Amount
	}
	if doc.Domains.Points.Available != 110 || kinds["bonus welcome"] != 100 || kinds["adjust goodwill"] != 40 || kinds["redeem "] != -30 {
		t.Errorf("the anonymised ledger lost amounts or codes: available %d, %v", doc.Domains.Points.Available, kinds)
	}
}
