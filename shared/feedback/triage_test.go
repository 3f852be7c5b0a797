package feedback

import (
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"clientele/shared/fault"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"ＡＰＰ老是闪退", "app老是闪退"},
		{"１２３１５", "12315"},
		{"貨架倒下來，差點砸到我兒子", "货架倒下来,差点砸到我儿子"},
		{"Don’t  SHIP\tit", "dont ship it"},
		{"  spaced\u3000out  ", "spaced out"},
		{"“好”", `"好"`},
		{"品質太差", "品质太差"},
	}
	for _, c := range cases {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTradSimpTableIsConsistent(t *testing.T) {
	t.Parallel()
	for trad, simp := range tradToSimp {
		if _, ok := tradToSimp[simp]; ok {
			t.Errorf("%c maps to %c, which is itself mapped: the pair table is misaligned", trad, simp)
		}
	}
}

func TestWithinOneEdit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b string
		want bool
	}{
		{"recieved", "received", true}, // swap
		{"qualty", "quality", true},    // deletion
		{"anoying", "annoying", true},  // deletion
		{"refunnd", "refund", true},    // insertion
		{"delivary", "delivery", true}, // substitution
		{"delivery", "delivery", true},
		{"shipped", "shopped", true},
		{"abc", "bca", false},
		{"quality", "qual", false},
		{"parking", "barking", true},
		{"charged", "changes", false},
	}
	for _, c := range cases {
		if got := withinOneEdit(c.a, c.b); got != c.want {
			t.Errorf("withinOneEdit(%q, %q) = %v", c.a, c.b, got)
		}
		if got := withinOneEdit(c.b, c.a); got != c.want {
			t.Errorf("withinOneEdit(%q, %q) = %v", c.b, c.a, got)
		}
	}
}

// TestDecoysAndHazards pins the behaviours the issue names, message by message.
func TestDecoysAndHazards(t *testing.T) {
	t.Parallel()
	e := DefaultEngine()
	cases := []struct {
		text     string
		priority Priority
		typ      Type
	}{
		{"This jacket is fire, wearing it every day", P3, Praise},
		{"Shocked how fast it arrived!", P3, Praise},
		{"这价格太炸了，买买买", P3, Praise},
		{"这条裤子杀疯了", P3, Praise},
		{"Is this heater safe to leave on overnight?", P3, Question},
		{"充电宝会不会起火？安全吗？", P3, Question},
		{"The charger caught fire on my desk", P1, Complaint},
		{"充电器冒烟了，差点着火", P1, Complaint},
		{"I got an electric shock from the kettle", P1, Complaint},
		{"電熱水壺漏電，被電了一下", P1, Complaint},
		{"My son had an allergic reaction to the snack", P1, Complaint},
		{"I'm calling my lawyer about this broken phone", P1, Complaint},
		{"再不处理我就打１２３１５", P1, Complaint},
		{"准备向消费者协会投诉", P1, Complaint},
		{"Called five times, nobody calls back, refund me now", P1, Complaint},
		{"The zipper broke after a day", P2, Complaint},
		{"Great, another week without my parcel. Really impressive.", P2, Complaint},
		{"Quality isn't what it used to be", P3, Complaint},
		// Written after the corpus, to probe slang, typos and hazards the
		// development part did not have.
		{"this hoodie is straight fire, copped two", P3, Praise},
		{"Absolutely killing it with the new collection!", P3, Praise},
		{"衣服好看到炸，已经推荐给闺蜜了", P3, Praise},
		{"Can you tell me if the stroller is crash tested?", P3, Question},
		{"这款电热毯安全吗？会不会漏电？", P3, Question},
		{"My daughter burned her hand on the kettle lid, it gets way too hot", P1, Complaint},
		{"婴儿床的栏杆间距太宽，宝宝的头差点卡进去", P1, Complaint},
		{"门店的玻璃门碎了，划伤了我女儿的手", P1, Complaint},
		{"No one was injured but the heater did start smoking", P1, Complaint},
		{"I'll be filing a claim with the consumer council if you ignore me again", P1, Complaint},
		{"我投诉了五次都没人理，再不退款就去315曝光你们", P1, Complaint},
		{"Dead on arrival: the blender won't turn on", P2, Complaint},
		{"积分商城兑换的东西一直不发货", P2, Complaint},
		{"The new loyalty app keeps crashing when I try to check my points", P2, Complaint},
		{"Could the heater start smoking if it tips over?", P3, Question},
		{"Wow, only took three weeks for my order to show up. Amazing service.", P2, Complaint},
		{"Love how the app logs me out every five minutes. Great job guys.", P2, Complaint},
		{"你们客服效率真高啊，一个星期都没回复", P2, Complaint},
		{"真是谢谢你们了，鞋子穿一次就开胶", P2, Complaint},
		{"My kid loves the dinosaur jacket, he wont take it off", P3, Praise},
		{"Will the lithium battery explode if left in a hot car?", P3, Question},
		{"我家猫咬了充电线，会不会有触电危险？", P3, Question},
		{"The treadmill belt snapped and threw me off, I hurt my back", P1, Complaint},
		{"孩子吃了你们的零食后上吐下泻，已经去医院了", P1, Complaint},
		{"你们再不处理我就向市场监管局举报", P1, Complaint},
		{"我要把这件事发到小红书上让大家评评理", P1, Complaint},
		{"I've asked for a refund twice already and nothing happened. Please refund.", P1, Complaint},
		{"被扣了两次款，请退款", P2, Complaint},
		// Chinese substrings that look like complaints inside other words.
		{"质量不错，下次还来", P3, Praise},
		{"麻烦帮我查一下订单什么时候到？", P3, Question},
		{"维修一般要多久？", P3, Question},
		{"送错了颜色，我要的是黑色", P2, Complaint},
		// Traditional characters.
		{"訂單一直沒到，聯繫了三次客服都沒人處理，馬上給我退款", P1, Complaint},
		{"吹風機冒煙了，差點燒到頭髮", P1, Complaint},
		{"品質不錯，推薦！", P3, Praise},
	}
	for _, c := range cases {
		r := e.Triage(Input{Text: c.text})
		if r.Priority != c.priority || r.Type != c.typ {
			t.Errorf("%q → %s %s (rules %v), want %s %s", c.text, r.Type, r.Priority, r.Rules, c.typ, c.priority)
		}
	}
}

func TestTyposMatch(t *testing.T) {
	t.Parallel()
	e := DefaultEngine()
	for _, text := range []string{
		"the packge was delivred late", // "package" one edit away
		"the stiching came apart, bad qualty",
	} {
		r := e.Triage(Input{Text: text})
		if r.Category == OtherCategory {
			t.Errorf("%q → category other (rules %v), want a typo-tolerant match", text, r.Rules)
		}
	}
	if r := e.Triage(Input{Text: "bad qualty"}); r.Category != ProductQuality {
		t.Errorf("bad qualty → %s, want product_quality", r.Category)
	}
	if r := e.Triage(Input{Text: "the packge is lost"}); r.Category != Delivery {
		t.Errorf("packge → %s %v, want delivery", r.Category, r.Rules)
	}
}

// TestTypoToleranceHasNoFalseFriends: words one edit away from a keyword
// that are real words do not trigger it.
func TestTypoToleranceHasNoFalseFriends(t *testing.T) {
	t.Parallel()
	e := DefaultEngine()
	for _, text := range []string{
		"It shipped two weeks ago and the tracking hasn't moved", // shipped ~ slipped
		"The pan handle came loose while cooking",                // cooking ~ choking
		"We almost died of laughter at the fitting room mirrors", // laughter ~ daughter
	} {
		if r := e.Triage(Input{Text: text}); r.Priority == P1 {
			t.Errorf("%q → P1 %v", text, r.Rules)
		}
	}
	if r := e.Triage(Input{Text: "This cropped hoodie is perfect"}); r.Type != Praise { // cropped ~ dropped
		t.Errorf("cropped hoodie → %s %v", r.Type, r.Rules)
	}
	if r := e.Triage(Input{Text: "Great shoes for jogging"}); r.Category == AppWebsite { // jogging ~ logging
		t.Errorf("jogging → %s %v", r.Category, r.Rules)
	}
}

func TestNegationVetoesHazard(t *testing.T) {
	t.Parallel()
	e := DefaultEngine()
	for _, text := range []string{
		"The box was crushed but no one was hurt",
		"包裹压坏了，还好没有受伤",
	} {
		if r := e.Triage(Input{Text: text}); r.Priority == P1 {
			t.Errorf("%q → P1 (rules %v), want the negated injury ignored", text, r.Rules)
		}
	}
	if r := e.Triage(Input{Text: "The lamp sparked, luckily nobody was hurt"}); r.Priority != P1 {
		t.Errorf("a near miss with no injury is still P1, got %s %v", r.Priority, r.Rules)
	}
}

func TestGivenTypeIsKept(t *testing.T) {
	t.Parallel()
	r := DefaultEngine().Triage(Input{Text: "Please add a dark mode", Type: Complaint})
	if r.Type != Complaint || r.TypeInferred || r.Sentiment != Negative {
		t.Errorf("got %+v, want the given type kept", r)
	}
	r = DefaultEngine().Triage(Input{Text: "Please add a dark mode"})
	if r.Type != Suggestion || !r.TypeInferred || r.Sentiment != Neutral {
		t.Errorf("got %+v, want an inferred suggestion", r)
	}
}

func TestResultNamesRulesAndVersion(t *testing.T) {
	t.Parallel()
	e := DefaultEngine()
	r := e.Triage(Input{Text: "The hair dryer caught fire"})
	if r.RulesVersion != DefaultRuleset().Version || r.RulesVersion == "" {
		t.Errorf("version %q", r.RulesVersion)
	}
	if !slices.Contains(r.Rules, "p1.fire") {
		t.Errorf("rules %v do not name p1.fire", r.Rules)
	}
	d := e.DryRun(Input{Text: "The hair dryer CAUGHT FIRE"})
	if d.Normalized != "the hair dryer caught fire" {
		t.Errorf("normalized %q", d.Normalized)
	}
	var fire *Firing
	for i := range d.Firings {
		if d.Firings[i].Rule == "p1.fire" {
			fire = &d.Firings[i]
		}
	}
	if fire == nil || !slices.Contains(fire.Matched, "caught fire") {
		t.Fatalf("dry run %+v does not show p1.fire matching on \"caught fire\"", d.Firings)
	}
	if !slices.Equal(d.Result.Rules, r.Rules) {
		t.Errorf("dry run rules %v differ from triage rules %v", d.Result.Rules, r.Rules)
	}
}

// TestEditedRuleset shows a brand's edit taking effect: a new rule fires and
// wins, and the result records the new version.
// TestDryRunExplainsDecoys: the dry run says why a matching hazard rule
// did not fire.
func TestDryRunExplainsDecoys(t *testing.T) {
	t.Parallel()
	e := DefaultEngine()
	d := e.DryRun(Input{Text: "Is this charger a fire hazard? Is it fire safe?"})
	var fire *Firing
	for i := range d.NotApplied {
		if d.NotApplied[i].Rule == "p1.fire" {
			fire = &d.NotApplied[i]
		}
	}
	if fire == nil || !strings.Contains(fire.Because, `"fire safe"`) {
		t.Errorf("not applied %+v: want p1.fire vetoed by \"fire safe\"", d.NotApplied)
	}
	d = e.DryRun(Input{Text: "Could the heater start smoking if it tips over?"})
	found := false
	for _, f := range d.NotApplied {
		if f.Rule == "p1.fire" && strings.Contains(f.Because, "reads as a question") {
			found = true
		}
	}
	if !found || d.Result.Priority == P1 {
		t.Errorf("a hypothetical: %s, not applied %+v", d.Result.Priority, d.NotApplied)
	}
	for _, f := range d.NotApplied {
		if slices.Contains(d.Result.Rules, f.Rule) {
			t.Errorf("%s is listed both as fired and as not applied", f.Rule)
		}
	}
}

func TestEditedRuleset(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleset()
	rs.Version = "acme-7"
	rs.Rules = append(rs.Rules, Rule{ID: "acme.recall", Any: []string{"model x9"}, Priority: P1, Category: ProductQuality, Weight: 20})
	e, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	r := e.Triage(Input{Text: "Is the Model X9 part of the recall?"})
	if r.Priority != P1 || r.RulesVersion != "acme-7" || !slices.Contains(r.Rules, "acme.recall") {
		t.Errorf("got %+v", r)
	}
	if r := DefaultEngine().Triage(Input{Text: "Is the Model X9 part of the recall?"}); r.Priority == P1 {
		t.Errorf("the default engine changed: %+v", r)
	}
}

func TestRulesetValidationNamesFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		json  string
		field string
	}{
		{`{"version":"","rules":[{"id":"a","any":["x"],"category":"service"}]}`, "version"},
		{`{"version":"v1","rules":[]}`, "rules"},
		{`{"version":"v1","rules":[{"id":"A B","any":["x"],"category":"service"}]}`, "rules[0].id"},
		{`{"version":"v1","rules":[{"id":"a","any":["x"],"category":"service"},{"id":"a","any":["y"],"category":"service"}]}`, "rules[1].id"},
		{`{"version":"v1","rules":[{"id":"a","any":[],"category":"service"}]}`, "rules[0].any"},
		{`{"version":"v1","rules":[{"id":"a","any":["x","  "],"category":"service"}]}`, "rules[0].any[1]"},
		{`{"version":"v1","rules":[{"id":"a","any":["x*y"],"category":"service"}]}`, "rules[0].any[0]"},
		{`{"version":"v1","rules":[{"id":"a","any":["x"],"all":[[]],"category":"service"}]}`, "rules[0].all[0]"},
		{`{"version":"v1","rules":[{"id":"a","any":["x"],"category":"shoes"}]}`, "rules[0].category"},
		{`{"version":"v1","rules":[{"id":"a","any":["x"],"type":"rant"}]}`, "rules[0].type"},
		{`{"version":"v1","rules":[{"id":"a","any":["x"],"priority":"P0"}]}`, "rules[0].priority"},
		{`{"version":"v1","rules":[{"id":"a","any":["x"],"sentiment":"angry"}]}`, "rules[0].sentiment"},
		{`{"version":"v1","rules":[{"id":"a","any":["x"],"priority":"P2","weight":1000}]}`, "rules[0].weight"},
		{`{"version":"v1","rules":[{"id":"a","any":["x"]}]}`, "rules[0]"},
		{`{"version":"v1","rules":[{"id":"a","any":["x"],"category":"service","when":{"type":["complaint"]}}]}`, "rules[0].when"},
		{`{"version":"v1","rules":[{"id":"a","any":["x"],"priority":"P2","when":{"type":["rant"]}}]}`, "rules[0].when.type[0]"},
		{`{"version":"v1","rules":[{"id":"a","any":["x"],"priority":"P2","colour":"red"}]}`, "body"},
		{`{"version":"v1","rules":[{"id":"a","any":["` + strings.Repeat("x", MaxPatternBytes+1) + `"],"priority":"P2"}]}`, "rules[0].any[0]"},
	}
	for _, c := range cases {
		_, err := ParseRuleset([]byte(c.json))
		fe, ok := fault.As(err)
		if !ok || fe.Kind != fault.Invalid {
			t.Errorf("%s: error %v, want invalid", c.json, err)
			continue
		}
		var fields []string
		for _, f := range fe.Fields {
			fields = append(fields, f.Field)
		}
		if !slices.Contains(fields, c.field) {
			t.Errorf("%s: fields %v, want %s", c.json, fields, c.field)
		}
	}
}

func TestDefaultRulesRoundTrip(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleset()
	b, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseRuleset(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Version != rs.Version || len(back.Rules) != len(rs.Rules) {
		t.Errorf("round trip lost rules")
	}
}

func ExampleEngine_DryRun() {
	d := DefaultEngine().DryRun(Input{Text: "我家孩子差点被货架砸到！"})
	fmt.Println(d.Result.Type, d.Result.Category, d.Result.Priority)
	for _, f := range d.Firings {
		if strings.HasPrefix(f.Rule, "p1.") {
			fmt.Println(f.Rule, f.Matched)
		}
	}
	// Output:
	// complaint store_environment P1
	// p1.near_miss [差点 孩子 砸]
}

var sink Result

func BenchmarkTriage(b *testing.B) {
	e := DefaultEngine()
	corpus := append(loadCorpus(b, "triage_dev.tsv"), loadCorpus(b, "triage_holdout.tsv")...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink = e.Triage(Input{Text: corpus[i%len(corpus)].Text})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// FuzzTriage: any text triages to valid values without panicking, and the
// dry run agrees with triage.
func FuzzTriage(f *testing.F) {
	for _, s := range []string{"", "?", "ｆｉｒｅ", "差点", "no one was hurt", "a*b", "\xff\xfe", strings.Repeat("鞋", 5000)} {
		f.Add(s)
	}
	e := DefaultEngine()
	f.Fuzz(func(t *testing.T, text string) {
		r := e.Triage(Input{Text: text})
		if !r.Type.Valid() || !r.Category.Valid() || !r.Sentiment.Valid() || !r.Priority.Valid() {
			t.Fatalf("%q → %+v", text, r)
		}
		if d := e.DryRun(Input{Text: text}); !slices.Equal(d.Result.Rules, r.Rules) || d.Result.Priority != r.Priority {
			t.Fatalf("%q: dry run %+v, triage %+v", text, d.Result, r)
		}
	})
}

func TestTriageConcurrently(t *testing.T) {
	t.Parallel()
	e := DefaultEngine()
	corpus := loadCorpus(t, "triage_dev.tsv")
	want := make([]Result, len(corpus))
	for i, m := range corpus {
		want[i] = e.Triage(Input{Text: m.Text})
	}
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i, m := range corpus {
				if got := e.Triage(Input{Text: m.Text}); got.Priority != want[i].Priority || !slices.Equal(got.Rules, want[i].Rules) {
					done <- fmt.Errorf("%s: concurrent %v, sequential %v", m.ID, got.Rules, want[i].Rules)
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestAuthorTypeCannotHideAHazard: the author's type is kept, but the P1
// rules look at what the text says.
func TestAuthorTypeCannotHideAHazard(t *testing.T) {
	t.Parallel()
	e := DefaultEngine()
	for _, typ := range []Type{Question, Praise, Suggestion} {
		r := e.Triage(Input{Text: "My charger caught fire last night, what should I do?", Type: typ})
		if r.Type != typ || r.Priority != P1 {
			t.Errorf("given %s: %s %s %v, want %s P1", typ, r.Type, r.Priority, r.Rules, typ)
		}
	}
	if r := e.Triage(Input{Text: "Is this heater fire safe?", Type: Complaint}); r.Priority == P1 {
		t.Errorf("a safety question labelled complaint: %s %v", r.Priority, r.Rules)
	}
}

func TestRatingVotes(t *testing.T) {
	t.Parallel()
	e := DefaultEngine()
	if r := e.Triage(Input{Text: "The X9 runners", Rating: 1}); r.Type != Complaint || r.Sentiment != Negative {
		t.Errorf("rating 1: %+v", r)
	}
	if r := e.Triage(Input{Text: "The X9 runners", Rating: 5}); r.Type != Praise || r.Sentiment != Positive {
		t.Errorf("rating 5: %+v", r)
	}
	if r := e.Triage(Input{Text: "5 stars, but the charger caught fire and burned my hand", Rating: 5}); r.Type != Complaint || r.Priority != P1 {
		t.Errorf("a hazard with a 5 rating: %+v", r)
	}
}

// TestDomainImportsNoAWS holds the package to DESIGN.md: a domain package
// imports the standard library and the domain packages shared/fault,
// shared/ident (the system's id rule) and shared/member (whose email and
// phone rules intake reuses) only.
func TestDomainImportsNoAWS(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if strings.Contains(path, ".") || (strings.HasPrefix(path, "clientele/") && path != "clientele/shared/fault" && path != "clientele/shared/ident" && path != "clientele/shared/member") {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}

// BenchmarkCompile is the cost of taking a brand's edited ruleset into use.
func BenchmarkCompile(b *testing.B) {
	rs := DefaultRuleset()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(rs); err != nil {
			b.Fatal(err)
		}
	}
}
