package survey_test

import (
	"slices"
	"testing"
	"time"

	"clientele/shared/fault"
	"clientele/shared/survey"
)

func TestParseInvitationPolicy(t *testing.T) {
	t.Parallel()
	p, err := survey.ParseInvitationPolicy("")
	if err != nil || p.FatigueDays != 30 || p.LinkTTL() != 14*24*time.Hour || len(p.Rules) != 0 {
		t.Fatalf("defaults: %+v %v", p, err)
	}
	p, err = survey.ParseInvitationPolicy(`{"fatigue_days":7,"completion_bonus":15,"rules":[` +
		`{"trigger":"purchase","survey":"a","delay_hours":48,"sampling":0.5,"channel":"sms"},` +
		`{"trigger":"case_resolved","survey":"b","sampling":1,"channel":"email"}]}`)
	if err != nil || p.Fatigue() != 7*24*time.Hour || p.CompletionBonus != 15 || len(p.RulesFor(survey.TriggerPurchase)) != 1 ||
		p.RulesFor(survey.TriggerPurchase)[0].Delay() != 48*time.Hour || p.RulesFor(survey.TriggerCaseResolved)[0].Survey != "b" {
		t.Fatalf("policy %+v %v", p, err)
	}
	bad := `{"fatigue_days":-1,"link_ttl_days":91,"completion_bonus":-5,"rules":[` +
		`{"trigger":"visit","survey":"","delay_hours":-1,"sampling":1.5,"channel":"fax"}]}`
	_, err = survey.ParseInvitationPolicy(bad)
	fe, ok := fault.As(err)
	if !ok || fe.Kind != fault.Invalid {
		t.Fatalf("bad policy: %v", err)
	}
	var fields []string
	for _, f := range fe.Fields {
		fields = append(fields, f.Field)
	}
	for _, want := range []string{"fatigue_days", "link_ttl_days", "completion_bonus", "rules[0].trigger", "rules[0].survey",
		"rules[0].delay_hours", "rules[0].sampling", "rules[0].channel"} {
		if !slices.Contains(fields, want) {
			t.Errorf("bad policy: %v does not name %s", fields, want)
		}
	}
	if _, err := survey.ParseInvitationPolicy(`{"rulez":[]}`); err == nil {
		t.Error("an unknown field was accepted")
	}
}

func TestOccasionChannel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"store": "store", "app": "app", "mini_program": "app", "social": "social",
		"web": "online", "phone": "online", "email": "online", "survey": "online"} {
		if got := survey.OccasionChannel(in); got != want || !slices.Contains(survey.Channels, got) {
			t.Errorf("OccasionChannel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIssueForBindsStoreAndChannel(t *testing.T) {
	t.Parallel()
	s, err := survey.LinkSigner("0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, c, err := s.IssueFor(survey.Claims{Survey: "s", Member: "m", Order: "o", Store: "SH-001", Channel: "store"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Verify(tok, now, survey.Expect{Survey: "s"})
	if err != nil || got != c || got.Store != "SH-001" || got.Channel != "store" || got.Key != survey.LinkKeyID {
		t.Errorf("verified %+v %v, issued %+v", got, err, c)
	}
	if _, err := survey.LinkSigner("short"); err == nil {
		t.Error("a short HMAC key was accepted")
	}
	other, _ := survey.LinkSigner("fedcba9876543210fedcba9876543210")
	if _, err := other.Verify(tok, now, survey.Expect{}); !fault.Is(err, fault.Unauthorized) {
		t.Errorf("a token from another deployment's key: %v", err)
	}
}
