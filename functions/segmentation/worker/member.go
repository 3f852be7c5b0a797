package main

import (
	"time"

	"clientele/shared/dynamo"
	"clientele/shared/segment"
)

// toMember adapts a member and their points statistics to what
// segmentation reads. An erased member, or one who refused profiling, has
// no consent (segment.Scorer gives them no result and the run removes any
// stored one). WindowSpend covers the windowMonths UTC months ending with
// the run's as-of month.
func toMember(ms *dynamo.MemberStats, asOf time.Time, windowMonths int) segment.Member {
	m := segment.Member{ID: ms.ID, RegisteredAt: ms.RegisteredAt, ProfilingConsent: !ms.Erased && !ms.ProfilingRefused}
	if s := ms.Stats; s != nil && s.PurchaseDays > 0 && !s.FirstPurchaseAt.IsZero() && !s.LastPurchaseAt.IsZero() {
		m.FirstPurchaseAt, m.LastPurchaseAt = s.FirstPurchaseAt, s.LastPurchaseAt
		m.PurchaseDays = s.PurchaseDays
		m.NetSpend, m.LifetimeSpend = s.NetSpend, s.LifetimeSpend
		m.WindowSpend = s.WindowSpend(asOf, windowMonths)
	}
	return m
}
