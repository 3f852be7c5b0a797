package local

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// API Gateway limits the local gateway enforces.
const (
	// maxRequestBody is HTTP API's payload limit.
	maxRequestBody = 10 << 20
	// integrationTimeout is HTTP API's maximum integration timeout.
	integrationTimeout = 30 * time.Second
)

// routeKey is API Gateway's name for a route: "POST /v1/members".
func routeKey(method, path string) string { return normalizeMethod(method) + " " + path }

func normalizeMethod(m string) string { return strings.ToUpper(strings.TrimSpace(m)) }

// segmentKind orders path segments by specificity, as API Gateway does when
// several routes match: a literal beats a {param}, which beats a {greedy+}.
type segmentKind int

const (
	greedySegment segmentKind = iota
	paramSegment
	literalSegment
)

type templateSegment struct {
	kind segmentKind
	text string // the literal, or the parameter's name
}

// route is a topology route compiled for matching.
type route struct {
	PlannedRoute
	segments []templateSegment
}

// routeTable matches requests against the topology's routes.
type routeTable struct{ routes []route }

func newRouteTable(planned []PlannedRoute) routeTable {
	var t routeTable
	for _, p := range planned {
		r := route{PlannedRoute: p}
		for _, s := range splitPath(p.Path) {
			switch {
			case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "+}"):
				r.segments = append(r.segments, templateSegment{greedySegment, s[1 : len(s)-2]})
			case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
				r.segments = append(r.segments, templateSegment{paramSegment, s[1 : len(s)-1]})
			default:
				r.segments = append(r.segments, templateSegment{literalSegment, s})
			}
		}
		t.routes = append(t.routes, r)
	}
	return t
}

// splitPath splits "/v1/members/{id}" into its segments.
func splitPath(p string) []string {
	return strings.Split(strings.TrimPrefix(p, "/"), "/")
}

// match finds the most specific route for a method and an escaped path and
// returns it with its (unescaped) path parameters.
func (t routeTable) match(method, escapedPath string) (*route, map[string]string, bool) {
	segments := splitPath(escapedPath)
	var best *route
	var bestParams map[string]string
	for i := range t.routes {
		r := &t.routes[i]
		if r.Method != method && r.Method != "ANY" {
			continue
		}
		params, ok := r.matchSegments(segments)
		if !ok {
			continue
		}
		if best == nil || r.moreSpecificThan(best) {
			best, bestParams = r, params
		}
	}
	return best, bestParams, best != nil
}

func (r *route) matchSegments(segments []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, ts := range r.segments {
		if ts.kind == greedySegment {
			if i >= len(segments) {
				return nil, false
			}
			rest, err := url.PathUnescape(strings.Join(segments[i:], "/"))
			if err != nil || rest == "" {
				return nil, false
			}
			params[ts.text] = rest
			return params, true
		}
		if i >= len(segments) {
			return nil, false
		}
		value, err := url.PathUnescape(segments[i])
		if err != nil {
			return nil, false
		}
		switch ts.kind {
		case literalSegment:
			if value != ts.text {
				return nil, false
			}
		case paramSegment:
			if value == "" {
				return nil, false
			}
			params[ts.text] = value
		}
	}
	if len(segments) != len(r.segments) {
		return nil, false
	}
	if len(params) == 0 {
		params = nil
	}
	return params, true
}

// moreSpecificThan compares two routes matching the same request: segment
// by segment literal beats parameter beats greedy; then a method beats ANY.
func (r *route) moreSpecificThan(other *route) bool {
	for i := 0; i < len(r.segments) && i < len(other.segments); i++ {
		if r.segments[i].kind != other.segments[i].kind {
			return r.segments[i].kind > other.segments[i].kind
		}
	}
	if len(r.segments) != len(other.segments) {
		return len(r.segments) > len(other.segments)
	}
	return r.Method != "ANY" && other.Method == "ANY"
}

// gateway plays API Gateway's HTTP API in front of the functions, plus the
// runner's own endpoints: the issuer's JWKS and the schedule trigger.
type gateway struct {
	routes    routeTable
	functions map[string]*lambdaFunction
	issuer    *Issuer
	schedules *scheduler
	apiURL    string
	log       *slog.Logger
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/.well-known/jwks.json" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(g.issuer.JWKS())
		return
	case r.URL.Path == "/.well-known/openid-configuration" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]string{"issuer": IssuerName, "jwks_uri": g.apiURL + "/.well-known/jwks.json"})
		return
	case strings.HasPrefix(r.URL.Path, localPathPrefix):
		g.serveLocal(w, r)
		return
	}
	g.serveAPI(w, r)
}

// localPathPrefix holds the runner's own endpoints, outside the API's routes.
const localPathPrefix = "/_local/"

// serveLocal answers the runner's endpoints, to loopback callers only.
func (g *gateway) serveLocal(w http.ResponseWriter, r *http.Request) {
	if !fromLoopback(r) {
		writeMessage(w, http.StatusForbidden, "Forbidden")
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, localPathPrefix+"schedules/")
	if !ok || name == "" || strings.Contains(name, "/") {
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeMessage(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	sc, ok := g.schedules.byName[name]
	if !ok {
		writeMessage(w, http.StatusNotFound, "no schedule named "+name)
		return
	}
	// A JSON body replaces the schedule's payload for this firing (a staff
	// payload, say {"job":"nightly","resume":"2026-03-10"}).
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "unreadable body")
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if !json.Valid(body) {
			writeMessage(w, http.StatusBadRequest, "the body must be the JSON payload to send instead of the schedule's")
			return
		}
		sc.Payload = string(body)
	}
	out, err := g.schedules.fire(r.Context(), sc, "endpoint")
	if err != nil {
		var ie *InvokeError
		if errors.As(err, &ie) {
			writeJSON(w, http.StatusBadGateway, map[string]any{"schedule": sc.Name, "function": sc.Function, "error": ie})
			return
		}
		writeJSON(w, http.StatusBadGateway, map[string]any{"schedule": sc.Name, "function": sc.Function, "error": err.Error()})
		return
	}
	resp := map[string]any{"schedule": sc.Name, "function": sc.Function}
	if json.Valid(out) {
		resp["response"] = json.RawMessage(out)
	} else {
		resp["response"] = string(out)
	}
	writeJSON(w, http.StatusOK, resp)
}

// serveAPI routes a request to its function like HTTP API does.
func (g *gateway) serveAPI(w http.ResponseWriter, r *http.Request) {
	started := time.Now()
	requestID := newAPIRequestID()
	w.Header().Set("Apigw-Requestid", requestID)
	status, functionName := g.dispatch(w, r, requestID)
	g.log.Info("api", "method", r.Method, "path", r.URL.Path, "status", status, "function", functionName,
		"request_id", requestID, "duration", time.Since(started).Round(time.Microsecond))
}

func (g *gateway) dispatch(w http.ResponseWriter, r *http.Request, requestID string) (status int, functionName string) {
	rt, params, ok := g.routes.match(r.Method, r.URL.EscapedPath())
	if !ok {
		return writeMessage(w, http.StatusNotFound, "Not Found"), ""
	}
	fn := g.functions[rt.Function]
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		return writeMessage(w, http.StatusBadRequest, "Bad Request"), rt.Function
	}
	if len(body) > maxRequestBody {
		return writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large"), rt.Function
	}
	var authorizer *events.APIGatewayV2HTTPRequestContextAuthorizerDescription
	if rt.Authorized {
		jwt, err := g.issuer.authorize(r.Header.Get("Authorization"))
		if err != nil {
			// Why, never the token: a newcomer's 401 is explained in the runner's log.
			g.log.Info("token rejected", "route", rt.Key, "request_id", requestID, "reason", rejectionReason(err))
			w.Header().Set("Www-Authenticate", `Bearer`)
			return writeMessage(w, http.StatusUnauthorized, "Unauthorized"), rt.Function
		}
		authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: jwt}
	}
	event := buildHTTPEvent(r, rt.Key, params, body, requestID, time.Now(), authorizer)
	payload, err := json.Marshal(event)
	if err != nil {
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"), rt.Function
	}
	ctx, cancel := context.WithTimeout(r.Context(), integrationTimeout)
	defer cancel()
	out, err := fn.Invoke(ctx, payload)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return writeMessage(w, http.StatusServiceUnavailable, "Service Unavailable"), rt.Function
	case isPayloadTooLarge(err):
		return writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large"), rt.Function
	case err != nil:
		g.log.Warn("function failed", "function", rt.Function, "route", rt.Key, "err", err)
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"), rt.Function
	}
	status, err = writeFunctionResponse(w, out)
	if err != nil {
		g.log.Warn("function returned a malformed response", "function", rt.Function, "route", rt.Key, "err", err)
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"), rt.Function
	}
	return status, rt.Function
}

func isPayloadTooLarge(err error) bool {
	var ie *InvokeError
	return errors.As(err, &ie) && ie.Type == payloadTooLargeErrorType
}

// buildHTTPEvent shapes a request as HTTP API's payload format 2.0.
func buildHTTPEvent(r *http.Request, key string, params map[string]string, body []byte, requestID string, now time.Time,
	authorizer *events.APIGatewayV2HTTPRequestContextAuthorizerDescription) events.APIGatewayV2HTTPRequest {
	sourceIP := remoteIP(r)
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if lower == "cookie" {
			for _, v := range values {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lower] = strings.Join(values, ",")
	}
	headers["host"] = r.Host
	if len(body) > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	if prior := headers["x-forwarded-for"]; prior != "" {
		headers["x-forwarded-for"] = prior + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	headers["x-forwarded-proto"] = "http"
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		headers["x-forwarded-port"] = port
	} else {
		headers["x-forwarded-port"] = "80"
	}
	headers["x-amzn-trace-id"] = "Root=1-" + strconv.FormatInt(now.Unix(), 16) + "-" + newRequestUUID()[:24]

	var query map[string]string
	if values, err := url.ParseQuery(r.URL.RawQuery); err == nil && len(values) > 0 {
		query = map[string]string{}
		for k, vs := range values {
			query[k] = strings.Join(vs, ",")
		}
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	domainPrefix, _, _ := strings.Cut(host, ".")

	event := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              key,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     key,
			AccountID:    localAccountID,
			Stage:        "$default",
			RequestID:    requestID,
			Authorizer:   authorizer,
			APIID:        localAPIID,
			DomainName:   host,
			DomainPrefix: domainPrefix,
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isTextBody(r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"), body) {
			event.Body = string(body)
		} else {
			event.Body = base64.StdEncoding.EncodeToString(body)
			event.IsBase64Encoded = true
		}
	}
	return event
}

// isTextBody reports whether HTTP API passes a request body as text: a
// textual, unencoded content type (text/*, JSON, XML, JavaScript and their
// +json/+xml variants) holding valid UTF-8. Everything else, including form
// posts and bodies without a content type, arrives base64-encoded.
func isTextBody(contentType, contentEncoding string, body []byte) bool {
	if contentEncoding != "" && !strings.EqualFold(contentEncoding, "identity") {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	textual := strings.HasPrefix(mt, "text/") ||
		mt == "application/json" || mt == "application/xml" || mt == "application/javascript" ||
		strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml")
	return textual && utf8.Valid(body)
}

// writeFunctionResponse translates a function's payload 2.0 response. A
// JSON object with a statusCode is a structured response; any other valid
// JSON is the body of a 200 application/json response, as HTTP API infers.
func writeFunctionResponse(w http.ResponseWriter, payload []byte) (int, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(payload, &probe); err != nil || probe["statusCode"] == nil {
		if !json.Valid(payload) {
			return 0, fmt.Errorf("response is not JSON: %.100q", payload)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(payload)
		return http.StatusOK, nil
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return 0, fmt.Errorf("malformed response: %w", err)
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return 0, fmt.Errorf("invalid statusCode %d", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return 0, fmt.Errorf("isBase64Encoded body is not base64: %w", err)
		}
		body = decoded
	}
	h := w.Header()
	for _, k := range sortedKeys(resp.MultiValueHeaders) {
		for _, v := range resp.MultiValueHeaders[k] {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" {
		h["Content-Type"] = nil // send none, as HTTP API does, instead of sniffing one
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return resp.StatusCode, nil
}

// writeMessage writes API Gateway's own error shape: {"message":"Not Found"}.
func writeMessage(w http.ResponseWriter, status int, message string) int {
	writeJSON(w, status, map[string]string{"message": message})
	return status
}

// writeJSON writes v as API Gateway writes its own answers: compact JSON
// without a trailing newline (a rejected token gets exactly
// {"message":"Unauthorized"}).
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"message":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func fromLoopback(r *http.Request) bool {
	ip := net.ParseIP(remoteIP(r))
	return ip != nil && ip.IsLoopback()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
