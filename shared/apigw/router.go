package apigw

import (
	"context"
	"log/slog"
	"time"

	"clientele/shared/fault"
	"clientele/shared/logging"
)

// HandlerFunc serves one route.
type HandlerFunc func(ctx context.Context, req Request) (Response, error)

// Router dispatches on the route key API Gateway sets ("POST /v1/members"),
// turns errors into problem responses and logs one line per request, without
// bodies or personal data.
type Router struct {
	Log    *slog.Logger
	routes map[string]HandlerFunc
}

// NewRouter returns an empty router.
func NewRouter(log *slog.Logger) *Router {
	return &Router{Log: log, routes: map[string]HandlerFunc{}}
}

// Handle registers h for a route key such as "GET /v1/members/{id}".
func (r *Router) Handle(routeKey string, h HandlerFunc) { r.routes[routeKey] = h }

// Routes lists the registered route keys.
func (r *Router) Routes() []string {
	out := make([]string, 0, len(r.routes))
	for k := range r.routes {
		out = append(out, k)
	}
	return out
}

// Serve is the Lambda handler.
func (r *Router) Serve(ctx context.Context, req Request) (Response, error) {
	start := time.Now()
	ctx = logging.WithRequestID(ctx, req.RequestContext.RequestID)
	var resp Response
	h, ok := r.routes[req.RouteKey]
	if !ok {
		resp = ProblemResponse(ctx, r.Log, req, fault.New(fault.NotFound, "no route %s", req.RouteKey))
	} else {
		var err error
		resp, err = h(ctx, req)
		if err != nil {
			resp = ProblemResponse(ctx, r.Log, req, err)
		}
	}
	if r.Log != nil {
		r.Log.InfoContext(ctx, "request", "route", req.RouteKey, "status", resp.StatusCode,
			"duration_ms", time.Since(start).Milliseconds())
	}
	return resp, nil
}
