package main

import (
	"context"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"clientele/shared/apigw"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/feedback"
)

// Limits of the staff inputs.
const (
	// MaxReplyChars bounds a reply or a note.
	MaxReplyChars = feedback.MaxTextChars
	// MaxGoodwillPoints bounds the goodwill points of one resolution.
	MaxGoodwillPoints = 100_000
)

// checkText validates a free text field: 1 to max characters, no control
// characters other than line breaks and tabs.
func checkText(fs *fault.Fields, field, s string, max int) {
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		fs.Add(field, "must be valid UTF-8")
	case n == 0 || len([]rune(trimSpace(s))) == 0:
		fs.Add(field, "is required")
	case n > max:
		fs.Add(field, fmt.Sprintf("must be at most %d characters", max))
	default:
		for _, r := range s {
			if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
				fs.Add(field, "must not hold control characters")
				return
			}
		}
	}
}

func trimSpace(s string) string {
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if !unicode.IsSpace(r) {
			break
		}
		s = s[n:]
	}
	for len(s) > 0 {
		r, n := utf8.DecodeLastRuneInString(s)
		if !unicode.IsSpace(r) {
			break
		}
		s = s[:len(s)-n]
	}
	return s
}

var staffOnly = []apigw.CallerKind{apigw.StaffCaller}

// admit refuses a caller of another kind before the body is read, so a
// caller that may not call a route learns nothing from its validation.
func admit(req apigw.Request, kinds ...apigw.CallerKind) error {
	caller, err := apigw.CallerOf(req)
	if err != nil {
		return err
	}
	return caller.Allow(kinds...)
}

// AssignInput is the body of POST /v1/feedback/cases/{id}/assign.
type AssignInput struct {
	Assignee string `json:"assignee"`
	// Team moves the case to another team (optional).
	Team string `json:"team,omitempty"`
}

func (h *Handler) assign(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if err := admit(req, staffOnly...); err != nil {
		return apigw.Response{}, err
	}
	var in AssignInput
	decodeErr := apigw.DecodeJSON(req, &in)
	var fs fault.Fields
	apigw.BodyID(&fs, "assignee", in.Assignee, false)
	if in.Team != "" && !refValue(in.Team) {
		fs.Add("team", "must be 1–64 letters, digits or . _ : -")
	}
	if err := apigw.Combine(decodeErr, fs.Err()); err != nil {
		return apigw.Response{}, err
	}
	return h.change(ctx, req, staffOnly, func(caller apigw.Caller, c *feedback.Case, now time.Time) ([]event.Envelope, error) {
		if in.Team != "" {
			c.Team = in.Team
		}
		return nil, c.Assign(actor(caller), in.Assignee, now)
	})
}

// StatusInput is the body of POST /v1/feedback/cases/{id}/status: a
// workflow action a person takes (start, wait_customer, close).
type StatusInput struct {
	Action string `json:"action"`
}

func (h *Handler) status(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if err := admit(req, staffOnly...); err != nil {
		return apigw.Response{}, err
	}
	var in StatusInput
	decodeErr := apigw.DecodeJSON(req, &in)
	var fs fault.Fields
	a := feedback.Action(in.Action)
	switch a {
	case feedback.ActionStart, feedback.ActionWaitCustomer, feedback.ActionClose:
	case "":
		fs.Add("action", "is required")
	default:
		fs.Add("action", "must be one of start, wait_customer, close (replies, resolve and reopen have their own endpoints)")
	}
	if err := apigw.Combine(decodeErr, fs.Err()); err != nil {
		return apigw.Response{}, err
	}
	return h.change(ctx, req, staffOnly, func(caller apigw.Caller, c *feedback.Case, now time.Time) ([]event.Envelope, error) {
		if a == feedback.ActionClose {
			return nil, c.Close(actor(caller), now)
		}
		from := c.Status
		if err := c.Apply(a, now); err != nil {
			return nil, err
		}
		c.History = append(c.History, feedback.HistoryEntry{At: now, Kind: feedback.EntryStatus, Status: c.Status, Action: a, By: actor(caller)})
		if c.Status == from {
			c.History = c.History[:len(c.History)-1]
		}
		c.UpdatedAt = now
		return nil, nil
	})
}

// NoteInput is the body of POST /v1/feedback/cases/{id}/notes.
type NoteInput struct {
	Text string `json:"text"`
}

func (h *Handler) note(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if err := admit(req, staffOnly...); err != nil {
		return apigw.Response{}, err
	}
	var in NoteInput
	decodeErr := apigw.DecodeJSON(req, &in)
	var fs fault.Fields
	checkText(&fs, "text", in.Text, MaxReplyChars)
	if err := apigw.Combine(decodeErr, fs.Err()); err != nil {
		return apigw.Response{}, err
	}
	return h.change(ctx, req, staffOnly, func(caller apigw.Caller, c *feedback.Case, now time.Time) ([]event.Envelope, error) {
		return nil, c.AddNote(actor(caller), trimSpace(in.Text), now)
	})
}

// ReplyInput is the body of POST /v1/feedback/cases/{id}/replies. From
// staff it is a reply to the customer (WaitForCustomer: it asks the
// customer something, so the case waits on them); from the member it is
// the customer's message.
type ReplyInput struct {
	Text            string `json:"text"`
	WaitForCustomer bool   `json:"wait_for_customer,omitempty"`
}

func (h *Handler) reply(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if err := admit(req, apigw.MemberCaller, apigw.StaffCaller); err != nil {
		return apigw.Response{}, err
	}
	var in ReplyInput
	decodeErr := apigw.DecodeJSON(req, &in)
	var fs fault.Fields
	checkText(&fs, "text", in.Text, MaxReplyChars)
	if err := apigw.Combine(decodeErr, fs.Err()); err != nil {
		return apigw.Response{}, err
	}
	return h.change(ctx, req, []apigw.CallerKind{apigw.MemberCaller, apigw.StaffCaller},
		func(caller apigw.Caller, c *feedback.Case, now time.Time) ([]event.Envelope, error) {
			text := trimSpace(in.Text)
			if caller.Kind == apigw.MemberCaller {
				if in.WaitForCustomer {
					return nil, fault.Field("wait_for_customer", "is for staff replies")
				}
				return nil, c.CustomerReply(text, now)
			}
			if err := c.Reply(actor(caller), text, in.WaitForCustomer, now); err != nil {
				return nil, err
			}
			ev, err := h.newEvent(feedback.TypeReplied, now, feedback.Replied{CaseID: c.ID, MemberID: c.MemberID, Channel: c.Channel,
				By: actor(caller), At: now, WaitsForCustomer: in.WaitForCustomer})
			return []event.Envelope{ev}, err
		})
}

// ResolveInput is the body of POST /v1/feedback/cases/{id}/resolve.
type ResolveInput struct {
	ResolutionCode string `json:"resolution_code"`
	// GoodwillPoints grants the case's member points through the points
	// ledger (once per case, whatever happens to the case later).
	GoodwillPoints int64 `json:"goodwill_points,omitempty"`
}

func (h *Handler) resolve(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if err := admit(req, staffOnly...); err != nil {
		return apigw.Response{}, err
	}
	var in ResolveInput
	decodeErr := apigw.DecodeJSON(req, &in)
	var fs fault.Fields
	code := feedback.ResolutionCode(in.ResolutionCode)
	switch {
	case code == "":
		fs.Add("resolution_code", "is required")
	case !validCode(code):
		fs.Add("resolution_code", "must be one of fixed, refunded, replaced, explained, goodwill, duplicate, no_action")
	}
	if in.GoodwillPoints < 0 || in.GoodwillPoints > MaxGoodwillPoints {
		fs.Add("goodwill_points", fmt.Sprintf("must be a whole number from 1 to %d", MaxGoodwillPoints))
	}
	if err := apigw.Combine(decodeErr, fs.Err()); err != nil {
		return apigw.Response{}, err
	}
	return h.change(ctx, req, staffOnly, func(caller apigw.Caller, c *feedback.Case, now time.Time) ([]event.Envelope, error) {
		if in.GoodwillPoints > 0 && c.MemberID == "" {
			return nil, fault.Field("goodwill_points", "the case has no member to grant points to")
		}
		if err := c.Resolve(actor(caller), code, now); err != nil {
			return nil, err
		}
		resolved, err := h.newEvent(event.TypeFeedbackCaseResolved, now, event.CaseResolved{CaseID: c.ID, MemberID: c.MemberID,
			Store: c.Store, Channel: string(c.Channel), Category: string(c.Category), Resolution: string(code), ResolvedAt: now})
		if err != nil {
			return nil, err
		}
		evs := []event.Envelope{resolved}
		if in.GoodwillPoints > 0 {
			bonus, err := h.newEvent(event.TypePointsBonusRequested, now, event.BonusRequested{MemberID: c.MemberID,
				Reason: "goodwill", Amount: in.GoodwillPoints, SourceID: GoodwillSource(c.ID)})
			if err != nil {
				return nil, err
			}
			evs = append(evs, bonus)
		}
		return evs, nil
	})
}

// GoodwillSource is the source id of a case's goodwill bonus: the points
// ledger grants one bonus per source id, so a case grants goodwill once.
func GoodwillSource(caseID string) string { return "feedback-case:" + caseID }

func validCode(c feedback.ResolutionCode) bool {
	for _, k := range feedback.ResolutionCodes {
		if k == c {
			return true
		}
	}
	return false
}

func (h *Handler) reopen(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if err := admit(req, staffOnly...); err != nil {
		return apigw.Response{}, err
	}
	if err := apigw.DecodeJSON(req, &struct{}{}); err != nil && len(req.Body) > 0 {
		return apigw.Response{}, err
	}
	return h.change(ctx, req, staffOnly, func(caller apigw.Caller, c *feedback.Case, now time.Time) ([]event.Envelope, error) {
		return nil, c.Reopen(actor(caller), now)
	})
}
