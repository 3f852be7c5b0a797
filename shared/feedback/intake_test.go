package feedback

import (
	"encoding/json"
	"strings"
	"testing"

	"clientele/shared/fault"
)

const memberA = "01JDV4ZQ8M3X6N2P5R7T9V1W3Y"

func submit(t *testing.T, body string, c Caller) (Submission, error) {
	t.Helper()
	var in IntakeInput
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatal(err)
	}
	return NewSubmission(in, c, "CN")
}

func TestSubmissionBadInputNamesTheField(t *testing.T) {
	t.Parallel()
	member := Caller{Kind: CallerMember, MemberID: memberA}
	service := Caller{Kind: CallerService}
	cases := []struct {
		body   string
		caller Caller
		field  string
	}{
		{`{"channel":"web","text":""}`, member, "text"},
		{`{"channel":"web","text":"   "}`, member, "text"},
		{`{"channel":"web","text":"` + strings.Repeat("鞋", MaxTextChars+1) + `"}`, member, "text"},
		{`{"channel":"web","text":"bad\u0000byte"}`, member, "text"},
		{`{"channel":"fax","text":"hi"}`, member, "channel"},
		{`{"text":"hi"}`, member, "channel"},
		{`{"channel":"web","text":"hi","type":"rant"}`, member, "type"},
		{`{"channel":"web","text":"hi","rating":0}`, member, "rating"},
		{`{"channel":"web","text":"hi","rating":6}`, member, "rating"},
		{`{"channel":"store","text":"hi","store":"../etc"}`, member, "store"},
		{`{"channel":"web","text":"hi","order_id":"a b"}`, member, "order_id"},
		{`{"channel":"web","text":"hi","sku":"` + strings.Repeat("x", 65) + `"}`, member, "sku"},
		{`{"channel":"web","text":"hi","attachments":["ok.jpg","../secret"]}`, member, "attachments[1]"},
		{`{"channel":"web","text":"hi","member_id":"not an id"}`, service, "member_id"},
		{`{"channel":"phone","text":"hi"}`, service, "member_id"},
		{`{"channel":"phone","text":"hi","contact":{}}`, service, "contact"},
		{`{"channel":"phone","text":"hi","contact":{"email":"nope"}}`, service, "contact.email"},
		{`{"channel":"phone","text":"hi","contact":{"phone":"12"}}`, service, "contact.phone"},
		{`{"channel":"web","text":"hi","contact":{"email":"a@b.cn"}}`, member, "contact"},
	}
	for _, c := range cases {
		_, err := submit(t, c.body, c.caller)
		fe, ok := fault.As(err)
		if !ok || fe.Kind != fault.Invalid {
			t.Errorf("%.80s: %v, want invalid", c.body, err)
			continue
		}
		found := false
		for _, f := range fe.Fields {
			found = found || f.Field == c.field
		}
		if !found {
			t.Errorf("%.80s: fields %v, want %s", c.body, fe.Fields, c.field)
		}
	}
}

func TestSubmissionAuthors(t *testing.T) {
	t.Parallel()
	s, err := submit(t, `{"channel":"app","text":" 鞋底开胶了 ","rating":2,"sku":"X9-42"}`, Caller{Kind: CallerMember, MemberID: memberA})
	if err != nil || s.MemberID != memberA || s.Text != "鞋底开胶了" || s.Rating != 2 || s.Type != "" {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := submit(t, `{"channel":"app","text":"hi","member_id":"01JDV4ZQ8M3X6N2P5R7T9V1W3Z"}`, Caller{Kind: CallerMember, MemberID: memberA}); !fault.Is(err, fault.Forbidden) {
		t.Errorf("a member writing as another: %v, want forbidden", err)
	}
	s, err = submit(t, `{"channel":"phone","text":"hi","contact":{"phone":"139 0000 0000"}}`, Caller{Kind: CallerService})
	if err != nil || s.Contact == nil || s.Contact.Phone != "+8613900000000" || s.MemberID != "" {
		t.Errorf("anonymous contact: %+v %v", s, err)
	}
	s, err = submit(t, `{"channel":"store","text":"hi"}`, Caller{Kind: CallerStaff})
	if err != nil {
		t.Errorf("staff without an author: %v", err)
	}
}

func TestFingerprintIgnoresFormOnly(t *testing.T) {
	t.Parallel()
	a := Fingerprint("member:"+memberA, "ＡＰＰ 闪退了")
	if b := Fingerprint("member:"+memberA, "app  闪退了"); a != b {
		t.Errorf("same text in another form: %s != %s", a, b)
	}
	if b := Fingerprint("member:01JDV4ZQ8M3X6N2P5R7T9V1W3Z", "ＡＰＰ 闪退了"); a == b {
		t.Errorf("another author has the same fingerprint")
	}
	if b := Fingerprint("member:"+memberA, "app 又闪退了"); a == b {
		t.Errorf("another text has the same fingerprint")
	}
}

// TestSubmissionMemberIDFollowsTheIDRule: a member id is any id of the
// system's rule (shared/ident), not only the ULIDs members-api mints: a
// brand's imported ids and other domains' follow-ups carry them too.
func TestSubmissionMemberIDFollowsTheIDRule(t *testing.T) {
	t.Parallel()
	service := Caller{Kind: CallerService}
	for _, id := range []string{"01HZX3Q9J5V6W7XBC2D3E4F5G6", "m-1796108357", "crm:8812/a"} {
		s, err := submit(t, `{"channel":"survey","text":"hi","member_id":"`+id+`"}`, service)
		if err != nil || s.MemberID != id {
			t.Errorf("member_id %q: %+v %v", id, s.MemberID, err)
		}
	}
}
