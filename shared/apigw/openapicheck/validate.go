package openapicheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Validator checks live HTTP traffic against docs/openapi.json with a
// third-party validator (kin-openapi's openapi3filter), beside this
// package's own checks. Every response must have a documented status and
// match its documented schema and content type; a request the document
// calls invalid must be refused by the server with a 4xx (the two agree on
// what they accept), one it calls valid must not be answered 500 (503, a
// dependency's failure, is documented and allowed), and an
// undocumented operation must be answered 404 or 405.
type Validator struct {
	doc *openapi3.T

	mu      sync.Mutex
	routers map[string]routers.Router // by scheme://host
	checked map[string]bool           // "METHOD /path status" seen
}

// NewValidator loads and validates the OpenAPI document at path, failing
// the test (or benchmark) if kin-openapi refuses it.
func NewValidator(t testing.TB, path string) *Validator {
	t.Helper()
	v, err := LoadValidator(path)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// LoadValidator is NewValidator for callers without a testing.TB (a
// TestMain).
func LoadValidator(path string) (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("kin-openapi cannot load %s: %w", path, err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("kin-openapi refuses %s: %w", path, err)
	}
	return &Validator{doc: doc, routers: map[string]routers.Router{}, checked: map[string]bool{}}, nil
}

// router returns a router for the document served at base (the servers
// listed in the document are examples; the stack under test listens
// elsewhere).
func (v *Validator) router(base string) (routers.Router, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if r, ok := v.routers[base]; ok {
		return r, nil
	}
	doc := *v.doc
	doc.Servers = openapi3.Servers{{URL: base}}
	r, err := gorillamux.NewRouter(&doc)
	if err != nil {
		return nil, err
	}
	v.routers[base] = r
	return r, nil
}

// Transport wraps base (http.DefaultTransport when nil): each round trip
// is validated, and a mismatch is returned as the round trip's error, so
// the caller's test fails naming it.
func (v *Validator) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{v: v, base: base}
}

// Client is an http.Client whose transport validates every exchange.
func (v *Validator) Client() *http.Client { return &http.Client{Transport: v.Transport(nil)} }

// Exchanges lists the "METHOD /path/template status" combinations
// validated so far, for tests that check their own coverage.
func (v *Validator) Exchanges() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]string, 0, len(v.checked))
	for k := range v.checked {
		out = append(out, k)
	}
	return out
}

type roundTripper struct {
	v    *Validator
	base http.RoundTripper
}

// ErrMismatch wraps every validation failure a Transport returns.
var ErrMismatch = errors.New("the exchange does not match docs/openapi.json")

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := rt.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err := rt.v.Check(req, reqBody, resp.StatusCode, resp.Header, respBody); err != nil {
		return nil, err
	}
	return resp, nil
}

// CheckLambda validates one exchange a function test made through its
// router: the API Gateway request as an HTTP request (with a bearer token
// when authorized, as the JWT authorizer requires) and the function's
// response.
func (v *Validator) CheckLambda(req events.APIGatewayV2HTTPRequest, authorized bool, resp events.APIGatewayV2HTTPResponse) error {
	// The path API Gateway matched: the route with its parameters (tests
	// do not always set RawPath to match).
	path := req.RawPath
	if _, route, _ := strings.Cut(req.RouteKey, " "); len(req.PathParameters) > 0 || path == "" {
		path = route
		for k, val := range req.PathParameters {
			path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(val))
		}
	}
	target := "http://function.test" + path
	if len(req.QueryStringParameters) > 0 {
		q := url.Values{}
		for k, val := range req.QueryStringParameters {
			q.Set(k, val)
		}
		target += "?" + q.Encode()
	}
	method := req.RequestContext.HTTP.Method
	if method == "" {
		method, _, _ = strings.Cut(req.RouteKey, " ")
	}
	hreq, err := http.NewRequest(method, target, strings.NewReader(req.Body))
	if err != nil {
		return err
	}
	for k, val := range req.Headers {
		hreq.Header.Set(k, val)
	}
	if authorized {
		hreq.Header.Set("Authorization", "Bearer function.test.token")
	}
	header := http.Header{}
	for k, val := range resp.Headers {
		header.Set(k, val)
	}
	return v.Check(hreq, []byte(req.Body), resp.StatusCode, header, []byte(resp.Body))
}

// Check validates one exchange: req (whose body was reqBody) answered with
// status, header and body.
func (v *Validator) Check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	ctx := context.Background()
	r, err := v.router(req.URL.Scheme + "://" + req.URL.Host)
	if err != nil {
		return err
	}
	vreq := req.Clone(ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := r.FindRoute(vreq)
	if err != nil {
		// An undocumented operation must not be served.
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil
		}
		return fmt.Errorf("%w: %s %s is not a documented operation (%v) but was answered %d", ErrMismatch, req.Method, req.URL.Path, err, status)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{
			MultiError:         true,
			AuthenticationFunc: bearerPresent,
		},
	}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	what := fmt.Sprintf("%s %s %d", req.Method, route.Path, status)
	v.mu.Lock()
	v.checked[what] = true
	v.mu.Unlock()
	switch {
	case reqErr != nil && (status < 400 || status >= 500):
		return fmt.Errorf("%w: %s: the document refuses the request but the server answered %d: %v\nbody: %.500s",
			ErrMismatch, what, status, reqErr, body)
	case reqErr == nil && status == http.StatusInternalServerError:
		return fmt.Errorf("%w: %s: a valid request was answered %d: %.500s", ErrMismatch, what, status, body)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%w: %s: the response does not match: %v\nbody: %.500s", ErrMismatch, what, err, body)
	}
	return nil
}

// bearerPresent stands in for API Gateway's JWT authorizer: the document
// requires a bearer token; whether it verifies is the gateway's business
// (a refused token must be a 401, which the response check holds).
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if scheme, tok, ok := strings.Cut(h, " "); !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// ClientFor returns, for a test package, a function giving each test an
// HTTP client that validates every exchange against the document at path
// (loaded once; a mismatch fails the call and so the test). Benchmarks get
// http.DefaultClient, so validation does not weigh on their timings.
func ClientFor(path string) func(testing.TB) *http.Client {
	load := sync.OnceValues(func() (*http.Client, error) {
		v, err := LoadValidator(path)
		if err != nil {
			return nil, err
		}
		return v.Client(), nil
	})
	return func(t testing.TB) *http.Client {
		t.Helper()
		if _, bench := t.(*testing.B); bench {
			return http.DefaultClient
		}
		c, err := load()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}
