package feedback

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"clientele/shared/fault"
)

// legal is the workflow written out by hand, one "from action to" per line;
// every pair of status and action not listed must be a conflict.
const legal = `
new triage open
new start in_progress
new customer_reply new
new resolve resolved
open start in_progress
open wait_customer waiting_customer
open customer_reply open
open resolve resolved
in_progress wait_customer waiting_customer
in_progress customer_reply in_progress
in_progress resolve resolved
waiting_customer start in_progress
waiting_customer customer_reply in_progress
waiting_customer resolve resolved
resolved close closed
resolved reopen reopened
reopened start in_progress
reopened wait_customer waiting_customer
reopened customer_reply reopened
reopened resolve resolved
`

func TestEveryTransition(t *testing.T) {
	t.Parallel()
	want := map[[2]string]Status{}
	for _, line := range strings.Split(strings.TrimSpace(legal), "\n") {
		f := strings.Fields(line)
		want[[2]string{f[0], f[1]}] = Status(f[2])
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	resolvedAt := now.Add(-time.Hour)
	legalSeen := 0
	for _, s := range Statuses {
		for _, a := range Actions {
			w := Workflow{Status: s, ResolvedAt: resolvedAt}
			got, err := w.Next(a, now)
			to, ok := want[[2]string{string(s), string(a)}]
			if ok {
				legalSeen++
				if err != nil || got != to {
					t.Errorf("%s --%s--> %q, %v; want %s", s, a, got, err, to)
				}
				continue
			}
			if !fault.Is(err, fault.Conflict) || fault.KindOf(err).Status() != http.StatusConflict {
				t.Errorf("%s --%s--> %q, %v; want a 409 conflict", s, a, got, err)
			}
		}
	}
	if legalSeen != len(want) {
		t.Errorf("checked %d legal transitions, the table lists %d", legalSeen, len(want))
	}
}

func TestReopenWindow(t *testing.T) {
	t.Parallel()
	resolved := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	w := Workflow{Status: StatusResolved, ResolvedAt: resolved}
	if _, err := w.Next(ActionReopen, resolved.Add(ReopenWindow)); err != nil {
		t.Errorf("reopen exactly 14 days after: %v", err)
	}
	if _, err := w.Next(ActionReopen, resolved.Add(ReopenWindow+time.Second)); !fault.Is(err, fault.Conflict) {
		t.Errorf("reopen after 14 days: %v, want conflict", err)
	}
	if _, err := (Workflow{Status: StatusResolved}).Next(ActionReopen, resolved); !fault.Is(err, fault.Conflict) {
		t.Errorf("reopen with no resolution time: %v, want conflict", err)
	}
	if _, err := (Workflow{Status: StatusClosed, ResolvedAt: resolved}).Next(ActionReopen, resolved.Add(time.Hour)); !fault.Is(err, fault.Conflict) {
		t.Errorf("reopen a closed case: %v, want conflict", err)
	}
}

func TestApplyRecordsResolution(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	w := Workflow{Status: StatusNew}
	steps := []Action{ActionTriage, ActionStart, ActionWaitCustomer, ActionCustomerReply, ActionResolve, ActionReopen, ActionResolve, ActionClose}
	for i, a := range steps {
		if err := w.Apply(a, t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatalf("step %d %s: %v", i, a, err)
		}
	}
	if w.Status != StatusClosed || !w.ResolvedAt.Equal(t0.Add(6*time.Hour)) {
		t.Errorf("got %+v", w)
	}
	if err := w.Apply(ActionStart, t0); !fault.Is(err, fault.Conflict) || w.Status != StatusClosed {
		t.Errorf("a refused action changed the workflow: %v %+v", err, w)
	}
	if _, err := w.Next("dance", t0); !fault.Is(err, fault.Invalid) {
		t.Errorf("unknown action: %v, want invalid", err)
	}
}
