package member_test

import (
	"strings"
	"testing"
	"time"

	"clientele/shared/apigw"
	"clientele/shared/fault"
	"clientele/shared/member"
)

// FuzzSignupInput decodes arbitrary bytes as the signup body and runs the
// signup rules. It must never panic; every error is Invalid; an accepted
// signup holds a lower-case email, an E.164 phone, a birthday that is not in
// the future and only well-formed consents.
func FuzzSignupInput(f *testing.F) {
	seeds := []string{
		`{"email":"Ann@Example.com","signup_channel":"app"}`,
		`{"phone":"138 0013 8000","signup_channel":"store","birthday":"1990-05-20","name":"李安"}`,
		`{"phone":"+1 650-253-0000","email":"a@b.co","signup_channel":"online","preferred_store":"xm-01","referral_code":"abcd2345"}`,
		`{"email":"ann@example.com","signup_channel":"social","consents":[{"purpose":"marketing","channel":"sms","granted":true},{"purpose":"profiling","granted":false,"source":"kiosk"}]}`,
		`{"email":"ANN@EXAMPLE.COM","signup_channel":"app","birthday":"2024-06-02"}`,
		`{"signup_channel":"app"}`,
		`{"email":5}`,
		`{"consents":[{"purpose":"marketing"}]}`,
		`{"email":"İ@example.com","signup_channel":"app"}`,
		`{"phone":"１３８００１３８０００","signup_channel":"app"}`,
		`not json`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var in member.SignupInput
		if err := apigw.DecodeStrict(raw, &in); err != nil {
			if !fault.Is(err, fault.Invalid) {
				t.Fatalf("decode error %v is not Invalid", err)
			}
			return
		}
		m, hist, err := member.NewMember(in, "member", now, cn)
		if err != nil {
			if !fault.Is(err, fault.Invalid) {
				t.Fatalf("NewMember error %v is not Invalid", err)
			}
			if e, _ := fault.As(err); len(e.Fields) == 0 {
				t.Fatalf("NewMember error names no field: %v", err)
			}
			return
		}
		if m.Email == "" && m.Phone == "" {
			t.Fatalf("accepted a member without email or phone: %+v", in)
		}
		if m.Email != strings.ToLower(m.Email) {
			t.Fatalf("email %q is not lower-case", m.Email)
		}
		if m.Email != "" {
			if again, err := member.NormalizeEmail(m.Email); err != nil || again != m.Email {
				t.Fatalf("email %q does not normalise to itself: %q, %v", m.Email, again, err)
			}
		}
		if m.Phone != "" {
			if !strings.HasPrefix(m.Phone, "+") {
				t.Fatalf("phone %q is not E.164", m.Phone)
			}
			if again, err := member.NormalizePhone(m.Phone, "CN"); err != nil || again != m.Phone {
				t.Fatalf("phone %q does not normalise to itself: %q, %v", m.Phone, again, err)
			}
		}
		if m.Birthday != "" {
			d, err := time.Parse(time.DateOnly, m.Birthday)
			if err != nil {
				t.Fatalf("birthday %q: %v", m.Birthday, err)
			}
			// Not after now: the date has begun in the time zone furthest
			// ahead (UTC+14), which is what "not in the future in any time
			// zone" means.
			if d.After(now.Add(14*time.Hour)) || d.Year() < 1900 {
				t.Fatalf("birthday %q accepted at %v", m.Birthday, now)
			}
		}
		if m.Status != member.Active || m.Version != 1 || !m.CreatedAt.Equal(now) {
			t.Fatalf("member = %+v", m)
		}
		if len(hist) != len(m.Consents) {
			t.Fatalf("%d history entries for %d consents", len(hist), len(m.Consents))
		}
		seen := map[string]bool{}
		for i, c := range m.Consents {
			if c.Purpose == member.Marketing && c.Channel == member.AnyChannel {
				t.Fatalf("marketing consent without a channel: %+v", c)
			}
			if c.Source == "" || len(c.Source) > 64 {
				t.Fatalf("consent source %q", c.Source)
			}
			k := string(c.Purpose) + "/" + string(c.Channel)
			if seen[k] {
				t.Fatalf("duplicate consent %s", k)
			}
			seen[k] = true
			if hist[i].Consent != c || hist[i].RecordedBy != "member" {
				t.Fatalf("history[%d] = %+v for %+v", i, hist[i], c)
			}
		}
	})
}
