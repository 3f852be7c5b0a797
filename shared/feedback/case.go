package feedback

import (
	"time"

	"clientele/shared/fault"
)

// ResolutionCode says how a case was resolved.
type ResolutionCode string

// Resolution codes.
const (
	ResolvedFixed     ResolutionCode = "fixed"
	ResolvedRefunded  ResolutionCode = "refunded"
	ResolvedReplaced  ResolutionCode = "replaced"
	ResolvedExplained ResolutionCode = "explained"
	ResolvedGoodwill  ResolutionCode = "goodwill"
	ResolvedDuplicate ResolutionCode = "duplicate"
	ResolvedNoAction  ResolutionCode = "no_action"
)

// ResolutionCodes lists every resolution code.
var ResolutionCodes = []ResolutionCode{ResolvedFixed, ResolvedRefunded, ResolvedReplaced, ResolvedExplained, ResolvedGoodwill, ResolvedDuplicate, ResolvedNoAction}

// Actors other than staff ids.
const (
	ByCustomer = "customer"
	BySystem   = "system"
)

// Case is one piece of feedback and its handling. Every change goes through
// a method, which checks the workflow and appends to History; SLA state is
// derived from History (Case.SLA), never stored.
type Case struct {
	ID          string
	Channel     Channel
	Text        string
	Rating      int
	Store       string
	OrderID     string
	SKU         string
	MemberID    string
	Contact     *Contact
	Attachments []string

	Type      Type
	Category  Category
	Sentiment Sentiment
	Priority  Priority
	// Triage is the decision that set type, category, sentiment and
	// priority (nil until triaged).
	Triage *Result

	Team           string
	Assignee       string
	ClusterID      string
	ResolutionCode ResolutionCode
	Workflow
	History   []HistoryEntry
	CreatedAt time.Time
	UpdatedAt time.Time
	// Erased: the author's link and the free text were removed.
	Erased bool
	// Version counts the stored changes of the case; the store sets it and
	// writes conditionally on it (0: not stored yet).
	Version int64
}

// NewCase opens a case for a submission.
func NewCase(id string, s Submission, now time.Time) *Case {
	return &Case{
		ID: id, Channel: s.Channel, Text: s.Text, Rating: s.Rating, Store: s.Store, OrderID: s.OrderID, SKU: s.SKU,
		MemberID: s.MemberID, Contact: s.Contact, Attachments: s.Attachments, Type: s.Type,
		Workflow:  Workflow{Status: StatusNew},
		History:   []HistoryEntry{{At: now, Kind: EntryCreated, Status: StatusNew, By: BySystem}},
		CreatedAt: now, UpdatedAt: now,
	}
}

func (c *Case) move(a Action, by string, now time.Time) error {
	from := c.Status
	if err := c.Apply(a, now); err != nil {
		return err
	}
	if c.Status != from {
		c.History = append(c.History, HistoryEntry{At: now, Kind: EntryStatus, Status: c.Status, Action: a, By: by})
	}
	c.UpdatedAt = now
	return nil
}

// ApplyTriage records a triage decision and opens the case. A type the
// author gave is kept (the engine was told it).
func (c *Case) ApplyTriage(r Result, now time.Time) error {
	if err := c.move(ActionTriage, BySystem, now); err != nil {
		return err
	}
	c.Type, c.Category, c.Sentiment, c.Priority = r.Type, r.Category, r.Sentiment, r.Priority
	c.Triage = &r
	c.History[len(c.History)-1].Code = r.RulesVersion
	return nil
}

// Assign gives the case to a person; a case nobody works on yet starts.
func (c *Case) Assign(by, assignee string, now time.Time) error {
	if assignee == "" {
		return fault.Field("assignee", "is required")
	}
	if c.Status == StatusClosed || c.Status == StatusResolved {
		return fault.New(fault.Conflict, "a %s case cannot be assigned", c.Status)
	}
	if c.Status == StatusNew || c.Status == StatusOpen || c.Status == StatusReopened {
		if err := c.move(ActionStart, by, now); err != nil {
			return err
		}
	}
	c.Assignee = assignee
	c.History = append(c.History, HistoryEntry{At: now, Kind: EntryAssigned, By: by, Code: assignee})
	c.UpdatedAt = now
	return nil
}

// Reply records a staff reply to the customer; with waitForCustomer the
// case then waits on the customer (its SLA clocks pause).
func (c *Case) Reply(by, text string, waitForCustomer bool, now time.Time) error {
	if text == "" {
		return fault.Field("text", "is required")
	}
	if c.Status == StatusClosed {
		return fault.New(fault.Conflict, "a closed case takes no reply")
	}
	if waitForCustomer {
		if err := c.move(ActionWaitCustomer, by, now); err != nil {
			return err
		}
	}
	// The reply precedes the status change it causes.
	entry := HistoryEntry{At: now, Kind: EntryAgentReply, By: by, Note: text}
	if waitForCustomer {
		last := len(c.History) - 1
		c.History = append(c.History[:last], entry, c.History[last])
	} else {
		c.History = append(c.History, entry)
	}
	c.UpdatedAt = now
	return nil
}

// CustomerReply records a message from the customer; a case waiting on
// the customer goes back to in progress.
func (c *Case) CustomerReply(text string, now time.Time) error {
	if text == "" {
		return fault.Field("text", "is required")
	}
	if _, err := c.Next(ActionCustomerReply, now); err != nil {
		return err
	}
	c.History = append(c.History, HistoryEntry{At: now, Kind: EntryCustomerMessage, By: ByCustomer, Note: text})
	return c.move(ActionCustomerReply, ByCustomer, now)
}

// AddNote records an internal note (never shown to the customer).
func (c *Case) AddNote(by, text string, now time.Time) error {
	if text == "" {
		return fault.Field("note", "is required")
	}
	c.History = append(c.History, HistoryEntry{At: now, Kind: EntryNote, By: by, Note: text})
	c.UpdatedAt = now
	return nil
}

// Resolve resolves the case with a code.
func (c *Case) Resolve(by string, code ResolutionCode, now time.Time) error {
	if !contains(ResolutionCodes, code) {
		return fault.Field("resolution_code", "must be one of fixed, refunded, replaced, explained, goodwill, duplicate, no_action")
	}
	if err := c.move(ActionResolve, by, now); err != nil {
		return err
	}
	c.ResolutionCode = code
	c.History[len(c.History)-1].Code = string(code)
	return nil
}

// Reopen reopens a resolved case within ReopenWindow.
func (c *Case) Reopen(by string, now time.Time) error {
	if err := c.move(ActionReopen, by, now); err != nil {
		return err
	}
	c.ResolutionCode = ""
	return nil
}

// Close closes a resolved case for good.
func (c *Case) Close(by string, now time.Time) error { return c.move(ActionClose, by, now) }

// JoinCluster links the case to a problem cluster (once: a case belongs to
// at most one cluster; joining the same one again changes nothing).
func (c *Case) JoinCluster(clusterID string, now time.Time) error {
	switch {
	case clusterID == "":
		return fault.Field("cluster", "is required")
	case c.ClusterID == clusterID:
		return nil
	case c.ClusterID != "":
		return fault.New(fault.Conflict, "the case already belongs to cluster %s", c.ClusterID)
	}
	c.ClusterID = clusterID
	c.History = append(c.History, HistoryEntry{At: now, Kind: EntryClustered, By: BySystem, Code: clusterID})
	c.UpdatedAt = now
	return nil
}

// SLA derives the case's SLA at now.
func (c *Case) SLA(policy SLAPolicy, cal *Calendar, now time.Time) (SLAState, error) {
	p := c.Priority
	if p == "" {
		p = P3
	}
	return ComputeSLA(policy, cal, p, c.History, now)
}

// Erase removes the author's link and every free text (the message, replies,
// notes, attachments), which may hold personal data, and keeps the
// anonymised case — channel, store, sku, type, category, priority, times —
// for statistics.
func (c *Case) Erase(now time.Time) {
	c.MemberID, c.Contact, c.Text, c.Attachments, c.OrderID = "", nil, "", nil, ""
	for i := range c.History {
		c.History[i].Note = ""
	}
	c.Erased = true
	c.UpdatedAt = now
}

// Viewer is who reads or acts on a case.
type Viewer struct {
	Caller
	// Stores restricts staff to these stores' cases; empty means every case.
	Stores []string
}

// Authorize reports whether viewer may see and act on the case. A member
// sees only their own cases; staff restricted to stores see only cases of
// those stores (not online cases without a store); services see all. A
// refusal is fault.NotFound naming the id, so a case's existence does not
// leak.
func (c *Case) Authorize(v Viewer) error {
	ok := false
	switch v.Kind {
	case CallerMember:
		ok = v.MemberID != "" && c.MemberID == v.MemberID
	case CallerStaff:
		ok = len(v.Stores) == 0 || (c.Store != "" && contains(v.Stores, c.Store))
	case CallerService:
		ok = true
	}
	if ok {
		return nil
	}
	return &fault.Error{Kind: fault.NotFound, Message: "no such case", Fields: []fault.FieldError{{Field: "id", Reason: "no such case"}}}
}
