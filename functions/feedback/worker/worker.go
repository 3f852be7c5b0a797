package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/feedback"
	"clientele/shared/ident"
	"clientele/shared/logging"
	"clientele/shared/queue"
)

// CaseStore is the part of dynamo.FeedbackStore the worker uses.
type CaseStore interface {
	Create(ctx context.Context, c *feedback.Case, d dynamo.CaseDedupe, w dynamo.CaseWrite) (*feedback.Case, bool, error)
	Get(ctx context.Context, id string) (*feedback.Case, error)
	Update(ctx context.Context, id string, fn func(*feedback.Case) error, w dynamo.CaseWrite) (*feedback.Case, error)
	List(ctx context.Context, f dynamo.CaseFilter, cursor string, limit int) ([]dynamo.CaseSummary, string, error)
	Due(ctx context.Context, from, before time.Time, limit int) ([]dynamo.CaseSummary, error)
	EraseMember(ctx context.Context, memberID string) (int, error)
	OpenCluster(ctx context.Context, cl dynamo.Cluster, events []event.Envelope) (dynamo.Cluster, bool, error)
	LatestCluster(ctx context.Context, clusterKey string) (dynamo.Cluster, error)
	LinkCase(ctx context.Context, clusterID, caseID string) (*feedback.Case, error)
	TextCandidates(ctx context.Context, sig feedback.Signature) ([]feedback.ClusterCandidate, error)
	DayCounts(ctx context.Context, countKey string, first, last time.Time) ([]int, error)
	ActiveRuleset(ctx context.Context) (dynamo.StoredRuleset, error)
}

// Handler consumes the feedback-events queue and runs the SLA sweep.
type Handler struct {
	Store     CaseStore
	Outbox    queue.Outbox
	Publisher queue.EventPublisher
	Desk      feedback.Desk
	// Engines memoises the compiled rulesets.
	Engines feedback.Engines
	Log     *slog.Logger
	Now     func() time.Time
	// Service names the function in the events it emits.
	Service string
	// Margin: messages not started when the invocation's deadline is this
	// close are left for redelivery (default 3 s).
	Margin time.Duration
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// Handle serves both of the function's triggers: an SQS batch from the
// feedback-events queue, and the schedule's {"job":"sla-sweep"}.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records json.RawMessage `json:"Records"`
		Job     string          `json:"job"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "payload")
	}
	switch {
	case probe.Job == "sla-sweep":
		return h.Sweep(ctx)
	case len(probe.Records) > 0:
		var in events.SQSEvent
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, fault.Wrap(fault.Invalid, err, "SQS event")
		}
		return h.HandleSQS(ctx, in)
	}
	return nil, fault.New(fault.Invalid, "neither an SQS batch nor a known job")
}

// HandleSQS processes a batch and reports only the messages that failed;
// SQS redelivers those and, after maxReceiveCount, moves a poison message
// to the DLQ without holding back the rest of its batch.
func (h *Handler) HandleSQS(ctx context.Context, in events.SQSEvent) (events.SQSEventResponse, error) {
	margin := h.Margin
	if margin == 0 {
		margin = 3 * time.Second
	}
	var b queue.Batch
	var eng *feedback.Engine
	for i, m := range in.Records {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < margin {
			for _, r := range in.Records[i:] {
				b.Fail(r.MessageId)
			}
			h.Log.WarnContext(ctx, "deadline near; leaving messages for redelivery", "left", len(in.Records)-i)
			break
		}
		if eng == nil {
			var err error
			if eng, err = h.engine(ctx); err != nil {
				h.Log.ErrorContext(ctx, "cannot load the triage rules; batch left for redelivery", "error", err.Error())
				for _, r := range in.Records[i:] {
					b.Fail(r.MessageId)
				}
				break
			}
		}
		if !h.message(ctx, eng, m) {
			b.Fail(m.MessageId)
		}
	}
	return b.Response(), nil
}

// engine returns the compiled ruleset in force (the brand's, else the
// shipped default), read once per batch.
func (h *Handler) engine(ctx context.Context) (*feedback.Engine, error) {
	st, err := h.Store.ActiveRuleset(ctx)
	if fault.Is(err, fault.NotFound) {
		return feedback.DefaultEngine(), nil
	}
	if err != nil {
		return nil, err
	}
	return h.Engines.For(st.Ruleset)
}

// message applies one message and reports whether it succeeded (or was a
// redelivery of one that had). Nothing about the case's content is
// logged: ids, types and outcomes only.
func (h *Handler) message(ctx context.Context, eng *feedback.Engine, m events.SQSMessage) bool {
	env, err := event.Parse([]byte(m.Body))
	if err != nil {
		h.Log.ErrorContext(logging.WithRequestID(ctx, m.MessageId), "unparseable message; it will reach the DLQ",
			"message_id", m.MessageId, "error", "envelope")
		return false
	}
	ctx = logging.WithRequestID(ctx, env.ID)
	attrs := []any{"type", env.Type, "message_id", m.MessageId, "receive_count", m.Attributes["ApproximateReceiveCount"]}
	err = h.dispatch(ctx, eng, env)
	switch {
	case err == nil:
		h.Log.InfoContext(ctx, "applied", attrs...)
		return true
	case fault.Is(err, fault.Invalid):
		h.Log.ErrorContext(ctx, "rejected; the message will reach the DLQ", append(attrs, "kind", "invalid", "error", safeError(err))...)
	default:
		h.Log.WarnContext(ctx, "not applied; will retry", append(attrs, "kind", fault.KindOf(err).String(), "error", safeError(err))...)
	}
	return false
}

// safeError renders an error for a log: the kind's message and the fields
// named, never values (a decode error could quote the message's text).
func safeError(err error) string {
	e, ok := fault.As(err)
	if !ok {
		return fault.KindOf(err).String()
	}
	parts := []string{e.Kind.String()}
	for _, f := range e.Fields {
		parts = append(parts, f.Field)
	}
	if e.Message != "" && !strings.ContainsAny(e.Message, "\"'") {
		parts = append(parts, e.Message)
	}
	return strings.Join(parts, ": ")
}

func (h *Handler) dispatch(ctx context.Context, eng *feedback.Engine, env event.Envelope) error {
	if env.Version != 1 {
		return fault.New(fault.Invalid, "unsupported version %d of %s", env.Version, env.Type)
	}
	switch env.Type {
	case feedback.TypeReceived:
		var d feedback.Received
		if err := decode(env, &d); err != nil {
			return err
		}
		if !ident.Valid(d.CaseID) {
			return fault.Field("case_id", "is not a case id")
		}
		return h.triage(ctx, eng, d.CaseID)
	case event.TypeFeedbackFollowUpRequested:
		return h.followUp(ctx, eng, env)
	case event.TypeMemberErased:
		var d event.MemberErased
		if err := decode(env, &d); err != nil {
			return err
		}
		if !ident.Valid(d.MemberID) {
			return fault.Field("member_id", "is not a member id")
		}
		n, err := h.Store.EraseMember(ctx, d.MemberID)
		if err == nil {
			h.Log.InfoContext(ctx, "member's feedback erased", "cases", n)
		}
		return err
	}
	return fault.New(fault.Invalid, "unknown event type %s", env.Type)
}

func decode(env event.Envelope, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(env.Data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fault.New(fault.Invalid, "%s data does not decode", env.Type)
	}
	return nil
}

// triage decides type, category, sentiment and priority of a case once
// (a redelivery finds it triaged and changes nothing), routes it to a team,
// then looks for its problem cluster.
func (h *Handler) triage(ctx context.Context, eng *feedback.Engine, id string) error {
	now := h.now()
	c, err := h.Store.Update(ctx, id, func(c *feedback.Case) error {
		if c.Triage != nil {
			return nil
		}
		r := eng.Triage(feedback.Input{Text: c.Text, Type: c.Type, Rating: c.Rating})
		return h.Desk.Route(c, r, now)
	}, dynamo.CaseWrite{})
	if err != nil {
		return err
	}
	return h.cluster(ctx, c)
}

// followUp opens one case per (source, source id) for another domain's
// follow-up request (a survey detractor) and triages it.
func (h *Handler) followUp(ctx context.Context, eng *feedback.Engine, env event.Envelope) error {
	var d event.FollowUpRequested
	if err := decode(env, &d); err != nil {
		return err
	}
	var fs fault.Fields
	if !ident.Valid(d.Source) {
		fs.Add("source", "is required: "+ident.Rule)
	}
	if !ident.Valid(d.SourceID) {
		fs.Add("source_id", "is required: "+ident.Rule)
	}
	text := strings.TrimSpace(d.Text)
	if text == "" {
		text = strings.TrimSpace(d.Summary)
	}
	if text == "" {
		fs.Add("text", "a follow-up needs the customer's text or a summary")
	}
	channel := d.Channel
	if channel == "" {
		channel = string(feedback.ChannelSurvey)
	}
	in := feedback.IntakeInput{Channel: channel, Text: text, Store: d.Store, OrderID: d.OrderID, MemberID: d.MemberID}
	sub, err := feedback.NewSubmission(in, feedback.Caller{Kind: feedback.CallerStaff}, "CN")
	if err != nil {
		if e, ok := fault.As(err); ok {
			for _, f := range e.Fields {
				fs.Add(f.Field, f.Reason)
			}
		}
	}
	if err := fs.Err(); err != nil {
		return err
	}
	at := d.At.UTC()
	if at.IsZero() || at.After(h.now()) {
		at = h.now()
	}
	source := d.Source + ":" + d.SourceID
	c := feedback.NewCase(event.NewID(at), sub, at)
	c.History[0].Code = source
	got, created, err := h.Store.Create(ctx, c, dynamo.CaseDedupe{Source: "followup:" + source}, dynamo.CaseWrite{})
	if err != nil {
		return err
	}
	if created {
		h.Log.InfoContext(ctx, "follow-up case opened", "case_id", got.ID, "source", d.Source)
	}
	return h.triage(ctx, eng, got.ID)
}

// Cluster windows are UTC days; the baseline is the same key's trailing
// BaselineDays days.
const (
	clusterWindow = 24 * time.Hour
	BaselineDays  = 28
	// maxRetroLinks bounds how many earlier cases an opening cluster links.
	maxRetroLinks = 200
)

// cluster links a triaged complaint to a problem cluster: its sku's or its
// store-and-category's burst (opening the cluster when the burst rule
// says so: of concurrent triages exactly one opens it), a cluster the key
// opened in the previous window, or — without a sku — an open cluster of
// similar text.
func (h *Handler) cluster(ctx context.Context, c *feedback.Case) error {
	if c.Type != feedback.Complaint || c.ClusterID != "" || c.Erased {
		return nil
	}
	day := c.CreatedAt.UTC().Truncate(clusterWindow)
	var sig *feedback.Signature
	if c.SKU == "" && c.Text != "" {
		s := feedback.NewSignature(c.Text)
		sig = &s
	}
	for _, key := range feedback.ClusterKeys(c) {
		counts, err := h.Store.DayCounts(ctx, key, day.Add(-BaselineDays*clusterWindow), day)
		if err != nil {
			return err
		}
		dec := h.Desk.Burst.Evaluate(counts[len(counts)-1], counts[:len(counts)-1])
		if dec.Open {
			cl := dynamo.Cluster{ID: event.NewID(h.now()), Key: key, Window: day, OpenedAt: h.now(), Decision: dec, Signature: sig}
			ev, err := event.New(feedback.TypeClusterOpened, h.Service, h.now(),
				feedback.ClusterOpened{ClusterID: cl.ID, Key: key, Window: day, Decision: dec, FirstCase: c.ID})
			if err != nil {
				return fault.Wrap(fault.Internal, err, "build cluster event")
			}
			got, opened, err := h.Store.OpenCluster(ctx, cl, []event.Envelope{ev})
			if err != nil {
				return err
			}
			if opened {
				queue.PublishCommitted(ctx, h.Publisher, h.Outbox, h.Log, []event.Envelope{ev})
				h.Log.InfoContext(ctx, "problem cluster opened", "cluster_id", got.ID, "count", dec.Count, "baseline", dec.Baseline)
			}
			if err := h.link(ctx, got.ID, c.ID); err != nil {
				return err
			}
			if opened {
				return h.linkEarlier(ctx, got.ID, key, c, day)
			}
			return nil
		}
		prev, err := h.Store.LatestCluster(ctx, key)
		if err == nil && !prev.Window.Before(day.Add(-clusterWindow)) {
			return h.link(ctx, prev.ID, c.ID)
		}
		if err != nil && !fault.Is(err, fault.NotFound) {
			return err
		}
	}
	if sig == nil {
		return nil
	}
	cands, err := h.Store.TextCandidates(ctx, *sig)
	if err != nil {
		return err
	}
	if best, _, ok := feedback.BestMatch(*sig, cands, feedback.JoinThreshold); ok {
		return h.link(ctx, best.ID, c.ID)
	}
	return nil
}

// link joins a case to a cluster; a case that joined another one
// meanwhile (a concurrent redelivery) stays where it is.
func (h *Handler) link(ctx context.Context, clusterID, caseID string) error {
	_, err := h.Store.LinkCase(ctx, clusterID, caseID)
	if fault.Is(err, fault.Conflict) {
		return nil
	}
	return err
}

// linkEarlier links the complaints of the cluster's key and window that
// were triaged before it opened (they made the burst). It reads the store
// or category index, never the table.
func (h *Handler) linkEarlier(ctx context.Context, clusterID, key string, c *feedback.Case, day time.Time) error {
	f := dynamo.CaseFilter{Category: c.Category}
	if c.Store != "" {
		f = dynamo.CaseFilter{Store: c.Store, Category: c.Category}
	}
	seen := 0
	cursor := ""
	for seen < maxRetroLinks {
		page, next, err := h.Store.List(ctx, f, cursor, 100)
		if err != nil {
			return err
		}
		for _, s := range page {
			seen++
			if s.CreatedAt.Before(day) {
				return nil
			}
			if s.ID == c.ID || s.ClusterID != "" || s.Type != feedback.Complaint {
				continue
			}
			other, err := h.Store.Get(ctx, s.ID)
			if err != nil {
				return err
			}
			if !hasKey(other, key) {
				continue
			}
			if err := h.link(ctx, clusterID, s.ID); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
	return nil
}

func hasKey(c *feedback.Case, key string) bool {
	for _, k := range feedback.ClusterKeys(c) {
		if k == key {
			return true
		}
	}
	return false
}

// SweepLookback is how far back the sweep reads the due index: a clock
// due longer ago than this, never swept (the schedule was off for two
// days), is not flagged.
const SweepLookback = 48 * time.Hour

// maxSweepCases bounds one sweep; the next one, minutes later, continues.
const maxSweepCases = 1000

// SweepResult says what a sweep did.
type SweepResult struct {
	Checked  int `json:"checked"`
	Warnings int `json:"warnings"`
	Breaches int `json:"breaches"`
}

var errNothingToRecord = errors.New("nothing new to record")

// Sweep reads the cases whose next SLA due time falls in the lookback or
// within the warning lead, and records on each at most one warning and one
// escalation per clock and due time, publishing feedback.sla_warning and
// feedback.sla_breached (which names the team lead) with the change.
func (h *Handler) Sweep(ctx context.Context) (SweepResult, error) {
	now := h.now()
	lead := time.Duration(h.Desk.WarnBefore)
	due, err := h.Store.Due(ctx, now.Add(-SweepLookback), now.Add(lead), maxSweepCases)
	if err != nil {
		return SweepResult{}, err
	}
	var res SweepResult
	for _, s := range due {
		res.Checked++
		w, b, err := h.alert(ctx, s.ID, now, lead)
		if err != nil {
			h.Log.WarnContext(ctx, "sla sweep: case not checked", "case_id", s.ID, "error", safeError(err))
			continue
		}
		res.Warnings += w
		res.Breaches += b
	}
	h.Log.InfoContext(ctx, "sla sweep done", "checked", res.Checked, "warnings", res.Warnings, "breaches", res.Breaches)
	return res, nil
}

func (h *Handler) alert(ctx context.Context, id string, now time.Time, lead time.Duration) (int, int, error) {
	c, err := h.Store.Get(ctx, id)
	if err != nil {
		return 0, 0, err
	}
	state, err := h.Desk.SLA(c, now)
	if err != nil {
		return 0, 0, err
	}
	var fresh []feedback.SLAAlert
	probe := *c
	probe.History = append([]feedback.HistoryEntry(nil), c.History...)
	leadName := h.Desk.LeadOf(c.Team)
	for _, a := range feedback.Alerts(state, lead) {
		if probe.RecordAlert(a, leadName, now) {
			fresh = append(fresh, a)
		}
	}
	if len(fresh) == 0 {
		return 0, 0, nil
	}
	var evs []event.Envelope
	warnings, breaches := 0, 0
	for _, a := range fresh {
		n := feedback.SLANotice{CaseID: c.ID, Priority: state.Priority, Team: c.Team, Assignee: c.Assignee, Store: c.Store, Clock: a.Clock, Due: a.Due}
		typ := feedback.TypeSLAWarning
		if a.Kind == feedback.EntryEscalated {
			typ, n.EscalateTo = feedback.TypeSLABreached, leadName
			breaches++
		} else {
			warnings++
		}
		ev, err := event.New(typ, h.Service, now, n)
		if err != nil {
			return 0, 0, fault.Wrap(fault.Internal, err, "build %s", typ)
		}
		evs = append(evs, ev)
	}
	_, err = h.Store.Update(ctx, id, func(cur *feedback.Case) error {
		added := false
		for _, a := range fresh {
			added = cur.RecordAlert(a, h.Desk.LeadOf(cur.Team), now) || added
		}
		if !added {
			return errNothingToRecord
		}
		return nil
	}, dynamo.CaseWrite{Events: evs})
	if errors.Is(err, errNothingToRecord) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	queue.PublishCommitted(ctx, h.Publisher, h.Outbox, h.Log, evs)
	return warnings, breaches, nil
}
