package main

import (
	"context"
	"encoding/csv"
	"log/slog"
	"time"

	"clientele/shared/bucket"
	"clientele/shared/dynamo"
	"clientele/shared/fault"
	"clientele/shared/segment"
)

// ExportStore is what writing an export reads and records
// (dynamo.SegmentationStore).
type ExportStore interface {
	Export(ctx context.Context, id string) (dynamo.ExportRecord, error)
	FinishExport(ctx context.Context, id string, rows int, bytes int64, at time.Time) error
	SegmentMembers(ctx context.Context, seg segment.Segment, after string, limit int32) ([]segment.Result, string, error)
}

// Exporter writes segment exports that segmentation-api requested: every
// member of the segment as CSV (the columns of the API's text/csv list),
// uploaded in parts to the export's key as it is read. A redelivered
// request writes the same object again, or nothing once the export
// succeeded. The worker's 15 minutes are the limit: at DynamoDB's speed
// several million rows.
type Exporter struct {
	Store  ExportStore
	Bucket *bucket.Store
	Log    *slog.Logger
	Now    func() time.Time
}

// Write writes export id.
func (x *Exporter) Write(ctx context.Context, id string) error {
	rec, err := x.Store.Export(ctx, id)
	if fault.Is(err, fault.NotFound) {
		x.Log.WarnContext(ctx, "dropping a request for an unknown export", "export", id)
		return nil
	}
	if err != nil || rec.Status == dynamo.ExportSucceeded {
		return err
	}
	w := x.Bucket.Create(ctx, rec.Key, "text/csv; charset=utf-8")
	cw := csv.NewWriter(w)
	rows, after := 0, ""
	for first := true; ; first = false {
		list, next, err := x.Store.SegmentMembers(ctx, segment.Segment(rec.Segment), after, 1000)
		if err != nil {
			_ = w.Abort()
			return err
		}
		if err := segment.WriteCSV(cw, list, first); err != nil {
			_ = w.Abort()
			return fault.Wrap(fault.Unavailable, err, "write export %s", id)
		}
		rows += len(list)
		if after = next; next == "" {
			break
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	now := time.Now()
	if x.Now != nil {
		now = x.Now()
	}
	if err := x.Store.FinishExport(ctx, id, rows, w.Size, now); err != nil {
		return err
	}
	x.Log.InfoContext(ctx, "segment exported", "export", id, "segment", rec.Name, "rows", rows, "bytes", w.Size, "key", rec.Key)
	return nil
}
