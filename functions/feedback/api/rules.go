package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"clientele/shared/apigw"
	"clientele/shared/fault"
	"clientele/shared/feedback"
)

// RulesView is the ruleset in force.
type RulesView struct {
	Ruleset feedback.Ruleset `json:"ruleset"`
	// Revision counts the brand's edits (0: the shipped default is in
	// force); PUT sends it back as If-Match.
	Revision  int64     `json:"revision"`
	Default   bool      `json:"default"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// activeRules returns the ruleset in force: the brand's, else the default.
func (h *Handler) activeRules(ctx context.Context) (RulesView, error) {
	st, err := h.Store.ActiveRuleset(ctx)
	if fault.Is(err, fault.NotFound) {
		return RulesView{Ruleset: feedback.DefaultRuleset(), Default: true}, nil
	}
	if err != nil {
		return RulesView{}, err
	}
	return RulesView{Ruleset: st.Ruleset, Revision: st.Revision, UpdatedAt: st.UpdatedAt, UpdatedBy: st.UpdatedBy}, nil
}

// unrestrictedStaff admits staff whose token is not limited to stores: the
// rules and reports are the whole brand's.
func unrestrictedStaff(req apigw.Request) (apigw.Caller, error) {
	caller, err := apigw.CallerOf(req)
	if err != nil {
		return caller, err
	}
	if err := caller.Allow(apigw.StaffCaller); err != nil {
		return caller, err
	}
	if len(viewer(req, caller).Stores) > 0 {
		return caller, fault.New(fault.Forbidden, "staff limited to stores may not see or edit brand-wide rules and reports")
	}
	return caller, nil
}

func (h *Handler) rules(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if _, err := unrestrictedStaff(req); err != nil {
		return apigw.Response{}, err
	}
	v, err := h.activeRules(ctx)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.JSON(http.StatusOK, v, "ETag", apigw.ETag(v.Revision), "Cache-Control", "no-store"), nil
}

func (h *Handler) putRules(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	caller, err := unrestrictedStaff(req)
	if err != nil {
		return apigw.Response{}, err
	}
	prev, err := apigw.IfMatch(req)
	if err != nil {
		return apigw.Response{}, err
	}
	if prev == apigw.AnyVersion {
		return apigw.Response{}, fault.New(fault.PreconditionFailed, "If-Match must name the revision you read (GET /v1/feedback/rules)")
	}
	if err := apigw.DecodeJSON(req, &json.RawMessage{}); err != nil {
		return apigw.Response{}, err
	}
	body, err := apigw.Body(req)
	if err != nil {
		return apigw.Response{}, err
	}
	rs, err := feedback.ParseRuleset(body)
	if err != nil {
		return apigw.Response{}, err
	}
	if _, err := h.Engines.For(rs); err != nil {
		return apigw.Response{}, err
	}
	now := h.now()
	st, err := h.Store.PutRuleset(ctx, rs, prev, actor(caller), now)
	if err != nil {
		return apigw.Response{}, err
	}
	h.Log.InfoContext(ctx, "triage rules replaced", "version", rs.Version, "revision", st.Revision, "rules", len(rs.Rules), "actor", caller.Subject)
	v := RulesView{Ruleset: st.Ruleset, Revision: st.Revision, UpdatedAt: st.UpdatedAt, UpdatedBy: st.UpdatedBy}
	return apigw.JSON(http.StatusOK, v, "ETag", apigw.ETag(v.Revision), "Cache-Control", "no-store"), nil
}

// DryRunInput is the body of POST /v1/feedback/rules/dry-run: a text to
// triage with the rules in force, or with the ruleset given (a draft).
type DryRunInput struct {
	Text    string            `json:"text"`
	Type    string            `json:"type,omitempty"`
	Rating  *int              `json:"rating,omitempty"`
	Ruleset *feedback.Ruleset `json:"ruleset,omitempty"`
}

func (h *Handler) dryRun(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if _, err := unrestrictedStaff(req); err != nil {
		return apigw.Response{}, err
	}
	var in DryRunInput
	decodeErr := apigw.DecodeJSON(req, &in)
	var fs fault.Fields
	checkText(&fs, "text", in.Text, feedback.MaxTextChars)
	if in.Type != "" && !feedback.Type(in.Type).Valid() {
		fs.Add("type", "must be one of complaint, suggestion, praise, question")
	}
	if in.Rating != nil && (*in.Rating < 1 || *in.Rating > 5) {
		fs.Add("rating", "must be between 1 and 5")
	}
	if in.Ruleset != nil {
		if err := in.Ruleset.Validate(); err != nil {
			if e, ok := fault.As(err); ok {
				for _, f := range e.Fields {
					fs.Add("ruleset."+f.Field, f.Reason)
				}
			}
		}
	}
	if err := apigw.Combine(decodeErr, fs.Err()); err != nil {
		return apigw.Response{}, err
	}
	var rs feedback.Ruleset
	if in.Ruleset != nil {
		rs = *in.Ruleset
	} else {
		v, err := h.activeRules(ctx)
		if err != nil {
			return apigw.Response{}, err
		}
		rs = v.Ruleset
	}
	var eng *feedback.Engine
	var err error
	if in.Ruleset != nil {
		eng, err = feedback.Compile(rs)
	} else {
		eng, err = h.Engines.For(rs)
	}
	if err != nil {
		return apigw.Response{}, err
	}
	ti := feedback.Input{Text: trimSpace(in.Text), Type: feedback.Type(in.Type)}
	if in.Rating != nil {
		ti.Rating = *in.Rating
	}
	return apigw.JSON(http.StatusOK, eng.DryRun(ti), "Cache-Control", "no-store"), nil
}

// ClustersPage is one page of open problem clusters.
type ClustersPage struct {
	Clusters   []ClusterView `json:"clusters"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

const clustersScope = "feedback.clusters"

func (h *Handler) clusters(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if _, err := unrestrictedStaff(req); err != nil {
		return apigw.Response{}, err
	}
	limit, err := apigw.QueryInt(req, "limit", 20, 1, 100)
	if err != nil {
		return apigw.Response{}, err
	}
	after := ""
	if cur := req.QueryStringParameters["cursor"]; cur != "" {
		pos, err := h.Cursors.Decode(clustersScope, cur)
		if err != nil {
			return apigw.Response{}, err
		}
		after = pos["after"]
	}
	list, next, err := h.Store.OpenClusters(ctx, after, limit)
	if err != nil {
		return apigw.Response{}, err
	}
	page := ClustersPage{Clusters: make([]ClusterView, 0, len(list))}
	for _, cl := range list {
		page.Clusters = append(page.Clusters, clusterView(cl))
	}
	if next != "" {
		page.NextCursor = h.Cursors.Encode(clustersScope, map[string]string{"after": next})
	}
	return apigw.JSON(http.StatusOK, page, "Cache-Control", "no-store"), nil
}

// Quantiles are the median and 90th percentile of a duration, in seconds;
// absent when nothing was measured.
type Quantiles struct {
	Count         int64    `json:"count"`
	MedianSeconds *float64 `json:"median_seconds,omitempty"`
	P90Seconds    *float64 `json:"p90_seconds,omitempty"`
}

func quantilesOf(s feedback.DurationSketch) Quantiles {
	q := Quantiles{Count: s.Count()}
	if d, ok := s.Quantile(0.5); ok {
		v := d.Seconds()
		q.MedianSeconds = &v
	}
	if d, ok := s.Quantile(0.9); ok {
		v := d.Seconds()
		q.P90Seconds = &v
	}
	return q
}

// Report is a week's feedback report (ISO week, UTC, by case creation).
type Report struct {
	Week string `json:"week"`
	// Counts by dimension: received, channel, store, type, category,
	// priority, resolved, breached.
	Counts        map[string]map[string]int64 `json:"counts"`
	FirstResponse Quantiles                   `json:"first_response"`
	Resolution    Quantiles                   `json:"resolution"`
	// BreachRate is breached / received (absent with nothing received).
	BreachRate *float64 `json:"breach_rate,omitempty"`
	// OpenClusters counts the open problem clusters (at most 500).
	OpenClusters int `json:"open_clusters"`
}

// maxReportClusters bounds the clusters a report counts (one page).
const maxReportClusters = 500

func (h *Handler) report(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if _, err := unrestrictedStaff(req); err != nil {
		return apigw.Response{}, err
	}
	week, err := apigw.PathParam(req, "week")
	if err != nil {
		return apigw.Response{}, err
	}
	if !validWeek(week) {
		return apigw.Response{}, fault.Field("week", "must be an ISO week such as 2026-W49")
	}
	agg, err := h.Store.Report(ctx, week)
	if err != nil {
		return apigw.Response{}, err
	}
	rep := Report{Week: week, Counts: agg.Counts, FirstResponse: quantilesOf(agg.FirstResponse), Resolution: quantilesOf(agg.Resolution)}
	if received := agg.Counts["received"]["all"]; received > 0 {
		r := float64(agg.Counts["breached"]["all"]) / float64(received)
		rep.BreachRate = &r
	}
	cursor := ""
	for rep.OpenClusters < maxReportClusters {
		cls, next, err := h.Store.OpenClusters(ctx, cursor, 100)
		if err != nil {
			return apigw.Response{}, err
		}
		rep.OpenClusters += len(cls)
		if next == "" {
			break
		}
		cursor = next
	}
	return apigw.JSON(http.StatusOK, rep, "Cache-Control", "no-store"), nil
}

// validWeek checks "YYYY-Www" with a week that exists in that year.
func validWeek(s string) bool {
	if len(s) != 8 || s[4:6] != "-W" {
		return false
	}
	y, err1 := strconv.Atoi(s[:4])
	w, err2 := strconv.Atoi(s[6:])
	if err1 != nil || err2 != nil || y < 2000 || y > 9999 || w < 1 {
		return false
	}
	_, last := time.Date(y, 12, 28, 0, 0, 0, 0, time.UTC).ISOWeek()
	return w <= last
}
