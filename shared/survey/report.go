package survey

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"clientele/shared/fault"
)

// MaxQueryStores bounds the store set of one scores query.
const MaxQueryStores = 100

// MaxDailyBuckets bounds a daily trend.
const MaxDailyBuckets = 400

// ScoresQuery is a parsed GET /v1/surveys/{id}/scores.
type ScoresQuery struct {
	Filter
	// Version is the version whose questions are scored (default: the
	// latest); Across merges the versions where a question is unchanged
	// (default true).
	Version int
	Across  bool
	// Dimension restricts scores and drivers to one dimension.
	Dimension string
	// Question is the headline question of the trend, ranking and changes
	// (default: the NPS question, else the first scale question).
	Question    string
	Granularity Granularity
}

// ParseScoresQuery parses the query parameters of a scores request:
// from, to (YYYY-MM-DD, to exclusive), tz, store (comma-separated ids),
// channel, dimension, version, across_versions (true/false), question and
// granularity (day, week, month). history holds the survey's versions;
// zone is the brand's time zone. Every invalid parameter is reported.
func ParseScoresQuery(params map[string]string, history []Definition, zone *time.Location) (ScoresQuery, error) {
	var fs fault.Fields
	q := ScoresQuery{Across: true, Granularity: Monthly}
	from, to, err := ParsePeriod(params["from"], params["to"], params["tz"], zone)
	if e, ok := fault.As(err); ok {
		for _, f := range e.Fields {
			fs.Add(f.Field, f.Reason)
		}
	}
	q.From, q.To = from, to
	if s := params["store"]; s != "" {
		ids := strings.Split(s, ",")
		if len(ids) > MaxQueryStores {
			fs.Add("store", fmt.Sprintf("at most %d stores", MaxQueryStores))
		}
		for _, id := range ids {
			if !storeID.MatchString(id) {
				fs.Add("store", fmt.Sprintf("%q is not a store id", id))
				break
			}
		}
		q.Stores = ids
	}
	if c := params["channel"]; c != "" {
		if !slices.Contains(Channels, c) {
			fs.Add("channel", "must be store, online, app or social")
		}
		q.Channel = c
	}
	latest := 0
	for _, d := range history {
		latest = max(latest, d.Version)
	}
	q.Version = latest
	if v := params["version"]; v != "" {
		n, err := strconv.Atoi(v)
		if _, ok := version(history, n); err != nil || !ok {
			fs.Add("version", fmt.Sprintf("must be a version of the survey, 1 to %d", latest))
		} else {
			q.Version = n
		}
	}
	if a := params["across_versions"]; a != "" {
		b, err := strconv.ParseBool(a)
		if err != nil {
			fs.Add("across_versions", "must be true or false")
		}
		q.Across = b
	}
	d, _ := version(history, q.Version)
	if dim := params["dimension"]; dim != "" {
		if !slices.ContainsFunc(d.Questions, func(x Question) bool { return x.Dimension == dim }) {
			fs.Add("dimension", "no question of this survey version measures "+strconv.Quote(dim))
		}
		q.Dimension = dim
	}
	q.Question = d.NPSQuestion()
	if q.Question == "" {
		for _, x := range d.Questions {
			if x.Kind.Scaled() {
				q.Question = x.ID
				break
			}
		}
	}
	if id := params["question"]; id != "" {
		if x, ok := d.Question(id); !ok || !x.Kind.Scaled() {
			fs.Add("question", "must be an nps, csat, ces or rating question of this survey version")
		}
		q.Question = id
	}
	if g := params["granularity"]; g != "" {
		q.Granularity = Granularity(g)
		if g != string(Daily) && g != string(Weekly) && g != string(Monthly) {
			fs.Add("granularity", "must be day, week or month")
		} else if q.Granularity == Daily && q.To-q.From > MaxDailyBuckets {
			fs.Add("granularity", fmt.Sprintf("a daily trend covers at most %d days", MaxDailyBuckets))
		}
	}
	if err := fs.Err(); err != nil {
		return ScoresQuery{}, err
	}
	return q, nil
}

// QuestionScore is one question's score in a report.
type QuestionScore struct {
	Question  string `json:"question"`
	Kind      Kind   `json:"kind"`
	Dimension string `json:"dimension,omitempty"`
	// Versions are the versions merged into the score.
	Versions []int `json:"versions"`
	Score    Score `json:"score"`
}

// Report is the body of a scores response.
type Report struct {
	Survey   string          `json:"survey"`
	Version  int             `json:"version"`
	From     Day             `json:"from"`
	To       Day             `json:"to"`
	TimeZone string          `json:"tz"`
	Stores   []string        `json:"stores,omitempty"`
	Channel  string          `json:"channel,omitempty"`
	Scores   []QuestionScore `json:"scores"`
	Drivers  []Driver        `json:"drivers"`
	// Headline is the question of the trend, ranking and changes.
	Headline    string      `json:"headline"`
	Granularity Granularity `json:"granularity"`
	Trend       []Point     `json:"trend"`
	Ranking     []Ranked    `json:"ranking"`
	// Change compares the period with the previous one of the same length.
	Change Comparison `json:"change"`
	// StoreChanges compare each store with its previous period, corrected
	// for multiple comparisons (Benjamini–Hochberg).
	StoreChanges []StoreChange `json:"store_changes"`
}

// Report computes everything a scores request returns.
func (a *Aggregates) Report(history []Definition, q ScoresQuery) Report {
	d, _ := version(history, q.Version)
	r := Report{Survey: d.ID, Version: d.Version, From: q.From, To: q.To, TimeZone: a.zone.String(),
		Stores: q.Stores, Channel: q.Channel, Headline: q.Question, Granularity: q.Granularity,
		Scores: []QuestionScore{}, Drivers: []Driver{}}
	for _, x := range d.Questions {
		if !x.Kind.Scaled() || (q.Dimension != "" && x.Dimension != q.Dimension) {
			continue
		}
		vs := Versions(history, x.ID, d.Version, q.Across)
		t := a.Tally(Query{Survey: d.ID, Question: x.ID, Versions: vs, Filter: q.Filter})
		s, _ := ScoreOf(x.Kind, &t, d.MinSample)
		r.Scores = append(r.Scores, QuestionScore{Question: x.ID, Kind: x.Kind, Dimension: x.Dimension, Versions: vs, Score: s})
	}
	for _, dr := range a.Drivers(history, d.Version, q.Filter, q.Across) {
		if q.Dimension == "" || dr.Dimension == q.Dimension {
			r.Drivers = append(r.Drivers, dr)
		}
	}
	h, ok := d.Question(q.Question)
	if !ok {
		return r
	}
	hq := Query{Survey: d.ID, Question: h.ID, Versions: Versions(history, h.ID, d.Version, q.Across), Filter: q.Filter}
	r.Trend = a.Trend(hq, h.Kind, q.Granularity, d.MinSample)
	r.Ranking = a.Ranking(hq, h.Kind, d.MinSample)
	pq := hq
	pq.From, pq.To = Previous(q.From, q.To)
	ct, pt := a.Tally(hq), a.Tally(pq)
	cur, _ := ScoreOf(h.Kind, &ct, d.MinSample)
	prev, _ := ScoreOf(h.Kind, &pt, d.MinSample)
	r.Change = Compare(prev, cur)
	r.StoreChanges = a.Changes(hq, h.Kind, d.MinSample)
	return r
}
