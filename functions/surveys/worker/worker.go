package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/logging"
	"clientele/shared/member"
	"clientele/shared/points"
	"clientele/shared/queue"
	"clientele/shared/survey"
)

// Store is what the worker needs of the surveys table (dynamo.SurveyStore).
type Store interface {
	// Survey returns the latest version of a survey; NotFound.
	Survey(ctx context.Context, id string) (survey.Definition, int64, error)
	// SurveyVersion returns one version; NotFound.
	SurveyVersion(ctx context.Context, id string, v int) (survey.Definition, error)
	// SurveyHistory returns every version, oldest first; NotFound.
	SurveyHistory(ctx context.Context, id string) ([]survey.Definition, error)
	// RecordResponse scores a response exactly once with its events;
	// duplicate for a replay, Conflict naming the field otherwise.
	RecordResponse(ctx context.Context, w dynamo.SurveyResponseWrite) (bool, error)
	// RecordInvitation records an invitation once, within the fatigue window.
	RecordInvitation(ctx context.Context, w dynamo.SurveyInvitationWrite) (dynamo.InvitationOutcome, error)
	// EraseMember drops a member's link and text answers; scores stay.
	EraseMember(ctx context.Context, memberID string) (int, error)
}

// Members reads a member's status and consents (dynamo.MemberStore).
type Members interface {
	// Get returns the member; NotFound.
	Get(ctx context.Context, id string) (member.Member, error)
}

// Handler consumes the survey-events queue. Every effect is deduplicated
// inside the transaction that makes it (the response id, the invitation
// id), so a redelivered message is a no-op that succeeds.
type Handler struct {
	Store     Store
	Members   Members
	Outbox    queue.Outbox
	Publisher queue.EventPublisher
	// Links signs invitation link tokens.
	Links  *survey.Signer
	Policy survey.InvitationPolicy
	Log    *slog.Logger
	Now    func() time.Time
	// Service names the function in the events it emits.
	Service string
	// Margin: messages not started when the invocation's deadline is this
	// close are left for redelivery (default 3 s).
	Margin time.Duration

	// versions caches definition versions that responses answered: such a
	// version has started, so it is frozen (survey.Edit makes a new one).
	versions sync.Map
}

// answered returns the version a response answered, once per process.
func (h *Handler) answered(ctx context.Context, id string, v int) (survey.Definition, error) {
	key := fmt.Sprintf("%s#%d", id, v)
	if d, ok := h.versions.Load(key); ok {
		return d.(survey.Definition), nil
	}
	d, err := h.Store.SurveyVersion(ctx, id, v)
	if err != nil {
		return d, err
	}
	if d.Started(h.now()) {
		h.versions.Store(key, d)
	}
	return d, nil
}

// errNotApplicable marks a message that can never apply (a second response
// that slipped past the door, an id reused with other answers): it is
// acknowledged, loudly, rather than retried into the DLQ.
var errNotApplicable = errors.New("not applicable")

// MetricResponseRefused counts responses acknowledged without scoring.
const MetricResponseRefused = "SurveyResponseRefused"

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// Handle processes a batch and reports only the messages that failed.
func (h *Handler) Handle(ctx context.Context, in events.SQSEvent) (events.SQSEventResponse, error) {
	margin := h.Margin
	if margin == 0 {
		margin = 3 * time.Second
	}
	var b queue.Batch
	for i, m := range in.Records {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < margin {
			for _, r := range in.Records[i:] {
				b.Fail(r.MessageId)
			}
			h.Log.WarnContext(ctx, "deadline near; leaving messages for redelivery", "left", len(in.Records)-i)
			break
		}
		if !h.message(ctx, m) {
			b.Fail(m.MessageId)
		}
	}
	return b.Response(), nil
}

func (h *Handler) message(ctx context.Context, m events.SQSMessage) bool {
	env, err := event.Parse([]byte(m.Body))
	if err != nil {
		h.Log.ErrorContext(logging.WithRequestID(ctx, m.MessageId), "unparseable message; it will reach the DLQ",
			"message_id", m.MessageId, "error", err.Error())
		return false
	}
	ctx = logging.WithRequestID(ctx, env.ID)
	attrs := []any{"type", env.Type, "message_id", m.MessageId}
	evs, err := h.dispatch(ctx, env)
	switch {
	case err == nil:
		h.Log.InfoContext(ctx, "applied", attrs...)
	case errors.Is(err, errNotApplicable):
		h.Log.ErrorContext(ctx, "acknowledged without applying", append(attrs, "metric", MetricResponseRefused, "error", err.Error())...)
		return true
	case fault.Is(err, fault.Invalid):
		h.Log.ErrorContext(ctx, "rejected; the message will reach the DLQ", append(attrs, "error", err.Error())...)
		return false
	default:
		h.Log.WarnContext(ctx, "not applied yet; will retry", append(attrs, "kind", fault.KindOf(err).String(), "error", err.Error())...)
		return false
	}
	queue.PublishCommitted(ctx, h.Publisher, h.Outbox, h.Log, evs)
	return true
}

func (h *Handler) dispatch(ctx context.Context, env event.Envelope) ([]event.Envelope, error) {
	if env.Version != 1 {
		return nil, fault.New(fault.Invalid, "unsupported version %d of %s", env.Version, env.Type)
	}
	switch env.Type {
	case event.TypeSurveyResponseSubmitted:
		return h.score(ctx, env)
	case event.TypePointsPurchase:
		var p points.Purchase
		if err := decode(env, &p); err != nil {
			return nil, err
		}
		if p.MemberID == "" || p.OrderID == "" {
			return nil, fault.New(fault.Invalid, "a purchase names its member and order")
		}
		return h.invite(ctx, survey.TriggerPurchase, occasion{key: "order#" + p.OrderID, member: p.MemberID, order: p.OrderID,
			store: p.Store, channel: p.Channel, at: env.OccurredAt})
	case event.TypeFeedbackCaseResolved:
		var c event.CaseResolved
		if err := decode(env, &c); err != nil {
			return nil, err
		}
		if c.MemberID == "" {
			return nil, nil // an anonymous case: no one to invite
		}
		return h.invite(ctx, survey.TriggerCaseResolved, occasion{key: "case#" + c.CaseID, member: c.MemberID,
			store: c.Store, channel: survey.OccasionChannel(c.Channel), at: c.ResolvedAt})
	case event.TypeMemberErased:
		var e event.MemberErased
		if err := decode(env, &e); err != nil {
			return nil, err
		}
		n, err := h.Store.EraseMember(ctx, e.MemberID)
		if err == nil {
			h.Log.InfoContext(ctx, "member's survey responses erased", "responses", n)
		}
		return nil, err
	}
	return nil, fault.New(fault.Invalid, "unknown event type %q", env.Type)
}

func decode(env event.Envelope, v any) error {
	if err := json.Unmarshal(env.Data, v); err != nil {
		return fault.Wrap(fault.Invalid, err, "%s data", env.Type)
	}
	return nil
}

// score records a response and its aggregates in one transaction with its
// dedupe item, and with its follow-up request and completion bonus in the
// outbox: each response counts once and asks once.
func (h *Handler) score(ctx context.Context, env event.Envelope) ([]event.Envelope, error) {
	var sub survey.Submission
	if err := decode(env, &sub); err != nil {
		return nil, err
	}
	r := sub.Response
	d, err := h.answered(ctx, r.Survey, r.Version)
	if err != nil {
		return nil, err
	}
	evs, err := h.responseEvents(d, sub, env.OccurredAt)
	if err != nil {
		return nil, err
	}
	dup, err := h.Store.RecordResponse(ctx, dynamo.SurveyResponseWrite{ID: sub.ResponseID, Definition: d, Response: r,
		Nonce: sub.Nonce, NonceExpires: sub.NonceExpires, Events: evs})
	switch {
	case fault.Is(err, fault.Conflict):
		return nil, fmt.Errorf("%w: response %s: %v", errNotApplicable, sub.ResponseID, err)
	case err != nil:
		return nil, err
	case dup:
		// Scored before; its events were published then or wait in the
		// outbox for the relay.
		return nil, nil
	}
	h.Log.InfoContext(ctx, "response scored", "survey", d.ID, "version", d.Version, "response_id", sub.ResponseID,
		"follow_up", slices.ContainsFunc(evs, func(e event.Envelope) bool { return e.Type == event.TypeFeedbackFollowUpRequested }))
	return evs, nil
}

// responseEvents are the follow-up request (a detractor, a low CSAT) and
// the completion bonus of a response.
func (h *Handler) responseEvents(d survey.Definition, sub survey.Submission, at time.Time) ([]event.Envelope, error) {
	r := sub.Response
	if at.IsZero() {
		at = h.now()
	}
	var evs []event.Envelope
	if f, ok := survey.FollowUpFor(d, r); ok {
		reasons := make([]string, 0, len(f.Triggers))
		var summary []string
		for _, t := range f.Triggers {
			if !slices.Contains(reasons, t.Reason) {
				reasons = append(reasons, t.Reason)
			}
			summary = append(summary, fmt.Sprintf("%s %d on %s", t.Question, t.Value, d.ID))
		}
		var texts []string
		for _, t := range f.Texts {
			texts = append(texts, t.Prompt+": "+t.Text)
		}
		ev, err := event.New(event.TypeFeedbackFollowUpRequested, h.Service, at, event.FollowUpRequested{
			Source: "survey_response", SourceID: sub.ResponseID, MemberID: r.MemberID, OrderID: r.OrderID,
			Store: r.Store, Channel: r.Channel, Reasons: reasons,
			Summary: fmt.Sprintf("%s (survey %s v%d)", strings.Join(summary, ", "), d.ID, d.Version),
			Text:    strings.Join(texts, "\n"), At: r.At,
		})
		if err != nil {
			return nil, fault.Wrap(fault.Internal, err, "follow-up event")
		}
		evs = append(evs, ev)
	}
	if h.Policy.CompletionBonus > 0 && r.MemberID != "" && r.Completed() {
		ev, err := event.New(event.TypePointsBonusRequested, h.Service, at, event.BonusRequested{
			MemberID: r.MemberID, Reason: "survey", Amount: h.Policy.CompletionBonus, SourceID: sub.ResponseID,
		})
		if err != nil {
			return nil, fault.Wrap(fault.Internal, err, "bonus event")
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// occasion is what may occasion an invitation: a purchase, a resolved case.
type occasion struct {
	key                           string
	member, order, store, channel string
	at                            time.Time
}

// invite applies the policy's rules for a trigger: the survey open and
// targeting the occasion's store and channel, the occasion in the sample,
// the member active and consenting to marketing on the rule's channel, and
// no invitation within the fatigue window; each invitation is recorded
// once, with its event in the outbox.
func (h *Handler) invite(ctx context.Context, trigger string, o occasion) ([]event.Envelope, error) {
	rules := h.Policy.RulesFor(trigger)
	if len(rules) == 0 {
		return nil, nil
	}
	now := h.now()
	if o.at.IsZero() || o.at.After(now) {
		o.at = now
	}
	var m *member.Member
	var out []event.Envelope
	for _, rule := range rules {
		attrs := []any{"survey", rule.Survey, "trigger", trigger}
		if !survey.Sampled(rule.Sampling, rule.Survey, o.key) {
			continue
		}
		d, _, err := h.Store.Survey(ctx, rule.Survey)
		if fault.Is(err, fault.NotFound) {
			h.Log.WarnContext(ctx, "invitation rule names no survey", attrs...)
			continue
		}
		if err != nil {
			return out, err
		}
		sendAfter := o.at.Add(rule.Delay())
		if !d.Open(sendAfter) && d.Version > 1 {
			// An edit scheduled for later: the version open at the send
			// time is the one the link will be answered against.
			history, err := h.Store.SurveyHistory(ctx, rule.Survey)
			if err != nil {
				return out, err
			}
			for i := len(history) - 1; i >= 0; i-- {
				if history[i].Open(sendAfter) {
					d = history[i]
					break
				}
			}
		}
		if !d.Open(sendAfter) || !d.Targeting.Admits(o.store, o.channel) || (d.OnePer == survey.PerOrder && o.order == "") {
			continue
		}
		if m == nil {
			got, err := h.Members.Get(ctx, o.member)
			if fault.Is(err, fault.NotFound) {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			m = &got
		}
		if m.Status != member.Active || !consents(*m, rule.Channel) {
			h.Log.InfoContext(ctx, "not invited: no consent or not active", attrs...)
			continue
		}
		ttl := h.Policy.LinkTTL()
		token, claims, err := h.Links.IssueFor(survey.Claims{Survey: d.ID, Member: o.member, Order: o.order, Store: o.store, Channel: o.channel},
			sendAfter, ttl)
		if err != nil {
			return out, err
		}
		id := rule.Survey + "#" + o.key
		ev, err := event.New(event.TypeSurveyInvitation, h.Service, now, event.SurveyInvitation{
			InvitationID: id, SurveyID: d.ID, MemberID: o.member, OrderID: o.order, Store: o.store, Trigger: trigger,
			Channel: rule.Channel, Token: token, SendAfter: sendAfter, ExpiresAt: claims.ExpiresAt(),
		})
		if err != nil {
			return out, fault.Wrap(fault.Internal, err, "invitation event")
		}
		outcome, err := h.Store.RecordInvitation(ctx, dynamo.SurveyInvitationWrite{ID: id, Survey: d.ID, MemberID: o.member,
			Fatigue: h.Policy.Fatigue(), Event: ev})
		if err != nil {
			return out, err
		}
		switch outcome {
		case dynamo.InvitationSent:
			h.Log.InfoContext(ctx, "invited", attrs...)
			out = append(out, ev)
		case dynamo.InvitationFatigued:
			h.Log.InfoContext(ctx, "not invited: invited within the fatigue window", attrs...)
		}
	}
	return out, nil
}

// consents reports whether the member consents to marketing on the
// contact channel (or on any channel).
func consents(m member.Member, channel string) bool {
	for _, c := range m.Consents {
		if c.Purpose == member.Marketing && c.Granted && (string(c.Channel) == channel || c.Channel == member.AnyChannel) {
			return true
		}
	}
	return false
}
