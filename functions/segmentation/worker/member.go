package main

import (
	"time"

	"clientele/shared/dynamo"
	"clientele/shared/segment"
)

// toMember adapts what the reader joined (segment.MemberOf): an erased
// member, or one who refused profiling, has no consent.
func toMember(ms *dynamo.MemberStats, asOf time.Time, windowMonths int) segment.Member {
	return segment.MemberOf(ms.ID, ms.RegisteredAt, !ms.Erased && !ms.ProfilingRefused, ms.Stats, asOf, windowMonths)
}
