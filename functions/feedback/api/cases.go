package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"clientele/shared/apigw"
	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/feedback"
	"clientele/shared/idempotency"
)

// CaseView is a case as the API shows it.
type CaseView struct {
	ID          string             `json:"id"`
	Status      feedback.Status    `json:"status"`
	Channel     feedback.Channel   `json:"channel"`
	Type        feedback.Type      `json:"type,omitempty"`
	Category    feedback.Category  `json:"category,omitempty"`
	Sentiment   feedback.Sentiment `json:"sentiment,omitempty"`
	Priority    feedback.Priority  `json:"priority,omitempty"`
	Team        string             `json:"team,omitempty"`
	Assignee    string             `json:"assignee,omitempty"`
	Text        string             `json:"text,omitempty"`
	Rating      int                `json:"rating,omitempty"`
	Store       string             `json:"store,omitempty"`
	OrderID     string             `json:"order_id,omitempty"`
	SKU         string             `json:"sku,omitempty"`
	MemberID    string             `json:"member_id,omitempty"`
	Contact     *feedback.Contact  `json:"contact,omitempty"`
	Attachments []string           `json:"attachments,omitempty"`
	// SLA is the SLA state now; absent for a case not yet triaged.
	SLA *feedback.SLAState `json:"sla,omitempty"`
	// Triage records the rules that fired and their version.
	Triage         *feedback.Result        `json:"triage,omitempty"`
	Cluster        *ClusterView            `json:"cluster,omitempty"`
	ResolutionCode feedback.ResolutionCode `json:"resolution_code,omitempty"`
	ResolvedAt     time.Time               `json:"resolved_at,omitzero"`
	History        []feedback.HistoryEntry `json:"history"`
	CreatedAt      time.Time               `json:"created_at"`
	UpdatedAt      time.Time               `json:"updated_at"`
	Erased         bool                    `json:"erased,omitempty"`
	Version        int64                   `json:"version"`
}

// ClusterView is a problem cluster as the API shows it.
type ClusterView struct {
	ID       string                 `json:"id"`
	Key      string                 `json:"key"`
	Window   time.Time              `json:"window"`
	OpenedAt time.Time              `json:"opened_at"`
	Decision feedback.BurstDecision `json:"decision"`
	Cases    int64                  `json:"cases"`
}

func clusterView(cl dynamo.Cluster) ClusterView {
	return ClusterView{ID: cl.ID, Key: cl.Key, Window: cl.Window, OpenedAt: cl.OpenedAt, Decision: cl.Decision, Cases: cl.Cases}
}

// viewOf renders a case for a viewer: a member sees neither internal notes
// nor who on the staff acted, nor the triage's rules.
func (h *Handler) viewOf(ctx context.Context, v feedback.Viewer, c *feedback.Case, now time.Time) (CaseView, error) {
	view := CaseView{ID: c.ID, Status: c.Status, Channel: c.Channel, Type: c.Type, Category: c.Category, Sentiment: c.Sentiment,
		Priority: c.Priority, Team: c.Team, Assignee: c.Assignee, Text: c.Text, Rating: c.Rating, Store: c.Store, OrderID: c.OrderID,
		SKU: c.SKU, MemberID: c.MemberID, Contact: c.Contact, Attachments: c.Attachments, Triage: c.Triage,
		ResolutionCode: c.ResolutionCode, ResolvedAt: c.ResolvedAt, History: c.History, CreatedAt: c.CreatedAt,
		UpdatedAt: c.UpdatedAt, Erased: c.Erased, Version: c.Version}
	if c.Triage != nil {
		s, err := h.Desk.SLA(c, now)
		if err != nil {
			return CaseView{}, err
		}
		view.SLA = &s
	}
	if c.ClusterID != "" {
		cl, err := h.Store.Cluster(ctx, c.ClusterID)
		switch {
		case err == nil:
			cv := clusterView(cl)
			view.Cluster = &cv
		case fault.Is(err, fault.NotFound):
			view.Cluster = &ClusterView{ID: c.ClusterID}
		default:
			return CaseView{}, err
		}
	}
	if v.Kind == feedback.CallerMember {
		view.Team, view.Assignee, view.Triage, view.Cluster = "", "", nil, nil
		view.History = make([]feedback.HistoryEntry, 0, len(c.History))
		for _, e := range c.History {
			switch e.Kind {
			case feedback.EntryNote, feedback.EntryAssigned, feedback.EntryClustered, feedback.EntrySLAWarning, feedback.EntryEscalated:
				continue
			}
			if e.By != feedback.ByCustomer && e.By != feedback.BySystem {
				e.By = "staff"
			}
			if e.Kind == feedback.EntryStatus && e.Action == feedback.ActionTriage {
				e.Code = ""
			}
			view.History = append(view.History, e)
		}
	}
	if view.History == nil {
		view.History = []feedback.HistoryEntry{}
	}
	return view, nil
}

// Accepted is the response to POST /v1/feedback.
type Accepted struct {
	ID     string          `json:"id"`
	Status feedback.Status `json:"status"`
	// Duplicate: the same author sent the same text within 10 minutes, or
	// the Idempotency-Key was used before; ID is the case it opened.
	Duplicate bool `json:"duplicate"`
}

func (h *Handler) intake(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	caller, err := apigw.CallerOf(req)
	if err != nil {
		return apigw.Response{}, err
	}
	if err := caller.Allow(apigw.MemberCaller, apigw.ServiceCaller, apigw.StaffCaller); err != nil {
		return apigw.Response{}, err
	}
	key := apigw.Header(req, idempotency.HeaderName)
	if key != "" {
		if err := idempotency.ValidateKey(key); err != nil {
			return apigw.Response{}, err
		}
	}
	var in feedback.IntakeInput
	decodeErr := apigw.DecodeJSON(req, &in)
	fc := feedback.Caller{Kind: viewer(req, caller).Kind}
	if caller.Kind == apigw.MemberCaller {
		fc.MemberID = caller.Subject
	}
	sub, err := feedback.NewSubmission(in, fc, h.Region)
	if err := apigw.Combine(decodeErr, err); err != nil {
		return apigw.Response{}, err
	}
	now := h.now()
	c := feedback.NewCase(event.NewID(now), sub, now)
	ev, err := h.newEvent(feedback.TypeReceived, now, feedback.Received{CaseID: c.ID})
	if err != nil {
		return apigw.Response{}, err
	}
	d := dynamo.CaseDedupe{Fingerprint: sub.Fingerprint}
	if key != "" {
		d.Source = "idem:" + actor(caller) + ":" + key
	}
	got, created, err := h.Store.Create(ctx, c, d, dynamo.CaseWrite{Events: []event.Envelope{ev}})
	if err != nil {
		return apigw.Response{}, err
	}
	if created {
		h.publish(ctx, []event.Envelope{ev})
		h.Log.InfoContext(ctx, "feedback received", "case_id", got.ID, "channel", string(got.Channel), "caller", caller.Kind.String())
	} else if key != "" && !sameSubmission(got, sub) {
		return apigw.Response{}, &fault.Error{Kind: fault.Conflict, Message: "this Idempotency-Key was used with other feedback",
			Fields: []fault.FieldError{{Field: idempotency.HeaderName, Reason: "used with another body"}}}
	}
	resp := apigw.JSON(http.StatusAccepted, Accepted{ID: got.ID, Status: got.Status, Duplicate: !created},
		"Location", "/v1/feedback/cases/"+got.ID)
	if !created && key != "" {
		resp.Headers["Idempotent-Replayed"] = "true"
	}
	return resp, nil
}

// sameSubmission reports whether a stored case holds what sub says (for a
// replayed Idempotency-Key). An erased case no longer holds its text: any
// submission matches it.
func sameSubmission(c *feedback.Case, sub feedback.Submission) bool {
	if c.Erased {
		return true
	}
	return c.Channel == sub.Channel && feedback.Normalize(c.Text) == feedback.Normalize(sub.Text) &&
		c.Store == sub.Store && c.SKU == sub.SKU && c.OrderID == sub.OrderID && c.Rating == sub.Rating
}

func (h *Handler) read(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	_, v, c, err := h.caseFor(ctx, req, apigw.MemberCaller, apigw.StaffCaller)
	if err != nil {
		return apigw.Response{}, err
	}
	return h.render(ctx, http.StatusOK, v, c, h.now())
}

// CasesPage is one page of a case list, newest first.
type CasesPage struct {
	Cases      []dynamo.CaseSummary `json:"cases"`
	NextCursor string               `json:"next_cursor,omitempty"`
}

// listFilters are the query parameters of GET /v1/feedback/cases.
var listFilters = []string{"status", "priority", "category", "store", "team", "cluster", "member_id", "overdue", "cursor", "limit"}

func (h *Handler) list(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	caller, err := apigw.CallerOf(req)
	if err != nil {
		return apigw.Response{}, err
	}
	if err := caller.Allow(apigw.MemberCaller, apigw.StaffCaller); err != nil {
		return apigw.Response{}, err
	}
	q := req.QueryStringParameters
	var fs fault.Fields
	for name := range q {
		if !slices.Contains(listFilters, name) {
			fs.Add(name, "is not a filter of this list")
		}
	}
	f := dynamo.CaseFilter{Status: feedback.Status(q["status"]), Priority: feedback.Priority(q["priority"]),
		Category: feedback.Category(q["category"]), Store: q["store"], Team: q["team"], Cluster: q["cluster"], Member: q["member_id"]}
	if f.Status != "" && !f.Status.Valid() {
		fs.Add("status", "must be one of new, open, in_progress, waiting_customer, resolved, closed, reopened")
	}
	if f.Priority != "" && !f.Priority.Valid() {
		fs.Add("priority", "must be one of P1, P2, P3")
	}
	if f.Category != "" && !f.Category.Valid() {
		fs.Add("category", "must be one of product_quality, service, delivery, price_promotion, store_environment, app_website, membership_points, other")
	}
	for _, p := range []struct{ name, v string }{{"store", f.Store}, {"team", f.Team}} {
		if p.v != "" && !refValue(p.v) {
			fs.Add(p.name, "must be 1–64 letters, digits or . _ : -")
		}
	}
	for _, p := range []struct{ name, v string }{{"cluster", f.Cluster}, {"member_id", f.Member}} {
		apigw.BodyID(&fs, p.name, p.v, true)
	}
	overdue := false
	switch q["overdue"] {
	case "", "false":
	case "true":
		overdue = true
	default:
		fs.Add("overdue", "must be true or false")
	}
	limit, err := apigw.QueryInt(req, "limit", 20, 1, 100)
	if err != nil {
		fs.Add("limit", "must be an integer from 1 to 100")
	}
	if err := fs.Err(); err != nil {
		return apigw.Response{}, err
	}
	v := viewer(req, caller)
	switch {
	case v.Kind == feedback.CallerMember:
		if f.Member != "" && f.Member != v.MemberID {
			return apigw.Response{}, fault.New(fault.Forbidden, "a member lists only their own cases")
		}
		f.Member = v.MemberID
	case len(v.Stores) > 0:
		if f.Store == "" && len(v.Stores) == 1 {
			f.Store = v.Stores[0]
		}
		if f.Store == "" {
			return apigw.Response{}, fault.Field("store", "is required: your token is limited to the stores "+strings.Join(v.Stores, ", "))
		}
		if !slices.Contains(v.Stores, f.Store) {
			return apigw.Response{}, &fault.Error{Kind: fault.Forbidden, Message: "your token is limited to other stores",
				Fields: []fault.FieldError{{Field: "store", Reason: "not one of your stores"}}}
		}
	}
	scope := listScope(f, overdue)
	after := ""
	if cur := q["cursor"]; cur != "" {
		pos, err := h.Cursors.Decode(scope, cur)
		if err != nil {
			return apigw.Response{}, err
		}
		after = pos["after"]
	}
	list, next, err := h.Store.List(ctx, f, after, limit)
	if err != nil {
		return apigw.Response{}, err
	}
	page := CasesPage{Cases: make([]dynamo.CaseSummary, 0, len(list))}
	now := h.now()
	for _, s := range list {
		if overdue && (s.Due.IsZero() || !s.Due.Before(now)) {
			continue
		}
		page.Cases = append(page.Cases, s)
	}
	if next != "" {
		page.NextCursor = h.Cursors.Encode(scope, map[string]string{"after": next})
	}
	return apigw.JSON(http.StatusOK, page, "Cache-Control", "no-store"), nil
}

// listScope binds a cursor to the filter it was issued for.
func listScope(f dynamo.CaseFilter, overdue bool) string {
	b, _ := json.Marshal(struct {
		F dynamo.CaseFilter
		O bool
	}{f, overdue})
	return "feedback.cases:" + string(b)
}

// refValue: store and team names are 1–64 of letters, digits, . _ : -.
func refValue(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:-", r)) {
			return false
		}
	}
	return true
}

// listClaim reads a list claim as API Gateway renders it ("[a b]"), as
// JSON (["a","b"]) or as a comma- or space-separated string.
func listClaim(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if strings.HasPrefix(v, "[") {
		var arr []string
		if json.Unmarshal([]byte(v), &arr) == nil {
			return arr
		}
		v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	}
	return strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
}
