package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"clientele/shared/apigw"
	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/queue"
	"clientele/shared/survey"
)

// Store is what the API needs of the surveys table (dynamo.SurveyStore).
type Store interface {
	// CreateSurvey stores version 1; an existing id is a Conflict naming id.
	CreateSurvey(ctx context.Context, d survey.Definition) error
	// Survey returns the latest version and its revision; NotFound.
	Survey(ctx context.Context, id string) (survey.Definition, int64, error)
	// SurveyHistory returns every version, oldest first; NotFound.
	SurveyHistory(ctx context.Context, id string) ([]survey.Definition, error)
	// SaveSurveyVersion stores an edit; Conflict naming version when the
	// survey changed since revision.
	SaveSurveyVersion(ctx context.Context, d survey.Definition, revision int64) error
	// Surveys lists the registry.
	Surveys(ctx context.Context) ([]dynamo.SurveySummary, error)
	// CheckResponse reports a replay, or a Conflict naming the field.
	CheckResponse(ctx context.Context, w dynamo.SurveyResponseWrite) (bool, error)
	// LoadScores reads the cells a scores query needs.
	LoadScores(ctx context.Context, history []survey.Definition, q survey.ScoresQuery) (*survey.Aggregates, error)
}

// Handler serves the surveys HTTP API.
type Handler struct {
	Store     Store
	Publisher queue.EventPublisher
	// Links verifies invitation link tokens.
	Links *survey.Signer
	// Zone is the brand's time zone (scores are kept by its local days).
	Zone    *time.Location
	Log     *slog.Logger
	Now     func() time.Time
	Service string
}

// Router maps the survey routes to their handlers.
func (h *Handler) Router() *apigw.Router {
	r := apigw.NewRouter(h.Log)
	r.Handle("POST /v1/surveys", h.create)
	r.Handle("GET /v1/surveys", h.list)
	r.Handle("GET /v1/surveys/{id}", h.get)
	r.Handle("PUT /v1/surveys/{id}", h.edit)
	r.Handle("GET /v1/surveys/{id}/scores", h.scores)
	r.Handle("POST /v1/surveys/{id}/responses", h.memberResponse)
	r.Handle("POST /v1/survey-responses", h.linkResponse)
	return r
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// NewSurvey is the body of POST /v1/surveys: the survey's id and its first
// version (survey.DefinitionInput).
type NewSurvey struct {
	ID             string                 `json:"id"`
	Name           string                 `json:"name"`
	ActiveFrom     string                 `json:"active_from,omitempty"`
	ActiveTo       string                 `json:"active_to,omitempty"`
	Questions      []survey.QuestionInput `json:"questions"`
	Targeting      survey.Targeting       `json:"targeting"`
	AllowAnonymous bool                   `json:"allow_anonymous,omitempty"`
	OnePer         string                 `json:"one_per,omitempty"`
	MinSample      *int                   `json:"min_sample,omitempty"`
}

func (n NewSurvey) input() survey.DefinitionInput {
	return survey.DefinitionInput{Name: n.Name, ActiveFrom: n.ActiveFrom, ActiveTo: n.ActiveTo, Questions: n.Questions,
		Targeting: n.Targeting, AllowAnonymous: n.AllowAnonymous, OnePer: n.OnePer, MinSample: n.MinSample}
}

// SurveyView is a survey as the API shows it: its latest version, every
// version (oldest first) and the revision an edit names in If-Match.
type SurveyView struct {
	Survey   survey.Definition   `json:"survey"`
	Versions []survey.Definition `json:"versions"`
	Revision int64               `json:"revision"`
}

// SurveyList is GET /v1/surveys.
type SurveyList struct {
	Surveys []dynamo.SurveySummary `json:"surveys"`
}

// Edited is the answer to PUT /v1/surveys/{id}.
type Edited struct {
	Survey survey.Definition `json:"survey"`
	// Created is true when the edit made a new version (the edited one had
	// started), false when a version not yet started was replaced.
	Created bool `json:"created"`
}

// MemberAnswer is the body of POST /v1/surveys/{id}/responses.
type MemberAnswer struct {
	// OrderID names the order answered about (required when the survey is
	// one per order).
	OrderID string               `json:"order_id,omitempty"`
	Store   string               `json:"store,omitempty"`
	Channel string               `json:"channel"`
	Answers []survey.AnswerInput `json:"answers"`
}

// LinkAnswer is the body of POST /v1/survey-responses: the invitation's
// link token is the credential.
type LinkAnswer struct {
	Token   string               `json:"token"`
	Answers []survey.AnswerInput `json:"answers"`
}

// Accepted answers a response: "accepted" (queued for scoring; EventID
// names the message) or "already_recorded" (a retry of a recorded one).
type Accepted struct {
	Status     string `json:"status"`
	ResponseID string `json:"response_id"`
	EventID    string `json:"event_id,omitempty"`
}

func staff(req apigw.Request) (apigw.Caller, error) {
	c, err := apigw.CallerOf(req)
	if err != nil {
		return c, err
	}
	return c, c.Allow(apigw.StaffCaller)
}

func (h *Handler) create(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	caller, err := staff(req)
	if err != nil {
		return apigw.Response{}, err
	}
	var in NewSurvey
	decodeErr := apigw.DecodeJSON(req, &in)
	if decodeErr != nil && !fault.Is(decodeErr, fault.Invalid) {
		return apigw.Response{}, decodeErr
	}
	var fs fault.Fields
	if !surveyID(in.ID) {
		fs.Add("id", "1 to 128 letters, digits, '_' or '-', starting with a letter or digit")
	}
	now := h.now()
	d, verr := survey.NewDefinition(in.ID, in.input(), now)
	if err := apigw.Combine(apigw.Combine(decodeErr, fs.Err()), verr); err != nil {
		return apigw.Response{}, err
	}
	if err := h.Store.CreateSurvey(ctx, d); err != nil {
		return apigw.Response{}, err
	}
	h.Log.InfoContext(ctx, "survey created", "survey", d.ID, "questions", len(d.Questions), "caller", caller.Subject)
	return apigw.JSON(http.StatusCreated, SurveyView{Survey: d, Versions: []survey.Definition{d}, Revision: 1},
		"ETag", apigw.ETag(1), "Location", "/v1/surveys/"+d.ID), nil
}

func (h *Handler) list(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if _, err := staff(req); err != nil {
		return apigw.Response{}, err
	}
	all, err := h.Store.Surveys(ctx)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.JSON(http.StatusOK, SurveyList{Surveys: all}, "Cache-Control", "no-store"), nil
}

// pathSurvey reads the survey id of the path: an id that cannot exist is a
// 404 before any lookup.
func pathSurvey(req apigw.Request) (string, error) {
	id, err := apigw.PathParam(req, "id")
	if err != nil {
		return "", err
	}
	if !surveyID(id) {
		return "", fault.New(fault.NotFound, "no such survey")
	}
	return id, nil
}

func (h *Handler) get(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	c, err := apigw.CallerOf(req)
	if err != nil {
		return apigw.Response{}, err
	}
	if err := c.Allow(apigw.MemberCaller, apigw.StaffCaller); err != nil {
		return apigw.Response{}, err
	}
	id, err := pathSurvey(req)
	if err != nil {
		return apigw.Response{}, err
	}
	latest, rev, err := h.Store.Survey(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	history, err := h.Store.SurveyHistory(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.JSON(http.StatusOK, SurveyView{Survey: latest, Versions: history, Revision: rev},
		"ETag", apigw.ETag(rev), "Cache-Control", "no-store"), nil
}

func (h *Handler) edit(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	caller, err := staff(req)
	if err != nil {
		return apigw.Response{}, err
	}
	id, err := pathSurvey(req)
	if err != nil {
		return apigw.Response{}, err
	}
	want, err := apigw.IfMatch(req)
	if err != nil {
		return apigw.Response{}, err
	}
	var in survey.DefinitionInput
	decodeErr := apigw.DecodeJSON(req, &in)
	if decodeErr != nil && !fault.Is(decodeErr, fault.Invalid) {
		return apigw.Response{}, decodeErr
	}
	current, rev, err := h.Store.Survey(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	if want != apigw.AnyVersion && want != rev {
		return apigw.Response{}, fault.New(fault.PreconditionFailed, "the survey changed since revision %d (now %d); read it again", want, rev)
	}
	now := h.now()
	next, created, verr := survey.Edit(current, in, now)
	if err := apigw.Combine(decodeErr, verr); err != nil {
		return apigw.Response{}, err
	}
	if err := h.Store.SaveSurveyVersion(ctx, next, rev); err != nil {
		return apigw.Response{}, err
	}
	h.Log.InfoContext(ctx, "survey edited", "survey", id, "version", next.Version, "new_version", created, "caller", caller.Subject)
	return apigw.JSON(http.StatusOK, Edited{Survey: next, Created: created}, "ETag", apigw.ETag(rev+1)), nil
}

func (h *Handler) scores(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	if _, err := staff(req); err != nil {
		return apigw.Response{}, err
	}
	id, err := pathSurvey(req)
	if err != nil {
		return apigw.Response{}, err
	}
	history, err := h.Store.SurveyHistory(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	q, err := survey.ParseScoresQuery(req.QueryStringParameters, history, h.Zone)
	if err != nil {
		return apigw.Response{}, err
	}
	agg, err := h.Store.LoadScores(ctx, history, q)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.JSON(http.StatusOK, agg.Report(history, q), "Cache-Control", "no-store"), nil
}

// memberResponse takes a member's own answer: the member token names the
// member; the body names the order, store and channel.
func (h *Handler) memberResponse(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	caller, err := apigw.CallerOf(req)
	if err != nil {
		return apigw.Response{}, err
	}
	if err := caller.Allow(apigw.MemberCaller); err != nil {
		return apigw.Response{}, err
	}
	id, err := pathSurvey(req)
	if err != nil {
		return apigw.Response{}, err
	}
	var in MemberAnswer
	decodeErr := apigw.DecodeJSON(req, &in)
	if decodeErr != nil && !fault.Is(decodeErr, fault.Invalid) {
		return apigw.Response{}, decodeErr
	}
	var fs fault.Fields
	if in.OrderID != "" {
		apigw.BodyID(&fs, "order_id", in.OrderID, true)
	}
	now := h.now()
	d, err := h.answerable(ctx, id, now)
	if err != nil {
		return apigw.Response{}, err
	}
	r, verr := survey.ValidateResponse(d, survey.ResponseInput{Answers: in.Answers},
		survey.Respondent{MemberID: caller.Subject, OrderID: in.OrderID, Store: in.Store, Channel: in.Channel, At: now})
	if err := apigw.Combine(apigw.Combine(decodeErr, fs.Err()), verr); err != nil {
		return apigw.Response{}, err
	}
	return h.submit(ctx, survey.Submission{ResponseID: memberResponseID(d, r), Response: r}, d, now)
}

// answerable returns the version an answer at now is validated against:
// the latest version, or, while the latest has not opened yet (an edit
// scheduled for later), the latest version open at now. When none is
// open, the latest, whose window validation names.
func (h *Handler) answerable(ctx context.Context, id string, now time.Time) (survey.Definition, error) {
	latest, _, err := h.Store.Survey(ctx, id)
	if err != nil || latest.Open(now) || latest.Version == 1 {
		return latest, err
	}
	history, err := h.Store.SurveyHistory(ctx, id)
	if err != nil {
		return survey.Definition{}, err
	}
	for i := len(history) - 1; i >= 0; i-- {
		if history[i].Open(now) {
			return history[i], nil
		}
	}
	return latest, nil
}

// memberResponseID is the same for every retry of a member's answer: the
// survey and its one-per key (member or order).
func memberResponseID(d survey.Definition, r survey.Response) string {
	h := sha256.Sum256([]byte(d.ID + "\x00" + r.DedupeKey(d)))
	return "M" + hex.EncodeToString(h[:20])
}

// linkResponse takes an answer from an invitation's link: no JWT, the
// link token binds the survey, member, order, store and channel. A forged,
// altered or expired token, or a reused one, is refused naming "token",
// and nothing is written.
func (h *Handler) linkResponse(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	var in LinkAnswer
	decodeErr := apigw.DecodeJSON(req, &in)
	if decodeErr != nil && !fault.Is(decodeErr, fault.Invalid) {
		return apigw.Response{}, decodeErr
	}
	now := h.now()
	if in.Token == "" {
		return apigw.Response{}, apigw.Combine(decodeErr, fault.Field("token", "is required"))
	}
	claims, err := h.Links.Verify(in.Token, now, survey.Expect{})
	if err != nil {
		return apigw.Response{}, err
	}
	d, err := h.answerable(ctx, claims.Survey, now)
	if fault.Is(err, fault.NotFound) {
		return apigw.Response{}, &fault.Error{Kind: fault.Forbidden, Message: "the link's survey no longer exists",
			Fields: []fault.FieldError{{Field: "token", Reason: "its survey does not exist"}}}
	}
	if err != nil {
		return apigw.Response{}, err
	}
	r, verr := survey.ValidateResponse(d, survey.ResponseInput{Answers: in.Answers},
		survey.Respondent{MemberID: claims.Member, OrderID: claims.Order, Store: claims.Store, Channel: claims.Channel, At: now})
	if err := apigw.Combine(decodeErr, verr); err != nil {
		return apigw.Response{}, err
	}
	return h.submit(ctx, survey.Submission{ResponseID: "L" + claims.Nonce, Nonce: claims.Nonce, NonceExpires: claims.ExpiresAt(),
		Response: r}, d, now)
}

// submit checks a validated response against what is recorded and queues
// it for scoring: 202 either way, "already_recorded" for a retry.
func (h *Handler) submit(ctx context.Context, sub survey.Submission, d survey.Definition, now time.Time) (apigw.Response, error) {
	replay, err := h.Store.CheckResponse(ctx, dynamo.SurveyResponseWrite{ID: sub.ResponseID, Definition: d, Response: sub.Response,
		Nonce: sub.Nonce, NonceExpires: sub.NonceExpires})
	if err != nil {
		return apigw.Response{}, err
	}
	if replay {
		return apigw.JSON(http.StatusAccepted, Accepted{Status: "already_recorded", ResponseID: sub.ResponseID}), nil
	}
	ev, err := event.New(event.TypeSurveyResponseSubmitted, h.Service, now, sub)
	if err != nil {
		return apigw.Response{}, fault.Wrap(fault.Internal, err, "build response event")
	}
	if err := h.Publisher.Publish(ctx, ev); err != nil {
		return apigw.Response{}, err
	}
	h.Log.InfoContext(ctx, "response accepted", "survey", d.ID, "version", d.Version, "response_id", sub.ResponseID,
		"event_id", ev.ID, "answers", len(sub.Response.Answers), "skipped", len(sub.Response.Skipped), "link", sub.Nonce != "")
	return apigw.JSON(http.StatusAccepted, Accepted{Status: "accepted", ResponseID: sub.ResponseID, EventID: ev.ID}), nil
}

// surveyID reports whether s can be a survey id (the store's rule).
func surveyID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i, c := range s {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '_' && c != '-')) {
			return false
		}
	}
	return true
}
