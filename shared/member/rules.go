package member

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"clientele/shared/fault"
	"clientele/shared/phone"
)

// Rules are the settings validation depends on.
type Rules struct {
	// DefaultRegion parses phone numbers written without a country code
	// (ISO 3166 alpha-2, e.g. "CN").
	DefaultRegion string
}

// ConsentInput is one consent as a client sends it.
type ConsentInput struct {
	Purpose string `json:"purpose"`
	Channel string `json:"channel,omitempty"`
	Granted *bool  `json:"granted"`
	Source  string `json:"source,omitempty"`
}

// SignupInput is the body of POST /v1/members.
type SignupInput struct {
	Email          string         `json:"email,omitempty"`
	Phone          string         `json:"phone,omitempty"`
	Name           string         `json:"name,omitempty"`
	Birthday       string         `json:"birthday,omitempty"`
	PreferredStore string         `json:"preferred_store,omitempty"`
	SignupChannel  string         `json:"signup_channel"`
	Consents       []ConsentInput `json:"consents,omitempty"`
	ReferralCode   string         `json:"referral_code,omitempty"`
}

// Optional is a JSON merge-patch field: absent (Set false), null (Null
// true) or a value.
type Optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON records that the field was present.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// PatchInput is the body of PATCH /v1/members/{id} (JSON merge patch):
// absent fields stay, null clears an optional field.
type PatchInput struct {
	Email          Optional[string] `json:"email"`
	Phone          Optional[string] `json:"phone"`
	Name           Optional[string] `json:"name"`
	Birthday       Optional[string] `json:"birthday"`
	PreferredStore Optional[string] `json:"preferred_store"`
}

// ConsentsInput is the body of PUT /v1/members/{id}/consents.
type ConsentsInput struct {
	Consents []ConsentInput `json:"consents"`
}

var storeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
var referralCode = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{8}$`)

// NormalizeEmail lower-cases and checks an email address.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || utf8.RuneCountInString(s) > 254 {
		return "", fmt.Errorf("must be an email address of at most 254 characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", fmt.Errorf("not an email address")
	}
	local, domain, _ := strings.Cut(s, "@")
	if local == "" || !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", fmt.Errorf("not an email address")
	}
	return s, nil
}

// NormalizePhone parses a phone number (with the default region when it has
// no country code) into E.164.
func NormalizePhone(s, region string) (string, error) {
	e164, err := phone.Normalize(s, region)
	if errors.Is(err, phone.ErrRegion) {
		return "", fmt.Errorf("default region %q is not known", region)
	}
	if err != nil {
		return "", fmt.Errorf("not a valid phone number")
	}
	return e164, nil
}

// NormalizeName trims a name and checks its length and characters.
func NormalizeName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > 100 || !utf8.ValidString(s) {
		return "", fmt.Errorf("must be 1 to 100 characters")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", fmt.Errorf("must not contain control characters")
		}
	}
	return s, nil
}

// CheckBirthday checks a YYYY-MM-DD date that is not in the future (in any
// time zone) and not before 1900.
func CheckBirthday(s string, now time.Time) error {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return fmt.Errorf("must be a date in the form YYYY-MM-DD")
	}
	if d.After(now.UTC().Add(14 * time.Hour)) {
		return fmt.Errorf("must not be in the future")
	}
	if d.Year() < 1900 {
		return fmt.Errorf("must not be before 1900")
	}
	return nil
}

var purposes = map[Purpose]bool{Marketing: true, Profiling: true, DataProcessing: true}
var channels = map[ConsentChannel]bool{Email: true, SMS: true, Push: true, AnyChannel: true}
var signupChannels = map[Channel]bool{ChannelOnline: true, ChannelApp: true, ChannelStore: true, ChannelSocial: true}

// consents validates consent inputs. Marketing needs a contact channel;
// other purposes default to AnyChannel.
func consents(in []ConsentInput, defaultSource string, now time.Time, fs *fault.Fields) []Consent {
	if len(in) > 20 {
		fs.Add("consents", "at most 20 consents")
		return nil
	}
	seen := map[string]bool{}
	var out []Consent
	for i, c := range in {
		at := func(f string) string { return fmt.Sprintf("consents[%d].%s", i, f) }
		p := Purpose(c.Purpose)
		ch := ConsentChannel(c.Channel)
		if ch == "" {
			ch = AnyChannel
		}
		ok := true
		if !purposes[p] {
			fs.Add(at("purpose"), "must be marketing, profiling or data_processing")
			ok = false
		}
		if !channels[ch] {
			fs.Add(at("channel"), "must be email, sms, push or any")
			ok = false
		} else if p == Marketing && ch == AnyChannel {
			fs.Add(at("channel"), "marketing consent must name a channel: email, sms or push")
			ok = false
		}
		if c.Granted == nil {
			fs.Add(at("granted"), "is required")
			ok = false
		}
		src := strings.TrimSpace(c.Source)
		if src == "" {
			src = defaultSource
		}
		if utf8.RuneCountInString(src) > 64 {
			fs.Add(at("source"), "at most 64 characters")
			ok = false
		}
		if !ok {
			continue
		}
		k := string(p) + "/" + string(ch)
		if seen[k] {
			fs.Add(at("purpose"), "duplicate purpose and channel")
			continue
		}
		seen[k] = true
		out = append(out, Consent{Purpose: p, Channel: ch, Granted: *c.Granted, Source: src, UpdatedAt: now.UTC()})
	}
	return out
}

// NewMember validates a signup and returns the member to create (without id
// and referral code) and its initial consent history.
func NewMember(in SignupInput, caller string, now time.Time, r Rules) (Member, []ConsentRecord, error) {
	var fs fault.Fields
	m := Member{Status: Active, CreatedAt: now.UTC(), UpdatedAt: now.UTC(), Version: 1}
	if in.Email == "" && in.Phone == "" {
		fs.Add("email", "email or phone is required")
		fs.Add("phone", "email or phone is required")
	}
	if in.Email != "" {
		if e, err := NormalizeEmail(in.Email); err != nil {
			fs.Add("email", err.Error())
		} else {
			m.Email = e
		}
	}
	if in.Phone != "" {
		if p, err := NormalizePhone(in.Phone, r.DefaultRegion); err != nil {
			fs.Add("phone", err.Error())
		} else {
			m.Phone = p
		}
	}
	if in.Name != "" {
		if n, err := NormalizeName(in.Name); err != nil {
			fs.Add("name", err.Error())
		} else {
			m.Name = n
		}
	}
	if in.Birthday != "" {
		if err := CheckBirthday(in.Birthday, now); err != nil {
			fs.Add("birthday", err.Error())
		} else {
			m.Birthday = in.Birthday
		}
	}
	if in.PreferredStore != "" {
		if !storeID.MatchString(in.PreferredStore) {
			fs.Add("preferred_store", "must be a store id of letters, digits, - and _ (at most 64)")
		} else {
			m.PreferredStore = in.PreferredStore
		}
	}
	m.SignupChannel = Channel(in.SignupChannel)
	if !signupChannels[m.SignupChannel] {
		fs.Add("signup_channel", "must be online, app, store or social")
	}
	if in.ReferralCode != "" && !referralCode.MatchString(strings.ToUpper(in.ReferralCode)) {
		fs.Add("referral_code", "not a referral code")
	}
	source := "signup"
	if signupChannels[m.SignupChannel] {
		source += ":" + in.SignupChannel
	}
	m.Consents = consents(in.Consents, source, now, &fs)
	if err := fs.Err(); err != nil {
		return Member{}, nil, err
	}
	return m, history(m.Consents, caller), nil
}

func history(cs []Consent, caller string) []ConsentRecord {
	out := make([]ConsentRecord, 0, len(cs))
	for _, c := range cs {
		out = append(out, ConsentRecord{Consent: c, RecordedBy: caller})
	}
	return out
}

// ApplyPatch validates a merge patch and applies it to m.
func ApplyPatch(m *Member, p PatchInput, now time.Time, r Rules) error {
	if m.Status == Erased {
		return fault.New(fault.Conflict, "the member was erased")
	}
	var fs fault.Fields
	next := *m
	if p.Email.Set {
		if p.Email.Null || p.Email.Value == "" {
			next.Email = ""
		} else if e, err := NormalizeEmail(p.Email.Value); err != nil {
			fs.Add("email", err.Error())
		} else {
			next.Email = e
		}
	}
	if p.Phone.Set {
		if p.Phone.Null || p.Phone.Value == "" {
			next.Phone = ""
		} else if ph, err := NormalizePhone(p.Phone.Value, r.DefaultRegion); err != nil {
			fs.Add("phone", err.Error())
		} else {
			next.Phone = ph
		}
	}
	if next.Email == "" && next.Phone == "" && (p.Email.Set || p.Phone.Set) {
		fs.Add("email", "a member keeps an email or a phone")
	}
	if p.Name.Set {
		if p.Name.Null || p.Name.Value == "" {
			next.Name = ""
		} else if n, err := NormalizeName(p.Name.Value); err != nil {
			fs.Add("name", err.Error())
		} else {
			next.Name = n
		}
	}
	if p.Birthday.Set {
		if p.Birthday.Null || p.Birthday.Value == "" {
			next.Birthday = ""
		} else if err := CheckBirthday(p.Birthday.Value, now); err != nil {
			fs.Add("birthday", err.Error())
		} else {
			next.Birthday = p.Birthday.Value
		}
	}
	if p.PreferredStore.Set {
		if p.PreferredStore.Null || p.PreferredStore.Value == "" {
			next.PreferredStore = ""
		} else if !storeID.MatchString(p.PreferredStore.Value) {
			fs.Add("preferred_store", "must be a store id of letters, digits, - and _ (at most 64)")
		} else {
			next.PreferredStore = p.PreferredStore.Value
		}
	}
	if err := fs.Err(); err != nil {
		return err
	}
	next.UpdatedAt = now.UTC()
	*m = next
	return nil
}

// ApplyConsents records consent changes on m and returns the history
// entries to append.
func ApplyConsents(m *Member, in ConsentsInput, caller string, now time.Time) ([]ConsentRecord, error) {
	if m.Status == Erased {
		return nil, fault.New(fault.Conflict, "the member was erased")
	}
	var fs fault.Fields
	if len(in.Consents) == 0 {
		fs.Add("consents", "at least one consent is required")
	}
	changes := consents(in.Consents, caller, now, &fs)
	if err := fs.Err(); err != nil {
		return nil, err
	}
	for _, c := range changes {
		replaced := false
		for i := range m.Consents {
			if m.Consents[i].Purpose == c.Purpose && m.Consents[i].Channel == c.Channel {
				m.Consents[i] = c
				replaced = true
			}
		}
		if !replaced {
			m.Consents = append(m.Consents, c)
		}
	}
	m.UpdatedAt = now.UTC()
	return history(changes, caller), nil
}

// Tombstone returns what is kept of an erased member: its id, dates and
// the anonymous signup facts that ledgers refer to.
func Tombstone(m Member, at time.Time) Member {
	return Member{
		ID:            m.ID,
		Status:        Erased,
		SignupChannel: m.SignupChannel,
		CreatedAt:     m.CreatedAt,
		UpdatedAt:     at.UTC(),
		ErasedAt:      at.UTC(),
		Version:       m.Version + 1,
	}
}
