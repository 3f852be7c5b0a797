package feedback

import "sync"

// Engines memoises compiled rulesets by version, so a function that reads
// the ruleset in force on every request or batch compiles each version
// once. A version is never reused for other rules (the store refuses it),
// so the version is a sound key. Safe for concurrent use.
type Engines struct {
	mu   sync.Mutex
	byID map[string]*Engine
}

// maxCachedEngines bounds the memo; a brand edits rules a few times a day.
const maxCachedEngines = 16

// For returns the compiled engine of rs (the default ruleset's engine for
// the default version).
func (e *Engines) For(rs Ruleset) (*Engine, error) {
	if rs.Version == DefaultEngine().Version() {
		return DefaultEngine(), nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if eng, ok := e.byID[rs.Version]; ok {
		return eng, nil
	}
	eng, err := Compile(rs)
	if err != nil {
		return nil, err
	}
	if e.byID == nil || len(e.byID) >= maxCachedEngines {
		e.byID = map[string]*Engine{}
	}
	e.byID[rs.Version] = eng
	return eng, nil
}
