package apigw

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"clientele/shared/idempotency"
)

// Idempotent runs a write under the request's Idempotency-Key, if it has
// one (do gets nil otherwise): a replay returns the stored response with
// Idempotent-Replayed: true, a different request with the same key or a
// concurrent duplicate is a Conflict. do must store the receipt in the same
// transaction as its effect; when do fails the reservation is released so
// the client may retry with the same key. Keys are scoped to the caller and
// the route.
func Idempotent(ctx context.Context, store idempotency.Store, log *slog.Logger, now time.Time, req Request, caller Caller,
	do func(res *idempotency.Reservation) (Response, error)) (Response, error) {
	key := Header(req, idempotency.HeaderName)
	if key == "" {
		return do(nil)
	}
	if err := idempotency.ValidateKey(key); err != nil {
		return Response{}, err
	}
	body, err := Body(req)
	if err != nil {
		return Response{}, err
	}
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	res := idempotency.Reservation{
		StorageKey:  idempotency.StorageKey(caller.Kind.String()+":"+caller.Subject+" "+req.RouteKey, key),
		RequestHash: idempotency.RequestHash(req.RequestContext.HTTP.Method, req.RawPath, body),
		Token:       hex.EncodeToString(tok[:]),
	}
	prior, err := store.Reserve(ctx, res, now)
	if err != nil {
		return Response{}, err
	}
	if prior != nil {
		headers := map[string]string{}
		for k, v := range prior.Headers {
			headers[k] = v
		}
		headers["Idempotent-Replayed"] = "true"
		return Response{StatusCode: prior.Status, Headers: headers, Body: prior.Body}, nil
	}
	resp, err := do(&res)
	if err != nil {
		if rerr := store.Release(ctx, res); rerr != nil && log != nil {
			log.WarnContext(ctx, "release idempotency key", "error", rerr.Error())
		}
		return Response{}, err
	}
	return resp, nil
}
