package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/fault"
	"clientele/shared/member"
	"clientele/shared/points"
	"clientele/shared/segment"
)

// PopulationStats is the points statistics a generated member's purchase
// history leaves (segment/membergen): the window spend lands in the as-of
// month, so Stats.WindowSpend(asOf, months) returns it for any window.
func PopulationStats(m *segment.Member, asOf time.Time) points.Stats {
	st := points.Stats{V: points.StatsVersion}
	if m.PurchaseDays <= 0 {
		return st
	}
	st.FirstPurchaseAt, st.LastPurchaseAt = m.FirstPurchaseAt.UTC(), m.LastPurchaseAt.UTC()
	st.FirstOrderAt, st.LastOrderAt = st.FirstPurchaseAt, st.LastPurchaseAt
	st.LifetimeSpend, st.NetSpend, st.PurchaseDays = m.LifetimeSpend, m.NetSpend, m.PurchaseDays
	st.FoldedDays, st.FoldedFirstAt, st.FoldedLastAt = m.PurchaseDays, st.FirstPurchaseAt, st.LastPurchaseAt
	st.FoldedThrough = st.LastPurchaseAt.Format(time.DateOnly)
	st.TotalOrders = int64(m.PurchaseDays)
	st.Spend = map[string]int64{asOf.UTC().Format("2006-01"): m.WindowSpend}
	return st
}

// LoadPopulation writes generated members straight into the members and
// points tables, as signups and the points worker would have left them: an
// active profile registered at RegisteredAt whose profiling consent is
// refused when ProfilingConsent is false, and, for buyers, a points account
// in the base tier carrying PopulationStats. For tests, benchmarks and
// `make seed`; 25 items per BatchWriteItem.
func LoadPopulation(ctx context.Context, c *dynamodb.Client, membersTable, pointsTable string, ms []segment.Member, asOf time.Time) error {
	policy := points.DefaultPolicy()
	var profiles, accounts []types.WriteRequest
	for i := range ms {
		m := &ms[i]
		p := member.Member{ID: m.ID, Status: member.Active, SignupChannel: member.ChannelApp, CreatedAt: m.RegisteredAt.UTC(),
			UpdatedAt: m.RegisteredAt.UTC(), Version: 1, Consents: []member.Consent{{Purpose: member.Profiling, Channel: member.AnyChannel,
				Granted: m.ProfilingConsent, Source: "seed", UpdatedAt: m.RegisteredAt.UTC()}}}
		item, err := attributevalue.MarshalMap(toRecord(p))
		if err != nil {
			return fault.Wrap(fault.Internal, err, "marshal member")
		}
		profiles = append(profiles, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if m.PurchaseDays <= 0 {
			continue
		}
		a := points.NewAccount(m.ID, policy, m.RegisteredAt)
		a.Stats = PopulationStats(m, asOf)
		rec, err := toAccountRecord(a)
		if err != nil {
			return fault.Wrap(fault.Internal, err, "encode account")
		}
		item, err = attributevalue.MarshalMap(rec)
		if err != nil {
			return fault.Wrap(fault.Internal, err, "marshal account")
		}
		accounts = append(accounts, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	if err := writeAll(ctx, c, membersTable, profiles); err != nil {
		return err
	}
	return writeAll(ctx, c, pointsTable, accounts)
}

func writeAll(ctx context.Context, c *dynamodb.Client, table string, reqs []types.WriteRequest) error {
	s := &SegmentationStore{Client: c, Table: table}
	return s.batchWrite(ctx, reqs, "load population into "+table)
}
