package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/feedback"
)

// Item layout of the feedback table. Every index is an item of the base
// table written in the same transaction as the case, so no GSI is needed
// and every read after a write is consistent:
//
//	FBCASE#<id>                     CASE                the case (its history inside, as JSON)
//	FBSOURCE#<source>               SOURCE              the case a source id (Idempotency-Key, follow-up) opened
//	FBDUP#<fingerprint>#<bucket>    DUP                 the case an author's text opened in a 10-minute bucket
//	FBIDX#<dimension>#<value>       <case id>           list index: all, status, priority, team, store,
//	                                                    category, cluster, member; a summary projection
//	FBDUE#<hour, UTC>               <due, UTC>#<id>     SLA due index for the sweep
//	FBCLKEY#<key>                   WINDOW#<start>      the cluster opened for a key (sku, store, band) in a window
//	FBCL#<cluster id>               CLUSTER             the cluster: key, window, why it opened, case count
//	FBBAND#<band>#<hash>            <cluster id>        LSH band index of text clusters
//	FBCOUNT#<key>                   DAY#<yyyy-mm-dd>    complaints per key and day (ADD), the burst baseline
//	FBREPORT#<iso week>             <dim>#<value>#<n>   report counters (ADD), in 8 shards per value
//	OUTBOX                          <event id>          events not yet published
//
// Case ids are ULIDs, so each FBIDX partition lists newest first by sort key.

const (
	feedbackDupBucket = feedback.DuplicateWindow
	// reportShards spreads each report counter over items so concurrent
	// intakes rarely touch the same one.
	reportShards = 8
	// maxCaseBytes keeps a case under DynamoDB's 400 KB item limit.
	maxCaseBytes = 350 << 10
)

type caseRecord struct {
	PK      string   `dynamodbav:"pk"`
	SK      string   `dynamodbav:"sk"`
	ID      string   `dynamodbav:"id"`
	Version int64    `dynamodbav:"version"`
	Status  string   `dynamodbav:"status"`
	Indexed []string `dynamodbav:"indexed,omitempty"` // the FBIDX/FBDUE keys written for this case, "pk\x00sk"
	Body    string   `dynamodbav:"body"`
}

// caseDoc is the stored form of a case.
type caseDoc struct {
	ID             string                  `json:"id"`
	Channel        feedback.Channel        `json:"channel"`
	Text           string                  `json:"text,omitempty"`
	Rating         int                     `json:"rating,omitempty"`
	Store          string                  `json:"store,omitempty"`
	OrderID        string                  `json:"order_id,omitempty"`
	SKU            string                  `json:"sku,omitempty"`
	MemberID       string                  `json:"member_id,omitempty"`
	Contact        *feedback.Contact       `json:"contact,omitempty"`
	Attachments    []string                `json:"attachments,omitempty"`
	Type           feedback.Type           `json:"type,omitempty"`
	Category       feedback.Category       `json:"category,omitempty"`
	Sentiment      feedback.Sentiment      `json:"sentiment,omitempty"`
	Priority       feedback.Priority       `json:"priority,omitempty"`
	Triage         *feedback.Result        `json:"triage,omitempty"`
	Team           string                  `json:"team,omitempty"`
	Assignee       string                  `json:"assignee,omitempty"`
	ClusterID      string                  `json:"cluster_id,omitempty"`
	ResolutionCode feedback.ResolutionCode `json:"resolution_code,omitempty"`
	Status         feedback.Status         `json:"status"`
	ResolvedAt     time.Time               `json:"resolved_at,omitzero"`
	History        []feedback.HistoryEntry `json:"history"`
	CreatedAt      time.Time               `json:"created_at"`
	UpdatedAt      time.Time               `json:"updated_at"`
	Erased         bool                    `json:"erased,omitempty"`
}

func toCaseDoc(c *feedback.Case) caseDoc {
	return caseDoc{ID: c.ID, Channel: c.Channel, Text: c.Text, Rating: c.Rating, Store: c.Store, OrderID: c.OrderID, SKU: c.SKU,
		MemberID: c.MemberID, Contact: c.Contact, Attachments: c.Attachments, Type: c.Type, Category: c.Category,
		Sentiment: c.Sentiment, Priority: c.Priority, Triage: c.Triage, Team: c.Team, Assignee: c.Assignee,
		ClusterID: c.ClusterID, ResolutionCode: c.ResolutionCode, Status: c.Status, ResolvedAt: c.ResolvedAt,
		History: c.History, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Erased: c.Erased}
}

func fromCaseDoc(d caseDoc, version int64) *feedback.Case {
	return &feedback.Case{ID: d.ID, Channel: d.Channel, Text: d.Text, Rating: d.Rating, Store: d.Store, OrderID: d.OrderID, SKU: d.SKU,
		MemberID: d.MemberID, Contact: d.Contact, Attachments: d.Attachments, Type: d.Type, Category: d.Category,
		Sentiment: d.Sentiment, Priority: d.Priority, Triage: d.Triage, Team: d.Team, Assignee: d.Assignee,
		ClusterID: d.ClusterID, ResolutionCode: d.ResolutionCode,
		Workflow: feedback.Workflow{Status: d.Status, ResolvedAt: d.ResolvedAt},
		History:  d.History, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Erased: d.Erased, Version: version}
}

// caseIndexRecord is a list or due index item: a summary of the case.
type caseIndexRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	ID        string `dynamodbav:"id"`
	Status    string `dynamodbav:"status"`
	Priority  string `dynamodbav:"priority,omitempty"`
	Category  string `dynamodbav:"category,omitempty"`
	Type      string `dynamodbav:"type,omitempty"`
	Team      string `dynamodbav:"team,omitempty"`
	Store     string `dynamodbav:"store,omitempty"`
	Cluster   string `dynamodbav:"cluster,omitempty"`
	Channel   string `dynamodbav:"channel"`
	CreatedAt string `dynamodbav:"created_at"`
	Due       string `dynamodbav:"due,omitempty"`
}

type sourceRecord struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	CaseID string `dynamodbav:"case_id"`
}

type dupRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	CaseID    string `dynamodbav:"case_id"`
	CreatedAt int64  `dynamodbav:"created_at"` // unix nanoseconds
	ExpiresAt int64  `dynamodbav:"expires_at"`
}

// CaseSummary is a case as a list shows it (from an index item).
type CaseSummary struct {
	ID        string            `json:"id"`
	Status    feedback.Status   `json:"status"`
	Priority  feedback.Priority `json:"priority,omitempty"`
	Category  feedback.Category `json:"category,omitempty"`
	Type      feedback.Type     `json:"type,omitempty"`
	Team      string            `json:"team,omitempty"`
	Store     string            `json:"store,omitempty"`
	ClusterID string            `json:"cluster,omitempty"`
	Channel   feedback.Channel  `json:"channel"`
	CreatedAt time.Time         `json:"created_at"`
	// Due is the case's next SLA due time (zero when no clock runs).
	Due time.Time `json:"due,omitzero"`
}

// CaseDedupe names what makes a new case a repeat of an earlier one.
type CaseDedupe struct {
	// Source opens exactly one case per value, forever: an Idempotency-Key
	// scoped by the caller ("idem:<caller>:<key>") or the source of a
	// follow-up request ("survey-response:<id>").
	Source string
	// Fingerprint (feedback.Fingerprint of author and text) lands the same
	// author's same text within feedback.DuplicateWindow of a case's
	// creation on that case.
	Fingerprint string
}

// CaseWrite is what a case change writes besides the case.
type CaseWrite struct {
	// Events go to the outbox in the same transaction.
	Events []event.Envelope
	// IfVersion, when set, makes the write conditional on the stored
	// version (an If-Match): a mismatch is fault.Conflict, not a retry.
	IfVersion int64
}

// FeedbackStore keeps feedback cases, their indexes, clusters, day counters
// and report aggregates in one table.
type FeedbackStore struct {
	Client *dynamodb.Client
	Table  string
	// SLA derives a case's SLA for the due index; nil leaves cases out of
	// the due index.
	SLA func(*feedback.Case) (feedback.SLAState, error)
	Now func() time.Time
}

func (s *FeedbackStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func casePK(id string) string { return "FBCASE#" + id }

func idxKey(pk, sk string) string { return pk + "\x00" + sk }

func splitIdxKey(k string) (string, string) {
	pk, sk, _ := strings.Cut(k, "\x00")
	return pk, sk
}

func dupBucket(t time.Time) int64 { return t.UnixNano() / int64(feedbackDupBucket) }

func dupPK(fingerprint string, bucket int64) string {
	return "FBDUP#" + fingerprint + "#" + strconv.FormatInt(bucket, 10)
}

const dueLayout = "2006-01-02T15:04:05.000000000Z"

func duePK(t time.Time) string { return "FBDUE#" + t.UTC().Format("2006-01-02T15") }

// Get returns a case. A missing case is fault.NotFound naming id.
func (s *FeedbackStore) Get(ctx context.Context, id string) (*feedback.Case, error) {
	c, _, err := s.get(ctx, id)
	return c, err
}

func (s *FeedbackStore) get(ctx context.Context, id string) (*feedback.Case, caseRecord, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(casePK(id), "CASE"), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, caseRecord{}, translate(err, "get case")
	}
	if out.Item == nil {
		return nil, caseRecord{}, &fault.Error{Kind: fault.NotFound, Message: "no such case", Fields: []fault.FieldError{{Field: "id", Reason: "no such case"}}}
	}
	var r caseRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return nil, caseRecord{}, fault.Wrap(fault.Internal, err, "unmarshal case")
	}
	var d caseDoc
	if err := json.Unmarshal([]byte(r.Body), &d); err != nil {
		return nil, caseRecord{}, fault.Wrap(fault.Internal, err, "decode case")
	}
	return fromCaseDoc(d, r.Version), r, nil
}

// Create stores a new case with its dedupe items, indexes and report
// counters in one transaction. When the dedupe finds an earlier case (the
// same source, or the same fingerprint within the duplicate window), or a
// case with c.ID exists (a redelivered create), it returns that case with
// created false and writes nothing. c.Version is set to 1 on success.
func (s *FeedbackStore) Create(ctx context.Context, c *feedback.Case, d CaseDedupe, w CaseWrite) (*feedback.Case, bool, error) {
	if c.ID == "" {
		return nil, false, fault.Field("id", "is required")
	}
	for attempt := 0; ; attempt++ {
		if prior, err := s.findDuplicate(ctx, c, d); err != nil || prior != nil {
			return prior, false, err
		}
		err := s.writeCreate(ctx, c, d, w)
		if err == nil {
			c.Version = 1
			return c, true, nil
		}
		c.Version = 0
		if e, ok := fault.As(err); ok && e.Err == errCaseExists {
			// A redelivered create with the same case id.
			prior, gerr := s.Get(ctx, c.ID)
			return prior, false, gerr
		}
		if e, ok := fault.As(err); ok && e.Err == errRace && attempt < 20 {
			// A dedupe item appeared meanwhile (the next round finds it) or
			// a concurrent transaction touched a shared item.
			if berr := backoff(ctx, min(attempt, 4)); berr != nil {
				return nil, false, translate(berr, "create case")
			}
			continue
		}
		return nil, false, err
	}
}

// findDuplicate returns the earlier case a submission repeats, if any.
func (s *FeedbackStore) findDuplicate(ctx context.Context, c *feedback.Case, d CaseDedupe) (*feedback.Case, error) {
	if d.Source != "" {
		out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(s.Table), Key: key("FBSOURCE#"+d.Source, "SOURCE"), ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return nil, translate(err, "get case source")
		}
		if out.Item != nil {
			var r sourceRecord
			if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
				return nil, fault.Wrap(fault.Internal, err, "unmarshal case source")
			}
			return s.Get(ctx, r.CaseID)
		}
	}
	if d.Fingerprint == "" {
		return nil, nil
	}
	// The window around the creation time spans the previous, current and
	// next buckets; the earliest case within the window wins.
	b := dupBucket(c.CreatedAt)
	keys := make([]map[string]types.AttributeValue, 0, 3)
	for _, x := range []int64{b - 1, b, b + 1} {
		keys = append(keys, key(dupPK(d.Fingerprint, x), "DUP"))
	}
	out, err := s.Client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		s.Table: {Keys: keys, ConsistentRead: aws.Bool(true)},
	}})
	if err != nil {
		return nil, translate(err, "get case fingerprints")
	}
	if len(out.UnprocessedKeys) > 0 {
		return nil, &fault.Error{Kind: fault.Unavailable, Message: "the database is busy; retry", Err: errRace}
	}
	var recs []dupRecord
	if err := attributevalue.UnmarshalListOfMaps(out.Responses[s.Table], &recs); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "unmarshal case fingerprints")
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].CreatedAt < recs[j].CreatedAt })
	at := c.CreatedAt.UnixNano()
	for _, r := range recs {
		if delta := at - r.CreatedAt; delta < int64(feedback.DuplicateWindow) && delta > -int64(feedback.DuplicateWindow) {
			return s.Get(ctx, r.CaseID)
		}
	}
	return nil, nil
}

func (s *FeedbackStore) writeCreate(ctx context.Context, c *feedback.Case, d CaseDedupe, w CaseWrite) error {
	t := &txn{table: s.Table}
	c.Version = 1
	indexed, err := s.indexItems(t, c, nil)
	if err != nil {
		return err
	}
	if err := s.putCase(t, c, indexed, 0); err != nil {
		return err
	}
	if d.Source != "" {
		if err := t.put("source", sourceRecord{PK: "FBSOURCE#" + d.Source, SK: "SOURCE", CaseID: c.ID}, "attribute_not_exists(pk)", nil); err != nil {
			return err
		}
	}
	if d.Fingerprint != "" {
		at := c.CreatedAt.UnixNano()
		b := dupBucket(c.CreatedAt)
		if err := t.put("dup", dupRecord{PK: dupPK(d.Fingerprint, b), SK: "DUP", CaseID: c.ID, CreatedAt: at,
			ExpiresAt: c.CreatedAt.Add(time.Hour).Unix()}, "attribute_not_exists(pk)", nil); err != nil {
			return err
		}
		// Neighbouring buckets must hold no case within the window: a
		// concurrent create just across a bucket edge loses here and finds
		// the winner on its next round.
		w := int64(feedback.DuplicateWindow)
		for _, n := range []struct {
			bucket int64
			cond   string
			bound  int64
		}{{b - 1, "attribute_not_exists(pk) OR created_at <= :x", at - w}, {b + 1, "attribute_not_exists(pk) OR created_at >= :x", at + w}} {
			t.add("dup", types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
				TableName: aws.String(s.Table), Key: key(dupPK(d.Fingerprint, n.bucket), "DUP"),
				ConditionExpression:       aws.String(n.cond),
				ExpressionAttributeValues: map[string]types.AttributeValue{":x": &types.AttributeValueMemberN{Value: strconv.FormatInt(n.bound, 10)}},
			}})
		}
	}
	if err := s.countChange(t, nil, c); err != nil {
		return err
	}
	if err := addEvents(t, w.Events); err != nil {
		return err
	}
	return caseConflict(t, t.commit(ctx, s.Client))
}

func addEvents(t *txn, evs []event.Envelope) error {
	for _, e := range evs {
		it, err := outboxItem(t.table, e)
		if err != nil {
			return err
		}
		t.add("outbox", it)
	}
	return nil
}

func (s *FeedbackStore) putCase(t *txn, c *feedback.Case, indexed []string, prev int64) error {
	raw, err := json.Marshal(toCaseDoc(c))
	if err != nil {
		return fault.Wrap(fault.Internal, err, "encode case")
	}
	if len(raw) > maxCaseBytes {
		return fault.New(fault.Conflict, "the case's history is full; open a new case")
	}
	rec := caseRecord{PK: casePK(c.ID), SK: "CASE", ID: c.ID, Version: c.Version, Status: string(c.Status), Indexed: indexed, Body: string(raw)}
	if prev == 0 {
		return t.put("case", rec, "attribute_not_exists(pk)", nil)
	}
	return t.put("case-version", rec, "version = :v", map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(prev, 10)}})
}

// caseConflict turns a cancelled case transaction into a retryable race
// (a dedupe item, a concurrent transaction, the case version) or a
// conflict (the case id is taken).
func caseConflict(t *txn, err error) error {
	e, ok := fault.As(err)
	if !ok {
		return err
	}
	if e.Err == errRace {
		return err
	}
	if e.Kind != fault.Conflict {
		return err
	}
	for i, r := range cancellation(e.Err) {
		if r != "ConditionalCheckFailed" || i >= len(t.names) {
			continue
		}
		switch t.names[i] {
		case "source", "dup", "case-version":
			return &fault.Error{Kind: fault.Unavailable, Message: "a concurrent change touched the same case; retry", Err: errRace}
		case "case":
			return &fault.Error{Kind: fault.Conflict, Message: "a case with this id exists", Fields: []fault.FieldError{{Field: "id", Reason: "taken"}}, Err: errCaseExists}
		case "cluster-count":
			return &fault.Error{Kind: fault.NotFound, Message: "no such cluster", Fields: []fault.FieldError{{Field: "cluster", Reason: "no such cluster"}}, Err: err}
		case "cluster-key":
			return &fault.Error{Kind: fault.Conflict, Message: "the cluster key is taken", Err: errClusterTaken}
		}
	}
	return err
}

const (
	errClusterTaken sentinel = "cluster key taken"
	errCaseExists   sentinel = "case id taken"
)

// indexDims lists the list-index partitions of a case.
func indexDims(c *feedback.Case) [][2]string {
	dims := [][2]string{{"all", "all"}, {"status", string(c.Status)}}
	for _, d := range [][2]string{{"priority", string(c.Priority)}, {"team", c.Team}, {"store", c.Store},
		{"category", string(c.Category)}, {"cluster", c.ClusterID}, {"member", c.MemberID}} {
		if d[1] != "" {
			dims = append(dims, d)
		}
	}
	return dims
}

func idxPK(dim, value string) string { return "FBIDX#" + dim + "#" + value }

// indexItems adds the puts of the case's index items and the deletes of the
// stale ones (in old but no longer wanted); it returns the new list.
func (s *FeedbackStore) indexItems(t *txn, c *feedback.Case, old []string) ([]string, error) {
	due, _, err := s.slaOf(c)
	if err != nil {
		return nil, err
	}
	rec := caseIndexRecord{ID: c.ID, Status: string(c.Status), Priority: string(c.Priority), Category: string(c.Category),
		Type: string(c.Type), Team: c.Team, Store: c.Store, Cluster: c.ClusterID, Channel: string(c.Channel),
		CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if !due.IsZero() {
		rec.Due = due.UTC().Format(dueLayout)
	}
	var keys []string
	for _, d := range indexDims(c) {
		keys = append(keys, idxKey(idxPK(d[0], d[1]), c.ID))
	}
	if !due.IsZero() {
		keys = append(keys, idxKey(duePK(due), rec.Due+"#"+c.ID))
	}
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
		r := rec
		r.PK, r.SK = splitIdxKey(k)
		if err := t.put("index", r, "", nil); err != nil {
			return nil, err
		}
	}
	for _, k := range old {
		if !want[k] {
			pk, sk := splitIdxKey(k)
			t.add("index", types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.Table), Key: key(pk, sk)}})
		}
	}
	return keys, nil
}

// slaOf returns the case's next due time and whether its SLA shows a
// breach (zero and false without an SLA function).
func (s *FeedbackStore) slaOf(c *feedback.Case) (time.Time, bool, error) {
	if s.SLA == nil || c == nil {
		return time.Time{}, false, nil
	}
	st, err := s.SLA(c)
	if err != nil {
		return time.Time{}, false, err
	}
	return st.NextDue(), st.Breached(), nil
}

// isoWeek names the ISO week of t in UTC ("2026-W49").
func isoWeek(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

func shardOf(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % reportShards)
}

func (s *FeedbackStore) add(t *txn, name, pk, sk string, adds map[string]int64) {
	var expr []string
	vals := map[string]types.AttributeValue{}
	names := map[string]string{}
	i := 0
	keys := make([]string, 0, len(adds))
	for k := range adds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		expr = append(expr, fmt.Sprintf("#a%d :a%d", i, i))
		names[fmt.Sprintf("#a%d", i)] = k
		vals[fmt.Sprintf(":a%d", i)] = &types.AttributeValueMemberN{Value: strconv.FormatInt(adds[k], 10)}
		i++
	}
	t.add(name, types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.Table), Key: key(pk, sk),
		UpdateExpression:          aws.String("ADD " + strings.Join(expr, ", ")),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	}})
}

// countChange adds the report counters, the burst day counters and the
// cluster's case count a change from before (nil: a new case) to after
// moves. Each counter moves once per case: received, channel and store at
// creation; type, category and priority at triage (and the day counters of
// its cluster keys); the time to first response at the first agent reply;
// resolved and the time to resolution at the first resolution; breached
// when a stored version first shows an SLA breach; a cluster's count when
// the case joins it. Durations go into DurationSketch buckets kept as
// counters ("first_response" and "resolution" by bucket index).
func (s *FeedbackStore) countChange(t *txn, before, after *feedback.Case) error {
	week := "FBREPORT#" + isoWeek(after.CreatedAt)
	shard := strconv.Itoa(shardOf(after.ID))
	bump := func(dim, value string) {
		if value != "" {
			s.add(t, "report", week, dim+"#"+value+"#"+shard, map[string]int64{"n": 1})
		}
	}
	sketch := func(dim string, d time.Duration) {
		var sk feedback.DurationSketch
		sk.Add(d)
		for b := range sk.Counts {
			bump(dim, strconv.Itoa(b))
		}
		if sk.Zero > 0 {
			bump(dim, "zero")
		}
	}
	if before == nil {
		bump("received", "all")
		bump("channel", string(after.Channel))
		bump("store", after.Store)
	}
	if (before == nil || before.Triage == nil) && after.Triage != nil {
		bump("type", string(after.Type))
		bump("category", string(after.Category))
		bump("priority", string(after.Priority))
		day := "DAY#" + after.CreatedAt.UTC().Format("2006-01-02")
		for _, k := range feedback.ClusterKeys(after) {
			s.add(t, "counter", "FBCOUNT#"+k, day, map[string]int64{"n": 1})
		}
	}
	if at, ok := firstAt(after, feedback.EntryAgentReply, ""); ok {
		if _, was := firstAt(before, feedback.EntryAgentReply, ""); !was {
			sketch("first_response", at.Sub(after.CreatedAt))
		}
	}
	if at, ok := firstAt(after, feedback.EntryStatus, feedback.StatusResolved); ok {
		if _, was := firstAt(before, feedback.EntryStatus, feedback.StatusResolved); !was {
			bump("resolved", "all")
			sketch("resolution", at.Sub(after.CreatedAt))
		}
	}
	_, breachedAfter, err := s.slaOf(after)
	if err != nil {
		return err
	}
	_, breachedBefore, err := s.slaOf(before)
	if err != nil {
		return err
	}
	if breachedAfter && !breachedBefore {
		bump("breached", "all")
	}
	if after.ClusterID != "" && (before == nil || before.ClusterID == "") {
		t.add("cluster-count", types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(s.Table), Key: key("FBCL#"+after.ClusterID, "CLUSTER"),
			UpdateExpression:          aws.String("ADD cases :one"),
			ConditionExpression:       aws.String("attribute_exists(body)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}},
		}})
	}
	return nil
}

// firstAt finds the first history entry of a kind (and status, for status
// entries) in c (nil: none).
func firstAt(c *feedback.Case, kind feedback.EntryKind, status feedback.Status) (time.Time, bool) {
	if c == nil {
		return time.Time{}, false
	}
	for _, h := range c.History {
		if h.Kind == kind && (status == "" || h.Status == status) {
			return h.At, true
		}
	}
	return time.Time{}, false
}

// Update applies fn to the case and writes the result, its history and
// indexes conditionally on the version it read; a concurrent change makes it
// read and apply fn again (unless w.IfVersion pins the version). An error
// from fn (an illegal transition is fault.Conflict) is returned and nothing
// is written; so is nothing when fn changed nothing.
func (s *FeedbackStore) Update(ctx context.Context, id string, fn func(*feedback.Case) error, w CaseWrite) (*feedback.Case, error) {
	for attempt := 0; ; attempt++ {
		cur, rec, err := s.get(ctx, id)
		if err != nil {
			return nil, err
		}
		if w.IfVersion != 0 && cur.Version != w.IfVersion {
			return nil, &fault.Error{Kind: fault.Conflict, Message: "the case changed meanwhile", Fields: []fault.FieldError{{Field: "If-Match", Reason: "stale version"}}}
		}
		before, _, _ := s.decode(rec)
		if err := fn(cur); err != nil {
			return nil, err
		}
		if unchanged(before, cur) {
			return cur, nil
		}
		cur.Version = rec.Version + 1
		err = s.writeUpdate(ctx, before, cur, rec, w)
		if err == nil {
			return cur, nil
		}
		if e, ok := fault.As(err); ok && e.Err == errRace && w.IfVersion == 0 && attempt < 20 {
			if berr := backoff(ctx, min(attempt, 4)); berr != nil {
				return nil, translate(berr, "update case")
			}
			continue
		}
		return nil, err
	}
}

func unchanged(before, after *feedback.Case) bool {
	a, errA := json.Marshal(toCaseDoc(before))
	b, errB := json.Marshal(toCaseDoc(after))
	return errA == nil && errB == nil && string(a) == string(b)
}

// decode gives an independent copy of a stored case (the state before fn).
func (s *FeedbackStore) decode(r caseRecord) (*feedback.Case, caseRecord, error) {
	var d caseDoc
	if err := json.Unmarshal([]byte(r.Body), &d); err != nil {
		return nil, r, err
	}
	return fromCaseDoc(d, r.Version), r, nil
}

func (s *FeedbackStore) writeUpdate(ctx context.Context, before, after *feedback.Case, rec caseRecord, w CaseWrite) error {
	t := &txn{table: s.Table}
	indexed, err := s.indexItems(t, after, rec.Indexed)
	if err != nil {
		return err
	}
	if err := s.putCase(t, after, indexed, rec.Version); err != nil {
		return err
	}
	if err := s.countChange(t, before, after); err != nil {
		return err
	}
	if err := addEvents(t, w.Events); err != nil {
		return err
	}
	return caseConflict(t, t.commit(ctx, s.Client))
}

var cursorPattern = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)

// CaseFilter selects cases for List; empty fields do not filter.
type CaseFilter struct {
	Status   feedback.Status
	Priority feedback.Priority
	Team     string
	Store    string
	Category feedback.Category
	Cluster  string
	Member   string
}

// partition picks the index the query reads (the most selective given
// filter) and the filters left for the query to apply.
func (f CaseFilter) partition() (string, map[string]string) {
	all := [][2]string{{"cluster", f.Cluster}, {"member", f.Member}, {"store", f.Store}, {"team", f.Team},
		{"category", string(f.Category)}, {"priority", string(f.Priority)}, {"status", string(f.Status)}}
	pk := ""
	rest := map[string]string{}
	for _, d := range all {
		if d[1] == "" {
			continue
		}
		if pk == "" {
			pk = idxPK(d[0], d[1])
			continue
		}
		rest[d[0]] = d[1]
	}
	if pk == "" {
		pk = idxPK("all", "all")
	}
	return pk, rest
}

// List returns up to limit cases matching filter, newest first, and a
// cursor for the next page ("" at the end). It queries one index partition
// and filters the rest of the filter on the summaries there, never scanning
// the table.
func (s *FeedbackStore) List(ctx context.Context, f CaseFilter, cursor string, limit int) ([]CaseSummary, string, error) {
	if limit <= 0 || limit > 500 {
		return nil, "", fault.Field("limit", "must be 1–500")
	}
	if cursor != "" && !cursorPattern.MatchString(cursor) {
		return nil, "", fault.Field("cursor", "not a position in this list")
	}
	pk, rest := f.partition()
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk},
		},
		ScanIndexForward: aws.Bool(false),
		ConsistentRead:   aws.Bool(true),
	}
	if len(rest) > 0 {
		var conds []string
		in.ExpressionAttributeNames = map[string]string{}
		names := make([]string, 0, len(rest))
		for k := range rest {
			names = append(names, k)
		}
		sort.Strings(names)
		for i, k := range names {
			conds = append(conds, fmt.Sprintf("#f%d = :f%d", i, i))
			in.ExpressionAttributeNames[fmt.Sprintf("#f%d", i)] = k
			in.ExpressionAttributeValues[fmt.Sprintf(":f%d", i)] = &types.AttributeValueMemberS{Value: rest[k]}
		}
		in.FilterExpression = aws.String(strings.Join(conds, " AND "))
	}
	if cursor != "" {
		in.ExclusiveStartKey = key(pk, cursor)
	}
	var out []CaseSummary
	for {
		in.Limit = aws.Int32(int32(limit + 1 - len(out)))
		page, err := s.Client.Query(ctx, in)
		if err != nil {
			return nil, "", translate(err, "list cases")
		}
		var recs []caseIndexRecord
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
			return nil, "", fault.Wrap(fault.Internal, err, "unmarshal case index")
		}
		for _, r := range recs {
			out = append(out, summaryOf(r))
		}
		if len(out) > limit {
			return out[:limit], out[limit-1].ID, nil
		}
		if page.LastEvaluatedKey == nil {
			return out, "", nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func summaryOf(r caseIndexRecord) CaseSummary {
	cs := CaseSummary{ID: r.ID, Status: feedback.Status(r.Status), Priority: feedback.Priority(r.Priority),
		Category: feedback.Category(r.Category), Type: feedback.Type(r.Type), Team: r.Team, Store: r.Store,
		ClusterID: r.Cluster, Channel: feedback.Channel(r.Channel)}
	cs.CreatedAt, _ = time.Parse(time.RFC3339Nano, r.CreatedAt)
	if r.Due != "" {
		cs.Due, _ = time.Parse(dueLayout, r.Due)
	}
	return cs
}

// MaxDueSpan bounds how far back a sweep's Due query reaches: one query per
// hour bucket.
const MaxDueSpan = 31 * 24 * time.Hour

// Due returns the cases whose next SLA due time is in [from, before),
// earliest first, at most limit of them: the sweep passes how far back it
// looks (48 hours) as from and now plus the warning lead time as before. It queries one partition per hour, never the table.
func (s *FeedbackStore) Due(ctx context.Context, from, before time.Time, limit int) ([]CaseSummary, error) {
	if !before.After(from) {
		return nil, nil
	}
	if before.Sub(from) > MaxDueSpan {
		return nil, fault.Field("from", "is more than 31 days before the end")
	}
	lo, hi := from.UTC().Format(dueLayout), before.UTC().Format(dueLayout)
	var out []CaseSummary
	for h := from.UTC().Truncate(time.Hour); h.Before(before) && len(out) < limit; h = h.Add(time.Hour) {
		p := dynamodb.NewQueryPaginator(s.Client, &dynamodb.QueryInput{
			TableName:              aws.String(s.Table),
			KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": &types.AttributeValueMemberS{Value: duePK(h)},
				":lo": &types.AttributeValueMemberS{Value: lo},
				":hi": &types.AttributeValueMemberS{Value: hi},
			},
			ConsistentRead: aws.Bool(true),
		})
		for p.HasMorePages() && len(out) < limit {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, translate(err, "query due cases")
			}
			var recs []caseIndexRecord
			if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
				return nil, fault.Wrap(fault.Internal, err, "unmarshal due index")
			}
			for _, r := range recs {
				// sk "<due>#<id>" sorts after "<due>", so BETWEEN lo and
				// hi includes due == before; [from, before) excludes it.
				if cs := summaryOf(r); cs.Due.Before(before) && len(out) < limit {
					out = append(out, cs)
				}
			}
		}
	}
	return out, nil
}

// MemberCases returns every case of a member, oldest first (the export, and
// what erasure visits): a query of the member index.
func (s *FeedbackStore) MemberCases(ctx context.Context, memberID string) ([]*feedback.Case, error) {
	if memberID == "" {
		return nil, fault.Field("member_id", "is required")
	}
	var ids []string
	cursor := ""
	for {
		page, next, err := s.List(ctx, CaseFilter{Member: memberID}, cursor, 500)
		if err != nil {
			return nil, err
		}
		for _, p := range page {
			ids = append(ids, p.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	out := make([]*feedback.Case, 0, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		c, err := s.Get(ctx, ids[i])
		if fault.Is(err, fault.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// EraseMember erases every case of a member (member.erased): the member
// link and all free text go, the anonymised case stays. It returns how many
// cases it erased; running it again erases none.
func (s *FeedbackStore) EraseMember(ctx context.Context, memberID string) (int, error) {
	cases, err := s.MemberCases(ctx, memberID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cases {
		_, err := s.Update(ctx, c.ID, func(c *feedback.Case) error {
			if c.MemberID != memberID {
				return errNotMine
			}
			c.Erase(s.now())
			return nil
		}, CaseWrite{})
		if errors.Is(err, errNotMine) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

const errNotMine sentinel = "the case no longer belongs to the member"
