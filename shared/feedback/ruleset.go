// Package feedback is the feedback domain's pure core: triage rules that a
// brand edits as data, SLA calendars, the case workflow and the primitives
// problem clusters are built from. It imports no AWS package.
package feedback

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"clientele/shared/fault"
)

// Type is what the customer is doing.
type Type string

// Types.
const (
	Complaint  Type = "complaint"
	Suggestion Type = "suggestion"
	Praise     Type = "praise"
	Question   Type = "question"
)

// Types lists every type in tie-break order: when two types score the same,
// the earlier one wins.
var Types = []Type{Complaint, Question, Suggestion, Praise}

// Category is what the feedback is about.
type Category string

// Categories.
const (
	ProductQuality   Category = "product_quality"
	Service          Category = "service"
	Delivery         Category = "delivery"
	PricePromotion   Category = "price_promotion"
	StoreEnvironment Category = "store_environment"
	AppWebsite       Category = "app_website"
	MembershipPoints Category = "membership_points"
	OtherCategory    Category = "other"
)

// Categories lists every category in tie-break order.
var Categories = []Category{ProductQuality, Service, Delivery, PricePromotion, StoreEnvironment, AppWebsite, MembershipPoints, OtherCategory}

// Sentiment is the customer's tone.
type Sentiment string

// Sentiments.
const (
	Negative Sentiment = "negative"
	Neutral  Sentiment = "neutral"
	Positive Sentiment = "positive"
)

// Priority is how urgently a case needs a person: P1 is the most urgent.
type Priority string

// Priorities, most urgent first.
const (
	P1 Priority = "P1"
	P2 Priority = "P2"
	P3 Priority = "P3"
)

// Priorities lists every priority, most urgent first.
var Priorities = []Priority{P1, P2, P3}

// Valid reports whether t is a known type.
func (t Type) Valid() bool { return contains(Types, t) }

// Valid reports whether c is a known category.
func (c Category) Valid() bool { return contains(Categories, c) }

// Valid reports whether s is a known sentiment.
func (s Sentiment) Valid() bool { return s == Negative || s == Neutral || s == Positive }

// Valid reports whether p is a known priority.
func (p Priority) Valid() bool { return contains(Priorities, p) }

// rank orders priorities: 1 for P1 … 3 for P3, 4 for none.
func (p Priority) rank() int {
	for i, q := range Priorities {
		if p == q {
			return i + 1
		}
	}
	return len(Priorities) + 1
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Rule is one triage rule. It fires when at least one pattern of Any
// matches, every group of All has a matching pattern, and no pattern of
// Unless matches. A rule without When votes, with its Weight, for the
// type, category and sentiment it names, and raises the priority to the one
// it names; a rule with When is checked after type, category and sentiment
// are decided, only when they satisfy it, and may only set a priority.
// When's type and sentiment are those the text reads as, even if the
// author chose a type, so an author's label cannot switch off a hazard rule.
//
// Patterns are matched against the normalised text (see Normalize). A
// pattern holding Chinese characters matches anywhere (no segmentation). An
// ASCII pattern matches whole words; a trailing "*" makes its last word a
// prefix ("refund*" matches "refunded"). A single ASCII word of seven letters
// or more also matches words one edit away (typos such as "recieved"),
// unless it starts with "=".
type Rule struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	// Any lists the patterns of which at least one must match.
	Any []string `json:"any"`
	// All lists groups of patterns; each group needs one match.
	All [][]string `json:"all,omitempty"`
	// Unless lists guard patterns: any match vetoes the rule (decoys such as
	// "this jacket is fire").
	Unless []string `json:"unless,omitempty"`
	// Negatable ignores a match of Any or All preceded by a negation ("no one
	// was hurt", "没有受伤").
	Negatable bool `json:"negatable,omitempty"`
	// When restricts the rule to cases already decided this way.
	When *Condition `json:"when,omitempty"`

	Type      Type      `json:"type,omitempty"`
	Category  Category  `json:"category,omitempty"`
	Sentiment Sentiment `json:"sentiment,omitempty"`
	Priority  Priority  `json:"priority,omitempty"`
	// Weight is the rule's vote (1 when absent).
	Weight int `json:"weight,omitempty"`
}

// Condition is a rule's When: every non-empty list must hold the decided value.
type Condition struct {
	Type      []Type      `json:"type,omitempty"`
	Category  []Category  `json:"category,omitempty"`
	Sentiment []Sentiment `json:"sentiment,omitempty"`
}

func (c *Condition) holds(t Type, cat Category, s Sentiment) bool {
	if c == nil {
		return true
	}
	return (len(c.Type) == 0 || contains(c.Type, t)) &&
		(len(c.Category) == 0 || contains(c.Category, cat)) &&
		(len(c.Sentiment) == 0 || contains(c.Sentiment, s))
}

// Ruleset is a versioned set of triage rules, as a brand stores and edits it.
type Ruleset struct {
	// Version names this edit of the rules; every case records it.
	Version string `json:"version"`
	Rules   []Rule `json:"rules"`
}

// Limits on a ruleset, so a stored edit stays small and fast to compile.
const (
	MaxRules          = 500
	MaxPatternsInRule = 200
	MaxPatternBytes   = 100
	MaxWeight         = 100
)

var (
	idPattern      = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	versionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
)

//go:embed rules/default.json
var defaultRulesJSON []byte

// DefaultRulesJSON returns the shipped ruleset as JSON (a copy).
func DefaultRulesJSON() []byte { return bytes.Clone(defaultRulesJSON) }

// DefaultRuleset returns the shipped ruleset.
func DefaultRuleset() Ruleset {
	rs, err := ParseRuleset(defaultRulesJSON)
	if err != nil {
		panic("feedback: the embedded default ruleset is invalid: " + err.Error())
	}
	return rs
}

// ParseRuleset decodes a ruleset strictly (unknown fields are errors) and
// validates it. Errors are fault.Invalid and name fields by JSON path.
func ParseRuleset(b []byte) (Ruleset, error) {
	var rs Ruleset
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rs); err != nil {
		return Ruleset{}, fault.Field("body", "is not a ruleset: "+err.Error())
	}
	if dec.More() {
		return Ruleset{}, fault.Field("body", "has data after the ruleset")
	}
	if err := rs.Validate(); err != nil {
		return Ruleset{}, err
	}
	return rs, nil
}

// Validate checks the ruleset; the error is fault.Invalid listing every
// problem by JSON path (e.g. "rules[3].any[0]").
func (rs Ruleset) Validate() error {
	var fs fault.Fields
	if !versionPattern.MatchString(rs.Version) {
		fs.Add("version", "must be 1–64 letters, digits or . _ : -")
	}
	if len(rs.Rules) == 0 {
		fs.Add("rules", "must hold at least one rule")
	}
	if len(rs.Rules) > MaxRules {
		fs.Add("rules", fmt.Sprintf("must hold at most %d rules", MaxRules))
	}
	seen := make(map[string]bool, len(rs.Rules))
	for i, r := range rs.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		if !idPattern.MatchString(r.ID) {
			fs.Add(p+".id", "must be 1–64 lower-case letters, digits or . _ -, starting with a letter or digit")
		} else if seen[r.ID] {
			fs.Add(p+".id", "repeats the id of an earlier rule")
		}
		seen[r.ID] = true
		if len(r.Any) == 0 {
			fs.Add(p+".any", "must hold at least one pattern")
		}
		checkPatterns(&fs, p+".any", r.Any)
		for j, g := range r.All {
			if len(g) == 0 {
				fs.Add(fmt.Sprintf("%s.all[%d]", p, j), "must hold at least one pattern")
			}
			checkPatterns(&fs, fmt.Sprintf("%s.all[%d]", p, j), g)
		}
		checkPatterns(&fs, p+".unless", r.Unless)
		if r.Type == "" && r.Category == "" && r.Sentiment == "" && r.Priority == "" {
			fs.Add(p, "must set at least one of type, category, sentiment, priority")
		}
		if r.Type != "" && !r.Type.Valid() {
			fs.Add(p+".type", "must be one of complaint, suggestion, praise, question")
		}
		if r.Category != "" && !r.Category.Valid() {
			fs.Add(p+".category", "must be a known category")
		}
		if r.Sentiment != "" && !r.Sentiment.Valid() {
			fs.Add(p+".sentiment", "must be negative, neutral or positive")
		}
		if r.Priority != "" && !r.Priority.Valid() {
			fs.Add(p+".priority", "must be P1, P2 or P3")
		}
		if r.Weight < 0 || r.Weight > MaxWeight {
			fs.Add(p+".weight", fmt.Sprintf("must be between 0 and %d", MaxWeight))
		}
		if r.When != nil {
			if r.Priority == "" || r.Type != "" || r.Category != "" || r.Sentiment != "" {
				fs.Add(p+".when", "a rule with when may only set priority")
			}
			for j, t := range r.When.Type {
				if !t.Valid() {
					fs.Add(fmt.Sprintf("%s.when.type[%d]", p, j), "must be a known type")
				}
			}
			for j, c := range r.When.Category {
				if !c.Valid() {
					fs.Add(fmt.Sprintf("%s.when.category[%d]", p, j), "must be a known category")
				}
			}
			for j, s := range r.When.Sentiment {
				if !s.Valid() {
					fs.Add(fmt.Sprintf("%s.when.sentiment[%d]", p, j), "must be a known sentiment")
				}
			}
		}
	}
	return fs.Err()
}

func checkPatterns(fs *fault.Fields, path string, patterns []string) {
	if len(patterns) > MaxPatternsInRule {
		fs.Add(path, fmt.Sprintf("must hold at most %d patterns", MaxPatternsInRule))
	}
	for j, raw := range patterns {
		f := fmt.Sprintf("%s[%d]", path, j)
		if len(raw) > MaxPatternBytes || !utf8.ValidString(raw) {
			fs.Add(f, fmt.Sprintf("must be valid UTF-8 of at most %d bytes", MaxPatternBytes))
			continue
		}
		body := strings.TrimPrefix(strings.TrimSuffix(raw, "*"), "=")
		if strings.Contains(body, "*") {
			fs.Add(f, `may hold "*" only at its end`)
		}
		if strings.TrimSpace(Normalize(body)) == "" {
			fs.Add(f, "must not be empty")
		}
	}
}
