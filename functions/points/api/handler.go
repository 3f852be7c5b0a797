package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"time"
	"unicode"

	"clientele/shared/apigw"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/idempotency"
	"clientele/shared/member"
	"clientele/shared/points"
	"clientele/shared/queue"
)

// Handler serves the points HTTP API.
type Handler struct {
	// Members confirms that a member exists and is not erased before points
	// are posted or purchases accepted for it; nil skips the check.
	Members Directory
	Points  points.Store
	// Intake claims order and return ids with their content and reserves
	// returned units, so reused ids and returns that cannot apply are
	// refused at the door.
	Intake      points.Intake
	Idempotency idempotency.Store
	Publisher   queue.EventPublisher
	// Cursors signs the ledger's pagination cursors.
	Cursors apigw.Cursors
	Policy  points.Policy
	Log     *slog.Logger
	Now     func() time.Time
	// Service names the function in event envelopes.
	Service string
}

// Router maps the points routes to their handlers. Each handler states the
// callers it accepts.
func (h *Handler) Router() *apigw.Router {
	r := apigw.NewRouter(h.Log)
	r.Handle("GET /v1/members/{id}/points", h.balance)
	r.Handle("GET /v1/members/{id}/points/entries", h.entries)
	r.Handle("POST /v1/members/{id}/points/redemptions", h.redeem)
	r.Handle("POST /v1/members/{id}/points/adjustments", h.adjust)
	r.Handle("POST /v1/purchases", h.purchase)
	r.Handle("POST /v1/returns", h.returned)
	return r
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// ExpiringWindow is how far ahead the balance lists expiring lots.
const ExpiringWindow = 30 * 24 * time.Hour

// ExpiringLot is a lot (available or pending) that expires within
// ExpiringWindow.
type ExpiringLot struct {
	ID string `json:"id"`
	// Amount is what is left of the lot.
	Amount    int64     `json:"amount"`
	ExpiresAt time.Time `json:"expires_at"`
	// Pending is set while the lot waits out its return window.
	Pending bool `json:"pending,omitempty"`
}

// Balance is a member's points as the API shows them.
type Balance struct {
	MemberID       string `json:"member_id"`
	Available      int64  `json:"available"`
	Pending        int64  `json:"pending"`
	Debt           int64  `json:"debt"`
	LifetimeEarned int64  `json:"lifetime_earned"`
	Tier           string `json:"tier"`
	// TierSince is absent for a member without an account.
	TierSince time.Time `json:"tier_since,omitzero"`
	// QualifyingPoints are earned over the rolling 12 months (this month
	// and the 11 before it).
	QualifyingPoints int64 `json:"qualifying_points"`
	// NextTier is absent at the top tier.
	NextTier         string              `json:"next_tier,omitempty"`
	PointsToNextTier int64               `json:"points_to_next_tier"`
	PointsToKeepTier int64               `json:"points_to_keep_tier"`
	Expiring         []ExpiringLot       `json:"expiring"`
	TierHistory      []points.TierChange `json:"tier_history"`
	// Version is the account's version (0 before its first change).
	Version int64 `json:"version"`
	// AsOf is the instant the rolling figures were computed for.
	AsOf time.Time `json:"as_of"`
}

// balanceOf renders an account at now.
func (h *Handler) balanceOf(a *points.Account, now time.Time) Balance {
	next, toNext := a.ToNextTier(h.Policy, now)
	b := Balance{
		// Available is what may be spent now: lots past their expiry are
		// not, even before the nightly run writes them off.
		MemberID: a.MemberID, Available: a.Spendable(now), Pending: a.Pending, Debt: a.Debt, LifetimeEarned: a.LifetimeEarned,
		Tier: a.Tier, TierSince: a.TierSince, QualifyingPoints: a.QualifyingPoints(now),
		NextTier: next, PointsToNextTier: toNext, PointsToKeepTier: a.ToKeepTier(h.Policy, now),
		Expiring: []ExpiringLot{}, TierHistory: append([]points.TierChange{}, a.TierHistory...),
		Version: a.Version, AsOf: now.UTC(),
	}
	for _, l := range a.Expiring(now, now.Add(ExpiringWindow)) {
		b.Expiring = append(b.Expiring, ExpiringLot{ID: l.ID, Amount: l.Remaining, ExpiresAt: l.ExpiresAt, Pending: l.Pending()})
	}
	return b
}

// Posting is the response to a redemption or an adjustment: the entry it
// appended and the balance after it.
type Posting struct {
	Entry   points.Entry `json:"entry"`
	Balance Balance      `json:"balance"`
}

// EntriesPage is one page of the ledger, newest first.
type EntriesPage struct {
	Entries []points.Entry `json:"entries"`
	// NextCursor fetches the next page; absent on the last one.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Accepted is the response to a purchase or a return: "accepted" (queued
// for the points worker, EventID names the message), "parked" (a return
// whose order is not applied yet: the worker applies it with the order;
// nothing queued) or, for a return the worker already applied,
// "already_applied" (nothing queued).
type Accepted struct {
	Status   string `json:"status"`
	OrderID  string `json:"order_id"`
	ReturnID string `json:"return_id,omitempty"`
	EventID  string `json:"event_id,omitempty"`
}

// target authorises a member or staff caller for the member named in the
// path.
func target(req apigw.Request, kinds ...apigw.CallerKind) (apigw.Caller, string, error) {
	caller, err := apigw.CallerOf(req)
	if err != nil {
		return caller, "", err
	}
	if err := caller.Allow(kinds...); err != nil {
		return caller, "", err
	}
	id, err := apigw.PathID(req, "id")
	if err != nil {
		return caller, "", err
	}
	return caller, id, caller.AllowMember(id)
}

func actor(c apigw.Caller) string { return c.Kind.String() + ":" + c.Subject }

// account returns the member's account, or an empty one in the base tier
// when the member has none yet.
func (h *Handler) account(ctx context.Context, id string, now time.Time) (*points.Account, error) {
	a, err := h.Points.Account(ctx, id)
	if fault.Is(err, fault.NotFound) {
		a = points.NewAccount(id, h.Policy, now)
		a.TierSince = time.Time{}
		return a, nil
	}
	return a, err
}

func (h *Handler) balance(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	_, id, err := target(req, apigw.MemberCaller, apigw.StaffCaller)
	if err != nil {
		return apigw.Response{}, err
	}
	now := h.now()
	a, err := h.account(ctx, id, now)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.JSON(http.StatusOK, h.balanceOf(a, now), "ETag", apigw.ETag(a.Version), "Cache-Control", "no-store"), nil
}

// entriesScope binds a ledger cursor to the member and to this listing.
func entriesScope(memberID string) string { return "points.entries:" + memberID }

func (h *Handler) entries(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	_, id, err := target(req, apigw.MemberCaller, apigw.StaffCaller)
	if err != nil {
		return apigw.Response{}, err
	}
	limit, err := apigw.QueryInt(req, "limit", 20, 1, 100)
	if err != nil {
		return apigw.Response{}, err
	}
	after := ""
	if cur := req.QueryStringParameters["cursor"]; cur != "" {
		pos, err := h.Cursors.Decode(entriesScope(id), cur)
		if err != nil {
			return apigw.Response{}, err
		}
		if after = pos["after"]; after == "" {
			return apigw.Response{}, fault.Field("cursor", "not a cursor issued for this resource")
		}
	}
	list, next, err := h.Points.Entries(ctx, id, after, limit)
	if err != nil {
		return apigw.Response{}, err
	}
	page := EntriesPage{Entries: list}
	if page.Entries == nil {
		page.Entries = []points.Entry{}
	}
	if next != "" {
		page.NextCursor = h.Cursors.Encode(entriesScope(id), map[string]string{"after": next})
	}
	return apigw.JSON(http.StatusOK, page, "Cache-Control", "no-store"), nil
}

func receiptOf(resp apigw.Response, subject string) idempotency.Receipt {
	return idempotency.Receipt{Status: resp.StatusCode, Headers: resp.Headers, Body: resp.Body, Subject: subject}
}

// idempotent runs do under the request's Idempotency-Key (see apigw.Idempotent).
func (h *Handler) idempotent(ctx context.Context, req apigw.Request, caller apigw.Caller,
	do func(res *idempotency.Reservation) (apigw.Response, error)) (apigw.Response, error) {
	return apigw.Idempotent(ctx, h.Idempotency, h.Log, h.now(), req, caller, do)
}

// post appends one entry built by fn under the idempotency reservation and
// renders the Posting. The receipt and the live response are rendered by
// the same function from the same account and instant, so a replay is
// byte-identical.
func (h *Handler) post(ctx context.Context, id string, now time.Time, res *idempotency.Reservation,
	fn func(*points.Account) (points.Entry, error)) (apigw.Response, points.Entry, error) {
	render := func(a *points.Account, ch points.Change) apigw.Response {
		return apigw.JSON(http.StatusCreated, Posting{Entry: ch.Entries[0], Balance: h.balanceOf(a, now)})
	}
	a, ch, err := h.Points.Apply(ctx, id, func(a *points.Account) (points.Change, error) {
		e, err := fn(a)
		if err != nil {
			return points.Change{}, err
		}
		return points.Change{Entries: []points.Entry{e}}, nil
	}, points.Write{Reservation: res, Receipt: func(a *points.Account, ch points.Change) (idempotency.Receipt, error) {
		return receiptOf(render(a, ch), id), nil
	}})
	if err != nil {
		return apigw.Response{}, points.Entry{}, err
	}
	return render(a, ch), ch.Entries[0], nil
}

// rewardID is the shape of reward ids and other client-chosen references.
var rewardID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$`)

// RedemptionInput is the body of POST /v1/members/{id}/points/redemptions:
// either a reward and its cost, or an amount and a reason.
type RedemptionInput struct {
	RewardID string `json:"reward_id,omitempty"`
	Cost     *int64 `json:"cost,omitempty"`
	Amount   *int64 `json:"amount,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// plainText reports whether s is 1 to max characters without control
// characters.
func plainText(s string, max int) bool {
	if s == "" || len([]rune(s)) > max {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// validate returns the points to redeem, the entry's reason and the name
// of the field holding the points.
func (in RedemptionInput) validate() (int64, string, string, error) {
	var fs fault.Fields
	reward := in.RewardID != "" || in.Cost != nil
	free := in.Amount != nil || in.Reason != ""
	positive := func(field string, v *int64) {
		if v == nil {
			fs.Add(field, "is required")
		} else if *v <= 0 || *v > MaxRedemption {
			fs.Add(field, fmt.Sprintf("must be a whole number from 1 to %d", MaxRedemption))
		}
	}
	switch {
	case reward && free:
		if in.Amount != nil {
			fs.Add("amount", "send either reward_id and cost, or amount and reason")
		}
		if in.Reason != "" {
			fs.Add("reason", "send either reward_id and cost, or amount and reason")
		}
	case reward:
		if !rewardID.MatchString(in.RewardID) {
			fs.Add("reward_id", "must be 1 to 64 letters, digits or ._:/-")
		}
		positive("cost", in.Cost)
	case free:
		positive("amount", in.Amount)
		if !plainText(in.Reason, 200) {
			fs.Add("reason", "is required: 1 to 200 characters without control characters")
		}
	default:
		fs.Add("body", "send either reward_id and cost, or amount and reason")
	}
	if err := fs.Err(); err != nil {
		return 0, "", "", err
	}
	if reward {
		return *in.Cost, "reward:" + in.RewardID, "cost", nil
	}
	return *in.Amount, in.Reason, "amount", nil
}

// renameField returns err with field errors on from renamed to to.
func renameField(err error, from, to string) error {
	e, ok := fault.As(err)
	if !ok || from == to {
		return err
	}
	c := *e
	c.Fields = slices.Clone(e.Fields)
	for i := range c.Fields {
		if c.Fields[i].Field == from {
			c.Fields[i].Field = to
		}
	}
	return &c
}

func (h *Handler) redeem(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	caller, id, err := target(req, apigw.MemberCaller, apigw.StaffCaller)
	if err != nil {
		return apigw.Response{}, err
	}
	key := apigw.Header(req, idempotency.HeaderName)
	if key == "" {
		return apigw.Response{}, &fault.Error{Kind: fault.PreconditionRequired,
			Message: "redemptions require an Idempotency-Key header, so that a retry cannot spend twice",
			Fields:  []fault.FieldError{{Field: idempotency.HeaderName, Reason: "is required"}}}
	}
	var in RedemptionInput
	decodeErr := apigw.DecodeJSON(req, &in)
	amount, reason, field, err := in.validate()
	if err := apigw.Combine(decodeErr, err); err != nil {
		return apigw.Response{}, err
	}
	if err := h.checkMember(ctx, id, "id"); err != nil {
		return apigw.Response{}, err
	}
	return h.idempotent(ctx, req, caller, func(res *idempotency.Reservation) (apigw.Response, error) {
		now := h.now()
		entryID := event.NewID(now)
		resp, e, err := h.post(ctx, id, now, res, func(a *points.Account) (points.Entry, error) {
			e, err := a.Spend(points.Entry{ID: entryID, MemberID: id, Kind: points.Redeem, Amount: amount, Reason: reason,
				SourceID: "redemption:" + key, Actor: actor(caller), At: now.UTC()})
			return e, renameField(err, "amount", field)
		})
		if err != nil {
			return apigw.Response{}, err
		}
		h.Log.InfoContext(ctx, "points redeemed", "member_id", id, "entry_id", e.ID, "amount", -e.Amount)
		return resp, nil
	})
}

// ReasonCodes are the accepted reasons of a staff adjustment.
var ReasonCodes = []string{"goodwill", "correction", "fraud", "migration", "other"}

// MaxAdjustment bounds one adjustment (either sign).
const MaxAdjustment = 100_000_000

// MaxRedemption bounds the points of one redemption (amount or cost).
const MaxRedemption = 100_000_000

// AdjustmentInput is the body of POST /v1/members/{id}/points/adjustments.
type AdjustmentInput struct {
	// Amount is signed: positive credits, negative debits.
	Amount     int64  `json:"amount"`
	ReasonCode string `json:"reason_code"`
	// Note explains the adjustment; required with reason_code "other".
	Note string `json:"note,omitempty"`
}

func (in AdjustmentInput) validate() error {
	var fs fault.Fields
	if in.Amount == 0 || in.Amount > MaxAdjustment || in.Amount < -MaxAdjustment {
		fs.Add("amount", fmt.Sprintf("must be a non-zero whole number from -%d to %d", MaxAdjustment, MaxAdjustment))
	}
	switch {
	case in.ReasonCode == "":
		fs.Add("reason_code", "is required")
	case !slices.Contains(ReasonCodes, in.ReasonCode):
		fs.Add("reason_code", "must be one of goodwill, correction, fraud, migration, other")
	}
	if in.Note != "" && !plainText(in.Note, 500) {
		fs.Add("note", "at most 500 characters without control characters")
	} else if in.Note == "" && in.ReasonCode == "other" {
		fs.Add("note", `is required with reason_code "other"`)
	}
	return fs.Err()
}

// Directory is the part of the members store points-api reads: a member's
// status, never its personal data.
type Directory interface {
	// Status returns active or erased, or NotFound.
	Status(ctx context.Context, id string) (member.Status, error)
}

// checkMember refuses points for a member that does not exist (a mistyped
// id would open an orphan account) or was erased. field names the request
// field that carried the id.
func (h *Handler) checkMember(ctx context.Context, id, field string) error {
	if h.Members == nil {
		return nil
	}
	status, err := h.Members.Status(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return &fault.Error{Kind: fault.NotFound, Message: "no member has this id",
			Fields: []fault.FieldError{{Field: field, Reason: "unknown member"}}}
	}
	if err != nil {
		return err
	}
	if status == member.Erased {
		return &fault.Error{Kind: fault.Conflict, Message: "the member was erased",
			Fields: []fault.FieldError{{Field: field, Reason: "erased member"}}}
	}
	return nil
}

func (h *Handler) adjust(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	caller, id, err := target(req, apigw.StaffCaller)
	if err != nil {
		return apigw.Response{}, err
	}
	var in AdjustmentInput
	decodeErr := apigw.DecodeJSON(req, &in)
	if err := apigw.Combine(decodeErr, in.validate()); err != nil {
		return apigw.Response{}, err
	}
	if err := h.checkMember(ctx, id, "id"); err != nil {
		return apigw.Response{}, err
	}
	return h.idempotent(ctx, req, caller, func(res *idempotency.Reservation) (apigw.Response, error) {
		now := h.now()
		entryID := event.NewID(now)
		source := "adjustment:" + entryID
		if key := apigw.Header(req, idempotency.HeaderName); key != "" {
			source = "adjustment:" + key
		}
		resp, e, err := h.post(ctx, id, now, res, func(a *points.Account) (points.Entry, error) {
			e := points.Entry{ID: entryID, MemberID: id, Kind: points.Adjust, Reason: in.ReasonCode, Note: in.Note,
				SourceID: source, Actor: actor(caller), At: now.UTC()}
			if in.Amount > 0 {
				e.Amount = in.Amount
				return a.Grant(e, h.Policy)
			}
			e.Amount = -in.Amount
			return a.Spend(e)
		})
		if err != nil {
			return apigw.Response{}, err
		}
		h.Log.InfoContext(ctx, "points adjusted", "member_id", id, "entry_id", e.ID, "amount", e.Amount,
			"reason_code", in.ReasonCode, "actor", caller.Subject)
		return resp, nil
	})
}

// enqueue publishes the intake body for the points worker. The worker
// applies it exactly once, keyed on the order or return id, so a retried
// POST is harmless.
func (h *Handler) enqueue(ctx context.Context, typ string, now time.Time, data any) (string, error) {
	ev, err := event.New(typ, h.Service, now, data)
	if err != nil {
		return "", fault.Wrap(fault.Internal, err, "build %s event", typ)
	}
	if err := h.Publisher.Publish(ctx, ev); err != nil {
		return "", err
	}
	return ev.ID, nil
}

func (h *Handler) purchase(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	caller, err := apigw.CallerOf(req)
	if err != nil {
		return apigw.Response{}, err
	}
	if err := caller.Allow(apigw.ServiceCaller, apigw.StaffCaller); err != nil {
		return apigw.Response{}, err
	}
	var in points.Purchase
	decodeErr := apigw.DecodeJSON(req, &in)
	now := h.now()
	if err := apigw.Combine(decodeErr, points.ValidatePurchase(&in, h.Policy, now)); err != nil {
		return apigw.Response{}, err
	}
	if err := h.checkMember(ctx, in.MemberID, "member_id"); err != nil {
		return apigw.Response{}, err
	}
	if err := h.Intake.ClaimOrder(ctx, in, now); err != nil {
		return apigw.Response{}, err
	}
	evID, err := h.enqueue(ctx, event.TypePointsPurchase, now, in)
	if err != nil {
		return apigw.Response{}, err
	}
	h.Log.InfoContext(ctx, "purchase accepted", "order_id", in.OrderID, "member_id", in.MemberID, "event_id", evID,
		"lines", len(in.Lines), "caller", actor(caller))
	return apigw.JSON(http.StatusAccepted, Accepted{Status: "accepted", OrderID: in.OrderID, EventID: evID}), nil
}

func (h *Handler) returned(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	caller, err := apigw.CallerOf(req)
	if err != nil {
		return apigw.Response{}, err
	}
	if err := caller.Allow(apigw.ServiceCaller, apigw.StaffCaller); err != nil {
		return apigw.Response{}, err
	}
	var in points.Return
	decodeErr := apigw.DecodeJSON(req, &in)
	now := h.now()
	if err := apigw.Combine(decodeErr, points.ValidateReturn(&in, now)); err != nil {
		return apigw.Response{}, err
	}
	claim, err := h.Intake.ClaimReturn(ctx, in, now)
	if err != nil {
		return apigw.Response{}, err
	}
	in = claim.Return
	attrs := []any{"return_id", in.ReturnID, "order_id", in.OrderID, "caller", actor(caller), "replay", claim.Replay}
	switch claim.State {
	case points.ReturnApplied:
		// A retry of a return the worker applied: nothing left to queue.
		return apigw.JSON(http.StatusOK, Accepted{Status: "already_applied", OrderID: in.OrderID, ReturnID: in.ReturnID}), nil
	case points.ReturnParked:
		h.Log.InfoContext(ctx, "return parked until its order is applied", attrs...)
		return apigw.JSON(http.StatusAccepted, Accepted{Status: "parked", OrderID: in.OrderID, ReturnID: in.ReturnID}), nil
	case points.ReturnRejected:
		return apigw.Response{}, &fault.Error{Kind: fault.Conflict,
			Message: "this return was accepted before its order was processed and could not apply to it",
			Fields:  []fault.FieldError{{Field: "return_id", Reason: "could not apply to its order"}}}
	}
	// Reserved, new or a replay: queue it (again, in case the first
	// request stopped between its claim and the queue; the worker applies
	// it once).
	evID, err := h.enqueue(ctx, event.TypePointsReturn, now, in)
	if err != nil {
		return apigw.Response{}, err
	}
	h.Log.InfoContext(ctx, "return accepted", append(attrs, "member_id", in.MemberID, "event_id", evID)...)
	return apigw.JSON(http.StatusAccepted, Accepted{Status: "accepted", OrderID: in.OrderID, ReturnID: in.ReturnID, EventID: evID}), nil
}
