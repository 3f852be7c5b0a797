package segment

// Direct runs both phases in memory over members: the reference a
// segmented run must equal (for a few thousand members every summary is
// exact and the sample is partition-free, so the cut points and fits are
// identical). Results are in the members' order; members who refused
// profiling get none.
func Direct(runID string, cfg Config, members []Member, asOf AsOf) (*Plan, []Result, error) {
	p := NewPartial(cfg)
	for i := range members {
		p.Add(&members[i], asOf)
	}
	plan, err := NewPlan(runID, cfg, p)
	if err != nil {
		return nil, nil, err
	}
	sc := NewScorer(plan)
	out := make([]Result, 0, len(members))
	for i := range members {
		if r, ok := sc.Score(&members[i], asOf); ok {
			out = append(out, r)
		}
	}
	return plan, out, nil
}
