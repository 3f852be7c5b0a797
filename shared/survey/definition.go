// Package survey is the survey domain: versioned definitions, validation of
// responses against the version they answer, NPS/CSAT/CES scoring with
// margins of error and significance tests, exact mergeable aggregates
// (per local day, rolled up per month) and signed single-use link tokens.
// It imports no AWS package; storage, functions and routes build on it.
package survey

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"clientele/shared/fault"
)

// Kind is the kind of a question. A kind fixes its scale: scales are part of
// the definition and are never mixed.
type Kind string

// Question kinds.
const (
	// NPS is "how likely are you to recommend us", 0–10.
	NPS Kind = "nps"
	// CSAT is "how satisfied are you", 1–5.
	CSAT Kind = "csat"
	// CES is "the company made it easy for me", 1–7, 7 = strongly agree.
	CES Kind = "ces"
	// Rating is a 1–5 rating.
	Rating         Kind = "rating"
	SingleChoice   Kind = "single_choice"
	MultipleChoice Kind = "multiple_choice"
	Text           Kind = "text"
)

// Scale returns the inclusive range of a scale kind's answers; ok is false
// for choice and text kinds.
func (k Kind) Scale() (lo, hi int, ok bool) {
	switch k {
	case NPS:
		return 0, 10, true
	case CSAT, Rating:
		return 1, 5, true
	case CES:
		return 1, 7, true
	}
	return 0, 0, false
}

// Scaled reports whether answers of the kind are numbers on a scale.
func (k Kind) Scaled() bool { _, _, ok := k.Scale(); return ok }

// Choice reports whether answers of the kind are choice ids.
func (k Kind) Choice() bool { return k == SingleChoice || k == MultipleChoice }

var kinds = map[Kind]bool{NPS: true, CSAT: true, CES: true, Rating: true, SingleChoice: true, MultipleChoice: true, Text: true}

// Standard dimensions; a brand may add its own as a slug.
const (
	ProductQuality     = "product_quality"
	ServiceQuality     = "service_quality"
	ShoppingExperience = "shopping_experience"
	Delivery           = "delivery"
	Value              = "value"
)

// Limit says what a survey accepts at most one response per.
type Limit string

// Limits.
const (
	PerMember Limit = "member"
	PerOrder  Limit = "order"
)

// Limits of a definition.
const (
	// DefaultMinSample is the responses needed before a score is shown.
	DefaultMinSample = 30
	// DefaultTextLength is a text question's maximum answer length in
	// characters (Unicode code points) when the definition gives none.
	DefaultTextLength = 1000
	// MaxTextLength bounds a text question's max_length.
	MaxTextLength = 5000
	// MaxQuestions bounds the questions of one survey.
	MaxQuestions = 50
	// MaxChoices bounds the choices of one question.
	MaxChoices = 50
	// MaxTargets bounds the stores (and channels) a survey targets.
	MaxTargets = 1000
)

// Channels a survey may target (the purchase channels of shared/points).
var Channels = []string{"store", "online", "app", "social"}

var (
	slug    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	storeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
)

// Choice is one option of a choice question.
type Choice struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Question is one question of a survey version. ID is stable across
// versions: a question keeps its id when edited.
type Question struct {
	ID        string   `json:"id"`
	Kind      Kind     `json:"kind"`
	Prompt    string   `json:"prompt"`
	Dimension string   `json:"dimension,omitempty"`
	Required  bool     `json:"required"`
	Choices   []Choice `json:"choices,omitempty"`
	// MaxLength is a text answer's limit in characters.
	MaxLength int `json:"max_length,omitempty"`
}

// Targeting restricts who may answer; empty lists mean every store or
// channel.
type Targeting struct {
	Stores   []string `json:"stores,omitempty"`
	Channels []string `json:"channels,omitempty"`
}

// Admits reports whether a response from store and channel is targeted.
func (t Targeting) Admits(store, channel string) bool {
	return (len(t.Stores) == 0 || slices.Contains(t.Stores, store)) &&
		(len(t.Channels) == 0 || slices.Contains(t.Channels, channel))
}

// Definition is one version of a survey.
type Definition struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Name    string `json:"name"`
	// ActiveFrom and ActiveTo bound when responses are accepted:
	// [ActiveFrom, ActiveTo). A zero ActiveTo means open-ended.
	ActiveFrom     time.Time  `json:"active_from"`
	ActiveTo       time.Time  `json:"active_to,omitzero"`
	Questions      []Question `json:"questions"`
	Targeting      Targeting  `json:"targeting"`
	AllowAnonymous bool       `json:"allow_anonymous"`
	OnePer         Limit      `json:"one_per"`
	MinSample      int        `json:"min_sample"`
	CreatedAt      time.Time  `json:"created_at"`
}

// Question returns the question with the id.
func (d Definition) Question(id string) (Question, bool) {
	for _, q := range d.Questions {
		if q.ID == id {
			return q, true
		}
	}
	return Question{}, false
}

// NPSQuestion returns the id of the survey's NPS question (a survey has at
// most one), or "".
func (d Definition) NPSQuestion() string {
	for _, q := range d.Questions {
		if q.Kind == NPS {
			return q.ID
		}
	}
	return ""
}

// Open reports whether responses are accepted at t.
func (d Definition) Open(t time.Time) bool {
	return !t.Before(d.ActiveFrom) && (d.ActiveTo.IsZero() || t.Before(d.ActiveTo))
}

// Started reports whether the version has been open at or before now:
// responses may reference it, so it is frozen.
func (d Definition) Started(now time.Time) bool { return !now.Before(d.ActiveFrom) }

// ChoiceInput is one choice as a client sends it.
type ChoiceInput = Choice

// QuestionInput is one question as a client sends it.
type QuestionInput struct {
	ID        string        `json:"id"`
	Kind      string        `json:"kind"`
	Prompt    string        `json:"prompt"`
	Dimension string        `json:"dimension,omitempty"`
	Required  bool          `json:"required,omitempty"`
	Choices   []ChoiceInput `json:"choices,omitempty"`
	MaxLength int           `json:"max_length,omitempty"`
}

// DefinitionInput is a survey definition as a client sends it.
type DefinitionInput struct {
	Name string `json:"name"`
	// ActiveFrom and ActiveTo are RFC 3339 instants; ActiveFrom defaults
	// to now, ActiveTo to open-ended.
	ActiveFrom     string          `json:"active_from,omitempty"`
	ActiveTo       string          `json:"active_to,omitempty"`
	Questions      []QuestionInput `json:"questions"`
	Targeting      Targeting       `json:"targeting"`
	AllowAnonymous bool            `json:"allow_anonymous,omitempty"`
	OnePer         string          `json:"one_per,omitempty"`
	// MinSample defaults to DefaultMinSample when nil.
	MinSample *int `json:"min_sample,omitempty"`
}

// NewDefinition validates a definition and returns version 1 of survey id.
// Every invalid field is reported, named by its JSON path
// (e.g. "questions[2].choices").
func NewDefinition(id string, in DefinitionInput, now time.Time) (Definition, error) {
	d, err := build(in, now)
	if err != nil {
		return Definition{}, err
	}
	d.ID, d.Version, d.CreatedAt = id, 1, now.UTC()
	return d, nil
}

// Edit applies an edit to the current version. A version that has started
// (responses may reference it) is frozen: the edit becomes version
// current.Version+1. A version that has not started yet is replaced in place
// and keeps its number. created reports whether a new version was made.
func Edit(current Definition, in DefinitionInput, now time.Time) (next Definition, created bool, err error) {
	d, err := build(in, now)
	if err != nil {
		return Definition{}, false, err
	}
	d.ID, d.CreatedAt = current.ID, now.UTC()
	if current.Started(now) {
		d.Version = current.Version + 1
		return d, true, nil
	}
	d.Version = current.Version
	return d, false, nil
}

func build(in DefinitionInput, now time.Time) (Definition, error) {
	var fs fault.Fields
	d := Definition{AllowAnonymous: in.AllowAnonymous, MinSample: DefaultMinSample, OnePer: Limit(in.OnePer)}
	if n, err := text(in.Name, 200); err != nil {
		fs.Add("name", err.Error())
	} else {
		d.Name = n
	}
	d.ActiveFrom = now.UTC()
	if in.ActiveFrom != "" {
		if t, err := time.Parse(time.RFC3339, in.ActiveFrom); err != nil {
			fs.Add("active_from", "must be an RFC 3339 instant")
		} else {
			d.ActiveFrom = t.UTC()
		}
	}
	if in.ActiveTo != "" {
		if t, err := time.Parse(time.RFC3339, in.ActiveTo); err != nil {
			fs.Add("active_to", "must be an RFC 3339 instant")
		} else if !t.After(d.ActiveFrom) {
			fs.Add("active_to", "must be after active_from")
		} else {
			d.ActiveTo = t.UTC()
		}
	}
	if d.OnePer == "" {
		d.OnePer = PerMember
	}
	switch d.OnePer {
	case PerMember:
		if d.AllowAnonymous {
			fs.Add("one_per", "anonymous responses cannot be limited per member: use order")
		}
	case PerOrder:
	default:
		fs.Add("one_per", "must be member or order")
	}
	if in.MinSample != nil {
		if *in.MinSample < 1 || *in.MinSample > 100000 {
			fs.Add("min_sample", "must be an integer from 1 to 100000")
		} else {
			d.MinSample = *in.MinSample
		}
	}
	d.Targeting = targeting(in.Targeting, &fs)
	d.Questions = questions(in.Questions, &fs)
	if err := fs.Err(); err != nil {
		return Definition{}, err
	}
	return d, nil
}

func targeting(in Targeting, fs *fault.Fields) Targeting {
	var out Targeting
	if len(in.Stores) > MaxTargets {
		fs.Add("targeting.stores", fmt.Sprintf("at most %d stores", MaxTargets))
	} else {
		for i, s := range in.Stores {
			switch {
			case !storeID.MatchString(s):
				fs.Add(fmt.Sprintf("targeting.stores[%d]", i), "must be a store id of letters, digits, - and _ (at most 64)")
			case slices.Contains(out.Stores, s):
				fs.Add(fmt.Sprintf("targeting.stores[%d]", i), "duplicate store")
			default:
				out.Stores = append(out.Stores, s)
			}
		}
	}
	for i, c := range in.Channels {
		switch {
		case !slices.Contains(Channels, c):
			fs.Add(fmt.Sprintf("targeting.channels[%d]", i), "must be store, online, app or social")
		case slices.Contains(out.Channels, c):
			fs.Add(fmt.Sprintf("targeting.channels[%d]", i), "duplicate channel")
		default:
			out.Channels = append(out.Channels, c)
		}
	}
	return out
}

func questions(in []QuestionInput, fs *fault.Fields) []Question {
	if len(in) == 0 {
		fs.Add("questions", "at least one question is required")
		return nil
	}
	if len(in) > MaxQuestions {
		fs.Add("questions", fmt.Sprintf("at most %d questions", MaxQuestions))
		return nil
	}
	var out []Question
	ids := map[string]int{}
	// dimensionScale remembers the first scale question of each dimension:
	// one dimension is measured on one scale within a version.
	dimensionScale := map[string]int{}
	npsAt := -1
	for i, qi := range in {
		at := func(f string) string { return fmt.Sprintf("questions[%d].%s", i, f) }
		q := Question{ID: qi.ID, Kind: Kind(qi.Kind), Dimension: qi.Dimension, Required: qi.Required}
		if !slug.MatchString(qi.ID) {
			fs.Add(at("id"), "must be a slug: a lowercase letter, then letters, digits and _ (at most 64)")
		} else if j, dup := ids[qi.ID]; dup {
			fs.Add(at("id"), fmt.Sprintf("duplicate of questions[%d].id", j))
		} else {
			ids[qi.ID] = i
		}
		if p, err := text(qi.Prompt, 500); err != nil {
			fs.Add(at("prompt"), err.Error())
		} else {
			q.Prompt = p
		}
		if !kinds[q.Kind] {
			fs.Add(at("kind"), "must be nps, csat, ces, rating, single_choice, multiple_choice or text")
			continue
		}
		if q.Kind == NPS {
			if npsAt >= 0 {
				fs.Add(at("kind"), fmt.Sprintf("a survey has at most one nps question (questions[%d])", npsAt))
			} else {
				npsAt = i
			}
		}
		if q.Dimension != "" {
			switch {
			case !slug.MatchString(q.Dimension):
				fs.Add(at("dimension"), "must be product_quality, service_quality, shopping_experience, delivery, value or a slug of your own")
			case !q.Kind.Scaled():
				fs.Add(at("dimension"), "only nps, csat, ces and rating questions measure a dimension")
			default:
				if j, seen := dimensionScale[q.Dimension]; seen && in[j].Kind != qi.Kind {
					lo, hi, _ := Kind(in[j].Kind).Scale()
					fs.Add(at("dimension"), fmt.Sprintf("%s is measured on the %d–%d scale of questions[%d] (%s); scales are never mixed", q.Dimension, lo, hi, j, in[j].Kind))
				} else if !seen {
					dimensionScale[q.Dimension] = i
				}
			}
		}
		if q.Kind.Choice() {
			q.Choices = choices(qi.Choices, at("choices"), fs)
		} else if len(qi.Choices) > 0 {
			fs.Add(at("choices"), "only choice questions have choices")
		}
		switch {
		case q.Kind == Text && qi.MaxLength == 0:
			q.MaxLength = DefaultTextLength
		case q.Kind == Text && (qi.MaxLength < 1 || qi.MaxLength > MaxTextLength):
			fs.Add(at("max_length"), fmt.Sprintf("must be an integer from 1 to %d", MaxTextLength))
		case q.Kind == Text:
			q.MaxLength = qi.MaxLength
		case qi.MaxLength != 0:
			fs.Add(at("max_length"), "only text questions have a max_length")
		}
		out = append(out, q)
	}
	return out
}

func choices(in []ChoiceInput, path string, fs *fault.Fields) []Choice {
	if len(in) < 2 {
		fs.Add(path, "a choice question needs at least 2 choices")
		return nil
	}
	if len(in) > MaxChoices {
		fs.Add(path, fmt.Sprintf("at most %d choices", MaxChoices))
		return nil
	}
	var out []Choice
	seen := map[string]int{}
	for i, c := range in {
		at := fmt.Sprintf("%s[%d]", path, i)
		ok := true
		if !slug.MatchString(c.ID) {
			fs.Add(at+".id", "must be a slug: a lowercase letter, then letters, digits and _ (at most 64)")
			ok = false
		} else if j, dup := seen[c.ID]; dup {
			fs.Add(at+".id", fmt.Sprintf("duplicate of %s[%d].id", path, j))
			ok = false
		} else {
			seen[c.ID] = i
		}
		l, err := text(c.Label, 200)
		if err != nil {
			fs.Add(at+".label", err.Error())
			ok = false
		}
		if ok {
			out = append(out, Choice{ID: c.ID, Label: l})
		}
	}
	return out
}

// text trims s and checks it has 1 to max characters and no control
// characters.
func text(s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("must be valid UTF-8")
	}
	if s == "" || utf8.RuneCountInString(s) > max {
		return "", fmt.Errorf("must be 1 to %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", fmt.Errorf("must not contain control characters")
		}
	}
	return s, nil
}

// SameQuestion reports whether two versions of a question measure the same
// thing, so their answers may be merged into one score: the same id, kind
// (hence scale), prompt, dimension and choices (ids and labels, in order).
// Whether it is required, and a text question's max_length, may differ.
func SameQuestion(a, b Question) bool {
	return a.ID == b.ID && a.Kind == b.Kind && a.Prompt == b.Prompt &&
		a.Dimension == b.Dimension && slices.Equal(a.Choices, b.Choices)
}

// UnchangedQuestions returns, in a's order, the ids of the questions that
// are the same (SameQuestion) in both versions.
func UnchangedQuestions(a, b Definition) []string {
	var out []string
	for _, qa := range a.Questions {
		if qb, ok := b.Question(qa.ID); ok && SameQuestion(qa, qb) {
			out = append(out, qa.ID)
		}
	}
	return out
}

// MergeableVersions returns the versions (ascending) among history whose
// question id is the same as in version v, including v itself; scores of
// that question may be read across them. It returns nil when v is not in
// history or has no such question.
func MergeableVersions(history []Definition, questionID string, v int) []int {
	var ref Question
	found := false
	for _, d := range history {
		if d.Version == v {
			ref, found = d.Question(questionID)
		}
	}
	if !found {
		return nil
	}
	var out []int
	for _, d := range history {
		if q, ok := d.Question(questionID); ok && SameQuestion(ref, q) {
			out = append(out, d.Version)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
