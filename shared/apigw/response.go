// Package apigw adapts API Gateway HTTP API (payload 2.0) events to
// Clientele's handlers: strict JSON decoding, callers from the JWT
// authorizer's claims, RFC 9457 problem responses, ETags, pagination cursors
// and a small router keyed by the route key.
package apigw

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"clientele/shared/fault"
)

// Response is the HTTP API response type.
type Response = events.APIGatewayV2HTTPResponse

// Request is the HTTP API request type.
type Request = events.APIGatewayV2HTTPRequest

// JSON returns a response with v encoded as JSON.
func JSON(status int, v any, headers ...string) Response {
	body, err := json.Marshal(v)
	if err != nil {
		return Response{StatusCode: http.StatusInternalServerError, Body: `{"title":"Internal error","status":500}`,
			Headers: map[string]string{"Content-Type": "application/problem+json"}}
	}
	h := map[string]string{"Content-Type": "application/json"}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	return Response{StatusCode: status, Headers: h, Body: string(body)}
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type     string             `json:"type"`
	Title    string             `json:"title"`
	Status   int                `json:"status"`
	Detail   string             `json:"detail,omitempty"`
	Instance string             `json:"instance,omitempty"`
	Errors   []fault.FieldError `json:"errors,omitempty"`
}

// ProblemType is the base of problem type URIs; the kind's slug is appended.
const ProblemType = "https://clientele.dev/problems/"

// ProblemResponse renders err as problem+json. Internal errors are logged once
// here with their cause; the client sees only "internal error".
func ProblemResponse(ctx context.Context, log *slog.Logger, req Request, err error) Response {
	kind := fault.KindOf(err)
	p := map[string]any{
		"type":     ProblemType + kind.Slug(),
		"title":    kind.Title(),
		"status":   kind.Status(),
		"instance": req.RawPath,
	}
	if kind == fault.Internal {
		p["detail"] = "internal error"
		if log != nil {
			log.ErrorContext(ctx, "internal error", "route", req.RouteKey, "error", err.Error())
		}
	} else if e, ok := fault.As(err); ok {
		if e.Message != "" {
			p["detail"] = e.Message
		}
		if len(e.Fields) > 0 {
			p["errors"] = e.Fields
		}
		for k, v := range e.Extra {
			if _, taken := p[k]; !taken {
				p[k] = v
			}
		}
	}
	body, _ := json.Marshal(p)
	return Response{
		StatusCode: kind.Status(),
		Headers:    map[string]string{"Content-Type": "application/problem+json"},
		Body:       string(body),
	}
}
