package local

import (
	"maps"
	"strings"
	"testing"
	"time"

	"clientele/infra/topology"
)

func TestShellEnvPassesOnlyTheFunctionsCLIENTELEVariables(t *testing.T) {
	t.Parallel()
	environ := []string{
		"CLIENTELE_DEFAULT_PHONE_REGION=US",
		`CLIENTELE_POINTS_POLICY={"return_window_hours":1}`,
		"CLIENTELE_LOG_LEVEL=debug",
		"CLIENTELE_NOTE=a=b", // the value keeps its own '='
		"CLIENTELE_EMPTY=",
		"CLIENTELE_=x",
		"CLIENTELE_DYNAMODB_ENDPOINT=http://127.0.0.1:8000",
		"CLIENTELE_CACHE=/tmp/cache",
		"CLIENTELE_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:8001",
		"AWS_PROFILE=prod",
		"AWS_ACCESS_KEY_ID=AKIA",
		"HOME=/home/dev",
		"clientele_lower=x",
		"NOEQUALS",
	}
	want := map[string]string{
		"CLIENTELE_DEFAULT_PHONE_REGION": "US",
		"CLIENTELE_POINTS_POLICY":        `{"return_window_hours":1}`,
		"CLIENTELE_LOG_LEVEL":            "debug",
		"CLIENTELE_NOTE":                 "a=b",
	}
	if got := ShellEnv(environ); !maps.Equal(got, want) {
		t.Errorf("ShellEnv = %v, want %v", got, want)
	}
}

func TestShellEnvOverridesTheTopologysEnvironment(t *testing.T) {
	t.Parallel()
	def := topology.Function{Name: "points-api", Entry: "functions/points/api", MemoryMB: 128, Timeout: time.Second,
		Env: map[string]string{"CLIENTELE_POINTS_POLICY": "{}"}}
	sys := topology.System{Functions: []topology.Function{def}}
	s := &Stack{DynamoDBEndpoint: "http://127.0.0.1:1", SQSEndpoint: "http://127.0.0.1:2", sqs: &sqsServer{endpoint: "http://127.0.0.1:2"}}
	extra := ShellEnv([]string{`CLIENTELE_POINTS_POLICY={"return_window_hours":1}`, "CLIENTELE_DEFAULT_PHONE_REGION=US"})
	got := map[string]string{}
	for _, kv := range s.functionEnv(Config{Root: t.TempDir(), System: sys, ExtraEnv: extra}, def) {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	if got["CLIENTELE_POINTS_POLICY"] != `{"return_window_hours":1}` {
		t.Errorf("CLIENTELE_POINTS_POLICY = %q, want the shell's value over the topology's {}", got["CLIENTELE_POINTS_POLICY"])
	}
	if got["CLIENTELE_DEFAULT_PHONE_REGION"] != "US" {
		t.Errorf("CLIENTELE_DEFAULT_PHONE_REGION = %q, want US added from the shell", got["CLIENTELE_DEFAULT_PHONE_REGION"])
	}
	if got["AWS_ENDPOINT_URL_DYNAMODB"] != "http://127.0.0.1:1" {
		t.Errorf("AWS_ENDPOINT_URL_DYNAMODB = %q, want the local endpoint", got["AWS_ENDPOINT_URL_DYNAMODB"])
	}
}
