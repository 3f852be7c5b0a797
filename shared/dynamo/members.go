package dynamo

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/member"
)

// Item layout of the members table:
//
//	MEMBER#<id>     PROFILE                 the member (or its tombstone)
//	MEMBER#<id>     CONSENT#<time>#<ulid>   consent history, append-only
//	MEMBER#<id>     IDEMREF#<key>           stored responses about the member
//	UNIQUE#<kind>#<hmac or code>  UNIQUE    uniqueness claims: email, phone, referral
//	IDEM#<key>      IDEM                    idempotency records
//	OUTBOX          <event id>              events not yet published

type profileRecord struct {
	PK             string          `dynamodbav:"pk"`
	SK             string          `dynamodbav:"sk"`
	ID             string          `dynamodbav:"id"`
	Status         string          `dynamodbav:"status"`
	Email          string          `dynamodbav:"email,omitempty"`
	Phone          string          `dynamodbav:"phone,omitempty"`
	Name           string          `dynamodbav:"name,omitempty"`
	Birthday       string          `dynamodbav:"birthday,omitempty"`
	PreferredStore string          `dynamodbav:"preferred_store,omitempty"`
	SignupChannel  string          `dynamodbav:"signup_channel,omitempty"`
	ReferralCode   string          `dynamodbav:"referral_code,omitempty"`
	ReferredBy     string          `dynamodbav:"referred_by,omitempty"`
	Consents       []consentRecord `dynamodbav:"consents,omitempty"`
	CreatedAt      time.Time       `dynamodbav:"created_at"`
	UpdatedAt      time.Time       `dynamodbav:"updated_at"`
	ErasedAt       *time.Time      `dynamodbav:"erased_at,omitempty"`
	Version        int64           `dynamodbav:"version"`
	// SegShard and Profiling put the profile in segmentation's
	// profiles-by-shard index (segmentation_shard.go).
	SegShard  int    `dynamodbav:"seg_shard"`
	Profiling string `dynamodbav:"seg_profiling,omitempty"`
}

type consentRecord struct {
	Purpose   string    `dynamodbav:"purpose"`
	Channel   string    `dynamodbav:"channel"`
	Granted   bool      `dynamodbav:"granted"`
	Source    string    `dynamodbav:"source"`
	UpdatedAt time.Time `dynamodbav:"updated_at"`
}

type consentHistoryRecord struct {
	PK         string        `dynamodbav:"pk"`
	SK         string        `dynamodbav:"sk"`
	Consent    consentRecord `dynamodbav:"consent"`
	RecordedBy string        `dynamodbav:"recorded_by"`
}

type uniqueRecord struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	MemberID string `dynamodbav:"member_id"`
}

type idemRefRecord struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
}

// MemberStore implements member.Store.
type MemberStore struct {
	Client *dynamodb.Client
	Table  string
	// Key keys the HMACs that stand for email and phone in uniqueness items,
	// so the raw values are never part of a key.
	Key []byte
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

var _ member.Store = (*MemberStore)(nil)

func memberPK(id string) string { return "MEMBER#" + id }

func (s *MemberStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// UniqueKey is the partition key of a uniqueness claim: an HMAC of the
// normalised value for personal data, the code itself for referral codes.
func (s *MemberStore) UniqueKey(kind, value string) string {
	if kind == "referral" {
		return "UNIQUE#referral#" + value
	}
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte(kind + "\x00" + value))
	return "UNIQUE#" + kind + "#" + hex.EncodeToString(m.Sum(nil))
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		PartitionKey: &types.AttributeValueMemberS{Value: pk},
		SortKey:      &types.AttributeValueMemberS{Value: sk},
	}
}

func toRecord(m member.Member) profileRecord {
	r := profileRecord{
		PK: memberPK(m.ID), SK: "PROFILE", ID: m.ID, Status: string(m.Status), Email: m.Email, Phone: m.Phone,
		Name: m.Name, Birthday: m.Birthday, PreferredStore: m.PreferredStore, SignupChannel: string(m.SignupChannel),
		ReferralCode: m.ReferralCode, ReferredBy: m.ReferredBy, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
		Version: m.Version,
	}
	if !m.ErasedAt.IsZero() {
		t := m.ErasedAt
		r.ErasedAt = &t
	}
	for _, c := range m.Consents {
		r.Consents = append(r.Consents, consentRecord{string(c.Purpose), string(c.Channel), c.Granted, c.Source, c.UpdatedAt})
	}
	if m.RefusedProfiling() {
		r.Profiling = "refused"
	}
	r.SegShard = Shard(m.ID)
	return r
}

func fromRecord(r profileRecord) member.Member {
	m := member.Member{
		ID: r.ID, Status: member.Status(r.Status), Email: r.Email, Phone: r.Phone, Name: r.Name, Birthday: r.Birthday,
		PreferredStore: r.PreferredStore, SignupChannel: member.Channel(r.SignupChannel), ReferralCode: r.ReferralCode,
		ReferredBy: r.ReferredBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version,
	}
	if r.ErasedAt != nil {
		m.ErasedAt = *r.ErasedAt
	}
	for _, c := range r.Consents {
		m.Consents = append(m.Consents, member.Consent{Purpose: member.Purpose(c.Purpose), Channel: member.ConsentChannel(c.Channel),
			Granted: c.Granted, Source: c.Source, UpdatedAt: c.UpdatedAt})
	}
	return m
}

// txn accumulates transaction items with a name per item, so a cancellation
// reason can be traced to the field it concerns.
type txn struct {
	table string
	items []types.TransactWriteItem
	names []string
}

func (t *txn) add(name string, it types.TransactWriteItem) {
	t.items = append(t.items, it)
	t.names = append(t.names, name)
}

func (t *txn) put(name string, rec any, cond string, vals map[string]types.AttributeValue) error {
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return fault.Wrap(fault.Internal, err, "marshal %s", name)
	}
	p := &types.Put{TableName: aws.String(t.table), Item: item}
	if cond != "" {
		p.ConditionExpression = aws.String(cond)
		p.ExpressionAttributeValues = vals
	}
	t.add(name, types.TransactWriteItem{Put: p})
	return nil
}

func (t *txn) claim(name, pk, memberID string) error {
	return t.put(name, uniqueRecord{PK: pk, SK: "UNIQUE", MemberID: memberID}, "attribute_not_exists(pk)", nil)
}

func (t *txn) release(name, pk, memberID string) {
	t.add(name, types.TransactWriteItem{Delete: &types.Delete{
		TableName:                 aws.String(t.table),
		Key:                       key(pk, "UNIQUE"),
		ConditionExpression:       aws.String("member_id = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: memberID}},
	}})
}

// extras adds the idempotency receipt (and its reference under the member,
// so erasure finds it) and the outbox events.
func (t *txn) extras(m member.Member, w member.Write, now time.Time) error {
	if w.Reservation != nil && w.Receipt != nil {
		rc, err := w.Receipt(m)
		if err != nil {
			return err
		}
		it, err := receiptItem(t.table, *w.Reservation, rc, now)
		if err != nil {
			return err
		}
		t.add("idempotency", it)
		if rc.Subject != "" {
			if err := t.put("idempotency-ref", idemRefRecord{PK: memberPK(rc.Subject), SK: "IDEMREF#" + w.Reservation.StorageKey}, "", nil); err != nil {
				return err
			}
		}
	}
	if w.Events != nil {
		evs, err := w.Events(m)
		if err != nil {
			return err
		}
		for _, e := range evs {
			it, err := outboxItem(t.table, e)
			if err != nil {
				return err
			}
			t.add("outbox", it)
		}
	}
	return nil
}

func (t *txn) history(id string, recs []member.ConsentRecord) error {
	for i, c := range recs {
		sk := fmt.Sprintf("CONSENT#%s#%03d#%s", c.UpdatedAt.UTC().Format(time.RFC3339Nano), i, event.NewID(c.UpdatedAt))
		rec := consentHistoryRecord{PK: memberPK(id), SK: sk, RecordedBy: c.RecordedBy,
			Consent: consentRecord{string(c.Purpose), string(c.Channel), c.Granted, c.Source, c.UpdatedAt}}
		if err := t.put("consent-history", rec, "", nil); err != nil {
			return err
		}
	}
	return nil
}

// commit runs the transaction and turns a cancellation into a kind-coded
// error naming the item at fault.
func (t *txn) commit(ctx context.Context, c *dynamodb.Client) error {
	if len(t.items) > 100 {
		return fault.New(fault.Invalid, "too many changes in one request")
	}
	_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: t.items})
	if err == nil {
		return nil
	}
	reasons := cancellation(err)
	if reasons == nil {
		return translate(err, "write member")
	}
	if isTransactionConflict(reasons) {
		return &fault.Error{Kind: fault.Unavailable, Message: "a concurrent change touched the same member; retry", Err: errRace}
	}
	for i, r := range reasons {
		if r != "ConditionalCheckFailed" || i >= len(t.names) {
			continue
		}
		switch n := t.names[i]; n {
		case "email", "phone":
			return &fault.Error{Kind: fault.Conflict, Message: "another member already uses this " + n,
				Fields: []fault.FieldError{{Field: n, Reason: "already registered"}}, Err: err}
		case "referral_code":
			return &fault.Error{Kind: fault.Conflict, Message: "referral code collision", Fields: []fault.FieldError{{Field: "referral_code", Reason: "taken"}}, Err: errReferralCollision}
		case "idempotency":
			return &fault.Error{Kind: fault.Conflict, Message: "the Idempotency-Key was taken over by another request",
				Fields: []fault.FieldError{{Field: "Idempotency-Key", Reason: "taken over"}}, Err: err}
		case "profile":
			return &fault.Error{Kind: fault.Conflict, Message: "the member changed meanwhile", Err: errRace}
		default:
			return fault.Wrap(fault.Conflict, err, "%s changed meanwhile", n)
		}
	}
	return translate(err, "write member")
}

type sentinel string

func (s sentinel) Error() string { return string(s) }

const (
	errRace              sentinel = "optimistic concurrency race"
	errReferralCollision sentinel = "referral code collision"
)

// Create implements member.Store.
func (s *MemberStore) Create(ctx context.Context, m member.Member, history []member.ConsentRecord, w member.Write) error {
	now := s.now()
	t := &txn{table: s.Table}
	if err := t.put("profile", toRecord(m), "attribute_not_exists(pk)", nil); err != nil {
		return err
	}
	if m.Email != "" {
		if err := t.claim("email", s.UniqueKey("email", m.Email), m.ID); err != nil {
			return err
		}
	}
	if m.Phone != "" {
		if err := t.claim("phone", s.UniqueKey("phone", m.Phone), m.ID); err != nil {
			return err
		}
	}
	if err := t.claim("referral_code", s.UniqueKey("referral", m.ReferralCode), m.ID); err != nil {
		return err
	}
	if err := t.history(m.ID, history); err != nil {
		return err
	}
	if err := t.extras(m, w, now); err != nil {
		return err
	}
	return t.commit(ctx, s.Client)
}

// IsReferralCollision reports whether Create failed only because the
// generated referral code was taken (the caller draws another).
func IsReferralCollision(err error) bool {
	e, ok := fault.As(err)
	return ok && e.Err == errReferralCollision
}

// Get implements member.Store.
func (s *MemberStore) Get(ctx context.Context, id string) (member.Member, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(memberPK(id), "PROFILE"), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return member.Member{}, translate(err, "get member")
	}
	if out.Item == nil {
		return member.Member{}, fault.New(fault.NotFound, "no member %s", id)
	}
	var r profileRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return member.Member{}, fault.Wrap(fault.Internal, err, "unmarshal member")
	}
	return fromRecord(r), nil
}

// Update implements member.Store. Lost races are retried with jittered
// backoff, re-reading the member and re-running fn.
func (s *MemberStore) Update(ctx context.Context, id string, fn func(*member.Member) ([]member.ConsentRecord, error), w member.Write) (member.Member, error) {
	for attempt := 0; ; attempt++ {
		cur, err := s.Get(ctx, id)
		if err != nil {
			return member.Member{}, err
		}
		next := cur
		next.Consents = append([]member.Consent(nil), cur.Consents...)
		hist, err := fn(&next)
		if err != nil {
			return member.Member{}, err
		}
		next.Version = cur.Version + 1
		err = s.writeUpdate(ctx, cur, next, hist, w)
		if err == nil {
			return next, nil
		}
		if e, ok := fault.As(err); ok && e.Err == errRace && attempt < maxRaceRetries {
			if berr := backoff(ctx, attempt); berr != nil {
				return member.Member{}, translate(berr, "update member")
			}
			continue
		}
		return member.Member{}, err
	}
}

func (s *MemberStore) writeUpdate(ctx context.Context, cur, next member.Member, hist []member.ConsentRecord, w member.Write) error {
	now := s.now()
	t := &txn{table: s.Table}
	if err := t.put("profile", toRecord(next), "version = :v", map[string]types.AttributeValue{
		":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(cur.Version, 10)},
	}); err != nil {
		return err
	}
	for _, f := range []struct{ kind, old, new string }{{"email", cur.Email, next.Email}, {"phone", cur.Phone, next.Phone}} {
		if f.old == f.new {
			continue
		}
		if f.old != "" {
			t.release(f.kind+"-old", s.UniqueKey(f.kind, f.old), cur.ID)
		}
		if f.new != "" {
			if err := t.claim(f.kind, s.UniqueKey(f.kind, f.new), cur.ID); err != nil {
				return err
			}
		}
	}
	if err := t.history(cur.ID, hist); err != nil {
		return err
	}
	if err := t.extras(next, w, now); err != nil {
		return err
	}
	return t.commit(ctx, s.Client)
}

// Erase implements member.Store. The first step is one transaction: the
// tombstone, the released claims, the receipt and the member.erased event.
// Then the consent history and stored responses are deleted; erasing an
// erased member repeats that second step, so an interrupted erasure
// completes on retry.
func (s *MemberStore) Erase(ctx context.Context, id string, at time.Time, w member.Write) (member.Member, error) {
	var tomb member.Member
	for attempt := 0; ; attempt++ {
		cur, err := s.Get(ctx, id)
		if err != nil {
			return member.Member{}, err
		}
		if cur.Status == member.Erased {
			tomb = cur
			// Still complete the idempotency record so a replay works.
			if w.Reservation != nil {
				t := &txn{table: s.Table}
				if err := t.extras(cur, member.Write{Reservation: w.Reservation, Receipt: w.Receipt}, s.now()); err != nil {
					return member.Member{}, err
				}
				if err := t.commit(ctx, s.Client); err != nil {
					return member.Member{}, err
				}
			}
			break
		}
		tomb = member.Tombstone(cur, at)
		t := &txn{table: s.Table}
		if err := t.put("profile", toRecord(tomb), "version = :v", map[string]types.AttributeValue{
			":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(cur.Version, 10)},
		}); err != nil {
			return member.Member{}, err
		}
		if cur.Email != "" {
			t.release("email-old", s.UniqueKey("email", cur.Email), cur.ID)
		}
		if cur.Phone != "" {
			t.release("phone-old", s.UniqueKey("phone", cur.Phone), cur.ID)
		}
		if cur.ReferralCode != "" {
			t.release("referral-old", s.UniqueKey("referral", cur.ReferralCode), cur.ID)
		}
		if err := t.extras(tomb, w, s.now()); err != nil {
			return member.Member{}, err
		}
		err = t.commit(ctx, s.Client)
		if err == nil {
			break
		}
		if e, ok := fault.As(err); ok && e.Err == errRace && attempt < maxRaceRetries {
			if berr := backoff(ctx, attempt); berr != nil {
				return member.Member{}, translate(berr, "erase member")
			}
			continue
		}
		return member.Member{}, err
	}
	return tomb, s.scrub(ctx, id)
}

// scrub deletes the member's consent history and every stored response about
// the member.
func (s *MemberStore) scrub(ctx context.Context, id string) error {
	p := dynamodb.NewQueryPaginator(s.Client, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: memberPK(id)},
		},
		ProjectionExpression: aws.String("pk, sk"),
		ConsistentRead:       aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return translate(err, "scrub member")
		}
		for _, it := range page.Items {
			var k idemRefRecord
			if err := attributevalue.UnmarshalMap(it, &k); err != nil {
				return fault.Wrap(fault.Internal, err, "unmarshal key")
			}
			if k.SK == "PROFILE" {
				continue
			}
			if len(k.SK) > 8 && k.SK[:8] == "IDEMREF#" {
				if _, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: idemKey(k.SK[8:])}); err != nil {
					return translate(err, "scrub stored response")
				}
			}
			if _, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: key(k.PK, k.SK)}); err != nil {
				return translate(err, "scrub member item")
			}
		}
	}
	return nil
}

// Status reads only a member's status (active or erased), not its personal
// data; NotFound when there is no such member.
func (s *MemberStore) Status(ctx context.Context, id string) (member.Status, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(memberPK(id), "PROFILE"), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#s"), ExpressionAttributeNames: map[string]string{"#s": "status"},
	})
	if err != nil {
		return "", translate(err, "member status")
	}
	if out.Item == nil {
		return "", fault.New(fault.NotFound, "no member %s", id)
	}
	var r struct {
		Status string `dynamodbav:"status"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return "", fault.Wrap(fault.Internal, err, "unmarshal member status")
	}
	return member.Status(r.Status), nil
}

// ConsentHistory implements member.Store.
func (s *MemberStore) ConsentHistory(ctx context.Context, id string) ([]member.ConsentRecord, error) {
	p := dynamodb.NewQueryPaginator(s.Client, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :c)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: memberPK(id)},
			":c":  &types.AttributeValueMemberS{Value: "CONSENT#"},
		},
		ConsistentRead: aws.Bool(true),
	})
	var out []member.ConsentRecord
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, translate(err, "consent history")
		}
		var recs []consentHistoryRecord
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
			return nil, fault.Wrap(fault.Internal, err, "unmarshal consent history")
		}
		for _, r := range recs {
			out = append(out, member.ConsentRecord{RecordedBy: r.RecordedBy, Consent: member.Consent{
				Purpose: member.Purpose(r.Consent.Purpose), Channel: member.ConsentChannel(r.Consent.Channel),
				Granted: r.Consent.Granted, Source: r.Consent.Source, UpdatedAt: r.Consent.UpdatedAt}})
		}
	}
	return out, nil
}

// ReferrerOf implements member.Store.
func (s *MemberStore) ReferrerOf(ctx context.Context, code string) (string, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(s.UniqueKey("referral", code), "UNIQUE"),
	})
	if err != nil {
		return "", translate(err, "referral code")
	}
	if out.Item == nil {
		return "", fault.New(fault.NotFound, "no member has referral code %s", code)
	}
	var u uniqueRecord
	if err := attributevalue.UnmarshalMap(out.Item, &u); err != nil {
		return "", fault.Wrap(fault.Internal, err, "unmarshal claim")
	}
	return u.MemberID, nil
}

// Claimed reports whether a uniqueness claim exists (used by tests and the
// erasure check).
func (s *MemberStore) Claimed(ctx context.Context, kind, value string) (bool, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(s.UniqueKey(kind, value), "UNIQUE"), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, translate(err, "read claim")
	}
	return out.Item != nil, nil
}
