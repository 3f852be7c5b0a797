package membergen_test

import (
	"reflect"
	"testing"
	"time"

	"clientele/shared/segment/membergen"
)

func TestMembersAreDeterministicAndValid(t *testing.T) {
	t.Parallel()
	asOf := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	c := membergen.Default(7, asOf)
	all := c.Members(0, 3000)
	if !reflect.DeepEqual(all[1000:1500], c.Members(1000, 1500)) {
		t.Fatal("member i depends on the range it was generated in")
	}
	if reflect.DeepEqual(all[:100], membergen.Default(8, asOf).Members(0, 100)) {
		t.Fatal("the seed does not change the members")
	}
	var buyers, consent, repeat int
	for i := range all {
		m := &all[i]
		if err := m.Validate(asOf); err != nil {
			t.Fatalf("member %d invalid: %v (%+v)", i, err, m)
		}
		if m.Purchased() {
			buyers++
			if m.PurchaseDays > 1 {
				repeat++
			}
		}
		if m.ProfilingConsent {
			consent++
		}
	}
	// shares near the configuration (70 % buyers minus those whose first
	// purchase would fall after the as-of date; 92 % consent)
	if buyers < 1800 || buyers > 2200 || consent < 2680 || consent > 2840 || repeat < buyers/3 {
		t.Errorf("buyers %d, repeat buyers %d, consenting %d of 3000", buyers, repeat, consent)
	}
}
