package feedback

import (
	"slices"
	"testing"
	"time"

	"clientele/shared/fault"
)

func TestCaseLifecycle(t *testing.T) {
	t.Parallel()
	cn := mustCalendar(t, shanghaiCalendar)
	t0 := at(t, cn, "2026-09-28 10:00")
	step := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	s, err := NewSubmission(IntakeInput{Channel: "app", Text: "X9跑鞋鞋底开胶了", SKU: "X9-42"}, Caller{Kind: CallerMember, MemberID: memberA}, "CN")
	if err != nil {
		t.Fatal(err)
	}
	c := NewCase("case-1", s, t0)
	if err := c.ApplyTriage(DefaultEngine().Triage(Input{Text: c.Text}), t0); err != nil {
		t.Fatal(err)
	}
	if c.Status != StatusOpen || c.Priority != P2 || c.Category != ProductQuality || c.Triage == nil {
		t.Fatalf("after triage: %+v", c)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Assign("staff-7", "staff-7", step(0.5)))
	must(c.Reply("staff-7", "请问是哪一天买的？", true, step(1)))
	if c.Status != StatusWaitingCustomer {
		t.Fatalf("status %s", c.Status)
	}
	st, err := c.SLA(DefaultSLAPolicy(), cn, step(5))
	must(err)
	if !st.Paused || st.FirstResponse.MetAt.IsZero() {
		t.Errorf("waiting: %s", st)
	}
	must(c.CustomerReply("上周六", step(24)))
	if c.Status != StatusInProgress {
		t.Errorf("a customer reply to a waiting case: %s, want in_progress", c.Status)
	}
	must(c.AddNote("staff-7", "批次 2026-08 同样问题", step(24.5)))
	must(c.Resolve("staff-7", ResolvedReplaced, step(25)))
	must(c.Reopen("staff-7", step(48)))
	must(c.Resolve("staff-7", ResolvedRefunded, step(49)))
	must(c.Close("system", step(50)))

	var kinds []string
	for _, e := range c.History {
		k := string(e.Kind)
		if e.Kind == EntryStatus {
			k += ":" + string(e.Status)
		}
		kinds = append(kinds, k)
	}
	want := []string{"created", "status:open", "status:in_progress", "assigned", "agent_reply", "status:waiting_customer",
		"customer_message", "status:in_progress", "note", "status:resolved", "status:reopened", "status:resolved", "status:closed"}
	if !slices.Equal(kinds, want) {
		t.Errorf("history\n got %v\nwant %v", kinds, want)
	}
	if c.History[1].Code != DefaultRuleset().Version || c.ResolutionCode != ResolvedRefunded {
		t.Errorf("triage version %q, resolution %q", c.History[1].Code, c.ResolutionCode)
	}
}

func TestCaseRefusalsChangeNothing(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 9, 28, 2, 0, 0, 0, time.UTC)
	c := NewCase("case-2", Submission{Channel: ChannelWeb, Text: "hi"}, t0)
	n := len(c.History)
	checks := []struct {
		err  error
		kind fault.Kind
	}{
		{c.Reply("staff-1", "asking", true, t0), fault.Conflict}, // new cannot wait on the customer
		{c.Resolve("staff-1", "shrug", t0), fault.Invalid},
		{c.Reopen("staff-1", t0), fault.Conflict},
		{c.Close("staff-1", t0), fault.Conflict},
		{c.Assign("staff-1", "", t0), fault.Invalid},
		{c.CustomerReply("", t0), fault.Invalid},
		{c.AddNote("staff-1", "", t0), fault.Invalid},
	}
	for i, ch := range checks {
		if !fault.Is(ch.err, ch.kind) {
			t.Errorf("check %d: %v, want %s", i, ch.err, ch.kind)
		}
	}
	if len(c.History) != n || c.Status != StatusNew {
		t.Errorf("refused actions changed the case: %s %v", c.Status, c.History)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Resolve("staff-1", ResolvedExplained, t0))
	if err := c.CustomerReply("thanks", t0.Add(time.Hour)); !fault.Is(err, fault.Conflict) {
		t.Errorf("a customer reply to a resolved case: %v, want conflict", err)
	}
	if err := c.Reopen("staff-1", t0.Add(ReopenWindow+time.Minute)); !fault.Is(err, fault.Conflict) || c.Status != StatusResolved {
		t.Errorf("late reopen: %v %s", err, c.Status)
	}
}

func TestCaseErase(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 9, 28, 2, 0, 0, 0, time.UTC)
	c := NewCase("case-3", Submission{Channel: ChannelApp, Text: "我叫张三，电话13900000000", MemberID: memberA, SKU: "X9-42", Attachments: []string{"a/b.jpg"}}, t0)
	_ = c.ApplyTriage(DefaultEngine().Triage(Input{Text: c.Text}), t0)
	_ = c.AddNote("staff-1", "客户张三很着急", t0)
	c.Erase(t0.Add(time.Hour))
	if c.MemberID != "" || c.Text != "" || c.Attachments != nil || !c.Erased {
		t.Errorf("after erasure: %+v", c)
	}
	for _, e := range c.History {
		if e.Note != "" {
			t.Errorf("a history note survived: %+v", e)
		}
	}
	if c.SKU != "X9-42" || c.Category == "" || len(c.History) != 3 {
		t.Errorf("erasure lost the statistics: %+v", c)
	}
}

func TestClusterKeysAndJoin(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 9, 28, 2, 0, 0, 0, time.UTC)
	c := NewCase("case-4", Submission{Channel: ChannelStore, Text: "试衣间很脏", Store: "SH-01", SKU: "X9-42"}, t0)
	if keys := ClusterKeys(c); keys != nil {
		t.Errorf("untriaged case keys %v", keys)
	}
	_ = c.ApplyTriage(DefaultEngine().Triage(Input{Text: c.Text}), t0)
	if keys := ClusterKeys(c); !slices.Equal(keys, []string{"sku#X9-42", "store#SH-01#store_environment"}) {
		t.Errorf("keys %v", keys)
	}
	praise := NewCase("case-5", Submission{Channel: ChannelStore, Text: "试衣间很干净", Store: "SH-01"}, t0)
	_ = praise.ApplyTriage(DefaultEngine().Triage(Input{Text: praise.Text}), t0)
	if keys := ClusterKeys(praise); keys != nil {
		t.Errorf("praise counts towards %v", keys)
	}
	if err := c.JoinCluster("cl-1", t0); err != nil {
		t.Fatal(err)
	}
	n := len(c.History)
	if err := c.JoinCluster("cl-1", t0); err != nil || len(c.History) != n {
		t.Errorf("joining again: %v, history %d → %d", err, n, len(c.History))
	}
	if err := c.JoinCluster("cl-2", t0); !fault.Is(err, fault.Conflict) || c.ClusterID != "cl-1" {
		t.Errorf("joining another: %v, cluster %s", err, c.ClusterID)
	}
}

func TestCaseAuthorize(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 9, 28, 2, 0, 0, 0, time.UTC)
	inStore := NewCase("c1", Submission{Channel: ChannelStore, Text: "x", Store: "SH-01", MemberID: memberA}, t0)
	online := NewCase("c2", Submission{Channel: ChannelWeb, Text: "x", MemberID: "01JDV4ZQ8M3X6N2P5R7T9V1W3Z"}, t0)
	cases := []struct {
		v    Viewer
		c    *Case
		want bool
	}{
		{Viewer{Caller: Caller{Kind: CallerMember, MemberID: memberA}}, inStore, true},
		{Viewer{Caller: Caller{Kind: CallerMember, MemberID: memberA}}, online, false},
		{Viewer{Caller: Caller{Kind: CallerMember}}, &Case{}, false},
		{Viewer{Caller: Caller{Kind: CallerStaff}}, online, true},
		{Viewer{Caller: Caller{Kind: CallerStaff}, Stores: []string{"SH-01"}}, inStore, true},
		{Viewer{Caller: Caller{Kind: CallerStaff}, Stores: []string{"BJ-02"}}, inStore, false},
		{Viewer{Caller: Caller{Kind: CallerStaff}, Stores: []string{"SH-01"}}, online, false},
		{Viewer{Caller: Caller{Kind: CallerService}}, online, true},
		{Viewer{}, online, false},
	}
	for i, c := range cases {
		err := c.c.Authorize(c.v)
		if (err == nil) != c.want {
			t.Errorf("case %d: %v, want allowed=%v", i, err, c.want)
		}
		if err != nil {
			fe, _ := fault.As(err)
			if fe.Kind != fault.NotFound || len(fe.Fields) != 1 || fe.Fields[0].Field != "id" {
				t.Errorf("case %d: %+v, want not found naming id", i, fe)
			}
		}
	}
}
