package main

import (
	"context"

	"clientele/shared/fault"
	"clientele/shared/segment"
)

// SegmentationReader is what the export reads of the segmentation domain
// (dynamo.SegmentationStore).
type SegmentationReader interface {
	// Result is the member's stored result; fault.NotFound when none.
	Result(ctx context.Context, memberID string) (segment.Result, error)
}

// segmentationExport is the member's segmentation result with its
// reasons; nil when the member has none (never scored, refused profiling
// or erased: segmentation removes the result).
func (h *Handler) segmentationExport(ctx context.Context, id string) (*segment.Result, error) {
	r, err := h.Segmentation.Result(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}
