package dynamo

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/survey"
)

// ClosedAfter is how long after a local day its cells can still change:
// a response is counted on the day it was submitted, and its message may
// wait in the survey queue (4 days) and then in its dead-letter queue (14
// days) before it is scored; 21 days leaves a margin. Imported cells
// (PutSurveyCells) are the exception: an import into a closed period shows
// once cached entries expire.
const ClosedAfter = 21 * 24 * time.Hour

// SurveyCellCache keeps, per process, the cells a scores query read for
// periods that are closed (ended more than ClosedAfter ago): a warm
// function then reads only the recent cells of a year's query. Entries
// expire after TTL. Safe for concurrent use.
type SurveyCellCache struct {
	TTL time.Duration
	// MaxEntries bounds the cache (one entry per series and span read);
	// the oldest entries go first when it is full.
	MaxEntries int

	mu      sync.Mutex
	entries map[string]cachedCells
	order   []string
}

type cachedCells struct {
	items []map[string]types.AttributeValue
	until time.Time
}

// NewSurveyCellCache returns a cache whose entries live ttl.
func NewSurveyCellCache(ttl time.Duration, maxEntries int) *SurveyCellCache {
	return &SurveyCellCache{TTL: ttl, MaxEntries: maxEntries, entries: map[string]cachedCells{}}
}

func spanKey(table string, sp cellSpan) string {
	return fmt.Sprintf("%s|%s|%d|%s|%s|%s|%s|%s", table, sp.series.Survey, sp.series.Version, sp.series.Store, sp.series.Channel, sp.from, sp.to, sp.only)
}

// spanClosed reports whether every cell of a span is of a day that ended
// more than ClosedAfter before now (in the brand's zone).
func spanClosed(sp cellSpan, now time.Time, zone *time.Location) bool {
	f := strings.Split(sp.to, "#")
	if len(f) < 2 {
		return false
	}
	var last survey.Day
	switch f[0] {
	case "D":
		d, err := survey.ParseDay(f[1])
		if err != nil {
			return false
		}
		last = d
	case "M":
		d, err := survey.ParseDay(f[1] + "-01")
		if err != nil {
			return false
		}
		last = d.Month().Next().First() - 1
	default:
		return false
	}
	return (last + 1).Start(zone).Add(ClosedAfter).Before(now)
}

func (c *SurveyCellCache) get(key string, now time.Time) ([]map[string]types.AttributeValue, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.until) {
		return nil, false
	}
	return e.items, true
}

func (c *SurveyCellCache) put(key string, items []map[string]types.AttributeValue, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedCells{}
	}
	if _, ok := c.entries[key]; !ok {
		c.order = append(c.order, key)
	}
	c.entries[key] = cachedCells{items: items, until: now.Add(c.TTL)}
	for c.MaxEntries > 0 && len(c.order) > c.MaxEntries {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
}
