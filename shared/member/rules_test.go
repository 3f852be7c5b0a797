package member_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"clientele/shared/fault"
	"clientele/shared/member"
)

// now is the fixed clock of these tests: noon UTC, 20:00 in China.
var now = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

var cn = member.Rules{DefaultRegion: "CN"}

func granted(b bool) *bool { return &b }

// fieldsOf returns the field errors of an Invalid fault, failing otherwise.
func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	if err == nil {
		t.Fatal("err = nil, want an Invalid fault")
	}
	var e *fault.Error
	if !errors.As(err, &e) || e.Kind != fault.Invalid {
		t.Fatalf("err = %v, want an Invalid *fault.Error", err)
	}
	out := map[string]string{}
	for _, f := range e.Fields {
		if _, dup := out[f.Field]; dup {
			out[f.Field] += "; " + f.Reason
		} else {
			out[f.Field] = f.Reason
		}
	}
	return out
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"ann@example.com", "ann@example.com", true},
		{"Ann@Example.COM", "ann@example.com", true},
		{"  ann.lee+vip@mail.example.cn \t", "ann.lee+vip@mail.example.cn", true},
		{"a@b.co", "a@b.co", true},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 180) + ".com", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 180) + ".com", true},
		{"", "", false},
		{"   ", "", false},
		{"ann", "", false},
		{"ann@", "", false},
		{"@example.com", "", false},
		{"ann@example", "", false},
		{"ann@example.", "", false},
		{"ann@example..com", "", false},
		{"ann@@example.com", "", false},
		{"ann lee@example.com", "", false},
		{"Ann <ann@example.com>", "", false},
		{"<ann@example.com>", "", false},
		{"ann@example.com, bob@example.com", "", false},
		{"ann@example.com (Ann)", "", false},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", "", false}, // 255 characters
	}
	for _, c := range cases {
		got, err := member.NormalizeEmail(c.in)
		if c.ok {
			if err != nil || got != c.want {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("NormalizeEmail(%q) = %q, want an error", c.in, got)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, region, want string
		ok               bool
	}{
		{"13800138000", "CN", "+8613800138000", true},
		{"138 0013 8000", "CN", "+8613800138000", true},
		{"138-0013-8000", "CN", "+8613800138000", true},
		{" 138 0013-8000 ", "CN", "+8613800138000", true},
		{"+86 138 0013 8000", "CN", "+8613800138000", true},
		{"+8613800138000", "US", "+8613800138000", true},
		{"+1 650-253-0000", "CN", "+16502530000", true},
		{"(650) 253-0000", "US", "+16502530000", true},
		{"010 6552 9988", "CN", "+861065529988", true},
		{"+44 20 7031 3000", "CN", "+442070313000", true},
		{"12345", "CN", "", false},
		{"1380013800", "CN", "", false},   // one digit short
		{"138001380001", "CN", "", false}, // one digit long
		{"(650) 253-0000", "CN", "", false},
		{"+1 650-253-000", "CN", "", false},
		{"", "CN", "", false},
		{"   ", "CN", "", false},
		{"phone", "CN", "", false},
		{"+86 138 0013 8000 ext. 1234567890123", "CN", "", false}, // longer than 32 characters
		{"13800138000", "", "", false},                            // no region, no country code
	}
	for _, c := range cases {
		got, err := member.NormalizePhone(c.in, c.region)
		if c.ok {
			if err != nil || got != c.want {
				t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", c.in, c.region, got, err, c.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("NormalizePhone(%q, %q) = %q, want an error", c.in, c.region, got)
		}
	}
}

// TestNormalizePhoneFullWidthDigits: Chinese input methods commonly produce
// full-width digits and spaces (11 full-width digits are 33 bytes, so a
// length guard must not count bytes).
func TestNormalizePhoneFullWidthDigits(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"１３８００１３８０００", "１３８ ００１３ ８０００", "＋８６　１３８　００１３　８０００"} {
		got, err := member.NormalizePhone(in, "CN")
		if err != nil || got != "+8613800138000" {
			t.Errorf("NormalizePhone(%q, CN) = %q, %v; want +8613800138000", in, got, err)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"Ann Lee", "Ann Lee", true},
		{"  Ann Lee \n", "Ann Lee", true},
		{"李宁", "李宁", true},
		{"Zoë O'Brien-Smith", "Zoë O'Brien-Smith", true},
		{strings.Repeat("李", 100), strings.Repeat("李", 100), true},
		{strings.Repeat("a", 100), strings.Repeat("a", 100), true},
		{strings.Repeat("李", 101), "", false},
		{strings.Repeat("a", 101), "", false},
		{"", "", false},
		{" \t\n ", "", false},
		{"Ann\x00Lee", "", false},
		{"Ann\nLee", "", false},
		{"Ann\tLee", "", false},
		{"Ann\u0085Lee", "", false},
		{"Ann\x1b[31mLee", "", false},
		{"Ann\xffLee", "", false},
	}
	for _, c := range cases {
		got, err := member.NormalizeName(c.in)
		if c.ok {
			if err != nil || got != c.want {
				t.Errorf("NormalizeName(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("NormalizeName(%q) = %q, want an error", c.in, got)
		}
	}
}

func TestCheckBirthday(t *testing.T) {
	t.Parallel()
	early := time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC) // 23:00 on 1 June in UTC+14
	cases := []struct {
		name   string
		in     string
		now    time.Time
		reason string // "" means valid
	}{
		{"today", "2024-06-01", now, ""},
		{"today in UTC+14", "2024-06-02", now, ""},
		{"today in UTC+14, clock in Shanghai", "2024-06-02", now.In(time.FixedZone("CST", 8*3600)), ""},
		{"tomorrow everywhere", "2024-06-02", early, "future"},
		{"the day after tomorrow", "2024-06-03", now, "future"},
		{"next year", "2025-06-01", now, "future"},
		{"yesterday", "2024-05-31", now, ""},
		{"leap day", "2000-02-29", now, ""},
		{"1900", "1900-01-01", now, ""},
		{"before 1900", "1899-12-31", now, "1900"},
		{"year one", "0001-01-01", now, "1900"},
		{"no leap day", "2001-02-29", now, "YYYY-MM-DD"},
		{"month 13", "2000-13-01", now, "YYYY-MM-DD"},
		{"day 32", "2000-01-32", now, "YYYY-MM-DD"},
		{"no zero padding", "2000-1-1", now, "YYYY-MM-DD"},
		{"slashes", "01/02/2000", now, "YYYY-MM-DD"},
		{"dotted", "2000.01.02", now, "YYYY-MM-DD"},
		{"timestamp", "2000-01-02T00:00:00Z", now, "YYYY-MM-DD"},
		{"leading space", " 2000-01-02", now, "YYYY-MM-DD"},
		{"empty", "", now, "YYYY-MM-DD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := member.CheckBirthday(c.in, c.now)
			if c.reason == "" {
				if err != nil {
					t.Fatalf("CheckBirthday(%q) = %v, want nil", c.in, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("CheckBirthday(%q) = %v, want an error mentioning %q", c.in, err, c.reason)
			}
		})
	}
}

func validSignup() member.SignupInput {
	return member.SignupInput{
		Email:          " Ann.Lee@Example.COM ",
		Phone:          "138 0013 8000",
		Name:           "  李安 ",
		Birthday:       "1990-05-20",
		PreferredStore: "xm-siming_01",
		SignupChannel:  "app",
		ReferralCode:   "abcd2345",
		Consents: []member.ConsentInput{
			{Purpose: "marketing", Channel: "sms", Granted: granted(true)},
			{Purpose: "marketing", Channel: "email", Granted: granted(false), Source: "pos:store-42"},
			{Purpose: "profiling", Granted: granted(true)},
		},
	}
}

func TestNewMemberValid(t *testing.T) {
	t.Parallel()
	at := now.In(time.FixedZone("CST", 8*3600))
	m, hist, err := member.NewMember(validSignup(), "service", at, cn)
	if err != nil {
		t.Fatalf("NewMember: %v", err)
	}
	want := member.Member{
		Status:         member.Active,
		Email:          "ann.lee@example.com",
		Phone:          "+8613800138000",
		Name:           "李安",
		Birthday:       "1990-05-20",
		PreferredStore: "xm-siming_01",
		SignupChannel:  member.ChannelApp,
		CreatedAt:      now,
		UpdatedAt:      now,
		Version:        1,
	}
	got := m
	got.Consents = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("member =\n %+v\nwant\n %+v", got, want)
	}
	if m.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt in %v, want UTC", m.CreatedAt.Location())
	}
	if m.ID != "" || m.ReferralCode != "" {
		t.Errorf("NewMember must leave id and referral code to the caller: %q %q", m.ID, m.ReferralCode)
	}
	wantConsents := []member.Consent{
		{Purpose: member.Marketing, Channel: member.SMS, Granted: true, Source: "signup:app", UpdatedAt: now},
		{Purpose: member.Marketing, Channel: member.Email, Granted: false, Source: "pos:store-42", UpdatedAt: now},
		{Purpose: member.Profiling, Channel: member.AnyChannel, Granted: true, Source: "signup:app", UpdatedAt: now},
	}
	if !slices.Equal(m.Consents, wantConsents) {
		t.Errorf("consents =\n %+v\nwant\n %+v", m.Consents, wantConsents)
	}
	if len(hist) != len(wantConsents) {
		t.Fatalf("history has %d entries, want %d", len(hist), len(wantConsents))
	}
	for i, h := range hist {
		if h.Consent != wantConsents[i] || h.RecordedBy != "service" {
			t.Errorf("history[%d] = %+v", i, h)
		}
	}
}

func TestNewMemberEmailOrPhone(t *testing.T) {
	t.Parallel()
	onlyPhone := member.SignupInput{Phone: "13800138000", SignupChannel: "store"}
	m, hist, err := member.NewMember(onlyPhone, "service", now, cn)
	if err != nil || m.Phone != "+8613800138000" || m.Email != "" || len(hist) != 0 {
		t.Fatalf("phone only: %+v %v %v", m, hist, err)
	}
	onlyEmail := member.SignupInput{Email: "a@b.cn", SignupChannel: "online"}
	if m, _, err := member.NewMember(onlyEmail, "member", now, cn); err != nil || m.Email != "a@b.cn" {
		t.Fatalf("email only: %+v %v", m, err)
	}
	_, _, err = member.NewMember(member.SignupInput{Name: "Ann", SignupChannel: "app"}, "member", now, cn)
	fs := fieldsOf(t, err)
	if fs["email"] == "" || fs["phone"] == "" {
		t.Fatalf("neither email nor phone: fields = %v", fs)
	}
}

func TestNewMemberCollectsAllFieldErrors(t *testing.T) {
	t.Parallel()
	in := member.SignupInput{
		Email:          "not-an-email",
		Phone:          "12345",
		Name:           "Ann\x00",
		Birthday:       "2999-01-01",
		PreferredStore: "store 42!",
		SignupChannel:  "fax",
		ReferralCode:   "ILOU0000",
		Consents: []member.ConsentInput{
			{Purpose: "marketing", Granted: granted(true)},
			{Purpose: "selling", Channel: "email", Granted: granted(true)},
		},
	}
	m, hist, err := member.NewMember(in, "member", now, cn)
	fs := fieldsOf(t, err)
	for _, f := range []string{"email", "phone", "name", "birthday", "preferred_store", "signup_channel", "referral_code", "consents[0].channel", "consents[1].purpose"} {
		if fs[f] == "" {
			t.Errorf("no error for %s; fields = %v", f, fs)
		}
	}
	if m.Email != "" || m.Status != "" || hist != nil {
		t.Errorf("a failed signup returned data: %+v %+v", m, hist)
	}
}

func TestNewMemberFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		edit  func(*member.SignupInput)
		field string // "" means valid
	}{
		{"referral code lower case", func(in *member.SignupInput) { in.ReferralCode = "abcd2345" }, ""},
		{"referral code too short", func(in *member.SignupInput) { in.ReferralCode = "ABCD234" }, "referral_code"},
		{"referral code with I", func(in *member.SignupInput) { in.ReferralCode = "ABCDEFGI" }, "referral_code"},
		{"store id 64 characters", func(in *member.SignupInput) { in.PreferredStore = strings.Repeat("s", 64) }, ""},
		{"store id 65 characters", func(in *member.SignupInput) { in.PreferredStore = strings.Repeat("s", 65) }, "preferred_store"},
		{"store id starts with dash", func(in *member.SignupInput) { in.PreferredStore = "-s1" }, "preferred_store"},
		{"channel online", func(in *member.SignupInput) { in.SignupChannel = "online" }, ""},
		{"channel store", func(in *member.SignupInput) { in.SignupChannel = "store" }, ""},
		{"channel social", func(in *member.SignupInput) { in.SignupChannel = "social" }, ""},
		{"channel missing", func(in *member.SignupInput) { in.SignupChannel = "" }, "signup_channel"},
		{"channel upper case", func(in *member.SignupInput) { in.SignupChannel = "APP" }, "signup_channel"},
		{"birthday in the future", func(in *member.SignupInput) { in.Birthday = "2024-06-03" }, "birthday"},
		{"birthday malformed", func(in *member.SignupInput) { in.Birthday = "20/05/1990" }, "birthday"},
		{"name too long", func(in *member.SignupInput) { in.Name = strings.Repeat("n", 101) }, "name"},
		{"blank email", func(in *member.SignupInput) { in.Email = "  " }, "email"},
		{"phone of another region", func(in *member.SignupInput) { in.Phone = "+1 650-253-0000" }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := validSignup()
			c.edit(&in)
			_, _, err := member.NewMember(in, "member", now, cn)
			if c.field == "" {
				if err != nil {
					t.Fatalf("NewMember: %v", err)
				}
				return
			}
			fs := fieldsOf(t, err)
			if fs[c.field] == "" || len(fs) != 1 {
				t.Fatalf("fields = %v, want only %s", fs, c.field)
			}
		})
	}
}

func TestNewMemberConsents(t *testing.T) {
	t.Parallel()
	many := make([]member.ConsentInput, 21)
	for i := range many {
		many[i] = member.ConsentInput{Purpose: "profiling", Granted: granted(true)}
	}
	cases := []struct {
		name     string
		consents []member.ConsentInput
		field    string // "" means valid
		want     []member.Consent
	}{
		{"none", nil, "", nil},
		{"marketing by email", []member.ConsentInput{{Purpose: "marketing", Channel: "email", Granted: granted(true)}}, "",
			[]member.Consent{{Purpose: member.Marketing, Channel: member.Email, Granted: true, Source: "signup:store", UpdatedAt: now}}},
		{"marketing by push, refused", []member.ConsentInput{{Purpose: "marketing", Channel: "push", Granted: granted(false)}}, "",
			[]member.Consent{{Purpose: member.Marketing, Channel: member.Push, Granted: false, Source: "signup:store", UpdatedAt: now}}},
		{"profiling defaults to any channel", []member.ConsentInput{{Purpose: "profiling", Granted: granted(false)}}, "",
			[]member.Consent{{Purpose: member.Profiling, Channel: member.AnyChannel, Source: "signup:store", UpdatedAt: now}}},
		{"data processing with explicit source", []member.ConsentInput{{Purpose: "data_processing", Channel: "any", Granted: granted(true), Source: " kiosk-7 "}}, "",
			[]member.Consent{{Purpose: member.DataProcessing, Channel: member.AnyChannel, Granted: true, Source: "kiosk-7", UpdatedAt: now}}},
		{"marketing needs a channel", []member.ConsentInput{{Purpose: "marketing", Granted: granted(true)}}, "consents[0].channel", nil},
		{"marketing on any channel", []member.ConsentInput{{Purpose: "marketing", Channel: "any", Granted: granted(true)}}, "consents[0].channel", nil},
		{"unknown purpose", []member.ConsentInput{{Purpose: "resale", Granted: granted(true)}}, "consents[0].purpose", nil},
		{"unknown channel", []member.ConsentInput{{Purpose: "marketing", Channel: "fax", Granted: granted(true)}}, "consents[0].channel", nil},
		{"granted missing", []member.ConsentInput{{Purpose: "marketing", Channel: "sms"}}, "consents[0].granted", nil},
		{"source too long", []member.ConsentInput{{Purpose: "profiling", Granted: granted(true), Source: strings.Repeat("s", 65)}}, "consents[0].source", nil},
		{"duplicate purpose and channel", []member.ConsentInput{
			{Purpose: "marketing", Channel: "sms", Granted: granted(true)},
			{Purpose: "marketing", Channel: "sms", Granted: granted(false)},
		}, "consents[1].purpose", nil},
		{"duplicate via the default channel", []member.ConsentInput{
			{Purpose: "profiling", Granted: granted(true)},
			{Purpose: "profiling", Channel: "any", Granted: granted(true)},
		}, "consents[1].purpose", nil},
		{"more than 20", many, "consents", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := member.SignupInput{Phone: "13800138000", SignupChannel: "store", Consents: c.consents}
			m, hist, err := member.NewMember(in, "staff", now, cn)
			if c.field == "" {
				if err != nil {
					t.Fatalf("NewMember: %v", err)
				}
				if !slices.Equal(m.Consents, c.want) {
					t.Fatalf("consents = %+v, want %+v", m.Consents, c.want)
				}
				if len(hist) != len(c.want) {
					t.Fatalf("history = %+v", hist)
				}
				return
			}
			if fs := fieldsOf(t, err); fs[c.field] == "" {
				t.Fatalf("fields = %v, want %s", fs, c.field)
			}
		})
	}
}

// TestNewMemberBadChannelBlamesOnlyTheChannel: an invalid signup_channel
// must be reported once, on signup_channel; it must not also invent an error
// on a consent's source the client never sent.
func TestNewMemberBadChannelBlamesOnlyTheChannel(t *testing.T) {
	t.Parallel()
	in := member.SignupInput{
		Phone:         "13800138000",
		SignupChannel: strings.Repeat("x", 60),
		Consents:      []member.ConsentInput{{Purpose: "profiling", Granted: granted(true)}},
	}
	_, _, err := member.NewMember(in, "member", now, cn)
	fs := fieldsOf(t, err)
	if fs["signup_channel"] == "" {
		t.Fatalf("fields = %v, want signup_channel", fs)
	}
	if reason, ok := fs["consents[0].source"]; ok {
		t.Errorf("consents[0].source blamed (%q) for a source the client did not send", reason)
	}
}
