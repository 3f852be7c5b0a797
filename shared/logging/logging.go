// Package logging builds the functions' structured loggers: log/slog JSON on
// stdout (CloudWatch Logs on AWS), the request id on every record, and a
// guard that drops attributes that would carry personal data.
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"

	"clientele/shared/env"
)

type ctxKey struct{}

// WithRequestID returns a context whose log records carry id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the id stored by WithRequestID, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// personal lists attribute keys that never reach a log: their values are
// personal data. Matching is on the last path element, case-insensitive.
var personal = map[string]bool{
	"email": true, "phone": true, "name": true, "birthday": true,
	"body": true, "address": true, "authorization": true, "token": true,
}

// Redacted is what a personal attribute's value is replaced with.
const Redacted = "[redacted]"

// New returns a JSON logger writing to w (stdout when nil) at the level named
// by CLIENTELE_LOG_LEVEL, every record tagged with the service
// (CLIENTELE_SERVICE, or the given name when unset) and the stage
// (CLIENTELE_STAGE, or "local").
func New(w io.Writer, service string) *slog.Logger {
	if w == nil {
		w = os.Stdout
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(env.Or(env.LogLevel, "info"))); err != nil {
		level = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if personal[strings.ToLower(a.Key)] {
				return slog.String(a.Key, Redacted)
			}
			return a
		},
	})
	return slog.New(requestIDHandler{h}).With("service", env.Or(env.Service, service), "stage", env.Or(env.Stage, "local"))
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
