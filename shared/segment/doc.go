// Package segment is the domain core of nightly segmentation: it turns
// each member's purchase statistics into RFM scores and a named segment, a
// value tier, a lifecycle stage, the probability of still being an active
// customer, expected purchases and expected value — each with the values
// and cut points that decided it. It imports no AWS package; the sweep
// engine, storage and functions call it.
//
// # A run
//
// Phase 1, per scan segment: Partial.Add every member, MarshalBinary the
// partial and store it. The last segment to finish unmarshals and Merges
// all partials, and NewPlan reads the cut points (Cuts) and fits the
// models (FitBGNBD, FitGammaGamma) on the merged Sample; the Plan is stored
// with the run (JSON). Phase 2, per scan segment: NewScorer(plan) once,
// then Scorer.Score every member; write the Result when NeedsWrite says it
// changed materially, publish member.segment_changed when LabelsChanged,
// and delete any stored result when Score reports ok = false (the member
// refused profiling). Direct runs both phases in memory: the reference a
// segmented run must equal. Tally counts a segment's results (per
// segment, tier, stage, and transitions) and merges across segments.
// Package membergen generates members.
//
// Members without profiling consent are neither summarised, sampled nor
// scored. Dates become whole calendar days in the brand's time zone
// (AsOfTime of the as-of time in that zone).
//
// # Summaries and sample
//
// Recency (days since the last purchase), frequency (distinct purchase
// days) and monetary value (lifetime net spend, minor units) are
// summarised over members with at least one purchase. A Summary is exact
// (distinct values and counts) up to Config.ExactLimit distinct values and
// a KLL sketch (github.com/apache/datasketches-go) above; both merge and
// serialise. The model sample is a bottom-k hash sample (Sample): uniform,
// mergeable, and identical whatever the partition into segments.
//
// # Scores and rules
//
// Cut points are the inclusive lower quantiles at ranks 0.2, 0.4, 0.6 and
// 0.8. F and M score 1 + the number of cut points strictly below the
// value; R scores 5 − the number of cut points strictly below the days
// since the last purchase. Tie rule: equal values always score alike, and
// a value equal to a cut point belongs to the quintile below it (for R,
// the more recent one). The named segment is SegmentMap (the R rfm
// package's segments; see its comment for the order and the one
// narrowing). Value tier: high above the monetary quantile at
// 1 − high_share, medium above that at 1 − high_share − medium_share, low
// otherwise (and for members without purchases). Lifecycle: see Stage.
//
// # Models
//
// BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy
// Way") and Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV") are
// fitted by maximum likelihood, in log-parameter space with analytic
// gradients, by gonum's BFGS; standard errors come from the observed
// information. A model whose fit fails, does not converge, lands outside
// plausible bounds or has too small a sample is replaced by the fallback
// rule documented on Scorer, and FitInfo.Reason says why. Time is in days,
// money in minor units. clv_12m is not discounted.
//
// A known property of BG/NBD: a member with a single purchase has
// p_alive = 1, because the model only lets members drop out right after a
// repeat purchase; their expected purchases still fall with time since
// that purchase, and the lifecycle stage (churned after
// churned_after_days) says what a brand needs to know.
package segment
