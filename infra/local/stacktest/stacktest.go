// Package stacktest is what the end-to-end suites share to call a running
// local stack (infra/local) as a client would: dev tokens, HTTP requests
// whose every exchange is validated against docs/openapi.json, and an SQS
// client on the stack's emulator.
package stacktest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"clientele/infra/local"
	"clientele/infra/topology"
	"clientele/shared/apigw/openapicheck"
)

// Client calls one running stack.
type Client struct {
	Stack *local.Stack
	http  func(testing.TB) *http.Client
}

// New is a client of stack whose exchanges are checked against the
// OpenAPI document at openAPIPath.
func New(stack *local.Stack, openAPIPath string) *Client {
	return &Client{Stack: stack, http: openapicheck.ClientFor(openAPIPath)}
}

// Token signs a dev token for a kind of caller, valid for an hour.
func (c *Client) Token(t testing.TB, role topology.Caller, sub string) string {
	t.Helper()
	tok, err := c.Stack.Token(role, sub, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Call makes a request and decodes a JSON object answer (any other body
// comes back as {"raw": body}). tok "" sends no Authorization header;
// headers are name, value pairs.
func (c *Client) Call(t testing.TB, method, path, tok, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.Stack.APIURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if out == nil {
		out = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out
}

// SQS is a client of the stack's SQS emulator.
func (c *Client) SQS() *sqs.Client {
	return sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(c.Stack.SQSEndpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
}
