package survey

// Thresholds of the closed loop.
const (
	// DetractorMax is the highest NPS answer of a detractor.
	DetractorMax = 6
	// LowCSATMax is the highest CSAT answer that asks for a follow-up.
	LowCSATMax = 2
)

// Follow-up reasons.
const (
	ReasonDetractor = "nps_detractor"
	ReasonLowCSAT   = "csat_low"
)

// TextAnswer is a text answer carried into a follow-up case.
type TextAnswer struct {
	Question string `json:"question"`
	Prompt   string `json:"prompt"`
	Text     string `json:"text"`
}

// Trigger is one answer that asked for a follow-up.
type Trigger struct {
	Reason   string `json:"reason"`
	Question string `json:"question"`
	Value    int    `json:"value"`
}

// FollowUp is the request a response sends to the feedback queue to open
// a linked case: at most one per response (the consumer dedupes on the
// response id).
type FollowUp struct {
	Survey   string       `json:"survey"`
	Version  int          `json:"version"`
	MemberID string       `json:"member_id,omitempty"`
	OrderID  string       `json:"order_id,omitempty"`
	Store    string       `json:"store,omitempty"`
	Channel  string       `json:"channel"`
	Triggers []Trigger    `json:"triggers"`
	Texts    []TextAnswer `json:"texts,omitempty"`
}

// FollowUpFor returns the follow-up a response asks for: when its NPS
// answer is a detractor's (0–6) or any CSAT answer is 2 or less. It
// carries every trigger and the response's text answers. ok is false when
// the response needs none.
func FollowUpFor(d Definition, r Response) (f FollowUp, ok bool) {
	for _, a := range r.Answers {
		q, found := d.Question(a.Question)
		if !found {
			continue
		}
		switch {
		case a.Value != nil && q.Kind == NPS && *a.Value <= DetractorMax:
			f.Triggers = append(f.Triggers, Trigger{Reason: ReasonDetractor, Question: q.ID, Value: *a.Value})
		case a.Value != nil && q.Kind == CSAT && *a.Value <= LowCSATMax:
			f.Triggers = append(f.Triggers, Trigger{Reason: ReasonLowCSAT, Question: q.ID, Value: *a.Value})
		case q.Kind == Text && a.Text != "":
			f.Texts = append(f.Texts, TextAnswer{Question: q.ID, Prompt: q.Prompt, Text: a.Text})
		}
	}
	if len(f.Triggers) == 0 {
		return FollowUp{}, false
	}
	f.Survey, f.Version, f.MemberID, f.OrderID, f.Store, f.Channel = r.Survey, r.Version, r.MemberID, r.OrderID, r.Store, r.Channel
	return f, true
}

// Completed reports whether a response answered every question of its
// version: only complete responses may earn a completion bonus.
func (r Response) Completed() bool { return len(r.Skipped) == 0 && len(r.Answers) > 0 }
