// Command clientele-seed loads demo data (infra/local/demodata) into a
// running `make run` through its HTTP API, as a brand's app, point of sale
// and staff would: signups with consents and referrals, purchases and
// returns through the intake routes, redemptions with member tokens, staff
// adjustments. It then fires the nightly points job (maturing, expiry,
// downgrades), as 01:00 UTC would, and prints what the stack now holds.
//
//	clientele-seed [-api http://127.0.0.1:8080] [-data .local] [-seed 1] [-members 300]
//	               [-days 80] [-until 2026-12-01] [-concurrency 8]
//
// Tokens are signed with the dev issuer key in -data, as `make token` signs
// them, so -data must be the running stack's data directory.
//
// Re-running is safe: every request carries an id or Idempotency-Key
// derived from the seed, and <data>/seed-<seed>.json remembers which member
// got which id and what was loaded, so a second run loads nothing twice
// (idempotency keys are kept for a day; the state file covers longer). The
// history ends at the first run's day (-until) on every later run, so the
// requests stay the same. After `make clean` the state goes with the data.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"clientele/infra/local"
	"clientele/infra/local/demodata"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "clientele-seed:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("clientele-seed", flag.ContinueOnError)
	api := fs.String("api", "http://127.0.0.1:8080", "base URL of the running local API (make run's ADDR)")
	dataDir := fs.String("data", ".local", "the running stack's data directory (its dev issuer key signs the tokens)")
	seed := fs.Uint64("seed", 1, "which data set; ids, emails and phone numbers embed it")
	members := fs.Int("members", 300, fmt.Sprintf("members to load (1 to %d)", demodata.MaxMembers))
	days := fs.Int("days", demodata.DefaultDays, "days of purchase history; beyond the intake's back-dating window (about 90 days by default) purchases are refused")
	until := fs.String("until", "", "last day of the history, YYYY-MM-DD (default: the first run's day for this seed, else today, UTC)")
	concurrency := fs.Int("concurrency", 8, "requests in flight at once")
	statePath := fs.String("state", "", "state file (default <data>/seed-<seed>.json)")
	wait := fs.Duration("wait", 3*time.Minute, "how long to wait for the points worker to apply the purchases and returns")
	population := fs.Int("population", 0, "instead of the demo data, write this many generated members and their purchase statistics straight into DynamoDB (-dynamodb), for segmentation")
	dynamoEndpoint := fs.String("dynamodb", "http://127.0.0.1:8000", "with -population: the running stack's DynamoDB endpoint (make run's DYNAMODB_PORT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *population > 0 {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		return loadPopulation(ctx, *dynamoEndpoint, *seed, *population, *concurrency, os.Stdout)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *statePath == "" {
		*statePath = filepath.Join(*dataDir, fmt.Sprintf("seed-%d.json", *seed))
	}
	st, err := loadState(*statePath, *seed)
	if err != nil {
		return err
	}
	end, err := historyEnd(*until, st.Until, time.Now())
	if err != nil {
		return err
	}
	if !st.Until.IsZero() && !st.Until.Equal(end) {
		return fmt.Errorf("this seed was loaded with the history ending %s (%s); -until %s would send different purchases under the same ids: pass -until %s, another -seed, or reset with make clean",
			st.Until.Format(time.DateOnly), *statePath, end.Format(time.DateOnly), st.Until.Format(time.DateOnly))
	}
	st.Until = end
	data, err := demodata.Generate(demodata.Config{Seed: *seed, Members: *members, Until: end, Days: *days})
	if err != nil {
		return err
	}
	issuer, err := local.OpenIssuer(*dataDir)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	l, err := newLoader(*api, *dataDir, issuer, st, *statePath, *concurrency, os.Stdout)
	if err != nil {
		return err
	}
	if err := l.ping(ctx); err != nil {
		return err
	}
	return l.load(ctx, data, *wait)
}

// historyEnd is the end of the generated history: -until if given, else
// the day an earlier run used, else today (UTC midnight: every generated
// time is before it).
func historyEnd(flagValue string, earlier, now time.Time) (time.Time, error) {
	if flagValue != "" {
		d, err := time.Parse(time.DateOnly, flagValue)
		if err != nil {
			return time.Time{}, fmt.Errorf("-until: want YYYY-MM-DD: %w", err)
		}
		if d.After(now) {
			return time.Time{}, fmt.Errorf("-until %s is in the future", flagValue)
		}
		return d, nil
	}
	if !earlier.IsZero() {
		return earlier, nil
	}
	return now.UTC().Truncate(24 * time.Hour), nil
}
