package membergen_test

import (
	"fmt"
	"testing"
	"time"

	"clientele/shared/segment/membergen"
)

// Member i of a seed is always the same member, so `make seed` can
// generate a million members in parallel chunks and tests can name them.
func ExampleConfig_Member() {
	asOf := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	gen := membergen.Default(42, asOf)
	for i := 0; i < 4; i++ {
		m := gen.Member(i)
		fmt.Printf("%s purchase_days=%d net=%d consent=%v\n", m.ID, m.PurchaseDays, m.NetSpend, m.ProfilingConsent)
	}
	// Output:
	// m000000000 purchase_days=3 net=105089 consent=true
	// m000000001 purchase_days=1 net=16588 consent=true
	// m000000002 purchase_days=2 net=94811 consent=true
	// m000000003 purchase_days=0 net=0 consent=true
}

func BenchmarkMember(b *testing.B) {
	gen := membergen.Default(1, time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC))
	i := 0
	for b.Loop() {
		_ = gen.Member(i)
		i++
	}
}
