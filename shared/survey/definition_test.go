package survey_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"clientele/shared/fault"
	"clientele/shared/survey"
)

// now is the fixed clock of these tests.
var now = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func intp(n int) *int { return &n }

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

// postPurchase is a typical after-purchase survey.
func postPurchase() survey.DefinitionInput {
	return survey.DefinitionInput{
		Name:       "After your purchase",
		ActiveFrom: "2026-03-01T00:00:00Z",
		ActiveTo:   "2026-07-01T00:00:00Z",
		Questions: []survey.QuestionInput{
			{ID: "recommend", Kind: "nps", Prompt: "How likely are you to recommend us?", Required: true},
			{ID: "satisfied", Kind: "csat", Prompt: "How satisfied are you with the product?", Dimension: survey.ProductQuality},
			{ID: "easy", Kind: "ces", Prompt: "The company made it easy for me.", Dimension: survey.ShoppingExperience},
			{ID: "staff", Kind: "rating", Prompt: "Rate our staff", Dimension: survey.ServiceQuality},
			{ID: "found", Kind: "single_choice", Prompt: "How did you find us?", Choices: []survey.Choice{{ID: "friend", Label: "A friend"}, {ID: "ad", Label: "An ad"}}},
			{ID: "bought", Kind: "multiple_choice", Prompt: "What did you buy?", Choices: []survey.Choice{{ID: "shoes", Label: "Shoes"}, {ID: "shirts", Label: "Shirts"}, {ID: "bags", Label: "Bags"}}},
			{ID: "why", Kind: "text", Prompt: "Why?", MaxLength: 20},
		},
		Targeting: survey.Targeting{Stores: []string{"S01", "S02"}, Channels: []string{"store", "app"}},
		OnePer:    "order",
	}
}

func TestNewDefinitionDefaults(t *testing.T) {
	t.Parallel()
	in := postPurchase()
	in.ActiveFrom, in.ActiveTo, in.OnePer = "", "", ""
	in.Questions[6].MaxLength = 0
	d, err := survey.NewDefinition("sv1", in, now)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 1 || d.MinSample != survey.DefaultMinSample || d.OnePer != survey.PerMember {
		t.Errorf("version %d, min sample %d, one per %q; want 1, 30, member", d.Version, d.MinSample, d.OnePer)
	}
	if !d.ActiveFrom.Equal(now) || !d.ActiveTo.IsZero() {
		t.Errorf("window [%v, %v), want [now, open)", d.ActiveFrom, d.ActiveTo)
	}
	if d.Questions[6].MaxLength != survey.DefaultTextLength {
		t.Errorf("text max_length = %d, want the default %d", d.Questions[6].MaxLength, survey.DefaultTextLength)
	}
	if d.NPSQuestion() != "recommend" {
		t.Errorf("NPSQuestion = %q", d.NPSQuestion())
	}
	if !d.Open(now) || d.Open(now.Add(-time.Second)) {
		t.Error("the window must start at active_from, inclusive")
	}
}

func TestNewDefinitionFieldErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		edit  func(*survey.DefinitionInput)
		field string
		want  string
	}{
		"no name":             {func(in *survey.DefinitionInput) { in.Name = "  " }, "name", "1 to 200"},
		"bad from":            {func(in *survey.DefinitionInput) { in.ActiveFrom = "yesterday" }, "active_from", "RFC 3339"},
		"to before from":      {func(in *survey.DefinitionInput) { in.ActiveTo = "2026-02-01T00:00:00Z" }, "active_to", "after active_from"},
		"bad one_per":         {func(in *survey.DefinitionInput) { in.OnePer = "visit" }, "one_per", "member or order"},
		"anonymous by member": {func(in *survey.DefinitionInput) { in.OnePer, in.AllowAnonymous = "member", true }, "one_per", "anonymous"},
		"min sample 0":        {func(in *survey.DefinitionInput) { in.MinSample = intp(0) }, "min_sample", "from 1"},
		"no questions":        {func(in *survey.DefinitionInput) { in.Questions = nil }, "questions", "at least one"},
		"bad kind":            {func(in *survey.DefinitionInput) { in.Questions[1].Kind = "stars" }, "questions[1].kind", "must be nps"},
		"two nps":             {func(in *survey.DefinitionInput) { in.Questions[3].Kind = "nps" }, "questions[3].kind", "at most one nps"},
		"dup id":              {func(in *survey.DefinitionInput) { in.Questions[2].ID = "recommend" }, "questions[2].id", "duplicate of questions[0].id"},
		"bad id":              {func(in *survey.DefinitionInput) { in.Questions[2].ID = "Easy!" }, "questions[2].id", "slug"},
		"no prompt":           {func(in *survey.DefinitionInput) { in.Questions[0].Prompt = "" }, "questions[0].prompt", "1 to 500"},
		"one choice":          {func(in *survey.DefinitionInput) { in.Questions[4].Choices = in.Questions[4].Choices[:1] }, "questions[4].choices", "at least 2"},
		"dup choice": {func(in *survey.DefinitionInput) {
			in.Questions[5].Choices[2].ID = "shoes"
		}, "questions[5].choices[2].id", "duplicate of questions[5].choices[0].id"},
		"choice label":        {func(in *survey.DefinitionInput) { in.Questions[5].Choices[1].Label = "" }, "questions[5].choices[1].label", "1 to 200"},
		"choices on csat":     {func(in *survey.DefinitionInput) { in.Questions[1].Choices = in.Questions[4].Choices }, "questions[1].choices", "only choice"},
		"text too long":       {func(in *survey.DefinitionInput) { in.Questions[6].MaxLength = 6000 }, "questions[6].max_length", "from 1 to 5000"},
		"max_length on nps":   {func(in *survey.DefinitionInput) { in.Questions[0].MaxLength = 3 }, "questions[0].max_length", "only text"},
		"dimension on text":   {func(in *survey.DefinitionInput) { in.Questions[6].Dimension = survey.Value }, "questions[6].dimension", "only nps"},
		"bad dimension":       {func(in *survey.DefinitionInput) { in.Questions[1].Dimension = "Product Quality" }, "questions[1].dimension", "slug"},
		"mixed scales":        {func(in *survey.DefinitionInput) { in.Questions[2].Dimension = survey.ProductQuality }, "questions[2].dimension", "never mixed"},
		"bad store":           {func(in *survey.DefinitionInput) { in.Targeting.Stores[1] = "S 2" }, "targeting.stores[1]", "store id"},
		"dup store":           {func(in *survey.DefinitionInput) { in.Targeting.Stores[1] = "S01" }, "targeting.stores[1]", "duplicate"},
		"bad channel":         {func(in *survey.DefinitionInput) { in.Targeting.Channels[0] = "fax" }, "targeting.channels[0]", "store, online"},
		"own dimension is ok": {func(in *survey.DefinitionInput) { in.Questions[3].Dimension = "fitting_room" }, "", ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := postPurchase()
			c.edit(&in)
			_, err := survey.NewDefinition("sv1", in, now)
			if c.field == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			fs := fieldsOf(t, err)
			if !strings.Contains(fs[c.field], c.want) {
				t.Errorf("fields = %v, want %s: …%s…", fs, c.field, c.want)
			}
		})
	}
}

func TestNewDefinitionCollectsEveryError(t *testing.T) {
	t.Parallel()
	in := postPurchase()
	in.Name = ""
	in.Questions[1].Kind = "x"
	in.Questions[4].Choices = nil
	fs := fieldsOf(t, func() error { _, err := survey.NewDefinition("sv1", in, now); return err }())
	for _, f := range []string{"name", "questions[1].kind", "questions[4].choices"} {
		if fs[f] == "" {
			t.Errorf("missing %s in %v", f, fs)
		}
	}
}

func TestEditVersions(t *testing.T) {
	t.Parallel()
	in := postPurchase()
	v1, err := survey.NewDefinition("sv1", in, now)
	if err != nil {
		t.Fatal(err)
	}
	in.Questions[1].Prompt = "How satisfied are you with what you bought?"
	in.Questions[3].Required = true
	v2, created, err := survey.Edit(v1, in, now)
	if err != nil || !created || v2.Version != 2 || v2.ID != "sv1" {
		t.Fatalf("edit of an active survey: version %d created %v err %v, want version 2", v2.Version, created, err)
	}
	got := survey.UnchangedQuestions(v1, v2)
	want := []string{"recommend", "easy", "staff", "found", "bought", "why"}
	if !slices.Equal(got, want) {
		t.Errorf("unchanged = %v, want %v (a changed prompt is a new question; required may change)", got, want)
	}

	in.Questions[4].Choices = append(in.Questions[4].Choices, survey.Choice{ID: "search", Label: "A search"})
	in.Questions = append(in.Questions[:6], survey.QuestionInput{ID: "why", Kind: "text", Prompt: "Why?", MaxLength: 200})
	v3, _, err := survey.Edit(v2, in, now)
	if err != nil || v3.Version != 3 {
		t.Fatalf("v3: %v %d", err, v3.Version)
	}
	history := []survey.Definition{v3, v1, v2}
	for _, c := range []struct {
		q    string
		v    int
		want []int
	}{
		{"recommend", 2, []int{1, 2, 3}},
		{"satisfied", 1, []int{1}},
		{"satisfied", 3, []int{2, 3}},
		{"found", 1, []int{1, 2}},
		{"found", 3, []int{3}},
		{"why", 1, []int{1, 2, 3}},
		{"missing", 1, nil},
	} {
		if got := survey.MergeableVersions(history, c.q, c.v); !slices.Equal(got, c.want) {
			t.Errorf("MergeableVersions(%s, v%d) = %v, want %v", c.q, c.v, got, c.want)
		}
	}

	// A version that has not started yet is edited in place.
	in = postPurchase()
	in.ActiveFrom = "2026-04-01T00:00:00Z"
	draft, _ := survey.NewDefinition("sv2", in, now)
	in.Name = "Renamed"
	edited, created, err := survey.Edit(draft, in, now)
	if err != nil || created || edited.Version != 1 || edited.Name != "Renamed" {
		t.Errorf("edit of a draft: version %d created %v err %v, want version 1 in place", edited.Version, created, err)
	}
	// An invalid edit changes nothing and names the field.
	in.Questions[0].Kind = "nope"
	if _, _, err := survey.Edit(v1, in, now); fieldsOf(t, err)["questions[0].kind"] == "" {
		t.Errorf("invalid edit: %v", err)
	}
}

func TestKindScales(t *testing.T) {
	t.Parallel()
	for k, want := range map[survey.Kind][2]int{survey.NPS: {0, 10}, survey.CSAT: {1, 5}, survey.CES: {1, 7}, survey.Rating: {1, 5}} {
		lo, hi, ok := k.Scale()
		if !ok || lo != want[0] || hi != want[1] {
			t.Errorf("%s scale = %d–%d %v, want %v", k, lo, hi, ok, want)
		}
	}
	if survey.Text.Scaled() || survey.SingleChoice.Scaled() {
		t.Error("text and choices have no scale")
	}
}
