package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"clientele/shared/apigw"
	"clientele/shared/bucket"
	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/member"
	"clientele/shared/queue"
	"clientele/shared/segment"
	"clientele/shared/sweep"
)

// Results reads stored segmentation results and reports
// (dynamo.SegmentationStore).
type Results interface {
	// Result is a member's result; fault.NotFound when none.
	Result(ctx context.Context, memberID string) (segment.Result, error)
	// SegmentMembers pages through a segment's results in member id order.
	SegmentMembers(ctx context.Context, seg segment.Segment, after string, limit int32) ([]segment.Result, string, error)
	// LatestReport is the newest finished run's report; fault.NotFound
	// before the first.
	LatestReport(ctx context.Context) (segment.Report, error)
	// CreateExport stores a running export with its request event in the
	// outbox; Export reads one (fault.NotFound when none).
	CreateExport(ctx context.Context, rec dynamo.ExportRecord, ev event.Envelope) error
	Export(ctx context.Context, id string) (dynamo.ExportRecord, error)
}

// Runs reads sweep runs and their checkpoints (dynamo.SweepStore).
type Runs interface {
	Run(ctx context.Context, k sweep.RunKey) (sweep.Run, error)
	Checkpoints(ctx context.Context, k sweep.RunKey) ([]sweep.Checkpoint, error)
}

// Starter starts today's run or resumes a failed one (sweep.Engine).
type Starter interface {
	Start(ctx context.Context) (sweep.Run, bool, error)
	Resume(ctx context.Context, k sweep.RunKey) (sweep.Run, error)
}

// Members tells whether a member exists, is erased or refused profiling
// (dynamo.MemberStore).
type Members interface {
	Get(ctx context.Context, id string) (member.Member, error)
}

// Handler serves the segmentation HTTP API, for staff only.
type Handler struct {
	Results Results
	Runs    Runs
	Starter Starter
	Members Members
	// Cursors signs the pagination cursors of segment member lists.
	Cursors apigw.Cursors
	// Exports signs links to segment exports (CSV objects the worker
	// writes); nil answers 503 on the export routes.
	Exports *bucket.Store
	// Publisher sends an export's request to the worker at once (the
	// outbox relay sends what a crash left); Outbox clears it after.
	Publisher queue.EventPublisher
	Outbox    queue.Outbox
	Log       *slog.Logger
	Now       func() time.Time
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Router maps the segmentation routes to their handlers.
func (h *Handler) Router() *apigw.Router {
	r := apigw.NewRouter(h.Log)
	r.Handle("GET /v1/members/{id}/segment", h.memberSegment)
	r.Handle("GET /v1/segments", h.segments)
	r.Handle("GET /v1/segments/{name}/members", h.segmentMembers)
	r.Handle("GET /v1/segmentation/runs/{id}", h.run)
	r.Handle("POST /v1/segmentation/runs", h.startRun)
	r.Handle("POST /v1/segments/{name}/exports", h.export)
	r.Handle("GET /v1/segments/{name}/exports/{id}", h.getExport)
	return r
}

func staff(req apigw.Request) error {
	caller, err := apigw.CallerOf(req)
	if err != nil {
		return err
	}
	return caller.Allow(apigw.StaffCaller)
}

// refusedProfiling reports whether m's current consents refuse profiling.
func refusedProfiling(m member.Member) bool {
	for _, c := range m.Consents {
		if c.Purpose == member.Profiling && !c.Granted {
			return true
		}
	}
	return false
}

func (h *Handler) memberSegment(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if err := staff(req); err != nil {
		return apigw.Response{}, err
	}
	id, err := apigw.PathID(req, "id")
	if err != nil {
		return apigw.Response{}, err
	}
	m, err := h.Members.Get(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	// A refusal or an erasure takes effect at once, before the next run or
	// the erasure event removes the stored result.
	if m.Status == member.Erased {
		return apigw.Response{}, fault.New(fault.NotFound, "member %s was erased", id)
	}
	if refusedProfiling(m) {
		return apigw.Response{}, fault.New(fault.NotFound, "member %s refused profiling: no segmentation is kept", id)
	}
	r, err := h.Results.Result(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.JSON(http.StatusOK, r, "Cache-Control", "no-store"), nil
}

func (h *Handler) segments(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if err := staff(req); err != nil {
		return apigw.Response{}, err
	}
	rep, err := h.Results.LatestReport(ctx)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.JSON(http.StatusOK, rep, "Cache-Control", "no-store"), nil
}

// Slug is a segment's name in paths: lower case, words joined by "_",
// apostrophes dropped ("Can't Lose Them" is cant_lose_them); "none" names
// the members without a purchase.
func Slug(s segment.Segment) string {
	if s == "" {
		return segment.NoSegmentKey
	}
	return strings.ReplaceAll(strings.ReplaceAll(strings.ToLower(string(s)), "'", ""), " ", "_")
}

// segmentsBySlug maps every path name to its segment.
var segmentsBySlug = func() map[string]segment.Segment {
	out := map[string]segment.Segment{segment.NoSegmentKey: ""}
	for _, r := range segment.SegmentMap {
		out[Slug(r.Segment)] = r.Segment
	}
	out[Slug(segment.Others)] = segment.Others
	return out
}()

// segmentNamed is the segment a path names (NotFound naming "name").
func segmentNamed(name string) (segment.Segment, error) {
	seg, ok := segmentsBySlug[name]
	if !ok {
		return "", &fault.Error{Kind: fault.NotFound, Message: "no such segment",
			Fields: []fault.FieldError{{Field: "name", Reason: "not a segment: champions, loyal_customers, …, others or none"}}}
	}
	return seg, nil
}

// SegmentMembersPage is one page of a segment's members.
type SegmentMembersPage struct {
	// Segment is the segment's name ("" for members without a purchase).
	Segment string           `json:"segment"`
	Members []segment.Result `json:"members"`
	// NextCursor fetches the next page; absent on the last one.
	NextCursor string `json:"next_cursor,omitempty"`
}

func membersScope(slug string) string { return "segments.members:" + slug }

// wantsCSV reports whether the Accept header prefers text/csv to JSON
// (JSON otherwise, also for types neither serves).
func wantsCSV(req apigw.Request) bool {
	accept := apigw.Header(req, "Accept")
	if accept == "" {
		return false
	}
	csvQ, jsonQ := 0.0, 0.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				q = 0
			}
		}
		switch mt {
		case "text/csv":
			csvQ = max(csvQ, q)
		case "application/json", "application/*", "*/*":
			jsonQ = max(jsonQ, q)
		case "text/*":
			csvQ = max(csvQ, q)
		}
	}
	return csvQ > jsonQ
}

func (h *Handler) segmentMembers(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if err := staff(req); err != nil {
		return apigw.Response{}, err
	}
	name, err := apigw.PathParam(req, "name")
	if err != nil {
		return apigw.Response{}, err
	}
	seg, err := segmentNamed(name)
	if err != nil {
		return apigw.Response{}, err
	}
	asCSV := wantsCSV(req)
	var fs fault.Fields
	limit, err := apigw.QueryInt(req, "limit", 100, 1, 1000)
	if err != nil {
		fs = append(fs, fieldsOf(err)...)
	}
	after := ""
	if cur := req.QueryStringParameters["cursor"]; cur != "" {
		pos, err := h.Cursors.Decode(membersScope(name), cur)
		if err == nil && pos["after"] == "" {
			err = fault.Field("cursor", "not a cursor issued for this resource")
		}
		if err != nil {
			fs = append(fs, fieldsOf(err)...)
		}
		after = pos["after"]
	}
	if err := fs.Err(); err != nil {
		return apigw.Response{}, err
	}
	list, next, err := h.Results.SegmentMembers(ctx, seg, after, int32(limit))
	if err != nil {
		return apigw.Response{}, err
	}
	cursor := ""
	if next != "" {
		cursor = h.Cursors.Encode(membersScope(name), map[string]string{"after": next})
	}
	if !asCSV {
		page := SegmentMembersPage{Segment: string(seg), Members: list, NextCursor: cursor}
		if page.Members == nil {
			page.Members = []segment.Result{}
		}
		return apigw.JSON(http.StatusOK, page, "Cache-Control", "no-store", "Vary", "Accept"), nil
	}
	var buf bytes.Buffer
	if err := segment.WriteCSV(csv.NewWriter(&buf), list, true); err != nil {
		return apigw.Response{}, fault.Wrap(fault.Internal, err, "render CSV")
	}
	headers := map[string]string{"Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store", "Vary": "Accept"}
	if cursor != "" {
		q := url.Values{"limit": {strconv.Itoa(limit)}, "cursor": {cursor}}
		headers["Link"] = "</v1/segments/" + name + "/members?" + q.Encode() + `>; rel="next"`
	}
	return apigw.Response{StatusCode: http.StatusOK, Headers: headers, Body: buf.String()}, nil
}

// fieldsOf returns the field errors of an Invalid error (or one naming no
// field).
func fieldsOf(err error) fault.Fields {
	var fe *fault.Error
	if e, ok := err.(*fault.Error); ok {
		fe = e
	}
	if fe == nil || len(fe.Fields) == 0 {
		return fault.Fields{{Field: "", Reason: err.Error()}}
	}
	return fault.Fields(fe.Fields)
}

// Run is a segmentation run as staff see it.
type Run struct {
	ID            string     `json:"id"`
	Day           string     `json:"day"`
	Zone          string     `json:"zone"`
	Status        string     `json:"status"`
	Phase         int        `json:"phase"`
	Phases        int        `json:"phases"`
	TotalSegments int        `json:"total_segments"`
	StartedAt     time.Time  `json:"started_at"`
	Deadline      time.Time  `json:"deadline"`
	FinishedAt    time.Time  `json:"finished_at,omitzero"`
	Resumes       int        `json:"resumes"`
	Missing       []int      `json:"missing"`
	Timings       []Timing   `json:"timings"`
	Segments      []Progress `json:"segments,omitempty"`
}

// Timing is one phase's start, end and completed segments.
type Timing struct {
	Phase        int       `json:"phase"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	Seconds      float64   `json:"seconds,omitempty"`
	SegmentsDone int       `json:"segments_done"`
}

// Progress is one segment's checkpoint in a phase.
type Progress struct {
	Phase     int       `json:"phase"`
	Segment   int       `json:"segment"`
	Items     int64     `json:"items"`
	Pages     int64     `json:"pages"`
	Exhausted bool      `json:"exhausted"`
	UpdatedAt time.Time `json:"updated_at"`
}

func runView(r sweep.Run, cps []sweep.Checkpoint) Run {
	v := Run{ID: r.Key.ID(), Day: r.Key.Day, Zone: r.Zone, Status: string(r.Status), Phase: r.Phase, Phases: r.Phases,
		TotalSegments: r.TotalSegments, StartedAt: r.StartedAt.UTC(), Deadline: r.Deadline.UTC(), FinishedAt: r.FinishedAt,
		Resumes: r.Resumes, Missing: append([]int{}, r.Missing...), Timings: []Timing{}}
	for i := 0; i < r.Phases && i < sweep.MaxPhases; i++ {
		t := Timing{Phase: i + 1, StartedAt: r.Timings[i].Started, FinishedAt: r.Timings[i].Finished, SegmentsDone: len(r.Done[i])}
		if !t.StartedAt.IsZero() && !t.FinishedAt.IsZero() {
			t.Seconds = t.FinishedAt.Sub(t.StartedAt).Seconds()
		}
		v.Timings = append(v.Timings, t)
	}
	for _, c := range cps {
		v.Segments = append(v.Segments, Progress{Phase: c.Phase, Segment: c.Segment, Items: c.Items, Pages: c.Pages, Exhausted: c.Exhausted, UpdatedAt: c.UpdatedAt.UTC()})
	}
	return v
}

// runKeyOf reads a run id ("segmentation-2026-11-30"); false when it
// cannot name a run.
func runKeyOf(id string) (sweep.RunKey, bool) {
	day, ok := strings.CutPrefix(id, segment.SweepKind+"-")
	if !ok {
		return sweep.RunKey{}, false
	}
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return sweep.RunKey{}, false
	}
	return sweep.RunKey{Kind: segment.SweepKind, Day: day}, true
}

func (h *Handler) run(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if err := staff(req); err != nil {
		return apigw.Response{}, err
	}
	id, err := apigw.PathParam(req, "id")
	if err != nil {
		return apigw.Response{}, err
	}
	k, ok := runKeyOf(id)
	if !ok {
		return apigw.Response{}, &fault.Error{Kind: fault.NotFound, Message: "no such run",
			Fields: []fault.FieldError{{Field: "id", Reason: "cannot exist: a run id is segmentation-YYYY-MM-DD"}}}
	}
	r, err := h.Runs.Run(ctx, k)
	if err != nil {
		return apigw.Response{}, err
	}
	cps, err := h.Runs.Checkpoints(ctx, k)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.JSON(http.StatusOK, runView(r, cps), "Cache-Control", "no-store"), nil
}

// StartRun is the (optional, empty) body of POST /v1/segmentation/runs.
type StartRun struct{}

// emptyBody accepts no body or an empty JSON object (decoded strictly
// into v, which has no fields).
func emptyBody(req apigw.Request, v any) error {
	raw, err := apigw.Body(req)
	if err != nil || len(bytes.TrimSpace(raw)) == 0 {
		return err
	}
	return apigw.DecodeJSON(req, v)
}
func (h *Handler) startRun(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if err := staff(req); err != nil {
		return apigw.Response{}, err
	}
	if err := emptyBody(req, &StartRun{}); err != nil {
		return apigw.Response{}, err
	}
	r, started, err := h.Starter.Start(ctx)
	if err != nil {
		return apigw.Response{}, err
	}
	status := http.StatusOK
	switch {
	case started:
		status = http.StatusAccepted
	case r.Status == sweep.Failed:
		if r, err = h.Starter.Resume(ctx, r.Key); err != nil {
			return apigw.Response{}, err
		}
		status = http.StatusAccepted
	}
	return apigw.JSON(status, runView(r, nil), "Location", "/v1/segmentation/runs/"+r.Key.ID(), "Cache-Control", "no-store"), nil
}

// StartExport is the (optional, empty) body of POST
// /v1/segments/{name}/exports.
type StartExport struct{}

// SegmentExport is an export of a segment: running until the worker has
// written the CSV object, then succeeded with a link to it.
type SegmentExport struct {
	ID string `json:"id"`
	// Segment is the segment's name ("" for members without a purchase).
	Segment string `json:"segment"`
	// Status is running or succeeded.
	Status      string    `json:"status"`
	RequestedAt time.Time `json:"requested_at"`
	// Rows counts the members exported (the CSV has a header row more);
	// the rest is set once the export succeeded.
	Rows       int       `json:"rows"`
	Bytes      int64     `json:"bytes"`
	Key        string    `json:"key,omitempty"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// URL is a presigned GET link to the object, valid until ExpiresAt
	// (each read signs a new one); the object itself expires with the
	// bucket's lifecycle (days).
	URL       string    `json:"url,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// ExportLinkTTL is how long an export's link is valid.
const ExportLinkTTL = time.Hour

// export starts a segment export: the record and its request event are
// stored together, the worker writes the CSV (a segment of millions takes
// minutes, more than a request may), and GET …/exports/{id} reports it.
func (h *Handler) export(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if err := staff(req); err != nil {
		return apigw.Response{}, err
	}
	name, err := apigw.PathParam(req, "name")
	if err != nil {
		return apigw.Response{}, err
	}
	seg, err := segmentNamed(name)
	if err != nil {
		return apigw.Response{}, err
	}
	if err := emptyBody(req, &StartExport{}); err != nil {
		return apigw.Response{}, err
	}
	if h.Exports == nil {
		return apigw.Response{}, fault.New(fault.Unavailable, "exports are not configured")
	}
	now := h.now()
	id := event.NewID(now)
	rec := dynamo.ExportRecord{ID: id, Name: name, Segment: string(seg), RequestedAt: now.UTC(),
		Key: "segments/" + name + "/" + now.UTC().Format("2006-01-02") + "/" + id + ".csv"}
	ev, err := event.New(event.TypeSegmentExportRequested, service, now, event.SegmentExportRequested{ExportID: id})
	if err != nil {
		return apigw.Response{}, fault.Wrap(fault.Internal, err, "export event")
	}
	if err := h.Results.CreateExport(ctx, rec, ev); err != nil {
		return apigw.Response{}, err
	}
	queue.PublishCommitted(ctx, h.Publisher, h.Outbox, h.Log, []event.Envelope{ev})
	rec.Status = dynamo.ExportRunning
	h.Log.InfoContext(ctx, "segment export requested", "segment", name, "export", id)
	return apigw.JSON(http.StatusAccepted, exportView(seg, rec), "Location", "/v1/segments/"+name+"/exports/"+id, "Cache-Control", "no-store"), nil
}

func exportView(seg segment.Segment, rec dynamo.ExportRecord) SegmentExport {
	v := SegmentExport{ID: rec.ID, Segment: string(seg), Status: rec.Status, RequestedAt: rec.RequestedAt, Rows: rec.Rows, Bytes: rec.Bytes}
	if rec.Status == dynamo.ExportSucceeded {
		v.Key, v.FinishedAt = rec.Key, rec.FinishedAt
	}
	return v
}

// getExport reports an export, with a fresh link once it succeeded.
func (h *Handler) getExport(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if err := staff(req); err != nil {
		return apigw.Response{}, err
	}
	name, err := apigw.PathParam(req, "name")
	if err != nil {
		return apigw.Response{}, err
	}
	seg, err := segmentNamed(name)
	if err != nil {
		return apigw.Response{}, err
	}
	id, err := apigw.PathParam(req, "id")
	if err != nil {
		return apigw.Response{}, err
	}
	if h.Exports == nil {
		return apigw.Response{}, fault.New(fault.Unavailable, "exports are not configured")
	}
	rec, err := h.Results.Export(ctx, id)
	if err == nil && rec.Name != name {
		err = fault.New(fault.NotFound, "no export %s of %s", id, name)
	}
	if err != nil {
		return apigw.Response{}, err
	}
	v := exportView(seg, rec)
	if rec.Status == dynamo.ExportSucceeded {
		if v.URL, v.ExpiresAt, err = h.Exports.Link(ctx, rec.Key, ExportLinkTTL, h.now()); err != nil {
			return apigw.Response{}, err
		}
	}
	return apigw.JSON(http.StatusOK, v, "Cache-Control", "no-store"), nil
}
