package survey

import (
	"cmp"
	"slices"
	"time"
)

// All stands for every store or every channel in a roll-up series' key.
// Store ids and channels never contain it.
const All = "*"

// SeriesKey names one series of aggregate cells: a survey version's
// question at one store (or All) and one channel (or All). Each series has
// a cell per local day and a roll-up per month.
type SeriesKey struct {
	Survey   string
	Version  int
	Question string
	Store    string
	Channel  string
}

// RollUps returns the four series a response at store and channel counts
// in: (store, channel), (store, All), (All, channel) and (All, All). A
// query then reads one series per store it names (or one for every store),
// never one per store and channel it did not ask to split.
func RollUps(store, channel string) [4][2]string {
	return [4][2]string{{store, channel}, {store, All}, {All, channel}, {All, All}}
}

type series struct {
	days   map[Day]*Tally
	months map[Month]*Tally
}

type questionKey struct{ survey, question string }

// Aggregates holds exact, mergeable aggregates in memory, kept by local
// day in one time zone (the brand's) with month roll-ups and store/channel
// roll-ups (RollUps). It is the reference the stored aggregates are held
// to, and what a scores query computes on once the cells are read. Not
// safe for concurrent use.
type Aggregates struct {
	zone   *time.Location
	series map[SeriesKey]*series
	// stores lists the stores with cells per survey question.
	stores map[questionKey]map[string]map[int]bool
}

// NewAggregates returns empty aggregates kept by local day in zone.
func NewAggregates(zone *time.Location) *Aggregates {
	return &Aggregates{zone: zone, series: map[SeriesKey]*series{}, stores: map[questionKey]map[string]map[int]bool{}}
}

// Zone is the time zone whose local days the aggregates are kept in.
func (a *Aggregates) Zone() *time.Location { return a.zone }

// Add counts one validated response of definition version d: every
// question's cell for the response's local day and its month roll-up, in
// each of the response's RollUps series.
func (a *Aggregates) Add(d Definition, r Response) {
	day := DayOf(r.At, a.zone)
	for q, t := range Contribution(d, r) {
		for _, sc := range RollUps(r.Store, r.Channel) {
			a.Merge(SeriesKey{Survey: d.ID, Version: d.Version, Question: q, Store: sc[0], Channel: sc[1]}, day, &t)
		}
	}
}

// Merge adds a tally to a series' day cell and to its month roll-up (what a
// store does in the response's transaction).
func (a *Aggregates) Merge(k SeriesKey, day Day, t *Tally) {
	s := a.seriesOf(k)
	cell := func(c *Tally) *Tally {
		if c == nil {
			c = &Tally{}
		}
		c.Merge(t)
		return c
	}
	s.days[day] = cell(s.days[day])
	m := day.Month()
	s.months[m] = cell(s.months[m])
}

// LoadDay puts a day cell read from a store into the aggregates as it is
// (its month roll-up is loaded apart, with LoadMonth), so a scores query
// can be computed on the cells a store read.
func (a *Aggregates) LoadDay(k SeriesKey, day Day, t Tally) {
	c := t.Clone()
	a.seriesOf(k).days[day] = &c
}

// LoadMonth puts a month roll-up read from a store into the aggregates.
func (a *Aggregates) LoadMonth(k SeriesKey, m Month, t Tally) {
	c := t.Clone()
	a.seriesOf(k).months[m] = &c
}

func (a *Aggregates) seriesOf(k SeriesKey) *series {
	s := a.series[k]
	if s == nil {
		s = &series{days: map[Day]*Tally{}, months: map[Month]*Tally{}}
		a.series[k] = s
		if k.Store != All {
			qk := questionKey{k.Survey, k.Question}
			if a.stores[qk] == nil {
				a.stores[qk] = map[string]map[int]bool{}
			}
			if a.stores[qk][k.Store] == nil {
				a.stores[qk][k.Store] = map[int]bool{}
			}
			a.stores[qk][k.Store][k.Version] = true
		}
	}
	return s
}

// Filter selects cells: the period [From, To) of local days, a store set
// (empty: every store) and a channel (empty: every channel).
type Filter struct {
	From, To Day
	Stores   []string
	Channel  string
}

// Query selects one question's cells across the given versions.
type Query struct {
	Survey   string
	Question string
	// Versions lists the versions to merge: one version, or those whose
	// question is unchanged (MergeableVersions).
	Versions []int
	Filter
}

// Series returns the keys of the series a query reads: per version, one
// per store of its store set (or the All-stores roll-up), on its channel
// (or the All-channels roll-up). Duplicate stores are read once.
func (q Query) Series() []SeriesKey {
	channel := q.Channel
	if channel == "" {
		channel = All
	}
	stores := []string{All}
	if len(q.Stores) > 0 {
		stores = slices.Clone(q.Stores)
		slices.Sort(stores)
		stores = slices.Compact(stores)
	}
	versions := slices.Clone(q.Versions)
	slices.Sort(versions)
	versions = slices.Compact(versions)
	out := make([]SeriesKey, 0, len(versions)*len(stores))
	for _, v := range versions {
		for _, st := range stores {
			out = append(out, SeriesKey{Survey: q.Survey, Version: v, Question: q.Question, Store: st, Channel: channel})
		}
	}
	return out
}

// Tally returns the exact tally of the query's cells: the month roll-ups of
// whole months inside the period and the days at its edges (Plan).
func (a *Aggregates) Tally(q Query) Tally {
	months, days := Plan(q.From, q.To)
	return a.tally(q, months, days)
}

// tally merges the query's series over a plan made for its period.
func (a *Aggregates) tally(q Query, months []Month, days []Day) Tally {
	var out Tally
	for _, k := range q.Series() {
		s := a.series[k]
		if s == nil {
			continue
		}
		for _, m := range months {
			if c := s.months[m]; c != nil {
				out.Merge(c)
			}
		}
		for _, d := range days {
			if c := s.days[d]; c != nil {
				out.Merge(c)
			}
		}
	}
	return out
}

// Stores returns the stores with cells for the question in the versions,
// sorted.
func (a *Aggregates) Stores(survey, question string, versions []int) []string {
	var out []string
	for st, vs := range a.stores[questionKey{survey, question}] {
		for _, v := range versions {
			if vs[v] {
				out = append(out, st)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// Versions returns the versions to merge for question at version v:
// v alone, or every version of history where the question is unchanged.
func Versions(history []Definition, question string, v int, across bool) []int {
	if !across {
		return []int{v}
	}
	return MergeableVersions(history, question, v)
}

// Scores returns the score of every nps, csat, ces and rating question of
// version v of a survey (history holds its versions), keyed by question
// id; across merges the versions where a question is unchanged.
func (a *Aggregates) Scores(history []Definition, v int, f Filter, across bool) map[string]Score {
	d, ok := version(history, v)
	if !ok {
		return nil
	}
	out := map[string]Score{}
	for _, q := range d.Questions {
		if !q.Kind.Scaled() {
			continue
		}
		t := a.Tally(Query{Survey: d.ID, Question: q.ID, Versions: Versions(history, q.ID, v, across), Filter: f})
		out[q.ID], _ = ScoreOf(q.Kind, &t, d.MinSample)
	}
	return out
}

func version(history []Definition, v int) (Definition, bool) {
	for _, d := range history {
		if d.Version == v {
			return d, true
		}
	}
	return Definition{}, false
}

// Drivers returns, for each dimension of version v, its mean and its
// correlation with the survey's NPS answers over the filter, sorted by
// correlation (strongest first; undefined and insufficient last).
func (a *Aggregates) Drivers(history []Definition, v int, f Filter, across bool) []Driver {
	d, ok := version(history, v)
	if !ok {
		return nil
	}
	byDim := map[string]*Tally{}
	kinds := map[string]Kind{}
	var dims []string
	for _, q := range d.Questions {
		if q.Dimension == "" || q.Kind == NPS {
			continue
		}
		t := a.Tally(Query{Survey: d.ID, Question: q.ID, Versions: Versions(history, q.ID, v, across), Filter: f})
		if byDim[q.Dimension] == nil {
			byDim[q.Dimension] = &Tally{}
			kinds[q.Dimension] = q.Kind
			dims = append(dims, q.Dimension)
		}
		byDim[q.Dimension].Merge(&t)
	}
	out := make([]Driver, 0, len(dims))
	for _, dim := range dims {
		out = append(out, DriverOf(dim, kinds[dim], byDim[dim], d.MinSample))
	}
	rank := func(x Driver) float64 {
		if x.Status != OK || x.Correlation != x.Correlation {
			return -2
		}
		return x.Correlation
	}
	slices.SortStableFunc(out, func(x, y Driver) int { return cmp.Compare(rank(y), rank(x)) })
	return out
}

// Granularity of a trend series.
type Granularity string

// Granularities. Weeks are ISO weeks (Monday first).
const (
	Daily   Granularity = "day"
	Weekly  Granularity = "week"
	Monthly Granularity = "month"
)

// Point is one bucket of a trend: its period [From, To) clipped to the
// query's, and the score over it.
type Point struct {
	From  Day   `json:"from"`
	To    Day   `json:"to"`
	Score Score `json:"score"`
}

// Buckets splits [from, to) into day, week or month buckets, the first
// and last clipped to the period.
func Buckets(from, to Day, g Granularity) [][2]Day {
	var out [][2]Day
	for d := from; d < to; {
		var next Day
		switch g {
		case Weekly:
			next = d.WeekStart() + 7
		case Monthly:
			next = d.Month().Next().First()
		default:
			next = d + 1
		}
		next = min(next, to)
		out = append(out, [2]Day{d, next})
		d = next
	}
	return out
}

// Trend returns the score of a question of kind k per bucket of the
// query's period.
func (a *Aggregates) Trend(q Query, k Kind, g Granularity, minSample int) []Point {
	var out []Point
	for _, b := range Buckets(q.From, q.To, g) {
		bq := q
		bq.From, bq.To = b[0], b[1]
		t := a.Tally(bq)
		s, _ := ScoreOf(k, &t, minSample)
		out = append(out, Point{From: b[0], To: b[1], Score: s})
	}
	return out
}

// Ranked is one store's place in a ranking.
type Ranked struct {
	Store string `json:"store"`
	// Rank is 1 for the best score; 0 for stores with too few answers.
	Rank  int   `json:"rank"`
	Score Score `json:"score"`
}

// Ranking scores a question of kind k per store over the query's period
// (its store set, or every store with cells) and sorts them best first
// (for every metric here a higher value is better); stores below the
// minimum sample follow, unranked, by store id.
func (a *Aggregates) Ranking(q Query, k Kind, minSample int) []Ranked {
	stores := q.Stores
	if len(stores) == 0 {
		stores = a.Stores(q.Survey, q.Question, q.Versions)
	}
	months, days := Plan(q.From, q.To)
	out := make([]Ranked, 0, len(stores))
	for _, st := range stores {
		sq := q
		sq.Stores = []string{st}
		t := a.tally(sq, months, days)
		s, _ := ScoreOf(k, &t, minSample)
		out = append(out, Ranked{Store: st, Score: s})
	}
	slices.SortStableFunc(out, func(x, y Ranked) int {
		xo, yo := x.Score.Status == OK, y.Score.Status == OK
		switch {
		case xo && !yo:
			return -1
		case !xo && yo:
			return 1
		case xo && x.Score.Value != y.Score.Value:
			return cmp.Compare(y.Score.Value, x.Score.Value)
		}
		return cmp.Compare(x.Store, y.Store)
	})
	for i := range out {
		if out[i].Score.Status == OK {
			out[i].Rank = i + 1
		}
	}
	return out
}

// StoreChange is one store's change against the previous period.
type StoreChange struct {
	Store      string     `json:"store"`
	Comparison Comparison `json:"comparison"`
}

// Previous returns the period of the same length just before [from, to).
func Previous(from, to Day) (Day, Day) { return from - (to - from), from }

// Changes compares each store's score over the query's period with its
// score over the previous period of the same length, and corrects for
// the many comparisons with Benjamini–Hochberg, so a chain of 50 stores
// does not "find" changes by chance.
func (a *Aggregates) Changes(q Query, k Kind, minSample int) []StoreChange {
	stores := q.Stores
	if len(stores) == 0 {
		stores = a.Stores(q.Survey, q.Question, q.Versions)
	}
	pq := q
	pq.From, pq.To = Previous(q.From, q.To)
	cm, cd := Plan(q.From, q.To)
	pm, pd := Plan(pq.From, pq.To)
	out := make([]StoreChange, 0, len(stores))
	cs := make([]Comparison, 0, len(stores))
	for _, st := range stores {
		cur, prev := q, pq
		cur.Stores, prev.Stores = []string{st}, []string{st}
		ct, pt := a.tally(cur, cm, cd), a.tally(prev, pm, pd)
		cs1, _ := ScoreOf(k, &ct, minSample)
		ps, _ := ScoreOf(k, &pt, minSample)
		cs = append(cs, Compare(ps, cs1))
		out = append(out, StoreChange{Store: st})
	}
	Correct(cs)
	for i := range out {
		out[i].Comparison = cs[i]
	}
	return out
}
