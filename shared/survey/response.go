package survey

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"clientele/shared/fault"
)

// AnswerInput is one answer as a client sends it. Value is a number for
// nps, csat, ces and rating; a choice id for single_choice; an array of
// choice ids for multiple_choice; a string for text. A null or absent value
// (or an empty text or an empty array) skips the question.
type AnswerInput struct {
	Question string          `json:"question"`
	Value    json.RawMessage `json:"value,omitempty"`
}

// ResponseInput is the body of a survey response.
type ResponseInput struct {
	Answers []AnswerInput `json:"answers"`
}

// Respondent is what the caller knows about who answers, where and when:
// from a verified link token (survey, member, order) and the order it names,
// or from a member's own token.
type Respondent struct {
	// MemberID is empty for an anonymous response.
	MemberID string
	OrderID  string
	Store    string
	Channel  string
	At       time.Time
}

// Answer is one validated answer. Exactly one of Value, Choices and Text
// is set, as the question's kind says.
type Answer struct {
	Question string   `json:"question"`
	Value    *int     `json:"value,omitempty"`
	Choices  []string `json:"choices,omitempty"`
	Text     string   `json:"text,omitempty"`
}

// Response is a validated response to one version of a survey.
type Response struct {
	Survey   string    `json:"survey"`
	Version  int       `json:"version"`
	MemberID string    `json:"member_id,omitempty"`
	OrderID  string    `json:"order_id,omitempty"`
	Store    string    `json:"store,omitempty"`
	Channel  string    `json:"channel"`
	At       time.Time `json:"at"`
	// Answers holds the answered questions in the definition's order.
	Answers []Answer `json:"answers"`
	// Skipped lists the questions left unanswered, in the definition's
	// order; they are counted apart and never in a denominator.
	Skipped []string `json:"skipped,omitempty"`
}

// Answer returns the answer to a question.
func (r Response) Answer(question string) (Answer, bool) {
	for _, a := range r.Answers {
		if a.Question == question {
			return a, true
		}
	}
	return Answer{}, false
}

// DedupeKey is the key of the at-most-one rule: "member#<id>" or
// "order#<id>", unique per survey (across its versions).
func (r Response) DedupeKey(d Definition) string {
	if d.OnePer == PerOrder {
		return "order#" + r.OrderID
	}
	return "member#" + r.MemberID
}

// Erase removes what identifies the member: the member link and the text
// answers. The scores it contributed stay.
func (r Response) Erase() Response {
	r.MemberID = ""
	var as []Answer
	for _, a := range r.Answers {
		if a.Text == "" {
			as = append(as, a)
		}
	}
	r.Answers = as
	return r
}

// ValidateResponse checks a response against the definition version it
// answers and returns it normalised. Every problem is reported, named by its
// JSON path (answers[1].value); the at-most-one rule is the store's, keyed by
// DedupeKey.
func ValidateResponse(d Definition, in ResponseInput, who Respondent) (Response, error) {
	var fs fault.Fields
	r := Response{Survey: d.ID, Version: d.Version, MemberID: who.MemberID, OrderID: who.OrderID,
		Store: who.Store, Channel: who.Channel, At: who.At.UTC()}
	if !d.Open(who.At) {
		if who.At.Before(d.ActiveFrom) {
			fs.Add("survey", "the survey opens at "+d.ActiveFrom.Format(time.RFC3339))
		} else {
			fs.Add("survey", "the survey closed at "+d.ActiveTo.Format(time.RFC3339))
		}
	}
	if !slices.Contains(Channels, who.Channel) {
		fs.Add("channel", "must be store, online, app or social")
	} else if len(d.Targeting.Channels) > 0 && !slices.Contains(d.Targeting.Channels, who.Channel) {
		fs.Add("channel", "the survey does not target channel "+who.Channel)
	}
	if len(d.Targeting.Stores) > 0 && !slices.Contains(d.Targeting.Stores, who.Store) {
		if who.Store == "" {
			fs.Add("store", "is required: the survey targets stores")
		} else {
			fs.Add("store", "the survey does not target store "+who.Store)
		}
	}
	if who.MemberID == "" && !d.AllowAnonymous {
		fs.Add("member_id", "the survey does not accept anonymous responses")
	}
	if d.OnePer == PerOrder && who.OrderID == "" {
		fs.Add("order_id", "is required: the survey accepts one response per order")
	}
	if len(in.Answers) > len(d.Questions) {
		fs.Add("answers", fmt.Sprintf("at most %d answers, one per question", len(d.Questions)))
		return Response{}, fs.Err()
	}
	given := map[string]Answer{}
	at := map[string]int{}
	for i, ai := range in.Answers {
		path := fmt.Sprintf("answers[%d]", i)
		q, ok := d.Question(ai.Question)
		switch {
		case !ok:
			fs.Add(path+".question", "not a question of this survey version")
			continue
		case hasKey(at, ai.Question):
			fs.Add(path+".question", fmt.Sprintf("duplicate of answers[%d].question", at[ai.Question]))
			continue
		}
		at[ai.Question] = i
		a, answered, reason := answer(q, ai.Value)
		switch {
		case reason != "":
			fs.Add(path+".value", reason)
		case !answered && q.Required:
			fs.Add(path+".value", "is required")
		case answered:
			given[q.ID] = a
		}
	}
	for _, q := range d.Questions {
		if a, ok := given[q.ID]; ok {
			r.Answers = append(r.Answers, a)
			continue
		}
		if q.Required && !hasKey(at, q.ID) {
			fs.Add("answers", fmt.Sprintf("question %q is required", q.ID))
		}
		r.Skipped = append(r.Skipped, q.ID)
	}
	if err := fs.Err(); err != nil {
		return Response{}, err
	}
	if len(r.Answers) == 0 {
		return Response{}, fault.Field("answers", "answer at least one question")
	}
	return r, nil
}

func hasKey[K comparable, V any](m map[K]V, k K) bool { _, ok := m[k]; return ok }

// answer parses one answer's value for its question: answered is false for
// a skip; reason is non-empty when the value is invalid.
func answer(q Question, raw json.RawMessage) (a Answer, answered bool, reason string) {
	a.Question = q.ID
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return a, false, ""
	}
	if lo, hi, ok := q.Kind.Scale(); ok {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
			return a, false, fmt.Sprintf("must be an integer from %d to %d", lo, hi)
		}
		v := int(f)
		a.Value = &v
		return a, true, ""
	}
	switch q.Kind {
	case SingleChoice:
		var id string
		if err := json.Unmarshal(raw, &id); err != nil {
			return a, false, "must be a choice id (a string)"
		}
		if !hasChoice(q, id) {
			return a, false, fmt.Sprintf("unknown choice %q", id)
		}
		a.Choices = []string{id}
		return a, true, ""
	case MultipleChoice:
		var ids []string
		if err := json.Unmarshal(raw, &ids); err != nil {
			return a, false, "must be an array of choice ids"
		}
		if len(ids) == 0 {
			return a, false, ""
		}
		for j, id := range ids {
			if !hasChoice(q, id) {
				return a, false, fmt.Sprintf("unknown choice %q at [%d]", id, j)
			}
			if slices.Contains(ids[:j], id) {
				return a, false, fmt.Sprintf("choice %q is given twice", id)
			}
		}
		// Keep the definition's order so equal answers compare equal.
		for _, c := range q.Choices {
			if slices.Contains(ids, c.ID) {
				a.Choices = append(a.Choices, c.ID)
			}
		}
		return a, true, ""
	case Text:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return a, false, "must be a string"
		}
		if !utf8.ValidString(s) {
			return a, false, "must be valid UTF-8"
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return a, false, ""
		}
		if n := utf8.RuneCountInString(s); n > q.MaxLength {
			return a, false, fmt.Sprintf("at most %d characters (got %d)", q.MaxLength, n)
		}
		a.Text = s
		return a, true, ""
	}
	return a, false, "unsupported question kind"
}

func hasChoice(q Question, id string) bool {
	for _, c := range q.Choices {
		if c.ID == id {
			return true
		}
	}
	return false
}
