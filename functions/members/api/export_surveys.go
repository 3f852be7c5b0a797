package main

import (
	"context"

	"clientele/shared/dynamo"
	"clientele/shared/survey"
)

// SurveyAnswers is what the export reads of the survey domain
// (dynamo.SurveyStore).
type SurveyAnswers interface {
	// MemberResponses lists the member's survey responses.
	MemberResponses(ctx context.Context, memberID string) ([]dynamo.StoredSurveyResponse, error)
}

// SurveysExport is the survey domain's section of an export: every
// response the member gave, with its answers as recorded (an erased
// member has none left: erasure drops the link to them).
type SurveysExport struct {
	Responses []SurveyResponseExport `json:"responses"`
}

// SurveyResponseExport is one of the member's responses.
type SurveyResponseExport struct {
	ID       string          `json:"id"`
	Response survey.Response `json:"response"`
}

// surveysSection adds the member's survey responses to the export's
// domains; none leaves the section out.
func (h *Handler) surveysSection(ctx context.Context, memberID string, domains map[string]any) error {
	if h.Surveys == nil {
		return nil
	}
	rs, err := h.Surveys.MemberResponses(ctx, memberID)
	if err != nil || len(rs) == 0 {
		return err
	}
	out := &SurveysExport{Responses: make([]SurveyResponseExport, 0, len(rs))}
	for _, r := range rs {
		out.Responses = append(out.Responses, SurveyResponseExport{ID: r.ID, Response: r.Response})
	}
	domains["surveys"] = out
	return nil
}
