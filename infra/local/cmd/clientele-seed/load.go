package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"clientele/infra/local"
	"clientele/infra/local/demodata"
	"clientele/infra/topology"
)

// loader sends a data set to the API.
type loader struct {
	api         string
	client      *http.Client
	issuer      *local.Issuer
	service     string
	staff       string
	state       *state
	statePath   string
	dataDir     string
	concurrency int
	out         io.Writer

	counts counts
}

// counts tallies what a run did.
type counts struct {
	signedUp, kept, skipped                   atomic.Int64
	purchases, returns, redemptions, adjusted atomic.Int64
	unaffordable, refused, replayed           atomic.Int64
}

func newLoader(api, dataDir string, issuer *local.Issuer, st *state, statePath string, concurrency int, out io.Writer) (*loader, error) {
	u, err := url.Parse(api)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("-api %q: want a base URL like http://127.0.0.1:8080", api)
	}
	service, err := issuer.Token(topology.Service, "clientele-seed", 2*time.Hour)
	if err != nil {
		return nil, err
	}
	staff, err := issuer.Token(topology.Staff, "clientele-seed", 2*time.Hour)
	if err != nil {
		return nil, err
	}
	return &loader{
		api:         strings.TrimRight(api, "/"),
		client:      &http.Client{Timeout: 40 * time.Second},
		issuer:      issuer,
		service:     service,
		staff:       staff,
		state:       st,
		statePath:   statePath,
		dataDir:     dataDir,
		concurrency: max(1, concurrency),
		out:         out,
	}, nil
}

// response is an API answer: status and body.
type response struct {
	status int
	body   []byte
	// replayed says the API answered from an earlier request's record
	// (Idempotent-Replayed: true).
	replayed bool
}

// problem is the part of a problem+json body the loader reads.
type problem struct {
	Detail string `json:"detail"`
	Errors []struct {
		Field  string `json:"field"`
		Reason string `json:"reason"`
	} `json:"errors"`
}

func (r response) problem() problem {
	var p problem
	_ = json.Unmarshal(r.body, &p)
	return p
}

// names reports whether the problem names a field.
func (p problem) names(field string) bool {
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

func (r response) String() string {
	return fmt.Sprintf("%d %s", r.status, strings.TrimSpace(string(r.body)))
}

// call sends one request, retrying connection errors, 429 and 5xx with
// backoff (safe: every write carries an id or an Idempotency-Key).
func (l *loader) call(ctx context.Context, method, path, token, idempotencyKey string, body any) (response, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return response{}, err
		}
	}
	var last error
	for attempt := range 6 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return response{}, ctx.Err()
			case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, method, l.api+path, bytes.NewReader(raw))
		if err != nil {
			return response{}, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if idempotencyKey != "" {
			req.Header.Set("Idempotency-Key", idempotencyKey)
		}
		resp, err := l.client.Do(req)
		if err != nil {
			last = err
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			last = err
			continue
		}
		r := response{status: resp.StatusCode, body: b, replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
		if r.replayed {
			l.counts.replayed.Add(1)
		}
		if r.status == http.StatusTooManyRequests || r.status >= 500 {
			last = fmt.Errorf("%s %s: %s", method, path, r)
			continue
		}
		return r, nil
	}
	return response{}, last
}

// ping checks that a local stack answers at the API's address.
func (l *loader) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.api+"/.well-known/jwks.json", nil)
	resp, err := l.client.Do(req)
	if err != nil {
		return fmt.Errorf("no local stack answers at %s (start it with make run, or pass the ADDR it runs on): %w", l.api, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s does not look like make run: GET /.well-known/jwks.json answered %d", l.api, resp.StatusCode)
	}
	return nil
}

// each runs do for every member, concurrency at a time, and returns the
// first error.
func (l *loader) each(ctx context.Context, members []demodata.Member, do func(ctx context.Context, i int, m demodata.Member) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range l.concurrency {
		wg.Go(func() {
			for i := range next {
				if err := do(ctx, i, members[i]); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range members {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

func (l *loader) phase(name string, started time.Time) {
	fmt.Fprintf(l.out, "%-12s done in %s\n", name, time.Since(started).Round(10*time.Millisecond))
	if err := l.state.save(l.statePath); err != nil {
		fmt.Fprintf(l.out, "warning: saving %s: %v\n", l.statePath, err)
	}
}

// load sends the data set: signups, purchases, returns, then (once the
// worker applied them) the nightly job, redemptions and adjustments.
func (l *loader) load(ctx context.Context, data demodata.Dataset, wait time.Duration) error {
	cfg := data.Config
	fmt.Fprintf(l.out, "seeding %s: seed %d, %d members, purchases from %s to %s\n", l.api, cfg.Seed, len(data.Members),
		cfg.Until.AddDate(0, 0, -cfg.Days).Format(time.DateOnly), cfg.Until.Add(-time.Second).Format(time.DateOnly))
	defer func() { _ = l.state.save(l.statePath) }()

	started := time.Now()
	if err := l.signups(ctx, data.Members); err != nil {
		return err
	}
	l.phase("signups", started)

	started = time.Now()
	if err := l.each(ctx, data.Members, l.purchases); err != nil {
		return err
	}
	l.phase("purchases", started)

	started = time.Now()
	if err := l.each(ctx, data.Members, l.returns); err != nil {
		return err
	}
	l.phase("returns", started)

	started = time.Now()
	if err := l.awaitWorker(ctx, data.Members, wait); err != nil {
		return err
	}
	l.phase("worker", started)

	// The nightly job, now rather than at 01:00 brand time: points whose
	// return window has ended mature, due lots expire, tiers are
	// re-evaluated. (Purchases back-dated past their window were available
	// at once.) It runs once per local day, so a second seed the same day
	// finds it done.
	started = time.Now()
	if err := l.nightly(ctx, wait); err != nil {
		return err
	}
	l.phase("nightly", started)

	started = time.Now()
	if err := l.each(ctx, data.Members, l.redemptions); err != nil {
		return err
	}
	l.phase("redemptions", started)

	started = time.Now()
	if err := l.each(ctx, data.Members, l.adjustments); err != nil {
		return err
	}
	l.phase("adjustments", started)

	return l.summary(ctx, data)
}

// signups creates the members (or confirms those an earlier run created
// still exist): first those without a referrer, then the referred ones in
// order, each with its referrer's code.
func (l *loader) signups(ctx context.Context, members []demodata.Member) error {
	var direct, referred []int
	for i, m := range members {
		if m.ReferredBy < 0 {
			direct = append(direct, i)
		} else {
			referred = append(referred, i)
		}
	}
	sub := make([]demodata.Member, 0, len(direct))
	for _, i := range direct {
		sub = append(sub, members[i])
	}
	if err := l.each(ctx, sub, func(ctx context.Context, _ int, m demodata.Member) error {
		return l.signup(ctx, m, "")
	}); err != nil {
		return err
	}
	for _, i := range referred {
		m := members[i]
		code := l.state.read(members[m.ReferredBy].Key).ReferralCode
		if err := l.signup(ctx, m, code); err != nil {
			return err
		}
	}
	return nil
}

// signup signs one member up unless an earlier run did and the member is
// still there.
func (l *loader) signup(ctx context.Context, m demodata.Member, referralCode string) error {
	prev := l.state.read(m.Key)
	if prev.Skipped {
		l.counts.skipped.Add(1)
		return nil
	}
	if prev.ID != "" {
		r, err := l.call(ctx, http.MethodGet, "/v1/members/"+url.PathEscape(prev.ID), l.staff, "", nil)
		if err != nil {
			return err
		}
		if r.status == http.StatusOK {
			l.counts.kept.Add(1)
			return nil
		}
		if r.status != http.StatusNotFound {
			return fmt.Errorf("checking member %s (%s): %s", prev.ID, m.Key, r)
		}
		// The stack's data was reset under the state file: start over.
		l.state.update(m.Key, func(s *memberState) { *s = memberState{} })
	}
	body := m.Signup
	body.ReferralCode = referralCode
	r, err := l.call(ctx, http.MethodPost, "/v1/members", l.service, m.Key+"-signup", body)
	if err != nil {
		return err
	}
	switch {
	case r.status == http.StatusCreated || r.status == http.StatusOK:
		var created struct {
			ID           string `json:"id"`
			ReferralCode string `json:"referral_code"`
		}
		if err := json.Unmarshal(r.body, &created); err != nil || created.ID == "" {
			return fmt.Errorf("signup of %s: no id in %s", m.Key, r)
		}
		l.state.update(m.Key, func(s *memberState) { s.ID, s.ReferralCode = created.ID, created.ReferralCode })
		l.counts.signedUp.Add(1)
		return nil
	case r.status == http.StatusConflict && (r.problem().names("email") || r.problem().names("phone")):
		// Registered by a run whose state file is gone; its id is unknown.
		l.state.update(m.Key, func(s *memberState) { s.Skipped = true })
		l.counts.skipped.Add(1)
		return nil
	}
	return fmt.Errorf("signup of %s: %s", m.Key, r)
}

// purchases posts a member's purchases through the intake route.
func (l *loader) purchases(ctx context.Context, _ int, m demodata.Member) error {
	st := l.state.read(m.Key)
	if st.ID == "" || st.Purchases {
		return nil
	}
	for _, p := range m.Purchases {
		p.MemberID = st.ID
		r, err := l.call(ctx, http.MethodPost, "/v1/purchases", l.service, "", p)
		if err != nil {
			return err
		}
		switch {
		case r.status == http.StatusAccepted || r.status == http.StatusOK:
			l.counts.purchases.Add(1)
		case r.status == http.StatusBadRequest && r.problem().names("purchased_at"):
			return fmt.Errorf("the API refused purchased_at %s of order %s: %s\n"+
				"The purchase intake bounds back-dating; seed fewer days (make seed SEED_FLAGS=-days=60) or widen the points policy's back-dating window",
				p.PurchasedAt.Format(time.RFC3339), p.OrderID, r)
		case r.status == http.StatusConflict:
			// The order id is known with other content (an earlier data set
			// under this seed): report it, keep going.
			l.counts.refused.Add(1)
			fmt.Fprintf(l.out, "purchase %s refused: %s\n", p.OrderID, r)
		default:
			return fmt.Errorf("purchase %s of %s: %s", p.OrderID, m.Key, r)
		}
	}
	l.state.update(m.Key, func(s *memberState) { s.Purchases = true })
	return nil
}

// returns posts a member's returns. A return whose order the worker has not
// applied yet is answered 404 by some versions of the API: it is retried
// until the order is there.
func (l *loader) returns(ctx context.Context, _ int, m demodata.Member) error {
	st := l.state.read(m.Key)
	if st.ID == "" || st.Returns || !st.Purchases {
		return nil
	}
	for _, rt := range m.Returns {
		rt.MemberID = st.ID
		deadline := time.Now().Add(2 * time.Minute)
		for {
			r, err := l.call(ctx, http.MethodPost, "/v1/returns", l.service, "", rt)
			if err != nil {
				return err
			}
			if r.status == http.StatusAccepted || r.status == http.StatusOK {
				l.counts.returns.Add(1)
				break
			}
			if r.status == http.StatusNotFound && r.problem().names("order_id") && time.Now().Before(deadline) {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(300 * time.Millisecond):
				}
				continue
			}
			if r.status == http.StatusConflict || r.status == http.StatusNotFound {
				l.counts.refused.Add(1)
				fmt.Fprintf(l.out, "return %s refused: %s\n", rt.ReturnID, r)
				break
			}
			return fmt.Errorf("return %s of %s: %s", rt.ReturnID, m.Key, r)
		}
	}
	l.state.update(m.Key, func(s *memberState) { s.Returns = true })
	return nil
}

// awaitWorker waits until every member's ledger shows its purchases and
// returns, so the nightly job and the redemptions see them.
func (l *loader) awaitWorker(ctx context.Context, members []demodata.Member, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	var late atomic.Int64
	err := l.each(ctx, members, func(ctx context.Context, _ int, m demodata.Member) error {
		st := l.state.read(m.Key)
		if st.ID == "" || (len(m.Purchases) == 0 && len(m.Returns) == 0) {
			return nil
		}
		want := map[string]bool{}
		for _, p := range m.Purchases {
			want["order:"+p.OrderID] = true
		}
		for _, rt := range m.Returns {
			want["return:"+rt.ReturnID] = true
		}
		for {
			seen, err := l.ledgerSources(ctx, st.ID)
			if err != nil {
				return err
			}
			missing := 0
			for id := range want {
				if !seen[id] {
					missing++
				}
			}
			if missing == 0 {
				return nil
			}
			if time.Now().After(deadline) {
				late.Add(1)
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
	})
	if n := late.Load(); n > 0 {
		fmt.Fprintf(l.out, "warning: after %s the points worker had not applied everything for %d members (see make run's log); going on\n", wait, n)
	}
	return err
}

// ledgerSources returns the sources of a member's ledger entries
// ("order:<order id>", "return:<return id>", ...).
func (l *loader) ledgerSources(ctx context.Context, id string) (map[string]bool, error) {
	seen := map[string]bool{}
	cursor := ""
	for {
		path := "/v1/members/" + url.PathEscape(id) + "/points/entries?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r, err := l.call(ctx, http.MethodGet, path, l.staff, "", nil)
		if err != nil {
			return nil, err
		}
		if r.status != http.StatusOK {
			return nil, fmt.Errorf("ledger of %s: %s", id, r)
		}
		var page struct {
			Entries []struct {
				SourceID string `json:"source_id"`
				OrderID  string `json:"order_id"`
			} `json:"entries"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			return nil, fmt.Errorf("ledger of %s: %w", id, err)
		}
		for _, e := range page.Entries {
			seen[e.SourceID] = true // "order:<order id>", "return:<return id>", ...
			if e.OrderID != "" {
				seen["order:"+e.OrderID] = true
			}
		}
		if page.NextCursor == "" {
			return seen, nil
		}
		cursor = page.NextCursor
	}
}

// balance is the part of GET /v1/members/{id}/points the loader reads.
type balance struct {
	Available int64  `json:"available"`
	Pending   int64  `json:"pending"`
	Tier      string `json:"tier"`
}

func (l *loader) balance(ctx context.Context, id, token string) (balance, error) {
	r, err := l.call(ctx, http.MethodGet, "/v1/members/"+url.PathEscape(id)+"/points", token, "", nil)
	if err != nil {
		return balance{}, err
	}
	if r.status != http.StatusOK {
		return balance{}, fmt.Errorf("balance of %s: %s", id, r)
	}
	var b balance
	return b, json.Unmarshal(r.body, &b)
}

// redemptions redeems rewards with the member's own token, each while the
// member can afford it.
func (l *loader) redemptions(ctx context.Context, _ int, m demodata.Member) error {
	st := l.state.read(m.Key)
	if st.ID == "" || st.Redemptions || len(m.Redemptions) == 0 {
		return nil
	}
	token, err := l.issuer.Token(topology.Member, st.ID, time.Hour)
	if err != nil {
		return err
	}
	b, err := l.balance(ctx, st.ID, token)
	if err != nil {
		return err
	}
	available := b.Available
	for _, rd := range m.Redemptions {
		if rd.Cost > available {
			l.counts.unaffordable.Add(1)
			continue
		}
		r, err := l.call(ctx, http.MethodPost, "/v1/members/"+url.PathEscape(st.ID)+"/points/redemptions", token, rd.IdempotencyKey, rd)
		if err != nil {
			return err
		}
		switch r.status {
		case http.StatusCreated, http.StatusOK:
			available -= rd.Cost
			l.counts.redemptions.Add(1)
		case http.StatusConflict:
			l.counts.unaffordable.Add(1)
		default:
			return fmt.Errorf("redemption %s of %s: %s", rd.IdempotencyKey, m.Key, r)
		}
	}
	l.state.update(m.Key, func(s *memberState) { s.Redemptions = true })
	return nil
}

// adjustments posts staff adjustments.
func (l *loader) adjustments(ctx context.Context, _ int, m demodata.Member) error {
	st := l.state.read(m.Key)
	if st.ID == "" || st.Adjustments || len(m.Adjustments) == 0 {
		return nil
	}
	for _, a := range m.Adjustments {
		r, err := l.call(ctx, http.MethodPost, "/v1/members/"+url.PathEscape(st.ID)+"/points/adjustments", l.staff, a.IdempotencyKey, a)
		if err != nil {
			return err
		}
		if r.status != http.StatusCreated && r.status != http.StatusOK {
			return fmt.Errorf("adjustment %s of %s: %s", a.IdempotencyKey, m.Key, r)
		}
		l.counts.adjusted.Add(1)
	}
	l.state.update(m.Key, func(s *memberState) { s.Adjustments = true })
	return nil
}

// summary prints what was loaded and what the members now hold, and how to
// look at one of them.
func (l *loader) summary(ctx context.Context, data demodata.Dataset) error {
	var mu sync.Mutex
	tiers := map[string]int{}
	var available, pending int64
	var richest string
	var most int64 = -1
	err := l.each(ctx, data.Members, func(ctx context.Context, _ int, m demodata.Member) error {
		st := l.state.read(m.Key)
		if st.ID == "" {
			return nil
		}
		b, err := l.balance(ctx, st.ID, l.staff)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		tiers[b.Tier]++
		available += b.Available
		pending += b.Pending
		if b.Available > most || (b.Available == most && st.ID < richest) {
			most, richest = b.Available, st.ID
		}
		return nil
	})
	if err != nil {
		return err
	}
	c := &l.counts
	fmt.Fprintf(l.out, "\nmembers: %d signed up, %d already there, %d skipped (registered by a run whose state was lost)\n",
		c.signedUp.Load(), c.kept.Load(), c.skipped.Load())
	fmt.Fprintf(l.out, "sent: %d purchases, %d returns, %d redemptions (%d not affordable), %d adjustments; %d refused; %d answered as replays of an earlier run\n",
		c.purchases.Load(), c.returns.Load(), c.redemptions.Load(), c.unaffordable.Load(), c.adjusted.Load(), c.refused.Load(), c.replayed.Load())
	names := make([]string, 0, len(tiers))
	for t := range tiers {
		names = append(names, t)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, t := range names {
		parts = append(parts, fmt.Sprintf("%s %d", t, tiers[t]))
	}
	fmt.Fprintf(l.out, "tiers: %s; points outstanding: %d available, %d pending\n", strings.Join(parts, ", "), available, pending)
	if richest != "" {
		data := ""
		if l.dataDir != ".local" {
			data = " DATA=" + l.dataDir
		}
		fmt.Fprintf(l.out, "\nthe member with the most points:\n  ID=%s; MEMBER=$(make -s token ROLE=member SUB=$ID%s)\n"+
			"  curl -s %s/v1/members/$ID/points -H \"Authorization: Bearer $MEMBER\"\n", richest, data, l.api)
	}
	fmt.Fprintf(l.out, "state: %s (a re-run loads nothing twice; make clean resets the stack and the state)\n", l.statePath)
	return nil
}

// nightly fires the points-nightly schedule and waits for the day's run:
// the schedule only starts it (its segments run from the
// points-nightly-sweep queue); firing it again starts nothing and reports
// the run's status.
func (l *loader) nightly(ctx context.Context, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		r, err := l.call(ctx, http.MethodPost, "/_local/schedules/points-nightly", "", "", nil)
		if err != nil {
			return fmt.Errorf("firing points-nightly: %w", err)
		}
		if r.status != http.StatusOK {
			return fmt.Errorf("firing points-nightly: %s", r)
		}
		var fired struct {
			Response struct {
				Run    string `json:"run"`
				Status string `json:"status"`
			} `json:"response"`
		}
		_ = json.Unmarshal(r.body, &fired)
		switch fired.Response.Status {
		case "running":
		case "failed":
			return fmt.Errorf("points-nightly run %s failed", fired.Response.Run)
		default:
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("points-nightly run %s still running after %s", fired.Response.Run, wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
