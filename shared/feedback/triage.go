package feedback

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// MinFuzzyLen is the shortest ASCII keyword that also matches words one
// edit away. Shorter words collide with real words ("shock", "stock");
// longer ones that do ("charged", "changed") are written "=charged".
const MinFuzzyLen = 7

// pattern is one compiled, normalised pattern.
type pattern struct {
	text   string // normalised, without "*" or "="
	ascii  bool   // whole-word matching at its ASCII ends
	prefix bool   // the last word may continue
	fuzzy  bool   // one edit allowed (single ASCII word ≥ MinFuzzyLen)
}

// compiledRule is a Rule with its patterns replaced by indexes.
type compiledRule struct {
	Rule
	any    []int
	all    [][]int
	unless []int
	weight int
}

// Engine triages messages with a compiled ruleset. It is safe for
// concurrent use.
type Engine struct {
	version  string
	rules    []compiledRule
	patterns []pattern
	// fuzzy maps a fuzzy pattern and each of its one-letter deletions to the
	// patterns it came from (a symmetric-delete index).
	fuzzy map[string][]int
	// Patterns of three bytes or more are found by scanning the text once
	// and looking up each position's first three bytes in a hashed table
	// (bucketStart/bucketIDs, a compressed sparse row); the few shorter ones
	// are searched for directly.
	bucketStart []int32
	bucketIDs   []int32
	short       []int
	pool        sync.Pool
}

// bucketBits sizes the first-three-bytes table.
const bucketBits = 14

func bucketOf(a, b, c byte) int {
	return int((uint32(a)*0x9E3779B1^uint32(b)*0x85EBCA77^uint32(c)*0xC2B2AE3D)>>(32-bucketBits)) & (1<<bucketBits - 1)
}

func (e *Engine) buildIndex() {
	counts := make([]int32, 1<<bucketBits+1)
	for id, p := range e.patterns {
		if len(p.text) < 3 {
			e.short = append(e.short, id)
			continue
		}
		counts[bucketOf(p.text[0], p.text[1], p.text[2])+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	e.bucketStart = counts
	e.bucketIDs = make([]int32, counts[len(counts)-1])
	fill := slices.Clone(counts)
	for id, p := range e.patterns {
		if len(p.text) < 3 {
			continue
		}
		b := bucketOf(p.text[0], p.text[1], p.text[2])
		e.bucketIDs[fill[b]] = int32(id)
		fill[b]++
	}
}

// Compile validates the ruleset and builds an engine from it.
func Compile(rs Ruleset) (*Engine, error) {
	if err := rs.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{version: rs.Version, fuzzy: map[string][]int{}}
	index := map[string]int{}
	add := func(raw string) int {
		if i, ok := index[raw]; ok {
			return i
		}
		p := pattern{}
		body := raw
		noFuzz := strings.HasPrefix(body, "=")
		body = strings.TrimPrefix(body, "=")
		if strings.HasSuffix(body, "*") {
			p.prefix = true
			body = strings.TrimSuffix(body, "*")
		}
		p.text = strings.TrimSpace(Normalize(body))
		p.ascii = true
		for i := 0; i < len(p.text); i++ {
			if p.text[i] >= utf8.RuneSelf {
				p.ascii = false
				break
			}
		}
		if p.ascii && !p.prefix && !noFuzz && len(p.text) >= MinFuzzyLen && isLetters(p.text) {
			p.fuzzy = true
		}
		i := len(e.patterns)
		e.patterns = append(e.patterns, p)
		index[raw] = i
		if p.fuzzy {
			e.fuzzy[p.text] = append(e.fuzzy[p.text], i)
			forEachDeletion(p.text, func(d []byte) {
				e.fuzzy[string(d)] = append(e.fuzzy[string(d)], i)
			})
		}
		return i
	}
	for _, r := range rs.Rules {
		cr := compiledRule{Rule: r, weight: r.Weight}
		if cr.weight == 0 {
			cr.weight = 1
		}
		for _, s := range r.Any {
			cr.any = append(cr.any, add(s))
		}
		for _, g := range r.All {
			var ids []int
			for _, s := range g {
				ids = append(ids, add(s))
			}
			cr.all = append(cr.all, ids)
		}
		for _, s := range r.Unless {
			cr.unless = append(cr.unless, add(s))
		}
		e.rules = append(e.rules, cr)
	}
	e.buildIndex()
	e.pool.New = func() any { b := make([]uint8, len(e.patterns)); return &b }
	return e, nil
}

var (
	defaultOnce   sync.Once
	defaultEngine *Engine
)

// DefaultEngine returns the engine of the shipped ruleset.
func DefaultEngine() *Engine {
	defaultOnce.Do(func() {
		e, err := Compile(DefaultRuleset())
		if err != nil {
			panic("feedback: the embedded default ruleset does not compile: " + err.Error())
		}
		defaultEngine = e
	})
	return defaultEngine
}

// Version is the version of the engine's ruleset.
func (e *Engine) Version() string { return e.version }

// Input is what triage looks at.
type Input struct {
	Text string
	// Type is the type the author chose; empty means infer it.
	Type Type
	// Rating is the author's 1–5 rating, 0 when none. 1–2 votes for a
	// complaint and 4–5 for praise with RatingWeight, as a rule would.
	Rating int
}

// RatingWeight is the vote of a rating: enough to decide a message with no
// other signal, not enough to outvote a rule ("5 stars, but it caught fire").
const RatingWeight = 2

// Result is a triage decision and why it was made.
type Result struct {
	Type         Type      `json:"type"`
	TypeInferred bool      `json:"type_inferred"`
	Category     Category  `json:"category"`
	Sentiment    Sentiment `json:"sentiment"`
	Priority     Priority  `json:"priority"`
	// Rules lists the ids of the rules that fired, in ruleset order.
	Rules        []string `json:"rules"`
	RulesVersion string   `json:"rules_version"`
}

// Firing is one rule that fired in a dry run and the patterns that made it.
type Firing struct {
	Rule    string   `json:"rule"`
	Matched []string `json:"matched"`
	// Because says why a matching rule did not apply (NotApplied only).
	Because string `json:"because,omitempty"`
}

// DryRun is what the dry-run endpoint shows: the decision and, for each
// rule that fired, the patterns that matched.
type DryRun struct {
	Result     Result   `json:"result"`
	Normalized string   `json:"normalized"`
	Firings    []Firing `json:"firings"`
	// NotApplied lists rules whose patterns matched but which a guard
	// vetoed or whose When did not hold: why a decoy did not fire.
	NotApplied []Firing `json:"not_applied"`
}

// Match bits per pattern.
const (
	matched      = 1 << 0 // some occurrence
	matchedPlain = 1 << 1 // some occurrence not preceded by a negation
)

// Triage decides type (unless given), category, sentiment and priority.
func (e *Engine) Triage(in Input) Result {
	res, _ := e.run(in, false)
	return res
}

// DryRun triages text and reports which rules fire and on which patterns.
func (e *Engine) DryRun(in Input) DryRun {
	res, firings := e.run(in, true)
	d := DryRun{Result: res, Normalized: Normalize(in.Text), Firings: firings, NotApplied: []Firing{}}
	hits := make([]uint8, len(e.patterns))
	e.match(d.Normalized, hits)
	for i := range e.rules {
		r := &e.rules[i]
		if slices.Contains(res.Rules, r.ID) {
			continue
		}
		unguarded := *r
		unguarded.unless = nil
		if unguarded.fires(hits) == 0 {
			continue
		}
		f := Firing{Rule: r.ID, Matched: r.matchedPatterns(e, hits)}
		var vetoes []string
		for _, id := range r.unless {
			if hits[id]&matched != 0 {
				vetoes = append(vetoes, strconv.Quote(e.patterns[id].text))
			}
		}
		if len(vetoes) > 0 {
			f.Because = "vetoed by " + strings.Join(vetoes, ", ")
		} else {
			f.Because = fmt.Sprintf("when does not hold (the text reads as a %s, category %s)", e.readAs(in), res.Category)
		}
		d.NotApplied = append(d.NotApplied, f)
	}
	return d
}

// readAs is the type the text reads as (for explanations).
func (e *Engine) readAs(in Input) Type {
	res, _ := e.run(Input{Text: in.Text, Rating: in.Rating}, false)
	return res.Type
}

func (e *Engine) run(in Input, explain bool) (Result, []Firing) {
	text := Normalize(in.Text)
	hitsp := e.pool.Get().(*[]uint8)
	hits := *hitsp
	clear(hits)
	defer e.pool.Put(hitsp)
	e.match(text, hits)

	var typeScore [4]int
	var catScore [8]int
	sentScore := 0
	best := P3
	fired := make([]bool, len(e.rules))
	for i := range e.rules {
		r := &e.rules[i]
		if r.When != nil {
			continue
		}
		n := r.fires(hits)
		if n == 0 {
			continue
		}
		fired[i] = true
		vote := r.weight * min(n, MaxVotesPerRule)
		if r.Type != "" {
			typeScore[indexOf(Types, r.Type)] += vote
		}
		if r.Category != "" {
			catScore[indexOf(Categories, r.Category)] += vote
		}
		switch r.Sentiment {
		case Positive:
			sentScore += vote
		case Negative:
			sentScore -= vote
		}
		if r.Priority != "" && r.Priority.rank() < best.rank() {
			best = r.Priority
		}
	}

	switch {
	case in.Rating >= 1 && in.Rating <= 2:
		typeScore[indexOf(Types, Complaint)] += RatingWeight
		sentScore -= RatingWeight
	case in.Rating >= 4 && in.Rating <= 5:
		typeScore[indexOf(Types, Praise)] += RatingWeight
		sentScore += RatingWeight
	}
	inferred := argmax(Types, typeScore[:], "")
	if inferred == "" {
		switch {
		case sentScore > 0:
			inferred = Praise
		case strings.ContainsAny(text, "?吗"):
			inferred = Question
		default:
			inferred = Complaint
		}
	}
	res := Result{RulesVersion: e.version, Type: in.Type}
	if res.Type == "" {
		res.TypeInferred = true
		res.Type = inferred
	}
	res.Category = argmax(Categories, catScore[:], OtherCategory)
	res.Sentiment = decideSentiment(res.Type, sentScore)

	// When-rules see the type the text reads as, even if the author chose
	// another: ticking "question" must not switch off a hazard rule.
	readAs := decideSentiment(inferred, sentScore)
	for i := range e.rules {
		r := &e.rules[i]
		if r.When == nil || !r.When.holds(inferred, res.Category, readAs) || r.fires(hits) == 0 {
			continue
		}
		fired[i] = true
		if r.Priority.rank() < best.rank() {
			best = r.Priority
		}
	}
	res.Priority = best
	res.Rules = []string{}
	var firings []Firing
	for i, f := range fired {
		if !f {
			continue
		}
		res.Rules = append(res.Rules, e.rules[i].ID)
		if explain {
			firings = append(firings, Firing{Rule: e.rules[i].ID, Matched: e.rules[i].matchedPatterns(e, hits)})
		}
	}
	return res, firings
}

// StrongSentiment is the lexicon score beyond which a question or a
// suggestion takes the lexicon's sentiment instead of neutral.
const StrongSentiment = 3

// decideSentiment: complaints are negative and praise positive whatever the
// words (sarcasm praises in words and complains in fact); questions and
// suggestions are neutral unless the lexicon is strongly one way.
func decideSentiment(t Type, score int) Sentiment {
	switch {
	case t == Complaint:
		return Negative
	case t == Praise:
		return Positive
	case score <= -StrongSentiment:
		return Negative
	case score >= StrongSentiment:
		return Positive
	}
	return Neutral
}

func indexOf[T comparable](list []T, v T) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return -1
}

// argmax returns the first value with the highest positive score, or def.
func argmax[T comparable](values []T, scores []int, def T) T {
	best, bestScore := def, 0
	for i, v := range values {
		if scores[i] > bestScore {
			best, bestScore = v, scores[i]
		}
	}
	return best
}

// MaxVotesPerRule caps how many matching patterns of one rule count: a
// rule's vote is its weight times the number of its Any patterns that
// matched, up to this many. Two store words outvote one staff word ("wet
// floor near the fitting rooms … staff just watched").
const MaxVotesPerRule = 3

// fires returns how many of the rule's Any patterns matched, or 0 when the
// rule does not fire.
func (r *compiledRule) fires(hits []uint8) int {
	bit := uint8(matched)
	if r.Negatable {
		bit = matchedPlain
	}
	n := 0
	for _, id := range r.any {
		if hits[id]&bit != 0 {
			n++
		}
	}
	if n == 0 {
		return 0
	}
	for _, g := range r.all {
		if !anyHit(g, hits, bit) {
			return 0
		}
	}
	if anyHit(r.unless, hits, matched) {
		return 0
	}
	return n
}

func (r *compiledRule) matchedPatterns(e *Engine, hits []uint8) []string {
	var out []string
	for _, ids := range append([][]int{r.any}, r.all...) {
		for _, id := range ids {
			if hits[id]&matched != 0 {
				out = append(out, e.patterns[id].text)
			}
		}
	}
	return out
}

func anyHit(ids []int, hits []uint8, bit uint8) bool {
	for _, id := range ids {
		if hits[id]&bit != 0 {
			return true
		}
	}
	return false
}

// match sets the match bits of every pattern found in the normalised text.
func (e *Engine) match(text string, hits []uint8) {
	for _, id := range e.short {
		p := &e.patterns[id]
		for from := 0; from < len(text); {
			k := strings.Index(text[from:], p.text)
			if k < 0 {
				break
			}
			e.occurrence(text, from+k, id, hits)
			from += k + 1
		}
	}
	for i := 0; i+3 <= len(text); i++ {
		b := bucketOf(text[i], text[i+1], text[i+2])
		for _, id := range e.bucketIDs[e.bucketStart[b]:e.bucketStart[b+1]] {
			if hits[id]&matchedPlain == 0 && strings.HasPrefix(text[i:], e.patterns[id].text) {
				e.occurrence(text, i, int(id), hits)
			}
		}
	}
	if len(e.fuzzy) == 0 {
		return
	}
	var buf [64]byte
	for i := 0; i < len(text); {
		if !isWordByte(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isWordByte(text[j]) {
			j++
		}
		word := text[i:j]
		if len(word) >= MinFuzzyLen-1 && len(word) < len(buf) {
			e.fuzzyWord(text, i, word, buf[:0], hits)
		}
		i = j
	}
}

// occurrence records pattern id found at start, unless it breaks a word.
func (e *Engine) occurrence(text string, start, id int, hits []uint8) {
	p := &e.patterns[id]
	end := start + len(p.text)
	if p.ascii {
		if start > 0 && isWordByte(text[start-1]) && isWordByte(p.text[0]) {
			return
		}
		if !p.prefix && end < len(text) && isWordByte(text[end]) && isWordByte(p.text[len(p.text)-1]) {
			return
		}
	}
	hits[id] |= matched
	if !negatedBefore(text, start) {
		hits[id] |= matchedPlain
	}
}

// fuzzyWord marks the fuzzy patterns within one edit of word.
func (e *Engine) fuzzyWord(text string, at int, word string, buf []byte, hits []uint8) {
	mark := func(ids []int) {
		for _, id := range ids {
			if hits[id]&matchedPlain != 0 || !withinOneEdit(word, e.patterns[id].text) {
				continue
			}
			hits[id] |= matched
			if !negatedBefore(text, at) {
				hits[id] |= matchedPlain
			}
		}
	}
	mark(e.fuzzy[word])
	for k := 0; k < len(word); k++ {
		buf = append(buf[:0], word[:k]...)
		buf = append(buf, word[k+1:]...)
		if ids, ok := e.fuzzy[string(buf)]; ok {
			mark(ids)
		}
	}
}

// negationWords precede an English match to negate it.
var negationWords = map[string]bool{
	"no": true, "not": true, "never": true, "without": true, "nobody": true, "nothing": true,
	"didnt": true, "dont": true, "doesnt": true, "wasnt": true, "isnt": true, "werent": true, "arent": true, "wont": true,
}

// negationRunes precede a Chinese match to negate it.
const negationRunes = "没不无未别非"

// negatedBefore reports whether the match at start is negated: one of the
// two English words or two Chinese characters before it is a negation
// (with "was/were/been/got" allowed in between: "no one was hurt" is
// handled by rules listing "no one was hurt" as an unless pattern).
func negatedBefore(text string, start int) bool {
	// Chinese: the two runes before.
	i := start
	for n := 0; n < 2 && i > 0; n++ {
		r, size := utf8.DecodeLastRuneInString(text[:i])
		if r >= 0x3400 && strings.ContainsRune(negationRunes, r) {
			return true
		}
		if r < 0x3400 {
			break
		}
		i -= size
	}
	// English: the two words before.
	i = start
	for n := 0; n < 2; n++ {
		for i > 0 && !isWordByte(text[i-1]) {
			if text[i-1] >= utf8.RuneSelf || text[i-1] == '.' || text[i-1] == ',' {
				return false
			}
			i--
		}
		j := i
		for j > 0 && isWordByte(text[j-1]) {
			j--
		}
		if j == i {
			return false
		}
		if negationWords[text[j:i]] {
			return true
		}
		i = j
	}
	return false
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// forEachDeletion calls f with s minus each one of its letters.
func forEachDeletion(s string, f func([]byte)) {
	buf := make([]byte, 0, len(s))
	for k := 0; k < len(s); k++ {
		buf = append(buf[:0], s[:k]...)
		buf = append(buf, s[k+1:]...)
		f(buf)
	}
}

// withinOneEdit reports whether a and b differ by at most one insertion,
// deletion, substitution or swap of adjacent letters.
func withinOneEdit(a, b string) bool {
	if a == b {
		return true
	}
	la, lb := len(a), len(b)
	if la-lb > 1 || lb-la > 1 {
		return false
	}
	i := 0
	for i < la && i < lb && a[i] == b[i] {
		i++
	}
	switch {
	case la == lb:
		if a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case la > lb:
		return a[i+1:] == b[i:]
	default:
		return a[i:] == b[i+1:]
	}
}
