package feedback

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"clientele/shared/fault"
	"clientele/shared/ident"
	"clientele/shared/member"
)

// Channel is where feedback came from.
type Channel string

// Channels.
const (
	ChannelWeb         Channel = "web"
	ChannelApp         Channel = "app"
	ChannelMiniProgram Channel = "mini_program"
	ChannelStore       Channel = "store"
	ChannelPhone       Channel = "phone"
	ChannelSocial      Channel = "social"
	ChannelEmail       Channel = "email"
	ChannelSurvey      Channel = "survey"
)

// Channels lists every channel.
var Channels = []Channel{ChannelWeb, ChannelApp, ChannelMiniProgram, ChannelStore, ChannelPhone, ChannelSocial, ChannelEmail, ChannelSurvey}

// Limits on a submission.
const (
	MaxTextChars   = 5000
	MaxAttachments = 10
	// DuplicateWindow: the same author sending the same text within it lands
	// on the same case.
	DuplicateWindow = 10 * time.Minute
)

var (
	refPattern        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
	attachmentPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,255}$`)
)

// Contact is how to reach an author who is not a member.
type Contact struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// IntakeInput is the body of POST /v1/feedback.
type IntakeInput struct {
	Channel string `json:"channel"`
	Text    string `json:"text"`
	Type    string `json:"type,omitempty"`
	Rating  *int   `json:"rating,omitempty"`
	Store   string `json:"store,omitempty"`
	OrderID string `json:"order_id,omitempty"`
	SKU     string `json:"sku,omitempty"`
	// MemberID names the member a service or staff token writes for; a
	// member token writes for itself and may only repeat its own id.
	MemberID    string   `json:"member_id,omitempty"`
	Contact     *Contact `json:"contact,omitempty"`
	Attachments []string `json:"attachments,omitempty"`
}

// CallerKind is who sends feedback.
type CallerKind string

// Caller kinds.
const (
	CallerMember  CallerKind = "member"
	CallerService CallerKind = "service"
	CallerStaff   CallerKind = "staff"
)

// Caller is the authenticated sender.
type Caller struct {
	Kind CallerKind
	// MemberID is the member of a member token.
	MemberID string
}

// Submission is validated, normalised feedback ready to become a case.
type Submission struct {
	Channel     Channel
	Text        string
	Type        Type // empty: infer
	Rating      int  // 0: none
	Store       string
	OrderID     string
	SKU         string
	MemberID    string   // the author, when a member
	Contact     *Contact // the author, when anonymous
	Attachments []string
	// Fingerprint identifies the author and the text (normalised), for the
	// DuplicateWindow check; it holds no personal data in clear.
	Fingerprint string
}

// author is the submission's author key: the member id or the contact.
func (s Submission) author() string {
	if s.MemberID != "" {
		return "member:" + s.MemberID
	}
	if s.Contact != nil {
		return "contact:" + s.Contact.Email + "|" + s.Contact.Phone
	}
	return "anonymous"
}

// NewSubmission validates feedback from caller. Errors are fault.Invalid
// naming every bad field by its JSON path; a member naming another member is
// fault.Forbidden. defaultRegion reads phone numbers without a country code.
func NewSubmission(in IntakeInput, caller Caller, defaultRegion string) (Submission, error) {
	var fs fault.Fields
	s := Submission{Channel: Channel(in.Channel)}
	if !contains(Channels, s.Channel) {
		fs.Add("channel", "must be one of web, app, mini_program, store, phone, social, email, survey")
	}
	s.Text = strings.TrimSpace(in.Text)
	switch n := utf8.RuneCountInString(s.Text); {
	case !utf8.ValidString(in.Text):
		fs.Add("text", "must be valid UTF-8")
	case n == 0:
		fs.Add("text", "is required")
	case n > MaxTextChars:
		fs.Add("text", fmt.Sprintf("must be at most %d characters", MaxTextChars))
	case strings.IndexFunc(s.Text, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }) >= 0:
		fs.Add("text", "must not hold control characters")
	}
	if in.Type != "" {
		s.Type = Type(in.Type)
		if !s.Type.Valid() {
			fs.Add("type", "must be one of complaint, suggestion, praise, question")
		}
	}
	if in.Rating != nil {
		if *in.Rating < 1 || *in.Rating > 5 {
			fs.Add("rating", "must be between 1 and 5")
		}
		s.Rating = *in.Rating
	}
	for _, f := range []struct {
		name string
		v    string
		dst  *string
	}{{"store", in.Store, &s.Store}, {"order_id", in.OrderID, &s.OrderID}, {"sku", in.SKU, &s.SKU}} {
		if f.v != "" && !refPattern.MatchString(f.v) {
			fs.Add(f.name, "must be 1–64 letters, digits or . _ : -")
		}
		*f.dst = f.v
	}
	if len(in.Attachments) > MaxAttachments {
		fs.Add("attachments", fmt.Sprintf("must hold at most %d references", MaxAttachments))
	}
	for i, a := range in.Attachments {
		if !attachmentPattern.MatchString(a) || strings.Contains(a, "..") {
			fs.Add(fmt.Sprintf("attachments[%d]", i), "must be a stored object reference of letters, digits and . _ / -")
		}
	}
	s.Attachments = in.Attachments
	// Member ids follow the system's id rule (shared/ident), the same one
	// members-api, points and surveys apply: a brand may import its own.
	if in.MemberID != "" && !ident.Valid(in.MemberID) {
		fs.Add("member_id", ident.Rule)
	}
	if in.Contact != nil {
		c := *in.Contact
		if c.Email == "" && c.Phone == "" {
			fs.Add("contact", "must hold an email or a phone")
		}
		if c.Email != "" {
			if e, err := member.NormalizeEmail(c.Email); err != nil {
				fs.Add("contact.email", err.Error())
			} else {
				c.Email = e
			}
		}
		if c.Phone != "" {
			if p, err := member.NormalizePhone(c.Phone, defaultRegion); err != nil {
				fs.Add("contact.phone", err.Error())
			} else {
				c.Phone = p
			}
		}
		if utf8.RuneCountInString(c.Name) > 100 {
			fs.Add("contact.name", "must be at most 100 characters")
		}
		s.Contact = &c
	}
	switch caller.Kind {
	case CallerMember:
		if in.MemberID != "" && in.MemberID != caller.MemberID {
			if err := fs.Err(); err != nil {
				return Submission{}, err
			}
			return Submission{}, fault.New(fault.Forbidden, "a member sends feedback only as themselves")
		}
		if in.Contact != nil {
			fs.Add("contact", "is not taken from a member: the member is the author")
		}
		s.MemberID = caller.MemberID
	case CallerService:
		if in.MemberID == "" && in.Contact == nil {
			fs.Add("member_id", "a service sends a member_id or a contact")
		}
		if in.MemberID != "" && in.Contact != nil {
			fs.Add("contact", "give a member_id or a contact, not both")
		}
		s.MemberID = in.MemberID
	case CallerStaff:
		if in.MemberID != "" && in.Contact != nil {
			fs.Add("contact", "give a member_id or a contact, not both")
		}
		s.MemberID = in.MemberID
	default:
		return Submission{}, fault.New(fault.Forbidden, "unknown caller")
	}
	if err := fs.Err(); err != nil {
		return Submission{}, err
	}
	s.Fingerprint = Fingerprint(s.author(), s.Text)
	return s, nil
}

// Fingerprint hashes an author key and a text's normalised form, so the
// same message resent with other spacing, width or case matches.
func Fingerprint(author, text string) string {
	h := sha256.Sum256([]byte(author + "\x00" + Normalize(text)))
	return hex.EncodeToString(h[:16])
}
