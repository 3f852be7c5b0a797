package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	Store points.Store
	// Intake holds the order and return ids accepted at the door, their
	// fingerprints and the returns parked until their order is applied.
	Intake points.Intake
	// Eraser removes an erased member's free text from the ledger.
	Eraser    points.Eraser
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

// Outcomes of a message that succeed without applying it.
var (
	errConflictingRedelivery = errors.New("an applied id was reused with other content")
	errParked                = errors.New("return parked until its order is applied")
	errReturnRejected        = errors.New("return cannot apply to its order")
)

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
	case errors.Is(err, errConflictingRedelivery):
		// Retrying cannot apply it: acknowledge it, loudly.
		h.Log.ErrorContext(ctx, "conflicting redelivery: the id was applied with other content; not applied",
			append(attrs, "metric", points.MetricConflictingRedelivery, "error", err.Error())...)
	case errors.Is(err, errParked):
		h.Log.InfoContext(ctx, "return parked until its order is applied", attrs...)
	case errors.Is(err, errReturnRejected):
		h.Log.ErrorContext(ctx, "return cannot apply to its order; not applied",
			append(attrs, "metric", points.MetricReturnRejected, "error", err.Error())...)
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
	// Intake checked purchased_at against the instant it accepted the
	// purchase; a message that waited in the queue is checked against that
	// same instant, so it cannot fall out of the back-dating window while
	// it waits.
	posted := env.OccurredAt
	if posted.IsZero() || posted.After(now) {
		posted = now
	}
	if err := points.ValidatePurchase(&p, h.Policy, posted); err != nil {
		return nil, err
	}
	_, ch, err := h.Store.Apply(ctx, p.MemberID, func(a *points.Account) (points.Change, error) {
		e, o, err := a.Earn(p, event.NewID(now), h.Policy, now)
		if err != nil {
			return points.Change{}, err
		}
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
	if errors.Is(err, points.ErrAlreadyApplied) {
		if cerr := h.sameOrder(ctx, p); cerr != nil {
			return nil, cerr
		}
	} else if err != nil {
		return nil, err
	}
	// A redelivery too: the first delivery may have stopped before its
	// parked returns were applied.
	if perr := h.applyParked(ctx, p.OrderID); perr != nil {
		return nil, perr
	}
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

// ret applies a return message. The return is claimed as the intake does
// (a no-op for one the intake claimed): units reserved on an applied order,
// or parked until its order is applied, when the worker applying the order
// applies it. Neither a return that overtook its purchase nor one that can
// no longer apply fails its message.
func (h *Handler) ret(ctx context.Context, env event.Envelope) ([]event.Envelope, error) {
	var r points.Return
	if err := decode(env, &r); err != nil {
		return nil, err
	}
	now := h.now()
	if err := points.ValidateReturn(&r, now); err != nil {
		return nil, err
	}
	claim, err := h.Intake.ClaimReturn(ctx, r, now)
	if err != nil {
		if e, ok := fault.As(err); ok && e.Kind == fault.Conflict && len(e.Fields) > 0 {
			if e.Fields[0].Field == "return_id" {
				return nil, fmt.Errorf("%w: return %s: %s", errConflictingRedelivery, r.ReturnID, e.Message)
			}
			return nil, fmt.Errorf("%w: return %s: %s", errReturnRejected, r.ReturnID, e.Message)
		}
		return nil, err
	}
	switch claim.State {
	case points.ReturnApplied:
		return nil, points.ErrAlreadyApplied
	case points.ReturnRejected:
		return nil, fmt.Errorf("%w: return %s was rejected when its order was applied", errReturnRejected, r.ReturnID)
	case points.ReturnParked:
		// The order may have been applied since the claim was made.
		if err := h.applyParked(ctx, r.OrderID); err != nil {
			return nil, err
		}
		return nil, errParked
	}
	return h.reverse(ctx, claim.Return, claim.Fingerprint, now)
}

// reverse applies a claimed return: it takes back what the returned lines
// earned and records the return id with its fingerprint.
func (h *Handler) reverse(ctx context.Context, r points.Return, fp string, now time.Time) ([]event.Envelope, error) {
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
		seen := "return:" + r.ReturnID
		ch := points.Change{Order: &o, Seen: []string{seen}, Fingerprints: map[string]string{seen: fp}}
		if e != nil {
			ch.Entries = []points.Entry{*e}
		}
		return ch, nil
	}, points.Write{})
	if errors.Is(err, points.ErrAlreadyApplied) {
		applied, ferr := h.Intake.AppliedReturnFingerprint(ctx, r.ReturnID)
		if ferr == nil && applied != "" && applied != fp {
			return nil, fmt.Errorf("%w: return %s", errConflictingRedelivery, r.ReturnID)
		}
	}
	return ch.Events, err
}

// sameOrder tells a redelivered purchase (nil) from another purchase
// reusing an applied order id.
func (h *Handler) sameOrder(ctx context.Context, p points.Purchase) error {
	applied, err := h.Intake.AppliedOrderFingerprint(ctx, p.OrderID)
	if err != nil {
		return err
	}
	if applied != points.PurchaseFingerprint(p) {
		return fmt.Errorf("%w: order %s", errConflictingRedelivery, p.OrderID)
	}
	return nil
}

// applyParked applies the returns parked for an applied order, oldest
// first: each is reserved on the order and reversed, or rejected when the
// order cannot take it (logged with a metric). A return is unparked only
// once it was applied or rejected, so a failure here fails the message and
// its redelivery picks up where this stopped.
func (h *Handler) applyParked(ctx context.Context, orderID string) error {
	parked, err := h.Intake.ParkedReturns(ctx, orderID)
	if err != nil || len(parked) == 0 {
		return err
	}
	if _, err := h.Store.Order(ctx, orderID); fault.Is(err, fault.NotFound) {
		return nil // still waiting for its order
	} else if err != nil {
		return err
	}
	for _, r := range parked {
		now := h.now()
		state, reason := h.Intake.PromoteParked(ctx, r, now)
		switch state {
		case points.ReturnRejected:
			msg := "parked return cannot apply to its order; rejected"
			if reason == nil {
				msg = "parked return was rejected before"
			}
			h.Log.ErrorContext(ctx, msg, "metric", points.MetricReturnRejected, "return_id", r.ReturnID, "order_id", orderID,
				"error", fmt.Sprint(reason))
		case points.ReturnReserved:
			claim, err := h.Intake.ClaimReturn(ctx, r, now)
			if err != nil {
				return err
			}
			if claim.State == points.ReturnReserved {
				if _, err := h.reverse(ctx, claim.Return, claim.Fingerprint, now); err != nil && !errors.Is(err, points.ErrAlreadyApplied) {
					return err
				}
			}
			h.Log.InfoContext(ctx, "parked return applied", "return_id", r.ReturnID, "order_id", orderID)
		default:
			if reason == nil {
				reason = fault.New(fault.Internal, "parked return %s in state %q", r.ReturnID, state)
			}
			return reason
		}
		if err := h.Intake.Unpark(ctx, r); err != nil {
			return err
		}
	}
	return nil
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

// erased removes the free text an erased member's points data holds (staff
// notes, the member's own redemption reasons) from the ledger and the
// stored HTTP responses. The anonymised ledger keeps its amounts, kinds and
// reason codes, so balances and audits still hold.
func (h *Handler) erased(ctx context.Context, env event.Envelope) error {
	var d event.MemberErased
	if err := decode(env, &d); err != nil {
		return err
	}
	if !validMemberID(d.MemberID) {
		return fault.Field("member_id", "is required")
	}
	n, err := h.Eraser.EraseFreeText(ctx, d.MemberID)
	if err != nil {
		return err
	}
	h.Log.InfoContext(ctx, "member erased; free text removed from the ledger", "member_id", d.MemberID, "items_scrubbed", n)
	return nil
}

// publish sends committed events and clears them from the outbox.
func (h *Handler) publish(ctx context.Context, evs []event.Envelope) {
	queue.PublishCommitted(ctx, h.Publisher, h.Outbox, h.Log, evs)
}
