package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"clientele/shared/apigw"
	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/feedback"
	"clientele/shared/queue"
)

// CaseStore is the part of dynamo.FeedbackStore the API uses.
type CaseStore interface {
	// Create stores a new case unless its source or fingerprint already
	// opened one (then it returns that case and false).
	Create(ctx context.Context, c *feedback.Case, d dynamo.CaseDedupe, w dynamo.CaseWrite) (*feedback.Case, bool, error)
	// Get returns a case or NotFound.
	Get(ctx context.Context, id string) (*feedback.Case, error)
	// Update applies fn and writes conditionally; fn's error writes nothing.
	Update(ctx context.Context, id string, fn func(*feedback.Case) error, w dynamo.CaseWrite) (*feedback.Case, error)
	// List queries one index partition; Invalid for a bad cursor or limit.
	List(ctx context.Context, f dynamo.CaseFilter, cursor string, limit int) ([]dynamo.CaseSummary, string, error)
	// Cluster returns a cluster or NotFound.
	Cluster(ctx context.Context, id string) (dynamo.Cluster, error)
	// OpenClusters pages through the open clusters.
	OpenClusters(ctx context.Context, cursor string, limit int) ([]dynamo.Cluster, string, error)
	// Report returns a week's aggregates.
	Report(ctx context.Context, week string) (dynamo.FeedbackReport, error)
	// ActiveRuleset returns the stored ruleset in force or NotFound.
	ActiveRuleset(ctx context.Context) (dynamo.StoredRuleset, error)
	// PutRuleset replaces the ruleset in force at revision prev; Conflict
	// naming If-Match or version.
	PutRuleset(ctx context.Context, rs feedback.Ruleset, prev int64, by string, now time.Time) (dynamo.StoredRuleset, error)
}

// Handler serves the feedback HTTP API.
type Handler struct {
	Store     CaseStore
	Outbox    queue.Outbox
	Publisher queue.EventPublisher
	// Cursors signs the case list's cursors.
	Cursors apigw.Cursors
	// Desk gives SLA targets, calendars and teams.
	Desk feedback.Desk
	// Engines memoises compiled rulesets for the dry run.
	Engines feedback.Engines
	Log     *slog.Logger
	Now     func() time.Time
	// Service names the function in event envelopes.
	Service string
	// Region reads contact phone numbers without a country code.
	Region string
}

// Router maps the feedback routes to their handlers.
func (h *Handler) Router() *apigw.Router {
	r := apigw.NewRouter(h.Log)
	r.Handle("POST /v1/feedback", h.intake)
	r.Handle("GET /v1/feedback/cases", h.list)
	r.Handle("GET /v1/feedback/cases/{id}", h.read)
	r.Handle("POST /v1/feedback/cases/{id}/assign", h.assign)
	r.Handle("POST /v1/feedback/cases/{id}/status", h.status)
	r.Handle("POST /v1/feedback/cases/{id}/notes", h.note)
	r.Handle("POST /v1/feedback/cases/{id}/replies", h.reply)
	r.Handle("POST /v1/feedback/cases/{id}/resolve", h.resolve)
	r.Handle("POST /v1/feedback/cases/{id}/reopen", h.reopen)
	r.Handle("GET /v1/feedback/rules", h.rules)
	r.Handle("PUT /v1/feedback/rules", h.putRules)
	r.Handle("POST /v1/feedback/rules/dry-run", h.dryRun)
	r.Handle("GET /v1/feedback/clusters", h.clusters)
	r.Handle("GET /v1/feedback/reports/{week}", h.report)
	return r
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// newEvent builds an envelope from this function.
func (h *Handler) newEvent(typ string, now time.Time, data any) (event.Envelope, error) {
	ev, err := event.New(typ, h.Service, now, data)
	if err != nil {
		return event.Envelope{}, fault.Wrap(fault.Internal, err, "build %s event", typ)
	}
	return ev, nil
}

// publish sends events a transaction committed to the outbox.
func (h *Handler) publish(ctx context.Context, evs []event.Envelope) {
	queue.PublishCommitted(ctx, h.Publisher, h.Outbox, h.Log, evs)
}

// viewer reads who calls: the caller kind and, for staff, the stores the
// token restricts them to (the "stores" or "custom:stores" claim: a list or
// a comma- or space-separated string).
func viewer(req apigw.Request, c apigw.Caller) feedback.Viewer {
	v := feedback.Viewer{}
	switch c.Kind {
	case apigw.MemberCaller:
		v.Kind, v.MemberID = feedback.CallerMember, c.Subject
	case apigw.StaffCaller:
		v.Kind = feedback.CallerStaff
		if a := req.RequestContext.Authorizer; a != nil && a.JWT != nil {
			for _, name := range []string{"stores", "custom:stores"} {
				v.Stores = append(v.Stores, listClaim(a.JWT.Claims[name])...)
			}
		}
	case apigw.ServiceCaller:
		v.Kind = feedback.CallerService
	}
	return v
}

// actor names a caller in a case's history: "staff:<sub>".
func actor(c apigw.Caller) string { return c.Kind.String() + ":" + c.Subject }

// caseFor authorises the caller for the case in the path and reads it.
func (h *Handler) caseFor(ctx context.Context, req apigw.Request, kinds ...apigw.CallerKind) (apigw.Caller, feedback.Viewer, *feedback.Case, error) {
	caller, err := apigw.CallerOf(req)
	if err != nil {
		return caller, feedback.Viewer{}, nil, err
	}
	if err := caller.Allow(kinds...); err != nil {
		return caller, feedback.Viewer{}, nil, err
	}
	id, err := apigw.PathID(req, "id")
	if err != nil {
		return caller, feedback.Viewer{}, nil, err
	}
	v := viewer(req, caller)
	c, err := h.Store.Get(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return caller, v, nil, &fault.Error{Kind: fault.NotFound, Message: "no such case", Fields: []fault.FieldError{{Field: "id", Reason: "no such case"}}}
	}
	if err != nil {
		return caller, v, nil, err
	}
	if err := c.Authorize(v); err != nil {
		return caller, v, nil, err
	}
	return caller, v, c, nil
}

// change applies fn to the case in the path for an authorised caller (the
// case is authorised again inside the write, against the version written)
// with the events fn returns, publishes them, and renders the case.
func (h *Handler) change(ctx context.Context, req apigw.Request, kinds []apigw.CallerKind,
	fn func(caller apigw.Caller, c *feedback.Case, now time.Time) ([]event.Envelope, error)) (apigw.Response, error) {
	caller, v, c, err := h.caseFor(ctx, req, kinds...)
	if err != nil {
		return apigw.Response{}, err
	}
	ifVersion := int64(0)
	if apigw.Header(req, "If-Match") != "" {
		if ifVersion, err = apigw.IfMatch(req); err != nil {
			return apigw.Response{}, err
		}
		if ifVersion == apigw.AnyVersion {
			ifVersion = 0
		}
	}
	now := h.now()
	var evs []event.Envelope
	w := dynamo.CaseWrite{IfVersion: ifVersion}
	// fn builds the events from the case it changes; the store writes them
	// with the change, so they are built once before the write from a
	// trial run on the case read, and the write re-runs fn on the stored
	// version.
	trial := *c
	trial.History = append([]feedback.HistoryEntry(nil), c.History...)
	if evs, err = fn(caller, &trial, now); err != nil {
		return apigw.Response{}, err
	}
	w.Events = evs
	updated, err := h.Store.Update(ctx, c.ID, func(cur *feedback.Case) error {
		if err := cur.Authorize(v); err != nil {
			return err
		}
		_, err := fn(caller, cur, now)
		return err
	}, w)
	if err != nil {
		return apigw.Response{}, err
	}
	if updated.Version > c.Version {
		h.publish(ctx, evs)
	}
	return h.render(ctx, http.StatusOK, v, updated, now)
}

// render shows a case to a viewer.
func (h *Handler) render(ctx context.Context, status int, v feedback.Viewer, c *feedback.Case, now time.Time) (apigw.Response, error) {
	view, err := h.viewOf(ctx, v, c, now)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.JSON(status, view, "ETag", apigw.ETag(c.Version), "Cache-Control", "no-store"), nil
}
