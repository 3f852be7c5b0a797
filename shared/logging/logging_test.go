package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"clientele/shared/logging"
)

func TestRequestIDAndRedaction(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := logging.New(&buf, "members-api")
	ctx := logging.WithRequestID(context.Background(), "req-1")
	log.InfoContext(ctx, "signup", "email", "ann@example.com", "phone", "+8613800138000", "member_id", "01J")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf.String())
	}
	if rec["request_id"] != "req-1" || rec["service"] != "members-api" || rec["member_id"] != "01J" {
		t.Errorf("record = %v", rec)
	}
	if strings.Contains(buf.String(), "ann@example.com") || strings.Contains(buf.String(), "13800138000") {
		t.Errorf("personal data logged: %s", buf.String())
	}
	if rec["email"] != logging.Redacted {
		t.Errorf("email = %v", rec["email"])
	}
}

func TestNoRequestIDWithoutContext(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logging.New(&buf, "x").Info("hello")
	if strings.Contains(buf.String(), "request_id") {
		t.Errorf("unexpected request_id: %s", buf.String())
	}
}

func TestNewTagsServiceAndStageFromTheEnvironment(t *testing.T) {
	t.Setenv("CLIENTELE_SERVICE", "points-nightly")
	t.Setenv("CLIENTELE_STAGE", "prod")
	var buf bytes.Buffer
	logging.New(&buf, "fallback").Info("run")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["service"] != "points-nightly" || rec["stage"] != "prod" {
		t.Errorf("record %v, want service points-nightly and stage prod", rec)
	}
}
