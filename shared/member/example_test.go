package member_test

import (
	"fmt"
	"time"

	"clientele/shared/fault"
	"clientele/shared/member"
)

func ExampleNormalizePhone() {
	for _, in := range []string{"13800138000", "138-0013-8000", "+1 650-253-0000", "12345"} {
		e164, err := member.NormalizePhone(in, "CN")
		fmt.Printf("%q -> %q %v\n", in, e164, err)
	}
	// Output:
	// "13800138000" -> "+8613800138000" <nil>
	// "138-0013-8000" -> "+8613800138000" <nil>
	// "+1 650-253-0000" -> "+16502530000" <nil>
	// "12345" -> "" not a valid phone number
}

func ExampleNewMember() {
	at := time.Date(2024, 6, 1, 20, 0, 0, 0, time.FixedZone("CST", 8*3600))
	yes := true
	m, history, err := member.NewMember(member.SignupInput{
		Email:         "Ann.Lee@Example.com",
		Phone:         "138 0013 8000",
		SignupChannel: "store",
		Consents:      []member.ConsentInput{{Purpose: "marketing", Channel: "sms", Granted: &yes}},
	}, "service", at, member.Rules{DefaultRegion: "CN"})
	fmt.Println(m.Email, m.Phone, m.Status, m.Version, m.CreatedAt)
	fmt.Println(m.Consents[0].Purpose, m.Consents[0].Channel, m.Consents[0].Source, history[0].RecordedBy, err)

	// Every invalid field is reported at once.
	_, _, err = member.NewMember(member.SignupInput{
		Email:         "ann",
		SignupChannel: "fax",
		Consents:      []member.ConsentInput{{Purpose: "marketing", Granted: &yes}},
	}, "member", at, member.Rules{DefaultRegion: "CN"})
	e, _ := fault.As(err)
	for _, f := range e.Fields {
		fmt.Println(f.Field+":", f.Reason)
	}
	// Output:
	// ann.lee@example.com +8613800138000 active 1 2024-06-01 12:00:00 +0000 UTC
	// marketing sms signup:store service <nil>
	// email: not an email address
	// signup_channel: must be online, app, store or social
	// consents[0].channel: marketing consent must name a channel: email, sms or push
}
