package feedback

import (
	"time"

	"clientele/shared/fault"
)

// Status is where a case is in its workflow.
type Status string

// Statuses.
const (
	StatusNew             Status = "new"              // received, not yet triaged
	StatusOpen            Status = "open"             // triaged, waiting for a person
	StatusInProgress      Status = "in_progress"      // a person works on it
	StatusWaitingCustomer Status = "waiting_customer" // waiting on the customer; SLA clocks pause
	StatusResolved        Status = "resolved"         // answered with a resolution code; may be reopened for 14 days
	StatusClosed          Status = "closed"           // final
	StatusReopened        Status = "reopened"         // resolved, then reopened; needs a person again
)

// Statuses lists every status.
var Statuses = []Status{StatusNew, StatusOpen, StatusInProgress, StatusWaitingCustomer, StatusResolved, StatusClosed, StatusReopened}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return contains(Statuses, s) }

// Action is something that moves a case.
type Action string

// Actions.
const (
	ActionTriage        Action = "triage"         // the worker decided type, category, priority
	ActionStart         Action = "start"          // a person takes the case (assigning does too)
	ActionWaitCustomer  Action = "wait_customer"  // a person asked the customer something
	ActionCustomerReply Action = "customer_reply" // the customer wrote
	ActionResolve       Action = "resolve"        // a person resolved it with a code
	ActionClose         Action = "close"          // a resolved case is closed for good
	ActionReopen        Action = "reopen"         // a resolved case is reopened (within ReopenWindow)
)

// Actions lists every action.
var Actions = []Action{ActionTriage, ActionStart, ActionWaitCustomer, ActionCustomerReply, ActionResolve, ActionClose, ActionReopen}

// ReopenWindow is how long after its resolution a case may be reopened.
const ReopenWindow = 14 * 24 * time.Hour

// transitions is the whole workflow: from a status, an action leads to a
// status. A pair that is missing is illegal. A customer reply that does not
// change the status (the case is already being worked on) is listed as
// leading to the same status.
var transitions = map[Status]map[Action]Status{
	StatusNew: {
		ActionTriage:        StatusOpen,
		ActionStart:         StatusInProgress,
		ActionCustomerReply: StatusNew,
		ActionResolve:       StatusResolved,
	},
	StatusOpen: {
		ActionStart:         StatusInProgress,
		ActionWaitCustomer:  StatusWaitingCustomer,
		ActionCustomerReply: StatusOpen,
		ActionResolve:       StatusResolved,
	},
	StatusInProgress: {
		ActionWaitCustomer:  StatusWaitingCustomer,
		ActionCustomerReply: StatusInProgress,
		ActionResolve:       StatusResolved,
	},
	StatusWaitingCustomer: {
		ActionStart:         StatusInProgress,
		ActionCustomerReply: StatusInProgress,
		ActionResolve:       StatusResolved,
	},
	StatusResolved: {
		ActionClose:  StatusClosed,
		ActionReopen: StatusReopened,
	},
	StatusClosed: {},
	StatusReopened: {
		ActionStart:         StatusInProgress,
		ActionWaitCustomer:  StatusWaitingCustomer,
		ActionCustomerReply: StatusReopened,
		ActionResolve:       StatusResolved,
	},
}

// Workflow is the part of a case the workflow looks at.
type Workflow struct {
	Status Status
	// ResolvedAt is when the case was last resolved (zero if never).
	ResolvedAt time.Time
}

// Next returns the status action leads to at now. An action the status does
// not allow, or a reopen more than ReopenWindow after the resolution, is a
// fault.Conflict (HTTP 409) naming the status; an unknown action or status
// is fault.Invalid.
func (w Workflow) Next(a Action, now time.Time) (Status, error) {
	if !contains(Actions, a) {
		return "", fault.Field("action", "must be one of triage, start, wait_customer, customer_reply, resolve, close, reopen")
	}
	from, ok := transitions[w.Status]
	if !ok {
		return "", fault.New(fault.Internal, "unknown case status %q", w.Status)
	}
	to, ok := from[a]
	if !ok {
		e := fault.New(fault.Conflict, "a case that is %s cannot %s", w.Status, a)
		e.Extra = map[string]any{"status": w.Status, "action": a}
		return "", e
	}
	if a == ActionReopen && (w.ResolvedAt.IsZero() || now.Sub(w.ResolvedAt) > ReopenWindow) {
		e := fault.New(fault.Conflict, "a case may be reopened only within 14 days of its resolution")
		e.Extra = map[string]any{"status": w.Status, "action": a, "resolved_at": w.ResolvedAt}
		return "", e
	}
	return to, nil
}

// Apply moves the workflow by action at now.
func (w *Workflow) Apply(a Action, now time.Time) error {
	to, err := w.Next(a, now)
	if err != nil {
		return err
	}
	w.Status = to
	if to == StatusResolved {
		w.ResolvedAt = now
	}
	return nil
}

// Paused reports whether SLA clocks stop in status s: while the case waits
// on the customer, and while it is resolved or closed.
func (s Status) Paused() bool {
	return s == StatusWaitingCustomer || s == StatusResolved || s == StatusClosed
}
