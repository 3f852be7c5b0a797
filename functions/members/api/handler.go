package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"clientele/shared/apigw"
	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/idempotency"
	"clientele/shared/member"
	"clientele/shared/points"
	"clientele/shared/queue"
)

// Ledger is what the export reads of the points domain.
type Ledger interface {
	Account(ctx context.Context, memberID string) (*points.Account, error)
	Entries(ctx context.Context, memberID, after string, limit int) ([]points.Entry, string, error)
}

// PointsExport is the points domain's section of an export.
type PointsExport struct {
	Available      int64               `json:"available"`
	Pending        int64               `json:"pending"`
	Debt           int64               `json:"debt"`
	LifetimeEarned int64               `json:"lifetime_earned"`
	Tier           string              `json:"tier"`
	TierHistory    []points.TierChange `json:"tier_history"`
	Lots           []points.Lot        `json:"lots"`
	Statistics     points.Stats        `json:"statistics"`
	Entries        []points.Entry      `json:"entries"`
}

// Handler serves the members HTTP API.
type Handler struct {
	// Points is read for exports; nil leaves the points section out.
	Points      Ledger
	Members     member.Store
	Idempotency idempotency.Store
	Outbox      queue.Outbox
	Publisher   queue.EventPublisher
	Rules       member.Rules
	Log         *slog.Logger
	Now         func() time.Time
	// Service names the function in event envelopes.
	Service string

	// Segmentation is read for exports; nil leaves the segmentation section out.
	Segmentation SegmentationReader
	// Feedback is read for exports; nil leaves the feedback section out.
	Feedback FeedbackCases
	// Surveys is read for exports; nil leaves the surveys section out.
	Surveys SurveyAnswers
}

// Router maps the members routes to their handlers. Each route states the
// callers it accepts.
func (h *Handler) Router() *apigw.Router {
	r := apigw.NewRouter(h.Log)
	r.Handle("POST /v1/members", h.signup)
	r.Handle("GET /v1/members/{id}", h.get)
	r.Handle("PATCH /v1/members/{id}", h.patch)
	r.Handle("DELETE /v1/members/{id}", h.erase)
	r.Handle("PUT /v1/members/{id}/consents", h.putConsents)
	r.Handle("GET /v1/members/{id}/export", h.export)
	return r
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// render is the one way a member becomes a response, so a stored receipt and
// the live response are byte-identical.
func render(status int, m member.Member, extra ...string) apigw.Response {
	headers := append([]string{"ETag", apigw.ETag(m.Version)}, extra...)
	return apigw.JSON(status, m, headers...)
}

func receiptOf(resp apigw.Response, subject string) idempotency.Receipt {
	return idempotency.Receipt{Status: resp.StatusCode, Headers: resp.Headers, Body: resp.Body, Subject: subject}
}

// idempotent runs do under the request's Idempotency-Key (see apigw.Idempotent).
func (h *Handler) idempotent(ctx context.Context, req apigw.Request, caller apigw.Caller,
	do func(res *idempotency.Reservation) (apigw.Response, error)) (apigw.Response, error) {
	return apigw.Idempotent(ctx, h.Idempotency, h.Log, h.now(), req, caller, do)
}

// publish sends committed events and clears them from the outbox.
func (h *Handler) publish(ctx context.Context, evs []event.Envelope) {
	queue.PublishCommitted(ctx, h.Publisher, h.Outbox, h.Log, evs)
}

// events returns a Write.Events function that builds the events once and
// remembers them for publishing after the commit.
func eventsOnce(build func(member.Member) ([]event.Envelope, error), out *[]event.Envelope) func(member.Member) ([]event.Envelope, error) {
	return func(m member.Member) ([]event.Envelope, error) {
		evs, err := build(m)
		*out = evs
		return evs, err
	}
}

func (h *Handler) signup(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	caller, err := apigw.CallerOf(req)
	if err != nil {
		return apigw.Response{}, err
	}
	if err := caller.Allow(apigw.ServiceCaller, apigw.StaffCaller); err != nil {
		return apigw.Response{}, err
	}
	var in member.SignupInput
	decodeErr := apigw.DecodeJSON(req, &in)
	now := h.now()
	m, history, err := member.NewMember(in, caller.Kind.String(), now, h.Rules)
	if err := apigw.Combine(decodeErr, err); err != nil {
		return apigw.Response{}, err
	}
	if in.ReferralCode != "" {
		ref, err := h.Members.ReferrerOf(ctx, strings.ToUpper(in.ReferralCode))
		if fault.Is(err, fault.NotFound) {
			return apigw.Response{}, fault.Field("referral_code", "no member has this referral code")
		}
		if err != nil {
			return apigw.Response{}, err
		}
		m.ReferredBy = ref
	}
	return h.idempotent(ctx, req, caller, func(res *idempotency.Reservation) (apigw.Response, error) {
		var evs []event.Envelope
		for attempt := 0; ; attempt++ {
			m.ID = event.NewID(now)
			m.ReferralCode = member.NewReferralCode()
			w := member.Write{
				Reservation: res,
				Receipt: func(m member.Member) (idempotency.Receipt, error) {
					return receiptOf(render(http.StatusCreated, m, "Location", "/v1/members/"+m.ID), m.ID), nil
				},
				Events: eventsOnce(func(m member.Member) ([]event.Envelope, error) {
					e, err := event.New(event.TypeMemberRegistered, h.Service, now, event.MemberRegistered{
						MemberID: m.ID, SignupChannel: string(m.SignupChannel), ReferredBy: m.ReferredBy, RegisteredAt: m.CreatedAt,
					})
					return []event.Envelope{e}, err
				}, &evs),
			}
			err := h.Members.Create(ctx, m, history, w)
			if dynamo.IsReferralCollision(err) && attempt < 5 {
				continue
			}
			if err != nil {
				return apigw.Response{}, err
			}
			break
		}
		h.Log.InfoContext(ctx, "member registered", "member_id", m.ID, "channel", string(m.SignupChannel))
		h.publish(ctx, evs)
		return render(http.StatusCreated, m, "Location", "/v1/members/"+m.ID), nil
	})
}

// target authorises the caller for the member named in the path.
func target(req apigw.Request) (apigw.Caller, string, error) {
	caller, err := apigw.CallerOf(req)
	if err != nil {
		return caller, "", err
	}
	id, err := apigw.PathID(req, "id")
	if err != nil {
		return caller, "", err
	}
	if err := caller.Allow(apigw.MemberCaller, apigw.StaffCaller); err != nil {
		return caller, "", err
	}
	return caller, id, caller.AllowMember(id)
}

func (h *Handler) get(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	_, id, err := target(req)
	if err != nil {
		return apigw.Response{}, err
	}
	m, err := h.Members.Get(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	return render(http.StatusOK, m), nil
}

func (h *Handler) patch(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	caller, id, err := target(req)
	if err != nil {
		return apigw.Response{}, err
	}
	want, err := apigw.IfMatch(req)
	if err != nil {
		return apigw.Response{}, err
	}
	var in member.PatchInput
	if err := apigw.DecodeJSON(req, &in); err != nil {
		// Report the rule violations of the fields that did decode too.
		scratch := scratchMember()
		return apigw.Response{}, apigw.Combine(err, member.ApplyPatch(&scratch, in, h.now(), h.Rules))
	}
	return h.idempotent(ctx, req, caller, func(res *idempotency.Reservation) (apigw.Response, error) {
		m, err := h.Members.Update(ctx, id, func(m *member.Member) ([]member.ConsentRecord, error) {
			if want != apigw.AnyVersion && m.Version != want {
				return nil, &fault.Error{Kind: fault.PreconditionFailed, Message: "the member changed since you read it; read it again",
					Extra: map[string]any{"current_etag": apigw.ETag(m.Version)}}
			}
			return nil, member.ApplyPatch(m, in, h.now(), h.Rules)
		}, member.Write{Reservation: res, Receipt: func(m member.Member) (idempotency.Receipt, error) {
			return receiptOf(render(http.StatusOK, m), m.ID), nil
		}})
		if err != nil {
			return apigw.Response{}, err
		}
		h.Log.InfoContext(ctx, "member updated", "member_id", m.ID, "version", m.Version)
		return render(http.StatusOK, m), nil
	})
}

// scratchMember stands in for the stored member when a request that failed
// to decode is validated for the rest of its errors: active, with both an
// email and a phone, so only the request's own fields can be at fault.
func scratchMember() member.Member {
	return member.Member{Status: member.Active, Email: "scratch@example.com", Phone: "+8613800138000", Version: 1}
}

func (h *Handler) putConsents(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	caller, id, err := target(req)
	if err != nil {
		return apigw.Response{}, err
	}
	var in member.ConsentsInput
	if err := apigw.DecodeJSON(req, &in); err != nil {
		scratch := scratchMember()
		_, verr := member.ApplyConsents(&scratch, in, caller.Kind.String(), h.now())
		return apigw.Response{}, apigw.Combine(err, verr)
	}
	return h.idempotent(ctx, req, caller, func(res *idempotency.Reservation) (apigw.Response, error) {
		now := h.now()
		var refusedBefore bool
		var evs []event.Envelope
		m, err := h.Members.Update(ctx, id, func(m *member.Member) ([]member.ConsentRecord, error) {
			refusedBefore = m.RefusedProfiling()
			return member.ApplyConsents(m, in, caller.Kind.String(), now)
		}, member.Write{Reservation: res, Receipt: func(m member.Member) (idempotency.Receipt, error) {
			return receiptOf(render(http.StatusOK, m), m.ID), nil
		}, Events: eventsOnce(func(m member.Member) ([]event.Envelope, error) {
			// A new refusal of profiling: segmentation removes the result now.
			if refusedBefore || !m.RefusedProfiling() {
				return nil, nil
			}
			e, err := event.New(event.TypeMemberProfilingRefused, h.Service, now, event.MemberProfilingRefused{MemberID: m.ID, RefusedAt: now})
			return []event.Envelope{e}, err
		}, &evs)})
		if err != nil {
			return apigw.Response{}, err
		}
		h.Log.InfoContext(ctx, "consents recorded", "member_id", m.ID, "changes", len(in.Consents))
		h.publish(ctx, evs)
		return render(http.StatusOK, m), nil
	})
}

func (h *Handler) erase(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	caller, id, err := target(req)
	if err != nil {
		return apigw.Response{}, err
	}
	return h.idempotent(ctx, req, caller, func(res *idempotency.Reservation) (apigw.Response, error) {
		now := h.now()
		var evs []event.Envelope
		tomb, err := h.Members.Erase(ctx, id, now, member.Write{
			Reservation: res,
			Receipt: func(m member.Member) (idempotency.Receipt, error) {
				return receiptOf(render(http.StatusOK, m), ""), nil
			},
			Events: eventsOnce(func(m member.Member) ([]event.Envelope, error) {
				e, err := event.New(event.TypeMemberErased, h.Service, now, event.MemberErased{MemberID: m.ID, ErasedAt: m.ErasedAt})
				return []event.Envelope{e}, err
			}, &evs),
		})
		if err != nil {
			return apigw.Response{}, err
		}
		h.Log.InfoContext(ctx, "member erased", "member_id", id)
		h.publish(ctx, evs)
		return render(http.StatusOK, tomb), nil
	})
}

// Export is the machine-readable document of everything held about a member.
type Export struct {
	Format         string                 `json:"format"`
	GeneratedAt    time.Time              `json:"generated_at"`
	Member         member.Member          `json:"member"`
	ConsentHistory []member.ConsentRecord `json:"consent_history"`
	// Domains lists what each domain holds; other domains add theirs as
	// they land (points, feedback, surveys, segments).
	Domains map[string]any `json:"domains"`
}

func (h *Handler) export(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	_, id, err := target(req)
	if err != nil {
		return apigw.Response{}, err
	}
	m, err := h.Members.Get(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	hist, err := h.Members.ConsentHistory(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	if hist == nil {
		hist = []member.ConsentRecord{}
	}
	domains := map[string]any{}
	if h.Points != nil {
		px, err := h.pointsExport(ctx, id)
		if err != nil {
			return apigw.Response{}, err
		}
		if px != nil {
			domains["points"] = px
		}
	}
	if h.Segmentation != nil {
		sx, err := h.segmentationExport(ctx, id)
		if err != nil {
			return apigw.Response{}, err
		}
		if sx != nil {
			domains["segmentation"] = sx
		}
	}
	if h.Feedback != nil {
		if fx, err := h.feedbackExport(ctx, id); err != nil {
			return apigw.Response{}, err
		} else if fx != nil {
			domains["feedback"] = fx
		}
	}
	if err := h.surveysSection(ctx, id, domains); err != nil {
		return apigw.Response{}, err
	}
	h.Log.InfoContext(ctx, "member exported", "member_id", id)
	return apigw.JSON(http.StatusOK, Export{
		Format: "clientele.export.v1", GeneratedAt: h.now().UTC(), Member: m, ConsentHistory: hist,
		Domains: domains,
	}, "Content-Disposition", `attachment; filename="member-`+id+`.json"`), nil
}

// pointsExport gathers the member's points account and whole ledger; nil
// when the member never had points.
func (h *Handler) pointsExport(ctx context.Context, id string) (*PointsExport, error) {
	a, err := h.Points.Account(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	px := &PointsExport{Available: a.Available, Pending: a.Pending, Debt: a.Debt, LifetimeEarned: a.LifetimeEarned,
		Tier: a.Tier, TierHistory: a.TierHistory, Lots: a.Lots, Statistics: a.Stats, Entries: []points.Entry{}}
	if px.TierHistory == nil {
		px.TierHistory = []points.TierChange{}
	}
	if px.Lots == nil {
		px.Lots = []points.Lot{}
	}
	after := ""
	for {
		page, next, err := h.Points.Entries(ctx, id, after, 100)
		if err != nil {
			return nil, err
		}
		px.Entries = append(px.Entries, page...)
		if next == "" {
			return px, nil
		}
		after = next
	}
}
