// Package hmackey gives a function the HMAC key that keys uniqueness items
// and signs pagination cursors. On AWS the key stays in Secrets Manager: the
// function's configuration names the secret (CLIENTELE_HMAC_KEY_SECRET) and
// the key is fetched at run time through the AWS Parameters and Secrets
// Lambda extension, which caches it, then kept for the life of the process.
// Locally (and in tests) CLIENTELE_HMAC_KEY carries the key itself.
package hmackey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"clientele/shared/env"
)

// DefaultPort is the extension's HTTP port unless
// PARAMETERS_SECRETS_EXTENSION_HTTP_PORT says otherwise.
const DefaultPort = "2773"

// Load returns the key: CLIENTELE_HMAC_KEY when set, else the secret named
// by CLIENTELE_HMAC_KEY_SECRET, fetched once per process.
func Load(ctx context.Context) (string, error) {
	if key := os.Getenv(env.HMACKey); key != "" {
		return key, nil
	}
	secret := os.Getenv(env.HMACKeySecret)
	if secret == "" {
		return "", fmt.Errorf("neither %s nor %s is set", env.HMACKey, env.HMACKeySecret)
	}
	port := env.Or("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", DefaultPort)
	return process.get(ctx, Fetcher{
		Endpoint: "http://localhost:" + port,
		Token:    os.Getenv("AWS_SESSION_TOKEN"),
	}, secret)
}

// process caches the key for the life of the process.
var process cache

type cache struct {
	mu     sync.Mutex
	secret string
	key    string
}

func (c *cache) get(ctx context.Context, f Fetcher, secret string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key != "" && c.secret == secret {
		return c.key, nil
	}
	key, err := f.Fetch(ctx, secret)
	if err != nil {
		return "", err
	}
	c.secret, c.key = secret, key
	return key, nil
}

// Fetcher reads a secret from the Parameters and Secrets extension.
type Fetcher struct {
	// Endpoint is the extension's base URL: http://localhost:2773.
	Endpoint string
	// Token authenticates to the extension: the function's AWS_SESSION_TOKEN.
	Token string
	// Client defaults to one with a 5 s timeout.
	Client *http.Client
	// Attempts (default 5) and Wait (default 100 ms, doubling) retry while
	// the extension is starting or Secrets Manager answers with an error.
	Attempts int
	Wait     time.Duration
}

// Fetch returns the secret's string value.
func (f Fetcher) Fetch(ctx context.Context, secretID string) (string, error) {
	client := f.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	attempts, wait := f.Attempts, f.Wait
	if attempts <= 0 {
		attempts = 5
	}
	if wait <= 0 {
		wait = 100 * time.Millisecond
	}
	u := f.Endpoint + "/secretsmanager/get?secretId=" + url.QueryEscape(secretID)
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
		value, retry, err := f.once(ctx, client, u)
		if err == nil {
			return value, nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return "", fmt.Errorf("hmac key %s: %w", secretID, lastErr)
}

// once makes one request; retry says whether another might succeed.
func (f Fetcher) once(ctx context.Context, client *http.Client, u string) (value string, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", false, err
	}
	req.Header.Set("X-Aws-Parameters-Secrets-Token", f.Token)
	resp, err := client.Do(req)
	if err != nil {
		return "", true, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", true, err
	}
	if resp.StatusCode != http.StatusOK {
		retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		return "", retry, fmt.Errorf("extension answered %d", resp.StatusCode)
	}
	var out struct{ SecretString string }
	if err := json.Unmarshal(body, &out); err != nil {
		return "", false, fmt.Errorf("extension answer: %w", err)
	}
	if out.SecretString == "" {
		return "", false, errors.New("the secret has no string value")
	}
	return out.SecretString, false, nil
}
