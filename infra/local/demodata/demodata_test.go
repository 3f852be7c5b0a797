package demodata_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"clientele/infra/local/demodata"
	"clientele/shared/apigw/openapicheck"
)

var until = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

func generate(t *testing.T, cfg demodata.Config) demodata.Dataset {
	t.Helper()
	d, err := demodata.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	cfg := demodata.Config{Seed: 7, Members: 200, Until: until}
	a, b := generate(t, cfg), generate(t, cfg)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) || !reflect.DeepEqual(a, b) {
		t.Fatal("two runs of the same config differ")
	}
	other := generate(t, demodata.Config{Seed: 8, Members: 200, Until: until})
	ids := map[string]bool{}
	for _, m := range a.Members {
		ids[m.Key] = true
		ids[m.Signup.Email] = true
		ids[m.Signup.Phone] = true
		for _, p := range m.Purchases {
			ids[p.OrderID] = true
		}
	}
	for _, m := range other.Members {
		for _, v := range []string{m.Key, m.Signup.Email, m.Signup.Phone} {
			if v != "" && ids[v] {
				t.Errorf("seeds 7 and 8 share %q", v)
			}
		}
		for _, p := range m.Purchases {
			if ids[p.OrderID] {
				t.Errorf("seeds 7 and 8 share order id %q", p.OrderID)
			}
		}
	}
}

// A member's data depends on the seed and its number only: growing the data
// set, or adding a kind of data on a stream of its own, leaves it alone.
func TestMembersDoNotDependOnTheSizeOfTheDataSet(t *testing.T) {
	t.Parallel()
	small := generate(t, demodata.Config{Seed: 3, Members: 20, Until: until})
	large := generate(t, demodata.Config{Seed: 3, Members: 300, Until: until})
	for i := range small.Members {
		if !reflect.DeepEqual(small.Members[i], large.Members[i]) {
			t.Fatalf("member %d differs between 20 and 300 members", i)
		}
	}
}

func TestGeneratedDataIsShapedLikeTheAPIWantsIt(t *testing.T) {
	t.Parallel()
	const days = 80
	d := generate(t, demodata.Config{Seed: 1, Members: 300, Until: until})
	if d.Config.Days != demodata.DefaultDays {
		t.Errorf("Days %d, want the default %d", d.Config.Days, demodata.DefaultDays)
	}
	from := until.AddDate(0, 0, -days)
	keys, emails, phones, orders, returns, idem := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	unique := func(seen map[string]bool, what, v string) {
		if v == "" {
			return
		}
		if seen[v] {
			t.Errorf("%s %q is not unique", what, v)
		}
		seen[v] = true
	}
	personas := map[string]int{}
	var nPurchases, nReturns, nRedemptions, nAdjustments, nReferred int
	var topSpend int64
	for i, m := range d.Members {
		personas[m.Persona]++
		unique(keys, "key", m.Key)
		unique(emails, "email", m.Signup.Email)
		unique(phones, "phone", m.Signup.Phone)
		if m.Signup.Email == "" && m.Signup.Phone == "" {
			t.Errorf("%s has neither email nor phone", m.Key)
		}
		if m.ReferredBy >= i || m.ReferredBy < -1 {
			t.Errorf("%s is referred by member %d, not an earlier one", m.Key, m.ReferredBy)
		}
		if m.ReferredBy >= 0 {
			nReferred++
		}
		if m.Signup.Birthday != "" {
			if _, err := time.Parse(time.DateOnly, m.Signup.Birthday); err != nil {
				t.Errorf("%s birthday %q: %v", m.Key, m.Signup.Birthday, err)
			}
		}
		bought := map[string]demodata.Purchase{}
		var spend int64
		for k, p := range m.Purchases {
			nPurchases++
			unique(orders, "order id", p.OrderID)
			bought[p.OrderID] = p
			if p.PurchasedAt.Before(from) || !p.PurchasedAt.Before(until) {
				t.Errorf("%s purchased at %s, outside [%s, %s)", p.OrderID, p.PurchasedAt, from, until)
			}
			if k > 0 && p.PurchasedAt.Before(m.Purchases[k-1].PurchasedAt) {
				t.Errorf("%s: purchases out of time order", m.Key)
			}
			if p.Channel == "store" && p.Store == "" {
				t.Errorf("%s: a store purchase without a store", p.OrderID)
			}
			if len(p.Lines) == 0 || len(p.Lines) > 100 {
				t.Errorf("%s has %d lines", p.OrderID, len(p.Lines))
			}
			lineIDs := map[string]bool{}
			for _, l := range p.Lines {
				unique(lineIDs, "line id", l.LineID)
				if l.Quantity < 1 || l.Quantity > 100 || l.Amount < 1 || l.Amount > 10_000_000 {
					t.Errorf("%s line %s: quantity %d amount %d", p.OrderID, l.LineID, l.Quantity, l.Amount)
				}
				spend += l.Amount
			}
		}
		topSpend = max(topSpend, spend)
		returned := map[string]int64{}
		for _, r := range m.Returns {
			nReturns++
			unique(returns, "return id", r.ReturnID)
			p, ok := bought[r.OrderID]
			if !ok {
				t.Errorf("%s returns order %s, not one of the member's", r.ReturnID, r.OrderID)
				continue
			}
			if !r.ReturnedAt.After(p.PurchasedAt) || !r.ReturnedAt.Before(until) {
				t.Errorf("%s returned at %s: not after its purchase (%s) and before %s", r.ReturnID, r.ReturnedAt, p.PurchasedAt, until)
			}
			for _, rl := range r.Lines {
				var line *demodata.PurchaseLine
				for k := range p.Lines {
					if p.Lines[k].LineID == rl.LineID {
						line = &p.Lines[k]
					}
				}
				if line == nil {
					t.Errorf("%s returns line %s the order does not have", r.ReturnID, rl.LineID)
					continue
				}
				returned[r.OrderID+"/"+rl.LineID] += rl.Quantity
				if rl.Quantity < 1 || returned[r.OrderID+"/"+rl.LineID] > line.Quantity {
					t.Errorf("%s returns %d of line %s, which had %d", r.ReturnID, rl.Quantity, rl.LineID, line.Quantity)
				}
			}
		}
		for _, r := range m.Redemptions {
			nRedemptions++
			unique(idem, "idempotency key", r.IdempotencyKey)
			if r.Cost <= 0 || r.RewardID == "" {
				t.Errorf("%s: redemption %+v", m.Key, r)
			}
		}
		for _, a := range m.Adjustments {
			nAdjustments++
			unique(idem, "idempotency key", a.IdempotencyKey)
			if a.Amount == 0 || a.ReasonCode == "" {
				t.Errorf("%s: adjustment %+v", m.Key, a)
			}
		}
	}
	// A living system: every kind of data is there, and some members spend
	// enough (in CNY, one point each under the default policy) for gold.
	t.Logf("300 members: %v; %d purchases, %d returns, %d redemptions, %d adjustments, %d referred; top spend %d fen",
		personas, nPurchases, nReturns, nRedemptions, nAdjustments, nReferred, topSpend)
	for _, p := range []string{"dormant", "occasional", "regular", "loyal", "vip"} {
		if personas[p] == 0 {
			t.Errorf("no %s member among 300", p)
		}
	}
	if nPurchases < 300 || nReturns == 0 || nRedemptions == 0 || nAdjustments == 0 || nReferred == 0 {
		t.Errorf("too little data: %d purchases, %d returns, %d redemptions, %d adjustments, %d referred",
			nPurchases, nReturns, nRedemptions, nAdjustments, nReferred)
	}
	if topSpend < 5000*100 {
		t.Errorf("the biggest spender spent %d fen: nobody reaches gold (5000 points)", topSpend)
	}
}

// Every request body has only fields docs/openapi.json documents and all it
// requires: the API decodes strictly.
func TestRequestBodiesMatchTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	_, file, _, _ := runtime.Caller(0)
	doc := openapicheck.Load(t, filepath.Join(filepath.Dir(file), "..", "..", "..", "docs", "openapi.json"))
	d := generate(t, demodata.Config{Seed: 1, Members: 60, Until: until})
	check := func(schema string, v any) {
		t.Helper()
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatal(err)
		}
		doc.CheckBody(t, schema, body)
	}
	var checked int
	for _, m := range d.Members {
		s := m.Signup
		s.ReferralCode = "ABCDEFGH"
		check("SignupInput", s)
		for _, c := range s.Consents {
			check("ConsentInput", c)
		}
		for _, p := range m.Purchases {
			p.MemberID = "m-1"
			check("Purchase", p)
			for _, l := range p.Lines {
				check("PurchaseLine", l)
			}
			checked++
		}
		for _, r := range m.Returns {
			r.MemberID = "m-1"
			check("Return", r)
			for _, l := range r.Lines {
				check("ReturnLine", l)
			}
		}
		for _, r := range m.Redemptions {
			check("RedemptionInput", r)
		}
		for _, a := range m.Adjustments {
			check("AdjustmentInput", a)
		}
	}
	if checked == 0 {
		t.Fatal("no purchase checked")
	}
}

func TestConfigIsChecked(t *testing.T) {
	t.Parallel()
	for _, cfg := range []demodata.Config{
		{Seed: 1, Members: 0, Until: until},
		{Seed: 1, Members: demodata.MaxMembers + 1, Until: until},
		{Seed: 1, Members: 10, Until: until, Days: -1},
		{Seed: 1, Members: 10},
	} {
		if _, err := demodata.Generate(cfg); err == nil {
			t.Errorf("Generate(%+v) accepted", cfg)
		}
	}
}

func ExampleGenerate() {
	d, _ := demodata.Generate(demodata.Config{Seed: 1, Members: 300, Until: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)})
	m := d.Members[0]
	fmt.Println(m.Key, strings.Contains(m.Signup.Email+m.Signup.Phone, "0001"))
	// Output: s1-m0001 true
}
