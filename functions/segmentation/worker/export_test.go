package main

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"clientele/shared/bucket/buckettest"
	"clientele/shared/dynamo"
	"clientele/shared/event"
	"clientele/shared/segment"
)

// A requested export is written once as the segment's CSV (a row per
// member of the segment, as the segment lists give them) and recorded
// succeeded; a redelivered request leaves it as it is, and a request for
// an unknown export is dropped.
func TestExportRequestWritesTheSegment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := time.Date(2026, 11, 30, 18, 40, 0, 0, time.UTC)
	f, _ := newFixture(t, 600, start.Add(-time.Hour))
	f.run(t, start, 9, 0)
	store := &dynamo.SegmentationStore{Client: db, Table: f.seg}
	bkt := buckettest.New(t, "exports")
	h := &Handler{Engine: &fakeRuns{}, Eraser: store, Log: quiet,
		Exports: &Exporter{Store: store, Bucket: bkt, Log: quiet, Now: func() time.Time { return start.Add(time.Hour) }}}
	want := 0
	for _, r := range f.stored(t) {
		if r.RFMSegment == segment.Champions {
			want++
		}
	}
	if want < 2 {
		t.Fatalf("only %d champions in the population", want)
	}
	rec := dynamo.ExportRecord{ID: "01EXPORTTEST0000000000000A", Name: "champions", Segment: string(segment.Champions),
		Key: "segments/champions/2026-12-01/x.csv", RequestedAt: start}
	ev, _ := event.New(event.TypeSegmentExportRequested, "segmentation-api", start, event.SegmentExportRequested{ExportID: rec.ID})
	if err := store.CreateExport(ctx, rec, ev); err != nil {
		t.Fatal(err)
	}
	unknown, _ := event.New(event.TypeSegmentExportRequested, "segmentation-api", start, event.SegmentExportRequested{ExportID: "01NOSUCHEXPORT"})
	batch := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "x1", Body: mustJSON(t, ev)}, {MessageId: "x2", Body: mustJSON(t, unknown)}}}
	if resp := h.Messages(ctx, batch); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %+v", resp.BatchItemFailures)
	}
	done, err := store.Export(ctx, rec.ID)
	if err != nil || done.Status != dynamo.ExportSucceeded || done.Rows != want || !done.FinishedAt.Equal(start.Add(time.Hour)) {
		t.Fatalf("export after the request: %+v %v, want %d rows", done, err, want)
	}
	url, _, err := bkt.Link(ctx, rec.Key, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil || len(rows) != want+1 || strings.Join(rows[0], ",") != strings.Join(segment.CSVColumns, ",") || int64(len(raw)) != done.Bytes {
		t.Fatalf("object: %d rows (%v), %d bytes, record %d bytes", len(rows), err, len(raw), done.Bytes)
	}
	for _, row := range rows[1:] {
		if row[5] != string(segment.Champions) {
			t.Errorf("row of another segment: %v", row)
		}
	}
	// Redelivered: nothing is written again, the record stays.
	h.Exports.Now = func() time.Time { return start.Add(2 * time.Hour) }
	if resp := h.Messages(ctx, batch); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery failures %+v", resp.BatchItemFailures)
	}
	if again, err := store.Export(ctx, rec.ID); err != nil || again != done {
		t.Errorf("record after a redelivery: %+v %v", again, err)
	}
}
