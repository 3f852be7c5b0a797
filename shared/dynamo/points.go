package dynamo

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/fault"
	"clientele/shared/points"
)

// Item layout of the points table:
//
//	ACCOUNT#<member>  ACCOUNT        balance cache, open lots, tier, statistics
//	ACCOUNT#<member>  ENTRY#<ulid>   the append-only ledger
//	ORDER#<order id>  ORDER          a processed purchase and what returns took
//	SEEN#<source id>  SEEN           source ids applied (returns, events, bonuses)
//	IDEM#<key>        IDEM           idempotency records
//	RECEIPTS#<member> <key>          the member's idempotency records (erasure)
//	OUTBOX            <event id>     events not yet published

type accountRecord struct {
	PK             string    `dynamodbav:"pk"`
	SK             string    `dynamodbav:"sk"`
	MemberID       string    `dynamodbav:"member_id"`
	Available      int64     `dynamodbav:"available"`
	Pending        int64     `dynamodbav:"pending"`
	Debt           int64     `dynamodbav:"debt"`
	LifetimeEarned int64     `dynamodbav:"lifetime_earned"`
	Tier           string    `dynamodbav:"tier"`
	TierSince      time.Time `dynamodbav:"tier_since"`
	// BelowSince is absent while the member is not below their tier
	// (a pointer: omitempty keeps a zero time.Time).
	BelowSince   *time.Time `dynamodbav:"below_since,omitempty"`
	ReferredBy   string     `dynamodbav:"referred_by,omitempty"`
	ReferralPaid bool       `dynamodbav:"referral_paid,omitempty"`
	NightlyDone  string     `dynamodbav:"nightly_done,omitempty"`
	CreatedAt    time.Time  `dynamodbav:"created_at"`
	Version      int64      `dynamodbav:"version"`
	// State holds the open lots, tier history, qualifying buckets and
	// statistics: JSON compressed with DEFLATE, which keeps the item (read
	// and rewritten by every change) near 1 KB for a typical member.
	State []byte `dynamodbav:"state"`
	// SegShard and Facts put the account's purchase facts in
	// segmentation's stats-by-shard index (segmentation_shard.go).
	SegShard int    `dynamodbav:"seg_shard"`
	Facts    []byte `dynamodbav:"seg_facts"`
}

type accountState struct {
	Lots        []points.Lot        `json:"lots,omitempty"`
	TierHistory []points.TierChange `json:"tier_history,omitempty"`
	Qualifying  map[string]int64    `json:"qualifying,omitempty"`
	Stats       points.Stats        `json:"stats"`
}

type entryRecord struct {
	PK    string `dynamodbav:"pk"`
	SK    string `dynamodbav:"sk"`
	Entry string `dynamodbav:"entry"`
}

type orderRecord struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Member  string `dynamodbav:"member_id"`
	Version int64  `dynamodbav:"version"`
	Order   string `dynamodbav:"order"`
	// Fingerprint is points.OrderFingerprint of the purchase that created
	// the order.
	Fingerprint string `dynamodbav:"fingerprint,omitempty"`
}

type seenRecord struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	At int64  `dynamodbav:"at"`
	// Fingerprint is the content fingerprint of what the source id
	// applied (returns), when known.
	Fingerprint string `dynamodbav:"fingerprint,omitempty"`
}

func accountPK(member string) string { return "ACCOUNT#" + member }

// PointsStore implements points.Store.
type PointsStore struct {
	Client *dynamodb.Client
	Table  string
	Policy points.Policy
	Now    func() time.Time
}

var _ points.Store = (*PointsStore)(nil)

func (s *PointsStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func toAccountRecord(a *points.Account) (accountRecord, error) {
	raw, err := json.Marshal(accountState{Lots: a.Lots, TierHistory: a.TierHistory, Qualifying: a.Qualifying, Stats: a.Stats})
	if err != nil {
		return accountRecord{}, err
	}
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestCompression)
	if _, err := zw.Write(raw); err != nil {
		return accountRecord{}, err
	}
	if err := zw.Close(); err != nil {
		return accountRecord{}, err
	}
	st := buf.Bytes()
	var below *time.Time
	if !a.BelowSince.IsZero() {
		below = &a.BelowSince
	}
	return accountRecord{PK: accountPK(a.MemberID), SK: "ACCOUNT", MemberID: a.MemberID, Available: a.Available, Pending: a.Pending,
		Debt: a.Debt, LifetimeEarned: a.LifetimeEarned, Tier: a.Tier, TierSince: a.TierSince, BelowSince: below,
		ReferredBy: a.ReferredBy, ReferralPaid: a.ReferralPaid, NightlyDone: a.NightlyDone, CreatedAt: a.CreatedAt,
		Version: a.Version, State: st, SegShard: Shard(a.MemberID), Facts: EncodeFacts(&a.Stats)}, nil
}

func fromAccountRecord(r accountRecord) (*points.Account, error) {
	var st accountState
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(r.State)), 4<<20))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, err
	}
	if st.Qualifying == nil {
		st.Qualifying = map[string]int64{}
	}
	var below time.Time
	if r.BelowSince != nil {
		below = *r.BelowSince
	}
	return &points.Account{MemberID: r.MemberID, Available: r.Available, Pending: r.Pending, Debt: r.Debt,
		LifetimeEarned: r.LifetimeEarned, Tier: r.Tier, TierSince: r.TierSince, BelowSince: below,
		TierHistory: st.TierHistory, Qualifying: st.Qualifying, Lots: st.Lots, ReferredBy: r.ReferredBy,
		ReferralPaid: r.ReferralPaid, Stats: st.Stats, NightlyDone: r.NightlyDone, CreatedAt: r.CreatedAt, Version: r.Version}, nil
}

// Account implements points.Store.
func (s *PointsStore) Account(ctx context.Context, memberID string) (*points.Account, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(accountPK(memberID), "ACCOUNT"), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, translate(err, "get account")
	}
	if out.Item == nil {
		return nil, fault.New(fault.NotFound, "member %s has no points account", memberID)
	}
	var r accountRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "unmarshal account")
	}
	a, err := fromAccountRecord(r)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "decode account state")
	}
	return a, nil
}

// Apply implements points.Store.
func (s *PointsStore) Apply(ctx context.Context, memberID string, fn func(*points.Account) (points.Change, error), w points.Write) (*points.Account, points.Change, error) {
	for attempt := 0; ; attempt++ {
		a, err := s.Account(ctx, memberID)
		isNew := fault.Is(err, fault.NotFound)
		if isNew {
			a = points.NewAccount(memberID, s.Policy, s.now())
		} else if err != nil {
			return nil, points.Change{}, err
		}
		prev, net := a.Version, a.Net()
		ch, err := fn(a)
		if err != nil {
			return nil, points.Change{}, err
		}
		if err := a.CheckChange(net, ch); err != nil {
			return nil, points.Change{}, fault.Wrap(fault.Internal, err, "ledger invariant broken")
		}
		a.Version = prev + 1
		err = s.write(ctx, a, prev, isNew, ch, w)
		if err == nil {
			return a, ch, nil
		}
		if errors.Is(err, points.ErrAlreadyApplied) {
			return nil, points.Change{}, err
		}
		if e, ok := fault.As(err); ok && e.Err == errRace && attempt < maxRaceRetries {
			if berr := backoff(ctx, attempt); berr != nil {
				return nil, points.Change{}, translate(berr, "apply points change")
			}
			continue
		}
		return nil, points.Change{}, err
	}
}

func (s *PointsStore) write(ctx context.Context, a *points.Account, prev int64, isNew bool, ch points.Change, w points.Write) error {
	t, err := s.build(a, prev, isNew, ch, w)
	if err != nil {
		return err
	}
	return conflict(t, t.commit(ctx, s.Client))
}

// build assembles the transaction of one change.
func (s *PointsStore) build(a *points.Account, prev int64, isNew bool, ch points.Change, w points.Write) (*txn, error) {
	now := s.now()
	t := &txn{table: s.Table}
	rec, err := toAccountRecord(a)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "encode account")
	}
	if isNew {
		err = t.put("profile", rec, "attribute_not_exists(pk)", nil)
	} else {
		err = t.put("profile", rec, "version = :v", map[string]types.AttributeValue{
			":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(prev, 10)}})
	}
	if err != nil {
		return nil, err
	}
	if freeTextIn(ch.Entries) {
		t.add("erased", erasedCheck(s.Table, a.MemberID))
	}
	for _, e := range ch.Entries {
		raw, err := json.Marshal(e)
		if err != nil {
			return nil, fault.Wrap(fault.Internal, err, "encode entry")
		}
		if err := t.put("entry", entryRecord{PK: accountPK(a.MemberID), SK: "ENTRY#" + e.ID, Entry: string(raw)}, "attribute_not_exists(pk)", nil); err != nil {
			return nil, err
		}
	}
	if ch.Order != nil {
		raw, err := json.Marshal(ch.Order)
		if err != nil {
			return nil, fault.Wrap(fault.Internal, err, "encode order")
		}
		rec := orderRecord{PK: "ORDER#" + ch.Order.ID, SK: "ORDER", Member: ch.Order.MemberID, Version: ch.Order.Version, Order: string(raw),
			Fingerprint: points.OrderFingerprint(*ch.Order)}
		if ch.NewOrder {
			err = t.put("seen", rec, "attribute_not_exists(pk)", nil)
		} else {
			err = t.put("order", rec, "version = :ov", map[string]types.AttributeValue{
				":ov": &types.AttributeValueMemberN{Value: strconv.FormatInt(ch.Order.Version-1, 10)}})
		}
		if err != nil {
			return nil, err
		}
	}
	for _, id := range ch.Seen {
		if err := t.put("seen", seenRecord{PK: "SEEN#" + id, SK: "SEEN", At: now.Unix(), Fingerprint: ch.Fingerprints[id]}, "attribute_not_exists(pk)", nil); err != nil {
			return nil, err
		}
	}
	for _, e := range ch.Events {
		it, err := outboxItem(s.Table, e)
		if err != nil {
			return nil, err
		}
		t.add("outbox", it)
	}
	if w.Reservation != nil && w.Receipt != nil {
		rc, err := w.Receipt(a, ch)
		if err != nil {
			return nil, err
		}
		it, err := receiptItem(s.Table, *w.Reservation, rc, now)
		if err != nil {
			return nil, err
		}
		t.add("idempotency", it)
		if rc.Subject != "" {
			// Erasure finds the member's stored responses through it.
			if err := t.put("receipt-ref", receiptRefRecord{PK: receiptRefPK(rc.Subject), SK: w.Reservation.StorageKey}, "", nil); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// conflict turns a cancelled points transaction into ErrAlreadyApplied (a
// seen order or source id) or a retryable race (the order changed).
func conflict(t *txn, err error) error {
	if e, ok := fault.As(err); ok && e.Kind == fault.Conflict {
		for i, r := range cancellation(e.Err) {
			if r != "ConditionalCheckFailed" || i >= len(t.names) {
				continue
			}
			switch t.names[i] {
			case "seen":
				return points.ErrAlreadyApplied
			case "erased":
				return errErasedMember
			case "order":
				return &fault.Error{Kind: fault.Unavailable, Message: "the order changed meanwhile; retry", Err: errRace}
			}
		}
	}
	return err
}

// Entries implements points.Store.
func (s *PointsStore) Entries(ctx context.Context, memberID, after string, limit int) ([]points.Entry, string, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :e)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: accountPK(memberID)},
			":e":  &types.AttributeValueMemberS{Value: "ENTRY#"},
		},
		ScanIndexForward: aws.Bool(false),
		// One more than asked tells whether another page exists.
		Limit:          aws.Int32(int32(limit + 1)),
		ConsistentRead: aws.Bool(true),
	}
	if after != "" {
		if !strings.HasPrefix(after, "ENTRY#") {
			return nil, "", fault.Field("cursor", "not a position in this ledger")
		}
		in.ExclusiveStartKey = key(accountPK(memberID), after)
	}
	out, err := s.Client.Query(ctx, in)
	if err != nil {
		return nil, "", translate(err, "list entries")
	}
	var recs []entryRecord
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &recs); err != nil {
		return nil, "", fault.Wrap(fault.Internal, err, "unmarshal entries")
	}
	entries := make([]points.Entry, 0, len(recs))
	for _, r := range recs {
		var e points.Entry
		if err := json.Unmarshal([]byte(r.Entry), &e); err != nil {
			return nil, "", fault.Wrap(fault.Internal, err, "decode entry")
		}
		entries = append(entries, e)
	}
	next := ""
	if len(entries) > limit {
		entries = entries[:limit]
		next = "ENTRY#" + entries[len(entries)-1].ID
	} else if out.LastEvaluatedKey != nil && len(entries) > 0 {
		// DynamoDB stopped at 1 MB before the limit: more may follow.
		next = "ENTRY#" + entries[len(entries)-1].ID
	}
	return entries, next, nil
}

// AllEntries returns the member's whole ledger, oldest first (reconciliation).
func (s *PointsStore) AllEntries(ctx context.Context, memberID string) ([]points.Entry, error) {
	var out []points.Entry
	after := ""
	for {
		page, next, err := s.Entries(ctx, memberID, after, 500)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			break
		}
		after = next
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Order implements points.Store.
func (s *PointsStore) Order(ctx context.Context, orderID string) (points.Order, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key("ORDER#"+orderID, "ORDER"), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return points.Order{}, translate(err, "get order")
	}
	if out.Item == nil {
		return points.Order{}, fault.New(fault.NotFound, "no order %s", orderID)
	}
	var r orderRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return points.Order{}, fault.Wrap(fault.Internal, err, "unmarshal order")
	}
	var o points.Order
	if err := json.Unmarshal([]byte(r.Order), &o); err != nil {
		return points.Order{}, fault.Wrap(fault.Internal, err, "decode order")
	}
	return o, nil
}

// ScanAccounts visits every account in one of total parallel scan segments
// (nightly jobs and reconciliation).
func (s *PointsStore) ScanAccounts(ctx context.Context, segment, total int, visit func(*points.Account) error) error {
	p := dynamodb.NewScanPaginator(s.Client, &dynamodb.ScanInput{
		TableName:                 aws.String(s.Table),
		FilterExpression:          aws.String("sk = :a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: "ACCOUNT"}},
		Segment:                   aws.Int32(int32(segment)),
		TotalSegments:             aws.Int32(int32(total)),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return translate(err, "scan accounts")
		}
		for _, it := range page.Items {
			var r accountRecord
			if err := attributevalue.UnmarshalMap(it, &r); err != nil {
				return fault.Wrap(fault.Internal, err, "unmarshal account")
			}
			a, err := fromAccountRecord(r)
			if err != nil {
				return fault.Wrap(fault.Internal, err, "decode account")
			}
			if err := visit(a); err != nil {
				return err
			}
		}
	}
	return nil
}
