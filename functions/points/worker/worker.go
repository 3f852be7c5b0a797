package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/ident"
	"clientele/shared/logging"
	"clientele/shared/points"
	"clientele/shared/queue"
)

// Handler consumes the points-events queue. Every effect is deduplicated
// inside the transaction that makes it (order id, return id, source id), so
// a redelivered message is a no-op that succeeds.
type Handler struct {
	Store     points.Store
	Outbox    queue.Outbox
	Publisher queue.EventPublisher
	Policy    points.Policy
	Log       *slog.Logger
	Now       func() time.Time
	// Service names the function in the events it emits.
	Service string
	// Margin: messages not started when the invocation's deadline is this
	// close are left for redelivery rather than cut off (default 3 s).
	Margin time.Duration
}

// Bonus reasons other domains may request.
var bonusReasons = map[string]bool{"welcome": true, "birthday": true, "referral": true, "survey": true, "goodwill": true}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// Handle processes a batch and reports only the messages that failed; SQS
// redelivers those, and after the queue's maxReceiveCount moves a poison
// message to the DLQ without holding back the rest of its batch.
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

// message applies one message and reports whether it succeeded (or was a
// redelivery of one that had).
func (h *Handler) message(ctx context.Context, m events.SQSMessage) bool {
	env, err := event.Parse([]byte(m.Body))
	if err != nil {
		h.Log.ErrorContext(logging.WithRequestID(ctx, m.MessageId), "unparseable message; it will reach the DLQ",
			"message_id", m.MessageId, "receive_count", m.Attributes["ApproximateReceiveCount"], "error", err.Error())
		return false
	}
	ctx = logging.WithRequestID(ctx, env.ID)
	attrs := []any{"type", env.Type, "message_id", m.MessageId, "receive_count", m.Attributes["ApproximateReceiveCount"]}
	evs, err := h.dispatch(ctx, env)
	switch {
	case err == nil:
		h.Log.InfoContext(ctx, "applied", attrs...)
	case errors.Is(err, points.ErrAlreadyApplied):
		h.Log.InfoContext(ctx, "already applied; redelivery acknowledged", attrs...)
	case fault.Is(err, fault.Invalid):
		h.Log.ErrorContext(ctx, "rejected; the message will reach the DLQ", append(attrs, "error", err.Error())...)
		return false
	case fault.Is(err, fault.NotFound), fault.Is(err, fault.Conflict), fault.Is(err, fault.Unavailable):
		h.Log.WarnContext(ctx, "not applied yet; will retry", append(attrs, "kind", fault.KindOf(err).String(), "error", err.Error())...)
		return false
	default:
		h.Log.ErrorContext(ctx, "failed; will retry", append(attrs, "kind", fault.KindOf(err).String(), "error", err.Error())...)
		return false
	}
	h.publish(ctx, evs)
	return true
}

// dispatch applies an event by type and returns the events it committed to
// the outbox.
func (h *Handler) dispatch(ctx context.Context, env event.Envelope) ([]event.Envelope, error) {
	if env.Version != 1 {
		return nil, fault.New(fault.Invalid, "unsupported version %d of %s", env.Version, env.Type)
	}
	switch env.Type {
	case event.TypePointsPurchase:
		return h.purchase(ctx, env)
	case event.TypePointsReturn:
		return h.ret(ctx, env)
	case event.TypeMemberRegistered:
		return h.registered(ctx, env)
	case event.TypePointsBonusRequested:
		return h.bonus(ctx, env)
	case event.TypeMemberErased:
		return nil, h.erased(ctx, env)
	}
	return nil, fault.New(fault.Invalid, "unknown event type %q", env.Type)
}

func decode(env event.Envelope, v any) error {
	if err := json.Unmarshal(env.Data, v); err != nil {
		return fault.Wrap(fault.Invalid, err, "%s data", env.Type)
	}
	return nil
}

// validMemberID is the one id rule (shared/ident) the intake applies too.
func validMemberID(id string) bool { return ident.Valid(id) }

// purchase earns an order's points once: the order record is created in the
// same transaction and fails it when the order was seen.
func (h *Handler) purchase(ctx context.Context, env event.Envelope) ([]event.Envelope, error) {
	var p points.Purchase
	if err := decode(env, &p); err != nil {
		return nil, err
	}
	now := h.now()
	if err := points.ValidatePurchase(&p, h.Policy, now); err != nil {
		return nil, err
	}
	_, ch, err := h.Store.Apply(ctx, p.MemberID, func(a *points.Account) (points.Change, error) {
		e, o := a.EarnPurchase(p, event.NewID(now), h.Policy, now)
		ch := points.Change{Order: &o, NewOrder: true}
		if e != nil {
			ch.Entries = []points.Entry{*e}
		}
		if a.Stats.TotalOrders == 1 { // the member's first order
			ev, err := h.referral(a, now)
			if err != nil {
				return points.Change{}, err
			}
			ch.Events = append(ch.Events, ev...)
		}
		return ch, nil
	}, points.Write{})
	return ch.Events, err
}

// referral asks for the referrer's bonus once the referee has ordered; the
// ReferralPaid flag, written in the same transaction, makes it happen once.
func (h *Handler) referral(a *points.Account, now time.Time) ([]event.Envelope, error) {
	if a.ReferredBy == "" || a.ReferredBy == a.MemberID || a.ReferralPaid || a.Stats.TotalOrders < 1 || h.Policy.ReferralBonus <= 0 {
		return nil, nil
	}
	ev, err := event.New(event.TypePointsBonusRequested, h.Service, now, event.BonusRequested{
		MemberID: a.ReferredBy, Reason: "referral", Amount: h.Policy.ReferralBonus, SourceID: "referral:" + a.MemberID,
	})
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "referral event")
	}
	a.ReferralPaid = true
	return []event.Envelope{ev}, nil
}

// ret reverses what the returned lines earned. The order must have been
// applied first (a return may overtake its purchase in the queue: NotFound
// makes SQS redeliver it later).
func (h *Handler) ret(ctx context.Context, env event.Envelope) ([]event.Envelope, error) {
	var r points.Return
	if err := decode(env, &r); err != nil {
		return nil, err
	}
	now := h.now()
	if err := points.ValidateReturn(&r, now); err != nil {
		return nil, err
	}
	// The intake fills member_id from the order; read the order for it
	// only when a producer left it out.
	member := r.MemberID
	if member == "" {
		o, err := h.Store.Order(ctx, r.OrderID)
		if err != nil {
			return nil, err
		}
		member = o.MemberID
	}
	_, ch, err := h.Store.Apply(ctx, member, func(a *points.Account) (points.Change, error) {
		// Read the order inside fn: a lost race re-runs fn, and the order
		// may have changed with it.
		o, err := h.Store.Order(ctx, r.OrderID)
		if err != nil {
			return points.Change{}, err
		}
		// A return already applied to the order is ErrAlreadyApplied.
		e, err := a.ReverseReturn(r, &o, event.NewID(now), h.Policy, now)
		if err != nil {
			return points.Change{}, err
		}
		ch := points.Change{Order: &o, Seen: []string{"return:" + r.ReturnID}}
		if e != nil {
			ch.Entries = []points.Entry{*e}
		}
		return ch, nil
	}, points.Write{})
	return ch.Events, err
}

// registered grants the welcome bonus once and remembers the referrer. A
// purchase that overtook the registration has already been counted, so the
// referral is requested here in that case.
func (h *Handler) registered(ctx context.Context, env event.Envelope) ([]event.Envelope, error) {
	var d event.MemberRegistered
	if err := decode(env, &d); err != nil {
		return nil, err
	}
	if !validMemberID(d.MemberID) {
		return nil, fault.Field("member_id", "is required")
	}
	now := h.now()
	_, ch, err := h.Store.Apply(ctx, d.MemberID, func(a *points.Account) (points.Change, error) {
		ch := points.Change{Seen: []string{"welcome:" + d.MemberID}}
		if h.Policy.WelcomeBonus > 0 {
			e, err := a.Grant(points.Entry{ID: event.NewID(now), MemberID: a.MemberID, Kind: points.Bonus, Reason: "welcome",
				Amount: h.Policy.WelcomeBonus, SourceID: "event:" + env.ID, At: now}, h.Policy)
			if err != nil {
				return points.Change{}, err
			}
			ch.Entries = []points.Entry{e}
		}
		if a.ReferredBy == "" && d.ReferredBy != "" && d.ReferredBy != d.MemberID {
			a.ReferredBy = d.ReferredBy
		}
		ev, err := h.referral(a, now)
		if err != nil {
			return points.Change{}, err
		}
		ch.Events = ev
		return ch, nil
	}, points.Write{})
	return ch.Events, err
}

// checkBonus validates a requested bonus. A zero MaxBonus means no cap.
func (h *Handler) checkBonus(d event.BonusRequested) error {
	var fs fault.Fields
	if !validMemberID(d.MemberID) {
		fs.Add("member_id", "is required")
	}
	if d.Amount <= 0 {
		fs.Add("amount", "must be a positive whole number")
	} else if h.Policy.MaxBonus > 0 && d.Amount > h.Policy.MaxBonus {
		fs.Add("amount", "exceeds the programme's maximum bonus")
	}
	if !bonusReasons[d.Reason] {
		fs.Add("reason", "must be welcome, birthday, referral, survey or goodwill")
	}
	if d.SourceID == "" || len(d.SourceID) > 128 {
		fs.Add("source_id", "is required (at most 128 characters)")
	}
	return fs.Err()
}

// bonus grants a bonus another domain requested, once per source id.
func (h *Handler) bonus(ctx context.Context, env event.Envelope) ([]event.Envelope, error) {
	var d event.BonusRequested
	if err := decode(env, &d); err != nil {
		return nil, err
	}
	if err := h.checkBonus(d); err != nil {
		return nil, err
	}
	now := h.now()
	_, ch, err := h.Store.Apply(ctx, d.MemberID, func(a *points.Account) (points.Change, error) {
		e, err := a.Grant(points.Entry{ID: event.NewID(now), MemberID: a.MemberID, Kind: points.Bonus, Reason: d.Reason,
			Amount: d.Amount, SourceID: d.SourceID, At: now}, h.Policy)
		if err != nil {
			return points.Change{}, err
		}
		return points.Change{Entries: []points.Entry{e}, Seen: []string{"bonus:" + d.SourceID}}, nil
	}, points.Write{})
	return ch.Events, err
}

// erased acknowledges an erasure: the ledger holds member ids, amounts and
// order references, no personal data, so it keeps its anonymised records.
func (h *Handler) erased(ctx context.Context, env event.Envelope) error {
	var d event.MemberErased
	if err := decode(env, &d); err != nil {
		return err
	}
	if !validMemberID(d.MemberID) {
		return fault.Field("member_id", "is required")
	}
	h.Log.InfoContext(ctx, "member erased; the ledger holds no personal data to remove")
	return nil
}

// publish sends committed events and clears them from the outbox.
func (h *Handler) publish(ctx context.Context, evs []event.Envelope) {
	queue.PublishCommitted(ctx, h.Publisher, h.Outbox, h.Log, evs)
}
