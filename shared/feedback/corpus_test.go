package feedback

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// labelled is one message of the labelled corpus.
type labelled struct {
	ID, Lang, Channel string
	Type              Type
	Category          Category
	Sentiment         Sentiment
	Priority          Priority
	Text              string
}

func loadCorpus(t testing.TB, name string) []labelled {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 8 {
			t.Fatalf("%s:%d: %d columns, want 8", name, line, len(c))
		}
		m := labelled{c[0], c[1], c[2], Type(c[3]), Category(c[4]), Sentiment(c[5]), Priority(c[6]), c[7]}
		if !m.Type.Valid() || !m.Category.Valid() || !m.Sentiment.Valid() || !m.Priority.Valid() {
			t.Fatalf("%s:%d: bad label %v", name, line, c[:7])
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// accuracy is the engine's score on one part of the corpus.
type accuracy struct {
	n                                  int
	typ, category, sentiment, priority int
	p1TP, p1FP, p1FN                   int
	misses                             []string
}

func (a accuracy) pct(k int) float64 { return 100 * float64(k) / float64(a.n) }

func (a accuracy) p1Recall() float64 {
	return 100 * float64(a.p1TP) / float64(a.p1TP+a.p1FN)
}

func (a accuracy) p1Precision() float64 {
	if a.p1TP+a.p1FP == 0 {
		return 0
	}
	return 100 * float64(a.p1TP) / float64(a.p1TP+a.p1FP)
}

func (a accuracy) String() string {
	return fmt.Sprintf("n=%d type %.1f%% category %.1f%% sentiment %.1f%% priority %.1f%% P1 recall %.1f%% (%d/%d) P1 precision %.1f%% (%d/%d)",
		a.n, a.pct(a.typ), a.pct(a.category), a.pct(a.sentiment), a.pct(a.priority),
		a.p1Recall(), a.p1TP, a.p1TP+a.p1FN, a.p1Precision(), a.p1TP, a.p1TP+a.p1FP)
}

// score triages every message with its type inferred (the harder case:
// intake may omit the type).
func score(e *Engine, corpus []labelled) accuracy { return scoreWith(e, corpus, false) }

// scoreWith triages every message, giving the labelled type when giveType.
func scoreWith(e *Engine, corpus []labelled, giveType bool) accuracy {
	var a accuracy
	for _, m := range corpus {
		in := Input{Text: m.Text}
		if giveType {
			in.Type = m.Type
		}
		r := e.Triage(in)
		a.n++
		ok := true
		if r.Type == m.Type {
			a.typ++
		} else {
			ok = false
		}
		if r.Category == m.Category {
			a.category++
		} else {
			ok = false
		}
		if r.Sentiment == m.Sentiment {
			a.sentiment++
		}
		if r.Priority == m.Priority {
			a.priority++
		} else {
			ok = false
		}
		switch {
		case r.Priority == P1 && m.Priority == P1:
			a.p1TP++
		case r.Priority == P1:
			a.p1FP++
		case m.Priority == P1:
			a.p1FN++
		}
		if !ok {
			a.misses = append(a.misses, fmt.Sprintf("%s want %s/%s/%s got %s/%s/%s %v: %s",
				m.ID, m.Type, m.Category, m.Priority, r.Type, r.Category, r.Priority, r.Rules, m.Text))
		}
	}
	return a
}

// Floors under which the corpus test fails. They sit a little under what the
// default rules reach (docs/benchmarks.md): on the development part the
// rules were tuned, so almost nothing may slip; on the holdout each floor is
// at or above the aim (category 85 %, P1 recall 95 %, P1 precision
// 80 %) with a margin of two or three messages, so a rules edit that loses
// ground fails without making the test fragile. P1 recall is the strictest:
// a missed hazard is worse than a false alarm, which a person downgrades in
// a minute.
var floors = map[string]struct{ category, typ, priority, p1Recall, p1Precision float64 }{
	"triage_dev.tsv":     {category: 95, typ: 95, priority: 95, p1Recall: 100, p1Precision: 95},
	"triage_holdout.tsv": {category: 90, typ: 90, priority: 88, p1Recall: 95, p1Precision: 85},
}

func TestCorpusAccuracy(t *testing.T) {
	t.Parallel()
	e := DefaultEngine()
	for _, name := range []string{"triage_dev.tsv", "triage_holdout.tsv"} {
		corpus := loadCorpus(t, name)
		a := score(e, corpus)
		t.Logf("%s: %s", name, a)
		for _, lang := range []string{"en", "zh"} {
			var part []labelled
			for _, m := range corpus {
				if m.Lang == lang {
					part = append(part, m)
				}
			}
			t.Logf("  %s only: %s", lang, score(e, part))
		}
		t.Logf("  with the labelled type given: %s", scoreWith(e, corpus, true))
		// Misses are listed for the development part only, so that tuning the
		// rules never looks at the holdout.
		if testing.Verbose() && name == "triage_dev.tsv" {
			for _, m := range a.misses {
				t.Logf("  miss %s", m)
			}
		}
		f := floors[name]
		check := func(what string, got, floor float64) {
			if got < floor {
				t.Errorf("%s: %s %.1f%% is under the floor %.1f%%", name, what, got, floor)
			}
		}
		check("category", a.pct(a.category), f.category)
		check("type", a.pct(a.typ), f.typ)
		check("priority", a.pct(a.priority), f.priority)
		check("P1 recall", a.p1Recall(), f.p1Recall)
		check("P1 precision", a.p1Precision(), f.p1Precision)
	}
}

// TestCorpusShape holds the corpus to what the issue asks of it.
func TestCorpusShape(t *testing.T) {
	t.Parallel()
	dev, holdout := loadCorpus(t, "triage_dev.tsv"), loadCorpus(t, "triage_holdout.tsv")
	all := append(append([]labelled{}, dev...), holdout...)
	if len(all) < 300 {
		t.Fatalf("%d messages, want at least 300", len(all))
	}
	ids := map[string]bool{}
	langs := map[string]int{}
	seen := map[string]bool{}
	for _, m := range all {
		if ids[m.ID] {
			t.Errorf("id %s repeats", m.ID)
		}
		ids[m.ID] = true
		langs[m.Lang]++
		seen[string(m.Type)] = true
		seen[string(m.Category)] = true
		seen[string(m.Priority)] = true
	}
	if d := langs["zh"] - langs["en"]; d < -20 || d > 20 || langs["zh"]+langs["en"] != len(all) {
		t.Errorf("languages %v, want about half zh and half en", langs)
	}
	for _, t2 := range Types {
		if !seen[string(t2)] {
			t.Errorf("no message of type %s", t2)
		}
	}
	for _, c := range Categories {
		if !seen[string(c)] {
			t.Errorf("no message of category %s", c)
		}
	}
	for _, p := range Priorities {
		if !seen[string(p)] {
			t.Errorf("no message of priority %s", p)
		}
	}
	if frac := float64(len(holdout)) / float64(len(all)); frac < 0.35 || frac > 0.45 {
		t.Errorf("holdout is %.0f%% of the corpus, want about 40%%", 100*frac)
	}
}
