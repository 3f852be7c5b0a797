package phone

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, region, want string
		err              error
	}{
		{"13800138000", "CN", "+8613800138000", nil},
		{"138-0013-8000", "CN", "+8613800138000", nil},
		{"+86 138 0013 8000", "US", "+8613800138000", nil},
		{"0086 13800138000", "US", "+8613800138000", nil},
		{"１３８００１３８０００", "CN", "+8613800138000", nil},
		{"010 6552 9988", "CN", "+861065529988", nil},
		{"(650) 253-0000", "US", "+16502530000", nil},
		{"+1 650-253-0000", "CN", "+16502530000", nil},
		{"020 7946 0018", "GB", "+442079460018", nil},
		{"+44 (0)20 7946 0018", "CN", "+442079460018", nil},
		{"06 12 34 56 78", "FR", "+33612345678", nil},
		{"12345", "CN", "", ErrInvalid},
		{"1380013800", "CN", "", ErrInvalid},
		{"+999 1234567", "CN", "", ErrInvalid},
		{"call me", "CN", "", ErrNotANumber},
		{"138 0013 8000 ext 12", "CN", "", ErrNotANumber},
		{"1+3800138000", "CN", "", ErrNotANumber},
		{"13800138000", "XX", "", ErrRegion},
		{"", "CN", "", ErrNotANumber},
	}
	for _, c := range cases {
		got, err := Normalize(c.in, c.region)
		if got != c.want || err != c.err {
			t.Errorf("Normalize(%q, %s) = %q, %v; want %q, %v", c.in, c.region, got, err, c.want, c.err)
		}
	}
}

// TestAgreesWithLibphonenumber checks the generated plans against the
// library they come from: every region's example numbers, written
// nationally and internationally, and random digit strings.
func TestAgreesWithLibphonenumber(t *testing.T) {
	t.Parallel()
	checked, disagree := 0, 0
	check := func(in, region string) {
		checked++
		want := ""
		if n, err := phonenumbers.Parse(in, region); err == nil && phonenumbers.IsValidNumber(n) {
			want = phonenumbers.Format(n, phonenumbers.E164)
		}
		got, _ := Normalize(in, region)
		if got != want {
			disagree++
			if disagree <= 20 {
				t.Logf("Normalize(%q, %s) = %q, libphonenumber %q", in, region, got, want)
			}
		}
	}
	for _, region := range []string{"CN", "US", "GB", "DE", "FR", "JP", "KR", "HK", "TW", "SG", "IN", "BR", "AU", "IT", "MX", "AR"} {
		for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.MOBILE, phonenumbers.FIXED_LINE, phonenumbers.TOLL_FREE} {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			check(phonenumbers.Format(ex, phonenumbers.NATIONAL), region)
			check(phonenumbers.Format(ex, phonenumbers.INTERNATIONAL), "CN")
			check(phonenumbers.Format(ex, phonenumbers.E164), "US")
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 4000 {
		n := fmt.Sprintf("1%010d", r.Int64N(1e10))
		check(n, "CN")
		check(fmt.Sprintf("+%d", r.Int64N(1e12)), "CN")
	}
	// libphonenumber's parser accepts more notations than ours (letters,
	// extensions) and strips prefixes in a few more cases; on plain digits
	// the two must agree almost everywhere.
	if float64(disagree) > 0.002*float64(checked) {
		t.Errorf("%d of %d numbers disagree with libphonenumber", disagree, checked)
	}
}

func ExampleNormalize() {
	e164, _ := Normalize("138 0013 8000", "CN")
	fmt.Println(e164)
	// Output: +8613800138000
}
