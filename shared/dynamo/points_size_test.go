package dynamo

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/idempotency"
	"clientele/shared/points"
)

// itemSize follows DynamoDB's item size rules: attribute names plus values
// (strings and binaries by length, numbers about one byte per two digits
// plus one, 3 bytes per list or map plus 1 per element, 1 for booleans).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return (len(v.Value)+1)/2 + 1
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, x := range v.Value {
			n += 1 + valueSize(x)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, x := range v.Value {
			n += 1 + len(k) + valueSize(x)
		}
		return n
	}
	return 0
}

// writeUnits is what a transactional write of the items costs: two write
// request units per started KB of each item.
func writeUnits(t *txn) (items, units int, sizes []int) {
	for _, it := range t.items {
		var item map[string]types.AttributeValue
		switch {
		case it.Put != nil:
			item = it.Put.Item
		case it.Update != nil:
			item = it.Update.Key
		case it.Delete != nil:
			item = it.Delete.Key
		case it.ConditionCheck != nil:
			item = it.ConditionCheck.Key
		}
		sz := itemSize(item)
		sizes = append(sizes, sz)
		units += 2 * ((sz + 1023) / 1024)
	}
	return len(t.items), units, sizes
}

// typicalAccount is a member a year into the programme: a purchase a month
// (12 open lots, 13 months of statistics), one tier change.
func typicalAccount(p points.Policy, now time.Time) *points.Account {
	a := points.NewAccount("01JMEMBERIDXXXXXXXXXXXXXXX", p, now.AddDate(-1, 0, 0))
	for i := range 12 {
		at := now.AddDate(0, -12+i, 0)
		in := points.Purchase{OrderID: fmt.Sprintf("POS-SH001-2026-%06d", i), MemberID: a.MemberID, Channel: "store", Store: "SH-001", Currency: "CNY", At: at,
			Lines: []points.PurchaseLine{{LineID: "1", SKU: "SKU-RUN-42", Category: "shoes", Quantity: 1, Amount: 59900}}}
		a.EarnPurchase(in, fmt.Sprintf("01JENTRY%018d", i), p, at)
		a.Mature(at.Add(p.ReturnWindow))
	}
	return a
}

func TestWriteUnitsPerOperation(t *testing.T) {
	t.Parallel()
	p := points.DefaultPolicy()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := &PointsStore{Table: "points", Policy: p, Now: func() time.Time { return now }}
	report := map[string][3]int{}

	// Earn: a three-line purchase.
	a := typicalAccount(p, now)
	in := points.Purchase{OrderID: "POS-SH001-2026-999999", MemberID: a.MemberID, Channel: "store", Store: "SH-001", Currency: "CNY", At: now,
		Lines: []points.PurchaseLine{
			{LineID: "1", SKU: "SKU-RUN-42", Category: "shoes", Quantity: 1, Amount: 59900},
			{LineID: "2", SKU: "SKU-TEE-07", Category: "apparel", Quantity: 2, Amount: 19800},
			{LineID: "3", SKU: "SKU-SOCK-3", Category: "accessories", Quantity: 3, Amount: 8700}}}
	e, o := a.EarnPurchase(in, "01JENTRYEARN00000000000000", p, now)
	earn, err := s.build(a, 12, false, points.Change{Entries: []points.Entry{*e}, Order: &o, NewOrder: true}, points.Write{})
	if err != nil {
		t.Fatal(err)
	}
	items, units, sizes := writeUnits(earn)
	report["earn"] = [3]int{items, units, maxOf(sizes)}
	if items > 3 {
		t.Errorf("an earn writes %d items, want at most 3", items)
	}
	for _, sz := range sizes {
		if sz > 1024 {
			t.Errorf("an earn writes an item of %d bytes (sizes %v), want ≤ 1 KB", sz, sizes)
		}
	}

	// Redeem with an idempotency receipt.
	r, err := a.Spend(points.Entry{ID: "01JENTRYREDEEM000000000000", MemberID: a.MemberID, Kind: points.Redeem, Reason: "reward:COUPON-50", Amount: 500, At: now})
	if err != nil {
		t.Fatal(err)
	}
	res := idempotency.Reservation{StorageKey: idempotency.StorageKey("member:x", "k"), RequestHash: idempotency.RequestHash("POST", "/x", []byte(`{}`)), Token: "0123456789abcdef0123456789abcdef"}
	redeem, err := s.build(a, 13, false, points.Change{Entries: []points.Entry{r}}, points.Write{Reservation: &res,
		Receipt: func(*points.Account, points.Change) (idempotency.Receipt, error) {
			return idempotency.Receipt{Status: 201, Headers: map[string]string{"Content-Type": "application/json"},
				Body: `{"entry":{"id":"01JENTRYREDEEM000000000000","kind":"redeem","amount":-500},"available":6580,"pending":0}`}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	items, units, sizes = writeUnits(redeem)
	report["redeem"] = [3]int{items, units, maxOf(sizes)}

	// Reverse: one line of the purchase comes back.
	rev, err := a.ReverseReturn(points.Return{ReturnID: "RET-1", OrderID: o.ID, Lines: []points.ReturnLine{{LineID: "2", Quantity: 1}}}, &o, "01JENTRYREVERSE00000000000", p, now)
	if err != nil {
		t.Fatal(err)
	}
	reverse, err := s.build(a, 14, false, points.Change{Entries: []points.Entry{*rev}, Order: &o, Seen: []string{"return:RET-1"}}, points.Write{})
	if err != nil {
		t.Fatal(err)
	}
	items, units, sizes = writeUnits(reverse)
	report["reverse"] = [3]int{items, units, maxOf(sizes)}
	for op, r := range report {
		t.Logf("%-8s %d items, %2d write request units, largest item %d bytes", op, r[0], r[1], r[2])
	}
}

func maxOf(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
