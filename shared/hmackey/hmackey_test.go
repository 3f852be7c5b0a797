package hmackey

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const arn = "arn:aws:secretsmanager:ap-east-1:123456789012:secret:HMACKey-AbCdEf"

// extension fakes the Parameters and Secrets extension: it checks the
// token and the secret id, and fails the first failures requests.
func extension(t *testing.T, failures int32, status int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.URL.Path != "/secretsmanager/get" || r.URL.Query().Get("secretId") != arn {
			http.Error(w, "unknown secret", http.StatusBadRequest)
			return
		}
		if r.Header.Get("X-Aws-Parameters-Secrets-Token") != "session-token" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if n <= failures {
			http.Error(w, "not ready", status)
			return
		}
		w.Write([]byte(`{"ARN":"` + arn + `","Name":"HMACKey","SecretString":"s3cr3t-key","VersionId":"v1"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestFetchRetriesWhileTheExtensionStarts(t *testing.T) {
	t.Parallel()
	srv, calls := extension(t, 2, http.StatusServiceUnavailable)
	key, err := Fetcher{Endpoint: srv.URL, Token: "session-token", Wait: time.Millisecond}.Fetch(context.Background(), arn)
	if err != nil || key != "s3cr3t-key" {
		t.Fatalf("Fetch = %q, %v", key, err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d calls, want 3", calls.Load())
	}
}

func TestFetchGivesUpOnRefusals(t *testing.T) {
	t.Parallel()
	srv, calls := extension(t, 0, 0)
	_, err := Fetcher{Endpoint: srv.URL, Token: "wrong", Wait: time.Millisecond}.Fetch(context.Background(), arn)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("err = %v, want the 403", err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls: a refusal must not be retried", calls.Load())
	}
	srv2, calls2 := extension(t, 10, http.StatusInternalServerError)
	if _, err := (Fetcher{Endpoint: srv2.URL, Token: "session-token", Attempts: 3, Wait: time.Millisecond}).Fetch(context.Background(), arn); err == nil {
		t.Error("Fetch succeeded against a failing extension")
	}
	if calls2.Load() != 3 {
		t.Errorf("%d calls, want 3 attempts", calls2.Load())
	}
}

func TestCacheFetchesOncePerProcess(t *testing.T) {
	t.Parallel()
	srv, calls := extension(t, 0, 0)
	var c cache
	f := Fetcher{Endpoint: srv.URL, Token: "session-token"}
	for i := 0; i < 3; i++ {
		if key, err := c.get(context.Background(), f, arn); err != nil || key != "s3cr3t-key" {
			t.Fatalf("get = %q, %v", key, err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls, want 1", calls.Load())
	}
}

func TestLoadPrefersTheLocalKey(t *testing.T) {
	t.Setenv("CLIENTELE_HMAC_KEY", "local-dev-key")
	t.Setenv("CLIENTELE_HMAC_KEY_SECRET", arn)
	if key, err := Load(context.Background()); err != nil || key != "local-dev-key" {
		t.Errorf("Load = %q, %v", key, err)
	}
	t.Setenv("CLIENTELE_HMAC_KEY", "")
	t.Setenv("CLIENTELE_HMAC_KEY_SECRET", "")
	if _, err := Load(context.Background()); err == nil {
		t.Error("Load succeeded with neither variable set")
	}
}

func TestLoadFetchesTheNamedSecret(t *testing.T) {
	srv, _ := extension(t, 0, 0)
	t.Setenv("CLIENTELE_HMAC_KEY", "")
	t.Setenv("CLIENTELE_HMAC_KEY_SECRET", arn)
	t.Setenv("AWS_SESSION_TOKEN", "session-token")
	t.Setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", srv.URL[strings.LastIndex(srv.URL, ":")+1:])
	process = cache{}
	if key, err := Load(context.Background()); err != nil || key != "s3cr3t-key" {
		t.Errorf("Load = %q, %v", key, err)
	}
}
