package main

import (
	"context"
	"time"

	"clientele/shared/feedback"
)

// FeedbackCases is what the export reads of the feedback domain.
type FeedbackCases interface {
	// MemberCases returns every case of the member, oldest first.
	MemberCases(ctx context.Context, memberID string) ([]*feedback.Case, error)
}

// FeedbackExport is the feedback domain's section of an export: every case
// the member opened (follow-ups included) with its whole history.
type FeedbackExport struct {
	Cases []FeedbackExportCase `json:"cases"`
}

// FeedbackExportCase is one case as the export shows it.
type FeedbackExportCase struct {
	ID             string                  `json:"id"`
	Status         feedback.Status         `json:"status"`
	Channel        feedback.Channel        `json:"channel"`
	Type           feedback.Type           `json:"type,omitempty"`
	Category       feedback.Category       `json:"category,omitempty"`
	Priority       feedback.Priority       `json:"priority,omitempty"`
	Text           string                  `json:"text,omitempty"`
	Rating         int                     `json:"rating,omitempty"`
	Store          string                  `json:"store,omitempty"`
	OrderID        string                  `json:"order_id,omitempty"`
	SKU            string                  `json:"sku,omitempty"`
	Attachments    []string                `json:"attachments,omitempty"`
	ResolutionCode feedback.ResolutionCode `json:"resolution_code,omitempty"`
	History        []feedback.HistoryEntry `json:"history"`
	CreatedAt      time.Time               `json:"created_at"`
	UpdatedAt      time.Time               `json:"updated_at"`
}

// feedbackExport gathers the member's feedback cases; nil when there are
// none.
func (h *Handler) feedbackExport(ctx context.Context, id string) (*FeedbackExport, error) {
	cases, err := h.Feedback.MemberCases(ctx, id)
	if err != nil || len(cases) == 0 {
		return nil, err
	}
	fx := &FeedbackExport{Cases: make([]FeedbackExportCase, 0, len(cases))}
	for _, c := range cases {
		hist := c.History
		if hist == nil {
			hist = []feedback.HistoryEntry{}
		}
		fx.Cases = append(fx.Cases, FeedbackExportCase{ID: c.ID, Status: c.Status, Channel: c.Channel, Type: c.Type,
			Category: c.Category, Priority: c.Priority, Text: c.Text, Rating: c.Rating, Store: c.Store, OrderID: c.OrderID,
			SKU: c.SKU, Attachments: c.Attachments, ResolutionCode: c.ResolutionCode, History: hist,
			CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
	}
	return fx, nil
}
