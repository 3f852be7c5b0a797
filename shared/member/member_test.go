package member_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"clientele/shared/apigw"
	"clientele/shared/fault"
	"clientele/shared/member"
)

var later = now.Add(36 * time.Hour)

func existing() member.Member {
	return member.Member{
		ID:             "01HZX3R8J6W9Q2M4N5P7T8V9AB",
		Status:         member.Active,
		Email:          "ann@example.com",
		Phone:          "+8613800138000",
		Name:           "Ann",
		Birthday:       "1990-05-20",
		PreferredStore: "xm-01",
		SignupChannel:  member.ChannelApp,
		ReferralCode:   "ABCD2345",
		ReferredBy:     "01HZREFERRER00000000000000",
		Consents: []member.Consent{
			{Purpose: member.Marketing, Channel: member.Email, Granted: true, Source: "signup:app", UpdatedAt: now},
			{Purpose: member.Profiling, Channel: member.AnyChannel, Granted: true, Source: "signup:app", UpdatedAt: now},
		},
		CreatedAt: now,
		UpdatedAt: now,
		Version:   3,
	}
}

// patch decodes a merge patch the way the handler does.
func patch(t *testing.T, body string) member.PatchInput {
	t.Helper()
	var p member.PatchInput
	if err := apigw.DecodeStrict([]byte(body), &p); err != nil {
		t.Fatalf("DecodeStrict(%s): %v", body, err)
	}
	return p
}

func TestPatchInputDecoding(t *testing.T) {
	t.Parallel()
	p := patch(t, `{"email":null,"name":"Bo","birthday":""}`)
	if !p.Email.Set || !p.Email.Null {
		t.Errorf("email = %+v, want set and null", p.Email)
	}
	if !p.Name.Set || p.Name.Null || p.Name.Value != "Bo" {
		t.Errorf("name = %+v, want set to Bo", p.Name)
	}
	if !p.Birthday.Set || p.Birthday.Null || p.Birthday.Value != "" {
		t.Errorf("birthday = %+v, want set to the empty string", p.Birthday)
	}
	if p.Phone.Set || p.PreferredStore.Set {
		t.Errorf("absent fields marked set: %+v %+v", p.Phone, p.PreferredStore)
	}

	cases := []struct{ body, field string }{
		{`{"email":5}`, "email"},
		{`{"name":["Bo"]}`, "name"},
		{`{"birthday":{"y":1990}}`, "birthday"},
		{`{"status":"erased"}`, "status"},
		{`{"version":7}`, "version"},
	}
	for _, c := range cases {
		var p member.PatchInput
		err := apigw.DecodeStrict([]byte(c.body), &p)
		e, ok := fault.As(err)
		if !ok || e.Kind != fault.Invalid || len(e.Fields) == 0 || e.Fields[0].Field != c.field {
			t.Errorf("DecodeStrict(%s) = %v, want Invalid naming %s", c.body, err, c.field)
		}
	}
}

func TestApplyPatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		body  string
		edit  func(*member.Member) // the expected change; nil when the patch is refused
		field string
	}{
		{"empty patch keeps everything", `{}`, func(m *member.Member) {}, ""},
		{"absent keeps, value replaces", `{"name":"  Bo  "}`, func(m *member.Member) { m.Name = "Bo" }, ""},
		{"email normalised", `{"email":"Bo@Example.CN"}`, func(m *member.Member) { m.Email = "bo@example.cn" }, ""},
		{"phone normalised", `{"phone":"139 0000 0000"}`, func(m *member.Member) { m.Phone = "+8613900000000" }, ""},
		{"null clears email, phone stays", `{"email":null}`, func(m *member.Member) { m.Email = "" }, ""},
		{"null clears phone, email stays", `{"phone":null}`, func(m *member.Member) { m.Phone = "" }, ""},
		{"empty string clears phone", `{"phone":""}`, func(m *member.Member) { m.Phone = "" }, ""},
		{"swap email for phone", `{"email":null,"phone":"13900000000"}`, func(m *member.Member) { m.Email = ""; m.Phone = "+8613900000000" }, ""},
		{"null clears optional fields", `{"name":null,"birthday":null,"preferred_store":null}`,
			func(m *member.Member) { m.Name = ""; m.Birthday = ""; m.PreferredStore = "" }, ""},
		{"birthday replaced", `{"birthday":"1991-01-02"}`, func(m *member.Member) { m.Birthday = "1991-01-02" }, ""},
		{"store replaced", `{"preferred_store":"sz_02"}`, func(m *member.Member) { m.PreferredStore = "sz_02" }, ""},
		{"cannot remove both", `{"email":null,"phone":null}`, nil, "email"},
		{"cannot remove both with empty strings", `{"email":"","phone":""}`, nil, "email"},
		{"invalid email", `{"email":"bo"}`, nil, "email"},
		{"invalid phone", `{"phone":"12345"}`, nil, "phone"},
		{"invalid name", `{"name":"a\u0000b"}`, nil, "name"},
		{"future birthday", `{"birthday":"2024-06-04"}`, nil, "birthday"},
		{"invalid store", `{"preferred_store":"a b"}`, nil, "preferred_store"},
		{"one invalid field refuses the whole patch", `{"name":"Bo","phone":"12345"}`, nil, "phone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := existing()
			err := member.ApplyPatch(&m, patch(t, c.body), later, cn)
			if c.edit == nil {
				if fs := fieldsOf(t, err); fs[c.field] == "" {
					t.Fatalf("fields = %v, want %s", fs, c.field)
				}
				if !reflect.DeepEqual(m, existing()) {
					t.Fatalf("a refused patch changed the member:\n %+v", m)
				}
				return
			}
			if err != nil {
				t.Fatalf("ApplyPatch: %v", err)
			}
			want := existing()
			c.edit(&want)
			want.UpdatedAt = later
			if !reflect.DeepEqual(m, want) {
				t.Fatalf("member =\n %+v\nwant\n %+v", m, want)
			}
		})
	}
}

func TestApplyPatchSoleContact(t *testing.T) {
	t.Parallel()
	m := existing()
	m.Phone = ""
	err := member.ApplyPatch(&m, patch(t, `{"email":null}`), later, cn)
	if fs := fieldsOf(t, err); fs["email"] == "" {
		t.Fatalf("fields = %v, want email", fs)
	}
	if m.Email != "ann@example.com" {
		t.Fatalf("email removed: %+v", m)
	}
	// Touching other fields of a member with one contact is fine.
	if err := member.ApplyPatch(&m, patch(t, `{"name":"Bo"}`), later, cn); err != nil || m.Name != "Bo" {
		t.Fatalf("ApplyPatch(name) = %v, %+v", err, m)
	}
}

func TestApplyPatchErasedMember(t *testing.T) {
	t.Parallel()
	m := member.Tombstone(existing(), now)
	before := m
	err := member.ApplyPatch(&m, patch(t, `{"email":"bo@example.com"}`), later, cn)
	if !fault.Is(err, fault.Conflict) {
		t.Fatalf("ApplyPatch on an erased member = %v, want Conflict", err)
	}
	if !reflect.DeepEqual(m, before) {
		t.Fatalf("erased member changed: %+v", m)
	}
}

func TestApplyConsents(t *testing.T) {
	t.Parallel()
	m := existing()
	in := member.ConsentsInput{Consents: []member.ConsentInput{
		{Purpose: "marketing", Channel: "email", Granted: granted(false)},
		{Purpose: "marketing", Channel: "sms", Granted: granted(true), Source: "store:xm-01"},
	}}
	hist, err := member.ApplyConsents(&m, in, "member", later)
	if err != nil {
		t.Fatalf("ApplyConsents: %v", err)
	}
	want := []member.Consent{
		{Purpose: member.Marketing, Channel: member.Email, Granted: false, Source: "member", UpdatedAt: later},
		{Purpose: member.Profiling, Channel: member.AnyChannel, Granted: true, Source: "signup:app", UpdatedAt: now},
		{Purpose: member.Marketing, Channel: member.SMS, Granted: true, Source: "store:xm-01", UpdatedAt: later},
	}
	if !slices.Equal(m.Consents, want) {
		t.Errorf("consents =\n %+v\nwant\n %+v", m.Consents, want)
	}
	wantHist := []member.ConsentRecord{
		{Consent: want[0], RecordedBy: "member"},
		{Consent: want[2], RecordedBy: "member"},
	}
	if !slices.Equal(hist, wantHist) {
		t.Errorf("history =\n %+v\nwant\n %+v", hist, wantHist)
	}
	if !m.UpdatedAt.Equal(later) {
		t.Errorf("UpdatedAt = %v", m.UpdatedAt)
	}
	// Other fields are untouched.
	rest := m
	rest.Consents, rest.UpdatedAt = nil, now
	base := existing()
	base.Consents = nil
	if !reflect.DeepEqual(rest, base) {
		t.Errorf("ApplyConsents changed other fields: %+v", rest)
	}
}

func TestApplyConsentsRecordedBy(t *testing.T) {
	t.Parallel()
	for _, caller := range []string{"member", "staff", "service"} {
		m := existing()
		hist, err := member.ApplyConsents(&m, member.ConsentsInput{Consents: []member.ConsentInput{
			{Purpose: "data_processing", Granted: granted(true)},
		}}, caller, later)
		if err != nil || len(hist) != 1 || hist[0].RecordedBy != caller || hist[0].Channel != member.AnyChannel {
			t.Errorf("caller %s: history %+v, %v", caller, hist, err)
		}
		if len(m.Consents) != 3 {
			t.Errorf("caller %s: %d consents, want 3 (appended)", caller, len(m.Consents))
		}
	}
}

func TestApplyConsentsRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		m     member.Member
		in    member.ConsentsInput
		kind  fault.Kind
		field string
	}{
		{"empty list", existing(), member.ConsentsInput{}, fault.Invalid, "consents"},
		{"marketing without channel", existing(), member.ConsentsInput{Consents: []member.ConsentInput{
			{Purpose: "marketing", Granted: granted(false)},
		}}, fault.Invalid, "consents[0].channel"},
		{"one bad entry refuses all", existing(), member.ConsentsInput{Consents: []member.ConsentInput{
			{Purpose: "marketing", Channel: "sms", Granted: granted(true)},
			{Purpose: "marketing", Channel: "sms", Granted: granted(false)},
		}}, fault.Invalid, "consents[1].purpose"},
		{"erased member", member.Tombstone(existing(), now), member.ConsentsInput{Consents: []member.ConsentInput{
			{Purpose: "profiling", Granted: granted(false)},
		}}, fault.Conflict, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := c.m
			before := c.m
			before.Consents = slices.Clone(c.m.Consents)
			hist, err := member.ApplyConsents(&m, c.in, "member", later)
			if !fault.Is(err, c.kind) {
				t.Fatalf("err = %v, want %s", err, c.kind)
			}
			if c.field != "" {
				if fs := fieldsOf(t, err); fs[c.field] == "" {
					t.Fatalf("fields = %v, want %s", fs, c.field)
				}
			}
			if hist != nil || !reflect.DeepEqual(m, before) {
				t.Fatalf("refused change applied: %+v %+v", m, hist)
			}
		})
	}
}

func TestTombstone(t *testing.T) {
	t.Parallel()
	m := existing()
	at := later.In(time.FixedZone("CST", 8*3600))
	tomb := member.Tombstone(m, at)
	want := member.Member{
		ID:            m.ID,
		Status:        member.Erased,
		SignupChannel: m.SignupChannel,
		CreatedAt:     m.CreatedAt,
		UpdatedAt:     later,
		ErasedAt:      later,
		Version:       4,
	}
	if !reflect.DeepEqual(tomb, want) {
		t.Errorf("Tombstone =\n %+v\nwant\n %+v", tomb, want)
	}
	if tomb.ErasedAt.Location() != time.UTC {
		t.Errorf("ErasedAt in %v, want UTC", tomb.ErasedAt.Location())
	}
	// No personal data survives, whatever the field is called.
	raw, err := json.Marshal(tomb)
	if err != nil {
		t.Fatal(err)
	}
	for _, pii := range []string{m.Email, m.Phone, m.Name, m.Birthday, m.PreferredStore, m.ReferralCode, m.ReferredBy, "marketing", "consents"} {
		if strings.Contains(string(raw), pii) {
			t.Errorf("tombstone keeps %q: %s", pii, raw)
		}
	}
	// Every field other than the ones kept is zero.
	kept := map[string]bool{"ID": true, "Status": true, "SignupChannel": true, "CreatedAt": true, "UpdatedAt": true, "ErasedAt": true, "Version": true}
	v := reflect.ValueOf(tomb)
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if !kept[name] && !v.Field(i).IsZero() {
			t.Errorf("tombstone field %s = %v, want zero", name, v.Field(i).Interface())
		}
	}
}

func TestNewReferralCode(t *testing.T) {
	t.Parallel()
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	seen := map[string]bool{}
	counts := map[rune]int{}
	const n = 2000
	for range n {
		code := member.NewReferralCode()
		if len(code) != 8 {
			t.Fatalf("code %q has %d characters, want 8", code, len(code))
		}
		for _, r := range code {
			if !strings.ContainsRune(alphabet, r) {
				t.Fatalf("code %q has %q outside the alphabet", code, r)
			}
			counts[r]++
		}
		// A generated code is accepted by signup's referral code check.
		in := member.SignupInput{Phone: "13800138000", SignupChannel: "app", ReferralCode: code}
		if _, _, err := member.NewMember(in, "member", now, cn); err != nil {
			t.Fatalf("code %q refused at signup: %v", code, err)
		}
		seen[code] = true
	}
	// 32^8 ≈ 1.1e12 codes: 2000 draws colliding is a broken generator.
	if len(seen) != n {
		t.Errorf("%d distinct codes out of %d", len(seen), n)
	}
	// 16000 characters over 32 symbols: each expected 500 times. A symbol
	// below 300 or above 700 means the draw is biased or not random.
	for _, r := range alphabet {
		if c := counts[r]; c < 300 || c > 700 {
			t.Errorf("symbol %q drawn %d times, want about 500", r, c)
		}
	}
}
