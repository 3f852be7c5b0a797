package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/idempotency"
	"clientele/shared/points"
)

// TestErasureScrubsFreeTextFromLedgerAndReceipts: after member.erased, the
// member's ledger entries and stored HTTP responses keep amounts, kinds and
// reason codes but no staff note or member-written reason.
func TestErasureScrubsFreeTextFromLedgerAndReceipts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	const member, other = "01JQERASED0000000000000000", "01JQKEPT000000000000000000"
	const note, reason = "called about Li Wei's parcel to 12 Nanjing Road", "gift for my sister Mei"
	idem := &dynamo.IdempotencyStore{Client: db, Table: f.table}
	// post appends one entry the way points-api does: under a reserved
	// Idempotency-Key whose stored response is the posting.
	post := func(who, key string, build func(*points.Account) (points.Entry, error)) idempotency.Reservation {
		res := idempotency.Reservation{StorageKey: idempotency.StorageKey("staff:s1 POST", key), RequestHash: "h-" + key, Token: "t-" + key}
		if prior, err := idem.Reserve(ctx, res, start); err != nil || prior != nil {
			t.Fatalf("reserve: %v %v", prior, err)
		}
		_, _, err := f.store.Apply(ctx, who, func(a *points.Account) (points.Change, error) {
			e, err := build(a)
			return points.Change{Entries: []points.Entry{e}}, err
		}, points.Write{Reservation: &res, Receipt: func(a *points.Account, ch points.Change) (idempotency.Receipt, error) {
			body, _ := json.Marshal(map[string]any{"entry": ch.Entries[0], "balance": map[string]any{"available": a.Available}})
			return idempotency.Receipt{Status: 201, Body: string(body), Subject: who}, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	entry := func(who string, kind points.EntryKind, amount int64, reason, note string) points.Entry {
		return points.Entry{ID: event.NewID(start), MemberID: who, Kind: kind, Amount: amount, Reason: reason, Note: note,
			SourceID: "test:" + event.NewID(start), Actor: "staff:s1", At: start}
	}
	var receipts []idempotency.Reservation
	for _, who := range []string{member, other} {
		receipts = append(receipts,
			post(who, who+"-adjust", func(a *points.Account) (points.Entry, error) {
				return a.Grant(entry(who, points.Adjust, 500, "goodwill", note), f.h.Policy)
			}),
			post(who, who+"-redeem", func(a *points.Account) (points.Entry, error) {
				return a.Spend(entry(who, points.Redeem, 100, reason, ""))
			}),
			post(who, who+"-reward", func(a *points.Account) (points.Entry, error) {
				return a.Spend(entry(who, points.Redeem, 50, "reward:R1", ""))
			}))
	}
	erased := envelope(t, event.TypeMemberErased, event.MemberErased{MemberID: member, ErasedAt: start})
	for range 2 { // a redelivery changes nothing more
		if failed := f.deliver(t, message(t, "erased", erased)); len(failed) != 0 {
			t.Fatal("erasure failed")
		}
	}

	es, err := f.store.AllEntries(ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, string(e.Kind)+" "+e.Reason+" "+signed(e.Amount)+" "+e.Note)
		if e.Actor != "staff:s1" || e.SourceID == "" || len(e.Lots) == 0 {
			t.Errorf("erasure dropped more than free text: %+v", e)
		}
	}
	slices.Sort(got)
	if want := []string{"adjust goodwill +500 ", "redeem  -100 ", "redeem reward:R1 -50 "}; !slices.Equal(got, want) {
		t.Errorf("erased member's entries = %q, want %q", got, want)
	}
	kept, err := f.store.AllEntries(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	withText := 0
	for _, e := range kept {
		if e.Note == note || e.Reason == reason {
			withText++
		}
	}
	if withText != 2 {
		t.Errorf("another member's free text was touched: %+v", kept)
	}
	a := f.account(t, member)
	if a.Available != 350 || a.Check() != nil {
		t.Errorf("erasure changed the balance: %+v", a)
	}
	for i, res := range receipts {
		rc, err := idem.Reserve(ctx, res, start)
		if err != nil || rc == nil {
			t.Fatalf("receipt %d: %v %v", i, rc, err)
		}
		hasText := strings.Contains(rc.Body, note) || strings.Contains(rc.Body, reason)
		if erasedMember := i < 3; erasedMember && hasText {
			t.Errorf("receipt %d of the erased member holds free text: %s", i, rc.Body)
		} else if !erasedMember && i%3 != 2 && !hasText {
			t.Errorf("receipt %d of another member lost its text: %s", i, rc.Body)
		}
		if !strings.Contains(rc.Body, `"amount":`) || !strings.Contains(rc.Body, `"kind":`) {
			t.Errorf("receipt %d lost its amounts: %s", i, rc.Body)
		}
	}
}

func signed(n int64) string {
	b, _ := json.Marshal(n)
	if n >= 0 {
		return "+" + string(b)
	}
	return string(b)
}
