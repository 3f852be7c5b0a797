package topology

import "time"

// Logical table names.
const (
	MembersTable = "members"
)

// Logical queue names.
const (
	// PointsEvents carries events the points worker acts on (welcome bonus,
	// erasure scrubbing). Its consumer arrives with the points ledger.
	PointsEvents = "points-events"
)

// Event types published between domains.
const (
	MemberRegistered = "member.registered"
	MemberErased     = "member.erased"
)

// Clientele is the deployed system.
func Clientele() System {
	return System{
		Tables: []Table{{
			Name:         MembersTable,
			PartitionKey: Key{Name: "pk", Type: String},
			SortKey:      &Key{Name: "sk", Type: String},
			TTLAttribute: "expires_at",
		}},
		Functions: []Function{{
			Name:         "members-api",
			Entry:        "functions/members/api",
			Description:  "Member signup, profile, consents, erasure and export",
			MemoryMB:     256,
			Timeout:      10 * time.Second,
			Architecture: ARM64,
			WritesTables: []string{MembersTable},
			Publishes:    []string{MemberRegistered, MemberErased},
		}, {
			Name:         "outbox-relay",
			Entry:        "functions/outbox/relay",
			Description:  "Publishes events left in table outboxes by functions that stopped between commit and send",
			MemoryMB:     128,
			Timeout:      60 * time.Second,
			Architecture: ARM64,
			WritesTables: []string{MembersTable},
			Publishes:    []string{MemberRegistered, MemberErased},
		}},
		Schedules: []Schedule{{
			Name:     "outbox-relay",
			Cron:     "* * * * *",
			Function: "outbox-relay",
			Payload:  `{"source":"schedule"}`,
		}},
		Routes: []Route{
			{Method: "POST", Path: "/v1/members", Function: "members-api", Callers: []Caller{Service, Staff}},
			{Method: "GET", Path: "/v1/members/{id}", Function: "members-api", Callers: []Caller{Member, Staff}},
			{Method: "PATCH", Path: "/v1/members/{id}", Function: "members-api", Callers: []Caller{Member, Staff}},
			{Method: "DELETE", Path: "/v1/members/{id}", Function: "members-api", Callers: []Caller{Member, Staff}},
			{Method: "PUT", Path: "/v1/members/{id}/consents", Function: "members-api", Callers: []Caller{Member, Staff}},
			{Method: "GET", Path: "/v1/members/{id}/export", Function: "members-api", Callers: []Caller{Member, Staff}},
		},
		Queues: []Queue{{
			Name:            PointsEvents,
			Subscribes:      []string{MemberRegistered, MemberErased},
			BatchSize:       10,
			MaxReceiveCount: 5,
			Retention:       14 * 24 * time.Hour,
			DLQRetention:    14 * 24 * time.Hour,
		}},
	}
}
