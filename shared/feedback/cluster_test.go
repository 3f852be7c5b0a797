package feedback

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func jaccard(a, b map[string]struct{}) float64 {
	inter := 0
	for g := range a {
		if _, ok := b[g]; ok {
			inter++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

func TestShinglesNeedNoSegmentation(t *testing.T) {
	t.Parallel()
	got := Shingles("X9鞋底開膠！Sole came off")
	want := []string{"x9", "鞋底", "底开", "开胶", "sole", "came", "off"}
	for _, g := range want {
		if _, ok := got[g]; !ok {
			t.Errorf("shingles %v lack %s", got, g)
		}
	}
	if len(got) != len(want) {
		t.Errorf("shingles %v, want exactly %v (none across scripts or punctuation)", got, want)
	}
}

func TestSignatureSimilarity(t *testing.T) {
	t.Parallel()
	similar := [][2]string{
		{"这双跑鞋穿了两周鞋底就开胶了", "跑鞋鞋底开胶，才穿两周"},
		{"X9跑鞋鞋底开胶了", "X9跑鞋鞋底開膠了！"},
		{"The sole of the X9 runner came off after two weeks", "x9 runner sole came off after 2 weeks"},
	}
	different := [][2]string{
		{"这双跑鞋穿了两周鞋底就开胶了", "试衣间太脏了，地上全是衣架"},
		{"The sole of the X9 runner came off after two weeks", "The app crashes when I open the cart"},
		{"快递员把包裹扔在楼下", "The sole of the X9 runner came off"},
	}
	for _, p := range similar {
		s := NewSignature(p[0]).Similarity(NewSignature(p[1]))
		j := jaccard(Shingles(p[0]), Shingles(p[1]))
		if s < 0.2 {
			t.Errorf("%q ~ %q: similarity %.2f (Jaccard %.2f), want ≥ 0.2", p[0], p[1], s, j)
		}
		if math.Abs(s-j) > 0.2 {
			t.Errorf("%q ~ %q: MinHash %.2f far from Jaccard %.2f", p[0], p[1], s, j)
		}
	}
	for _, p := range different {
		if s := NewSignature(p[0]).Similarity(NewSignature(p[1])); s > 0.1 {
			t.Errorf("%q ~ %q: similarity %.2f, want ≤ 0.1", p[0], p[1], s)
		}
	}
	if s := NewSignature("same text").Similarity(NewSignature("same text")); s != 1 {
		t.Errorf("identical texts: %.2f", s)
	}
}

func TestBandKeysFindNearDuplicates(t *testing.T) {
	t.Parallel()
	a, b := NewSignature("X9跑鞋鞋底开胶了，穿了不到两周"), NewSignature("X9跑鞋鞋底开胶了，穿了不到三周")
	c := NewSignature("The app crashes when I open the cart")
	ka, kb, kc := a.BandKeys(), b.BandKeys(), c.BandKeys()
	shared := func(x, y [Bands]uint64) int {
		n := 0
		for i := range x {
			if x[i] == y[i] {
				n++
			}
		}
		return n
	}
	if shared(ka, kb) == 0 {
		t.Errorf("near duplicates (similarity %.2f) share no band", a.Similarity(b))
	}
	if shared(ka, kc) != 0 {
		t.Errorf("unrelated texts share %d bands", shared(ka, kc))
	}
}

// TestBurstBaseline: a flagship store's steady 40 complaints a day never
// open a cluster over two months, nor does a quiet store's steady trickle;
// a burst does at either, and five at the flagship is ordinary.
func TestBurstBaseline(t *testing.T) {
	t.Parallel()
	rule := DefaultBurstRule()
	rng := rand.New(rand.NewPCG(1, 2))
	poisson := func(lambda float64) int {
		// Knuth's method; fine for the means used here.
		l, k, p := math.Exp(-lambda), 0, 1.0
		for {
			p *= rng.Float64()
			if p <= l {
				return k
			}
			k++
		}
	}
	steady := func(lambda float64) []int {
		out := make([]int, 90)
		for i := range out {
			out[i] = poisson(lambda)
		}
		return out
	}
	for _, store := range []struct {
		name   string
		lambda float64
		burst  int
	}{
		{"flagship", 40, 90},
		{"small store", 0.3, 5},
	} {
		days := steady(store.lambda)
		const trailing = 28
		for d := trailing; d < len(days); d++ {
			if dec := rule.Evaluate(days[d], days[d-trailing:d]); dec.Open {
				t.Errorf("%s: steady day %d (%d complaints) opened a cluster: %s", store.name, d, days[d], dec.Reason)
			}
		}
		dec := rule.Evaluate(store.burst, days[len(days)-trailing:])
		if !dec.Open {
			t.Errorf("%s: a burst of %d did not open a cluster: %s", store.name, store.burst, dec.Reason)
		}
		t.Logf("%s burst: %s", store.name, dec.Reason)
	}
	// Weekly seasonality: weekdays around 30, weekends around 60. Against
	// the last 28 days a busy weekend is 2× the mean; against the same
	// weekday of the last 8 weeks it is ordinary, and a real burst is not.
	weekly := make([]int, 91)
	for d := range weekly {
		lambda := 30.0
		if d%7 >= 5 {
			lambda = 60
		}
		weekly[d] = poisson(lambda)
	}
	sameWeekday := func(d int) []int {
		var out []int
		for k := d - 56; k < d; k += 7 {
			out = append(out, weekly[k])
		}
		return out
	}
	for d := 56; d < len(weekly)-1; d++ {
		if dec := rule.Evaluate(weekly[d], sameWeekday(d)); dec.Open {
			t.Errorf("weekly pattern: day %d (%d complaints) opened a cluster: %s", d, weekly[d], dec.Reason)
		}
	}
	if dec := rule.Evaluate(150, sameWeekday(90)); !dec.Open { // day 90 is a weekend day
		t.Errorf("a weekend burst did not open: %s", dec.Reason)
	}
	flagship := steady(40)[:28]
	if dec := rule.Evaluate(5, flagship); dec.Open {
		t.Errorf("five at the flagship opened a cluster: %s", dec.Reason)
	}
	if dec := rule.Evaluate(4, make([]int, 28)); dec.Open {
		t.Errorf("four, under the threshold, opened a cluster: %s", dec.Reason)
	}
	// A new sku with no history: five complaints open one.
	if dec := rule.Evaluate(5, nil); !dec.Open {
		t.Errorf("a new key's five did not open: %s", dec.Reason)
	}
}

func TestPoissonTail(t *testing.T) {
	t.Parallel()
	cases := []struct {
		k      int
		lambda float64
		want   float64
	}{
		{0, 3, 1},
		{1, 1, 1 - math.Exp(-1)},
		{2, 1, 1 - 2*math.Exp(-1)},
		{5, 0.5, 0.0001721156},
		{50, 40, 0.0703},
	}
	for _, c := range cases {
		if got := poissonTail(c.k, c.lambda); math.Abs(got-c.want) > 1e-3*math.Max(c.want, 0.01) {
			t.Errorf("P(X ≥ %d | %.1f) = %.6g, want %.6g", c.k, c.lambda, got, c.want)
		}
	}
}

func BenchmarkSignature(b *testing.B) {
	corpus := loadCorpus(b, "triage_dev.tsv")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = NewSignature(corpus[i%len(corpus)].Text)
	}
}

func TestBestMatch(t *testing.T) {
	t.Parallel()
	cands := []ClusterCandidate{
		{ID: "fitting-rooms", Signature: NewSignature("试衣间太脏了，地上全是衣架")},
		{ID: "x9-sole", Signature: NewSignature("X9跑鞋鞋底开胶了")},
	}
	c, sim, ok := BestMatch(NewSignature("x9跑鞋穿了一周鞋底就开胶"), cands, JoinThreshold)
	if !ok || c.ID != "x9-sole" || sim < JoinThreshold {
		t.Errorf("got %q %.2f %v, want x9-sole", c.ID, sim, ok)
	}
	if c, sim, ok := BestMatch(NewSignature("The app crashes when I pay"), cands, JoinThreshold); ok {
		t.Errorf("unrelated text joined %q at %.2f", c.ID, sim)
	}
}

func TestWindowCounts(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	times := []time.Time{
		end,                               // ignored: at the end
		end.Add(-time.Nanosecond),         // current
		end.Add(-day),                     // current: a window includes its start
		end.Add(-day - time.Nanosecond),   // trailing[2], yesterday
		end.Add(-4 * day),                 // trailing[0], the oldest window's start
		end.Add(-4*day - time.Nanosecond), // before the oldest window: ignored
	}
	cur, tr := WindowCounts(times, end, day, 3)
	if cur != 2 || !slices.Equal(tr, []int{1, 0, 1}) {
		t.Errorf("got %d %v, want 2 [1 0 1]", cur, tr)
	}
}
