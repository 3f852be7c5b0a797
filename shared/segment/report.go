package segment

import "time"

// Report is a finished run as staff read it (GET /v1/segments): the
// merged tally of phase 2 (counts per segment, tier and stage, the
// transition matrix against the results the run found stored, what was
// written, changed or removed), the cut points and the fitted models.
type Report struct {
	RunID      string    `json:"run_id"`
	Day        string    `json:"day"`
	FinishedAt time.Time `json:"finished_at"`
	// Members counts members with profiling consent, NoConsent those
	// without (or erased), Buyers the consenting members with a purchase.
	Members   uint64        `json:"members"`
	NoConsent uint64        `json:"no_consent"`
	Buyers    uint64        `json:"buyers"`
	Counts    *Tally        `json:"counts"`
	Cuts      CutPoints     `json:"cuts"`
	Purchase  BGNBDFit      `json:"bgnbd"`
	Spend     GammaGammaFit `json:"gamma_gamma"`
	Config    Config        `json:"config"`
}

// NewReport combines a run's plan and its merged tally.
func NewReport(day string, finished time.Time, plan *Plan, t *Tally) Report {
	return Report{RunID: plan.RunID, Day: day, FinishedAt: finished.UTC(), Members: plan.Members, NoConsent: plan.NoConsent,
		Buyers: plan.Cuts.Buyers, Counts: t, Cuts: plan.Cuts, Purchase: plan.Purchase, Spend: plan.Spend, Config: plan.Config}
}
