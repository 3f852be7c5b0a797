package awsenv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"clientele/shared/awsenv"
)

// clean sets every variable awsenv reads to empty, so a developer's shell
// cannot leak into a test.
func clean(t *testing.T) {
	t.Helper()
	for _, v := range []string{
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB",
	} {
		t.Setenv(v, "")
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		vars map[string]string
		want string // substring of the error
	}{
		{"nothing set", nil, "AWS_REGION"},
		{"no region", map[string]string{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"}, "AWS_REGION"},
		{"no credentials", map[string]string{"AWS_REGION": "ap-east-1"}, "AWS_ACCESS_KEY_ID"},
		{"no secret", map[string]string{"AWS_REGION": "ap-east-1", "AWS_ACCESS_KEY_ID": "AKID"}, "AWS_SECRET_ACCESS_KEY"},
		{"no key id", map[string]string{"AWS_REGION": "ap-east-1", "AWS_SECRET_ACCESS_KEY": "secret"}, "AWS_ACCESS_KEY_ID"},
		{"session token is not enough", map[string]string{"AWS_REGION": "ap-east-1", "AWS_SESSION_TOKEN": "tok"}, "AWS_ACCESS_KEY_ID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clean(t)
			for k, v := range c.vars {
				t.Setenv(k, v)
			}
			_, err := awsenv.Config()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Config() = %v, want an error mentioning %s", err, c.want)
			}
		})
	}
}

func TestConfigFromLambdaEnvironment(t *testing.T) {
	clean(t)
	t.Setenv("AWS_REGION", "ap-east-1")
	t.Setenv("AWS_DEFAULT_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "session")
	cfg, err := awsenv.Config()
	if err != nil {
		t.Fatalf("Config: %v", err)
	}
	if cfg.Region != "ap-east-1" {
		t.Errorf("Region = %q, want AWS_REGION over AWS_DEFAULT_REGION", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if creds.AccessKeyID != "ASIAEXAMPLE" || creds.SecretAccessKey != "secret" || creds.SessionToken != "session" {
		t.Errorf("credentials = %+v", creds)
	}
}

func TestConfigDefaultRegion(t *testing.T) {
	clean(t)
	t.Setenv("AWS_DEFAULT_REGION", "cn-north-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	cfg, err := awsenv.Config()
	if err != nil || cfg.Region != "cn-north-1" {
		t.Fatalf("Config = %q, %v; want region from AWS_DEFAULT_REGION", cfg.Region, err)
	}
}

// TestCredentialsFollowTheEnvironment: the credentials read from the
// environment expire within minutes, so the SDK's cache re-reads them and
// picks up credentials the runtime rotates.
func TestCredentialsFollowTheEnvironment(t *testing.T) {
	clean(t)
	t.Setenv("AWS_REGION", "ap-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID1")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret1")
	cfg, err := awsenv.Config()
	if err != nil {
		t.Fatal(err)
	}
	c, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || c.AccessKeyID != "AKID1" {
		t.Fatalf("first Retrieve = %+v, %v", c, err)
	}
	if !c.CanExpire || c.Expires.After(time.Now().Add(10*time.Minute)) || c.Expires.Before(time.Now()) {
		t.Errorf("credentials expire at %v (can expire %v); want within minutes", c.Expires, c.CanExpire)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID2")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret2")
	if c, _ := cfg.Credentials.Retrieve(context.Background()); c.AccessKeyID != "AKID1" {
		t.Errorf("cached credentials changed before expiry: %s", c.AccessKeyID)
	}
	if cache, ok := cfg.Credentials.(*aws.CredentialsCache); ok {
		cache.Invalidate()
	}
	if c, err := cfg.Credentials.Retrieve(context.Background()); err != nil || c.AccessKeyID != "AKID2" || c.SecretAccessKey != "secret2" {
		t.Errorf("after expiry Retrieve = %s/%s, %v; want AKID2/secret2", c.AccessKeyID, c.SecretAccessKey, err)
	}
}

func TestEndpointPrecedence(t *testing.T) {
	cases := []struct {
		name    string
		vars    map[string]string
		service string
		want    string // "" means nil
	}{
		{"none", nil, "SQS", ""},
		{"generic", map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566"}, "SQS", "http://localhost:4566"},
		{"service-specific", map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4100"}, "SQS", "http://127.0.0.1:4100"},
		{"service-specific wins", map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}, "DYNAMODB", "http://127.0.0.1:8000"},
		{"other service falls back to generic", map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}, "SQS", "http://localhost:4566"},
		{"other service only", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}, "SQS", ""},
		{"service name case-insensitive", map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4100"}, "sqs", "http://127.0.0.1:4100"},
		{"empty specific falls back", map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566", "AWS_ENDPOINT_URL_SQS": ""}, "SQS", "http://localhost:4566"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clean(t)
			for k, v := range c.vars {
				t.Setenv(k, v)
			}
			got := awsenv.Endpoint(c.service)
			if c.want == "" {
				if got != nil {
					t.Fatalf("Endpoint(%s) = %q, want nil", c.service, *got)
				}
				return
			}
			if got == nil || aws.ToString(got) != c.want {
				t.Fatalf("Endpoint(%s) = %v, want %q", c.service, aws.ToString(got), c.want)
			}
		})
	}
}
