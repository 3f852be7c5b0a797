package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"clientele/infra/local"
	"clientele/infra/local/demodata"
)

// fakeAPI answers the routes the loader calls, as the local stack would,
// and records the writes. A return is refused with 404 the first time, as
// an API does whose worker has not applied the order yet.
type fakeAPI struct {
	mu          sync.Mutex
	members     map[string]string // idempotency key → member id
	referrals   map[string]string // member id → referral code sent at signup
	purchases   map[string]demodata.Purchase
	returns     map[string]demodata.Return
	returnTries map[string]int
	redemptions map[string]string // idempotency key → member id
	adjustments int
	nightly     int
	writes      int
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{members: map[string]string{}, referrals: map[string]string{}, purchases: map[string]demodata.Purchase{},
		returns: map[string]demodata.Return{}, returnTries: map[string]int{}, redemptions: map[string]string{}}
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	if r.Method == http.MethodGet && r.URL.Path == "/.well-known/jwks.json" {
		reply(200, map[string]any{"keys": []any{}})
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") && !strings.HasPrefix(r.URL.Path, "/_local/") {
		reply(401, map[string]string{"message": "Unauthorized"})
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.Method != http.MethodGet {
		f.writes++
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/members":
		var in demodata.Signup
		_ = json.Unmarshal(body, &in)
		key := r.Header.Get("Idempotency-Key")
		id, ok := f.members[key]
		if !ok {
			id = fmt.Sprintf("M%04d", len(f.members)+1)
			f.members[key] = id
			f.referrals[id] = in.ReferralCode
		}
		reply(201, map[string]string{"id": id, "referral_code": "REF" + id})
	case r.Method == http.MethodGet && len(parts) == 3 && parts[1] == "members":
		reply(200, map[string]string{"id": parts[2]})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/purchases":
		var p demodata.Purchase
		_ = json.Unmarshal(body, &p)
		f.purchases[p.OrderID] = p
		reply(202, map[string]string{"status": "accepted"})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/returns":
		var rt demodata.Return
		_ = json.Unmarshal(body, &rt)
		f.returnTries[rt.ReturnID]++
		if f.returnTries[rt.ReturnID] == 1 {
			reply(404, map[string]any{"status": 404, "errors": []map[string]string{{"field": "order_id", "reason": "unknown order"}}})
			return
		}
		f.returns[rt.ReturnID] = rt
		reply(202, map[string]string{"status": "accepted"})
	case r.Method == http.MethodGet && len(parts) == 5 && parts[4] == "entries":
		var entries []map[string]string
		for _, p := range f.purchases {
			if p.MemberID == parts[2] {
				entries = append(entries, map[string]string{"source_id": "order:" + p.OrderID, "order_id": p.OrderID})
			}
		}
		for _, rt := range f.returns {
			if rt.MemberID == parts[2] {
				entries = append(entries, map[string]string{"source_id": "return:" + rt.ReturnID})
			}
		}
		reply(200, map[string]any{"entries": entries})
	case r.Method == http.MethodGet && len(parts) == 4 && parts[3] == "points":
		reply(200, map[string]any{"available": 400, "pending": 0, "tier": "silver"})
	case r.Method == http.MethodPost && len(parts) == 5 && parts[4] == "redemptions":
		f.redemptions[r.Header.Get("Idempotency-Key")] = parts[2]
		reply(201, map[string]any{})
	case r.Method == http.MethodPost && len(parts) == 5 && parts[4] == "adjustments":
		f.adjustments++
		reply(201, map[string]any{})
	case r.Method == http.MethodPost && r.URL.Path == "/_local/schedules/points-nightly":
		f.nightly++
		reply(200, map[string]any{})
	default:
		reply(404, map[string]string{"message": "Not Found"})
	}
}

func TestLoaderSendsEverythingOnceAndARerunNothing(t *testing.T) {
	t.Parallel()
	api := newFakeAPI()
	srv := httptest.NewServer(api)
	defer srv.Close()
	issuer, err := local.OpenIssuer("")
	if err != nil {
		t.Fatal(err)
	}
	data, err := demodata.Generate(demodata.Config{Seed: 5, Members: 40, Until: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(t.TempDir(), "seed-5.json")
	load := func() {
		t.Helper()
		st, err := loadState(statePath, 5)
		if err != nil {
			t.Fatal(err)
		}
		st.Until = data.Config.Until
		l, err := newLoader(srv.URL, ".local", issuer, st, statePath, 4, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := l.load(context.Background(), data, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	load()

	api.mu.Lock()
	idOf := map[string]string{}
	for _, m := range data.Members {
		idOf[m.Key] = api.members[m.Key+"-signup"]
	}
	var purchases, returns, redemptions, adjustments int
	for _, m := range data.Members {
		id := idOf[m.Key]
		if id == "" {
			t.Fatalf("%s was not signed up", m.Key)
		}
		if m.ReferredBy >= 0 {
			if want := "REF" + idOf[data.Members[m.ReferredBy].Key]; api.referrals[id] != want {
				t.Errorf("%s signed up with referral code %q, want its referrer's %q", m.Key, api.referrals[id], want)
			}
		}
		for _, p := range m.Purchases {
			purchases++
			if got, ok := api.purchases[p.OrderID]; !ok || got.MemberID != id || !got.PurchasedAt.Equal(p.PurchasedAt) {
				t.Errorf("purchase %s: got %+v, want it for %s at %s", p.OrderID, got, id, p.PurchasedAt)
			}
		}
		for _, rt := range m.Returns {
			returns++
			if got, ok := api.returns[rt.ReturnID]; !ok || got.MemberID != id || api.returnTries[rt.ReturnID] != 2 {
				t.Errorf("return %s: got %+v after %d tries, want it for %s after a 404 and a retry", rt.ReturnID, got, api.returnTries[rt.ReturnID], id)
			}
		}
		for _, rd := range m.Redemptions {
			// 400 points available: the loader stops redeeming once they are spent.
			if member, ok := api.redemptions[rd.IdempotencyKey]; ok {
				redemptions++
				if member != id {
					t.Errorf("redemption %s for %s, want %s", rd.IdempotencyKey, member, id)
				}
			}
		}
		adjustments += len(m.Adjustments)
	}
	if len(api.purchases) != purchases || len(api.returns) != returns || api.adjustments != adjustments || redemptions == 0 {
		t.Errorf("sent %d purchases, %d returns, %d adjustments, %d redemptions; want %d, %d, %d and some",
			len(api.purchases), len(api.returns), api.adjustments, redemptions, purchases, returns, adjustments)
	}
	if api.nightly != 1 {
		t.Errorf("points-nightly fired %d times, want once", api.nightly)
	}
	writes := api.writes
	api.mu.Unlock()

	load()
	api.mu.Lock()
	defer api.mu.Unlock()
	if extra := api.writes - writes - 1; extra != 0 { // the nightly job fires again
		t.Errorf("a re-run with the state file sent %d writes, want none", extra)
	}
}
