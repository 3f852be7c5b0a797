package survey

// MaxScale is the largest answer value of any scale (NPS's 10).
const MaxScale = 10

// DriverSums are the sums behind the Pearson correlation between a scale
// question's answers x and the same responses' answers y to the survey's
// NPS question, over the responses that answered both. All integers: they
// merge exactly by addition.
type DriverSums struct {
	N  int64 `json:"n"`
	X  int64 `json:"sx"`
	Y  int64 `json:"sy"`
	XX int64 `json:"sxx"`
	YY int64 `json:"syy"`
	XY int64 `json:"sxy"`
}

// Add records one pair.
func (s *DriverSums) Add(x, y int) {
	X, Y := int64(x), int64(y)
	s.N++
	s.X += X
	s.Y += Y
	s.XX += X * X
	s.YY += Y * Y
	s.XY += X * Y
}

// Merge adds o into s.
func (s *DriverSums) Merge(o DriverSums) {
	s.N += o.N
	s.X += o.X
	s.Y += o.Y
	s.XX += o.XX
	s.YY += o.YY
	s.XY += o.XY
}

// Tally is the exact, mergeable summary of one question's answers in one
// cell (survey × version × question × store × channel × day or month):
// a histogram of answer values, the skipped count apart, and the driver
// sums. Merging tallies is addition, so any roll-up is exact.
type Tally struct {
	// Counts holds scale answers by value (index = value, 0–10).
	Counts [MaxScale + 1]int64 `json:"counts"`
	// Choices holds choice answers by choice id (a multiple-choice
	// answer counts once for each chosen id); nil for other kinds.
	Choices map[string]int64 `json:"choices,omitempty"`
	// Answered counts responses that answered the question.
	Answered int64 `json:"answered"`
	// Skipped counts responses that left it unanswered.
	Skipped int64      `json:"skipped"`
	Drivers DriverSums `json:"drivers"`
}

// Merge adds o into t.
func (t *Tally) Merge(o *Tally) {
	for i, c := range o.Counts {
		t.Counts[i] += c
	}
	if len(o.Choices) > 0 {
		if t.Choices == nil {
			t.Choices = make(map[string]int64, len(o.Choices))
		}
		for k, c := range o.Choices {
			t.Choices[k] += c
		}
	}
	t.Answered += o.Answered
	t.Skipped += o.Skipped
	t.Drivers.Merge(o.Drivers)
}

// Record adds one response's answer to question q (or its skip) to t. nps
// is the response's answer to the survey's NPS question, or nil.
func (t *Tally) Record(q Question, a *Answer, nps *int) {
	if a == nil {
		t.Skipped++
		return
	}
	t.Answered++
	switch {
	case a.Value != nil:
		t.Counts[*a.Value]++
		if nps != nil && q.Kind.Scaled() && q.Kind != NPS {
			t.Drivers.Add(*a.Value, *nps)
		}
	case len(a.Choices) > 0:
		if t.Choices == nil {
			t.Choices = map[string]int64{}
		}
		for _, c := range a.Choices {
			t.Choices[c]++
		}
	}
}

// Clone returns a deep copy of t.
func (t Tally) Clone() Tally {
	if t.Choices != nil {
		m := make(map[string]int64, len(t.Choices))
		for k, v := range t.Choices {
			m[k] = v
		}
		t.Choices = m
	}
	return t
}

// Contribution is what one response adds to each question's cell: the
// tallies to merge, keyed by question id. A store applies it in the same
// transaction as the response's dedupe item, so each response counts once.
func Contribution(d Definition, r Response) map[string]Tally {
	var nps *int
	if a, ok := r.Answer(d.NPSQuestion()); ok {
		nps = a.Value
	}
	out := make(map[string]Tally, len(d.Questions))
	for _, q := range d.Questions {
		var t Tally
		if a, ok := r.Answer(q.ID); ok {
			t.Record(q, &a, nps)
		} else {
			t.Record(q, nil, nps)
		}
		out[q.ID] = t
	}
	return out
}
