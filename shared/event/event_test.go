package event_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"clientele/shared/event"
)

var at = time.Date(2024, 6, 1, 20, 0, 0, 123_000_000, time.FixedZone("CST", 8*3600))

func TestNewParseRoundTrip(t *testing.T) {
	t.Parallel()
	data := event.MemberRegistered{MemberID: "01HZX", SignupChannel: "app", ReferredBy: "01HZR", RegisteredAt: at.UTC()}
	e, err := event.New(event.TypeMemberRegistered, "members-api", at, data)
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != event.TypeMemberRegistered || e.Source != "members-api" || e.Version != 1 {
		t.Errorf("envelope = %+v", e)
	}
	if !e.OccurredAt.Equal(at) || e.OccurredAt.Location() != time.UTC {
		t.Errorf("OccurredAt = %v, want %v in UTC", e.OccurredAt, at)
	}
	id, err := ulid.ParseStrict(e.ID)
	if err != nil {
		t.Fatalf("ID %q is not a ULID: %v", e.ID, err)
	}
	if got := ulid.Time(id.Time()); !got.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("ID time = %v, want %v", got, at)
	}
	body, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"id"`, `"type"`, `"version"`, `"occurred_at"`, `"source"`, `"data"`} {
		if !strings.Contains(string(body), k) {
			t.Errorf("wire form lacks %s: %s", k, body)
		}
	}
	got, err := event.Parse(body)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got.ID != e.ID || got.Type != e.Type || got.Version != e.Version || !got.OccurredAt.Equal(e.OccurredAt) || got.Source != e.Source {
		t.Errorf("Parse = %+v, want %+v", got, e)
	}
	var back event.MemberRegistered
	if err := json.Unmarshal(got.Data, &back); err != nil {
		t.Fatal(err)
	}
	if back != data {
		t.Errorf("data = %+v, want %+v", back, data)
	}
}

func TestNewRejectsUnencodableData(t *testing.T) {
	t.Parallel()
	_, err := event.New("x.y", "test", at, map[string]any{"f": func() {}})
	if err == nil || !strings.Contains(err.Error(), "x.y") {
		t.Fatalf("New with a func = %v, want an error naming the type", err)
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	valid := map[string]any{
		"id": "01J0000000000000000000000A", "type": "member.erased", "version": 1,
		"occurred_at": "2024-06-01T12:00:00Z", "source": "members-api",
		"data": map[string]any{"member_id": "m1"},
	}
	without := func(k string) []byte {
		m := map[string]any{}
		for kk, v := range valid {
			if kk != k {
				m[kk] = v
			}
		}
		b, _ := json.Marshal(m)
		return b
	}
	with := func(k string, v any) []byte {
		m := map[string]any{}
		for kk, vv := range valid {
			m[kk] = vv
		}
		m[k] = v
		b, _ := json.Marshal(m)
		return b
	}
	if _, err := event.Parse(with("id", valid["id"])); err != nil {
		t.Fatalf("valid envelope refused: %v", err)
	}
	cases := map[string][]byte{
		"not JSON":        []byte("member.erased"),
		"empty":           nil,
		"array":           []byte("[]"),
		"no id":           without("id"),
		"empty id":        with("id", ""),
		"no type":         without("type"),
		"empty type":      with("type", ""),
		"no version":      without("version"),
		"version zero":    with("version", 0),
		"negative":        with("version", -1),
		"version string":  with("version", "1"),
		"no data":         without("data"),
		"bad occurred_at": with("occurred_at", "yesterday"),
	}
	for name, body := range cases {
		if e, err := event.Parse(body); err == nil {
			t.Errorf("%s: Parse(%s) = %+v, want an error", name, body, e)
		}
	}
}

// TestParseRejectsNullData: "data": null carries no event; a consumer that
// unmarshals it gets a zero struct (member_id ""), so Parse must treat it as
// missing, like an absent data member.
func TestParseRejectsNullData(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"01J0000000000000000000000A","type":"member.erased","version":1,"occurred_at":"2024-06-01T12:00:00Z","source":"members-api","data":null}`)
	if e, err := event.Parse(body); err == nil {
		t.Errorf("Parse accepted data null: %+v", e)
	}
}

func TestNewIDIsTimeSortable(t *testing.T) {
	t.Parallel()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 200 {
		ids = append(ids, event.NewID(base.Add(time.Duration(i)*time.Millisecond*37)))
	}
	if !slices.IsSorted(ids) {
		t.Fatalf("ids for increasing times are not sorted: %q", ids)
	}
	// Across years and a zone change, order follows the instant.
	times := []time.Time{
		time.Date(2023, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		time.Date(2024, 1, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600)), // 2024-01-01T00:00:00Z
		time.Date(2024, 1, 1, 0, 0, 0, 1_000_000, time.UTC),
		time.Date(2031, 7, 4, 0, 0, 0, 0, time.UTC),
	}
	var prev string
	for _, tm := range times {
		id := event.NewID(tm)
		if len(id) != 26 {
			t.Fatalf("NewID = %q, want 26 characters", id)
		}
		if prev != "" && id <= prev {
			t.Errorf("NewID(%v) = %s sorts before %s", tm, id, prev)
		}
		prev = id
	}
}

func TestNewIDIsUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 10000 {
		id := event.NewID(at)
		if seen[id] {
			t.Fatalf("duplicate id %s for the same instant", id)
		}
		seen[id] = true
	}
}
