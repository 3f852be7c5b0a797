package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// state is what earlier runs of one seed loaded, kept in
// <data>/seed-<seed>.json next to the stack's data.
type state struct {
	Seed  uint64    `json:"seed"`
	Until time.Time `json:"until"`
	// Members maps demodata.Member.Key to what was loaded for it.
	Members map[string]*memberState `json:"members"`

	mu sync.Mutex
}

// memberState records one member's progress; a later run skips what is done.
type memberState struct {
	ID           string `json:"id,omitempty"`
	ReferralCode string `json:"referral_code,omitempty"`
	// Skipped says the member could not be signed up (its email or phone
	// was already registered, by a run whose state was lost).
	Skipped     bool `json:"skipped,omitempty"`
	Purchases   bool `json:"purchases,omitempty"`
	Returns     bool `json:"returns,omitempty"`
	Redemptions bool `json:"redemptions,omitempty"`
	Adjustments bool `json:"adjustments,omitempty"`
}

func loadState(path string, seed uint64) (*state, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &state{Seed: seed, Members: map[string]*memberState{}}, nil
	}
	if err != nil {
		return nil, err
	}
	st := &state{}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to start over)", path, err)
	}
	if st.Seed != seed {
		return nil, fmt.Errorf("%s holds seed %d, not %d", path, st.Seed, seed)
	}
	if st.Members == nil {
		st.Members = map[string]*memberState{}
	}
	return st, nil
}

// member returns the record of a member, creating it.
func (s *state) member(key string) *memberState {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.Members[key]
	if !ok {
		m = &memberState{}
		s.Members[key] = m
	}
	return m
}

// update changes a member's record under the state's lock.
func (s *state) update(key string, change func(m *memberState)) {
	m := s.member(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	change(m)
}

// read returns a copy of a member's record.
func (s *state) read(key string) memberState {
	m := s.member(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	return *m
}

// save writes the state atomically (a temporary file renamed over it).
func (s *state) save(path string) error {
	s.mu.Lock()
	raw, err := json.MarshalIndent(s, "", "  ")
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
