package segment

import (
	"time"

	"clientele/shared/points"
)

// MemberOf adapts a member and the purchase statistics the points worker
// keeps (nil without a points account) to what segmentation reads.
// consent is false for a member who refused profiling or was erased (no
// result; a stored one is removed). WindowSpend covers the windowMonths
// UTC months ending with asOf's month (points.Stats.WindowSpend).
func MemberOf(id string, registeredAt time.Time, consent bool, st *points.Stats, asOf time.Time, windowMonths int) Member {
	m := Member{ID: id, RegisteredAt: registeredAt, ProfilingConsent: consent}
	if st != nil && st.PurchaseDays > 0 && !st.FirstPurchaseAt.IsZero() && !st.LastPurchaseAt.IsZero() {
		m.FirstPurchaseAt, m.LastPurchaseAt = st.FirstPurchaseAt, st.LastPurchaseAt
		m.PurchaseDays = st.PurchaseDays
		m.NetSpend, m.LifetimeSpend = st.NetSpend, st.LifetimeSpend
		m.WindowSpend = st.WindowSpend(asOf, windowMonths)
	}
	return m
}
