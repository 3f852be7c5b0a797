package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/segment"
	"clientele/shared/sweep"
)

// Item layout of the segmentation table:
//
//	RESULTS#<shard>           <member>        a member's latest result, under the member's shard
//	                                          (Shard; a run's segment Queries its shards in
//	                                          member order); seg_pk = SEG#<segment>,
//	                                          seg_sk = member id (the by-segment index holds
//	                                          these items only)
//	SEGRUN#<day>              PLAN            the run's plan: configuration, cut points, fitted models
//	SEGREPORT                 <day>           a finished run's report (merged tallies and models)
//	SWEEP#segmentation        RUN#<day>       the sweep run (SweepStore)
//	SWEEP#segmentation#<day>  P<phase>#S<n>   segment checkpoints; their final state is the
//	                                          segment's partial (phase 1) or tally (phase 2)
//	OUTBOX                    <event id>      member.segment_changed events not yet published
//
// A member's result is one item of about 1 KB: reading and writing it costs
// one unit each.

type resultRecord struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	MemberID string `dynamodbav:"member_id"`
	RunID    string `dynamodbav:"run_id"`
	Segment  string `dynamodbav:"rfm_segment"`
	Tier     string `dynamodbav:"value_tier"`
	Stage    string `dynamodbav:"lifecycle_stage"`
	SegPK    string `dynamodbav:"seg_pk"`
	SegSK    string `dynamodbav:"seg_sk"`
	Result   string `dynamodbav:"result"`
	// Prev is the result this one replaced, without its reasons (JSON;
	// absent for a member's first result): a page redone after its
	// writes committed tallies and decides against it, not against its
	// own write.
	Prev      string `dynamodbav:"prev,omitempty"`
	UpdatedAt string `dynamodbav:"updated_at"`
}

type planRecord struct {
	PK   string `dynamodbav:"pk"`
	SK   string `dynamodbav:"sk"`
	Plan string `dynamodbav:"plan"`
}

type reportRecord struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	Report string `dynamodbav:"report"`
}

const (
	reportPK   = "SEGREPORT"
	segmentIdx = "by-segment"
)

func resultsPK(shard int) string { return fmt.Sprintf("RESULTS#%04d", shard) }

// resultKey is the key of a member's result.
func resultKey(member string) map[string]types.AttributeValue {
	return key(resultsPK(Shard(member)), member)
}

// SegmentKey is the by-segment index's partition of a segment: "SEG#none"
// holds the members without a purchase (no RFM segment).
func SegmentKey(s segment.Segment) string {
	if s == "" {
		return "SEG#" + segment.NoSegmentKey
	}
	return "SEG#" + string(s)
}

func planPK(day string) string { return "SEGRUN#" + day }

// SegmentationStore keeps segmentation results, plans and reports.
type SegmentationStore struct {
	Client *dynamodb.Client
	Table  string

	plans sync.Map // day → *segment.Plan, for withCuts
}

// StoredResult is a member's stored result and the one it replaced
// (Previous, without reasons; nil for a member's first result).
type StoredResult struct {
	segment.Result
	Previous *segment.Result
}

// Write is a result to store and the stored one it replaces (nil: none).
type Write struct {
	Fresh    *segment.Result
	Replaces *segment.Result
}

// prevRecord is the compact form of a replaced result: what deciding a
// redone page needs (labels, scores, model outputs and sources).
type prevRecord struct {
	RunID    string  `json:"run"`
	Segment  string  `json:"seg,omitempty"`
	Tier     string  `json:"tier"`
	Stage    string  `json:"stage"`
	R        int8    `json:"r,omitempty"`
	F        int8    `json:"f,omitempty"`
	M        int8    `json:"m,omitempty"`
	PAlive   float64 `json:"pa,omitempty"`
	Expected float64 `json:"ep,omitempty"`
	Order    float64 `json:"eov,omitempty"`
	CLV      float64 `json:"clv,omitempty"`
	Purchase string  `json:"pm,omitempty"`
	Spend    string  `json:"sm,omitempty"`
}

// toResultRecord renders a result item. The run's cut points are not
// repeated in every member's reasons (they are in the run's plan, and
// reading a result puts them back): the item stays under 1 KB, one write
// unit, in the table and in the index.
func toResultRecord(w Write, at time.Time) (resultRecord, error) {
	r := *w.Fresh
	r.Reasons.RecencyCuts, r.Reasons.FrequencyCuts, r.Reasons.MonetaryCuts = nil, nil, nil
	raw, err := json.Marshal(r)
	if err != nil {
		return resultRecord{}, fault.Wrap(fault.Internal, err, "marshal result")
	}
	rec := resultRecord{PK: resultsPK(Shard(r.MemberID)), SK: r.MemberID, MemberID: r.MemberID, RunID: r.RunID, Segment: string(r.RFMSegment),
		Tier: string(r.ValueTier), Stage: string(r.LifecycleStage), SegPK: SegmentKey(r.RFMSegment), SegSK: r.MemberID,
		Result: string(raw), UpdatedAt: fmtTime(at)}
	if p := w.Replaces; p != nil {
		raw, err := json.Marshal(prevRecord{RunID: p.RunID, Segment: string(p.RFMSegment), Tier: string(p.ValueTier), Stage: string(p.LifecycleStage),
			R: p.RScore, F: p.FScore, M: p.MScore, PAlive: p.PAlive, Expected: p.ExpectedPurchases90d, Order: p.ExpectedOrderValue, CLV: p.CLV12m,
			Purchase: string(p.Reasons.PurchaseModel), Spend: string(p.Reasons.SpendModel)})
		if err != nil {
			return resultRecord{}, fault.Wrap(fault.Internal, err, "marshal result")
		}
		rec.Prev = string(raw)
	}
	return rec, nil
}

func decodeStored(item map[string]types.AttributeValue) (StoredResult, error) {
	var rec resultRecord
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return StoredResult{}, fault.Wrap(fault.Internal, err, "unmarshal result")
	}
	var r StoredResult
	if err := json.Unmarshal([]byte(rec.Result), &r.Result); err != nil {
		return StoredResult{}, fault.Wrap(fault.Internal, err, "decode result of %s", rec.MemberID)
	}
	if rec.Prev != "" {
		var p prevRecord
		if err := json.Unmarshal([]byte(rec.Prev), &p); err != nil {
			return StoredResult{}, fault.Wrap(fault.Internal, err, "decode previous result of %s", rec.MemberID)
		}
		r.Previous = &segment.Result{RunID: p.RunID, MemberID: rec.MemberID, RScore: p.R, FScore: p.F, MScore: p.M,
			RFMSegment: segment.Segment(p.Segment), ValueTier: segment.Tier(p.Tier), LifecycleStage: segment.Stage(p.Stage),
			PAlive: p.PAlive, ChurnRisk: 1 - p.PAlive, ExpectedPurchases90d: p.Expected, ExpectedOrderValue: p.Order, CLV12m: p.CLV,
			Reasons: segment.Reasons{PurchaseModel: segment.Model(p.Purchase), SpendModel: segment.Model(p.Spend)}}
		if r.Previous.LifecycleStage == segment.StagePotential {
			r.Previous.ChurnRisk = 0
		}
	}
	return r, nil
}

// withCuts puts the run's cut points back into a buyer's reasons, from the
// plan of the run that wrote the result (cached: a plan never changes).
func (s *SegmentationStore) withCuts(ctx context.Context, r *segment.Result) error {
	if r.RScore == 0 {
		return nil // no purchase: no cut points in the reasons
	}
	day, ok := strings.CutPrefix(r.RunID, segment.SweepKind+"-")
	if !ok {
		return fault.New(fault.Internal, "result of %s names no segmentation run (%q)", r.MemberID, r.RunID)
	}
	cached, ok := s.plans.Load(day)
	if !ok {
		p, err := s.Plan(ctx, day)
		if fault.Is(err, fault.NotFound) {
			return fault.Wrap(fault.Internal, err, "result of %s: the plan of its run is missing", r.MemberID)
		}
		if err != nil {
			return err
		}
		cached, _ = s.plans.LoadOrStore(day, p)
	}
	cuts := &cached.(*segment.Plan).Cuts
	r.Reasons.RecencyCuts, r.Reasons.FrequencyCuts, r.Reasons.MonetaryCuts = &cuts.Recency, &cuts.Frequency, &cuts.Monetary
	return nil
}

// Result reads a member's result (fault.NotFound when there is none).
func (s *SegmentationStore) Result(ctx context.Context, memberID string) (segment.Result, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: resultKey(memberID)})
	if err != nil {
		return segment.Result{}, translate(err, "get result")
	}
	if out.Item == nil {
		return segment.Result{}, fault.New(fault.NotFound, "member %s has no segmentation result", memberID)
	}
	r, err := decodeStored(out.Item)
	if err != nil {
		return segment.Result{}, err
	}
	return r.Result, s.withCuts(ctx, &r.Result)
}

// Results reads the stored results of members; members without one are
// absent from the map. The results of a shard are Queried in member order
// from the least to the greatest of ids in it: a sweep page's members are
// consecutive in their shards, so this reads their results and nothing
// else, by the byte rather than by the item.
func (s *SegmentationStore) Results(ctx context.Context, ids []string) (map[string]StoredResult, error) {
	out := make(map[string]StoredResult, len(ids))
	want := make(map[string]bool, len(ids))
	spans := map[int][2]string{}
	for _, id := range ids {
		want[id] = true
		k := Shard(id)
		sp, ok := spans[k]
		if !ok {
			sp = [2]string{id, id}
		}
		sp[0], sp[1] = min(sp[0], id), max(sp[1], id)
		spans[k] = sp
	}
	for k, sp := range spans {
		// Eventually consistent (half the read units) is safe: a page
		// redone after its writes committed sees either its own write (and
		// decides against StoredResult.Previous) or the result from before
		// the run, as the first attempt did — the same tally, writes and
		// events either way.
		err := queryRange(ctx, s.Client, s.Table, "", PartitionKey, str(resultsPK(k)), SortKey, sp[0], sp[1], "read results",
			func(item map[string]types.AttributeValue) error {
				r, err := decodeStored(item)
				if err != nil {
					return err
				}
				if want[r.MemberID] {
					out[r.MemberID] = r
				}
				return nil
			})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// queryRange visits the items of a table or index (index "" for the
// table) whose partition key pkName is pk and sort key skName lies from
// lo to hi, in order, eventually consistent.
func queryRange(ctx context.Context, c *dynamodb.Client, table, index, pkName string, pk types.AttributeValue, skName, lo, hi, what string,
	visit func(map[string]types.AttributeValue) error) error {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
		ExpressionAttributeNames:  map[string]string{"#pk": pkName, "#sk": skName},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": pk, ":lo": str(lo), ":hi": str(hi)},
	}
	if index != "" {
		in.IndexName = aws.String(index)
	}
	for {
		out, err := c.Query(ctx, in)
		if err != nil {
			return translate(err, what)
		}
		for _, item := range out.Items {
			if err := visit(item); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// PutResults writes results whose labels did not change (no event), 25
// per BatchWriteItem, retrying unprocessed items. Rewriting a result with
// the same content is harmless, so a redone page may write them again.
func (s *SegmentationStore) PutResults(ctx context.Context, ws []Write, at time.Time) error {
	reqs := make([]types.WriteRequest, 0, len(ws))
	for _, w := range ws {
		rec, err := toResultRecord(w, at)
		if err != nil {
			return err
		}
		item, err := attributevalue.MarshalMap(rec)
		if err != nil {
			return fault.Wrap(fault.Internal, err, "marshal result")
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	return s.batchWrite(ctx, reqs, "write results")
}

func (s *SegmentationStore) batchWrite(ctx context.Context, reqs []types.WriteRequest, what string) error {
	for start := 0; start < len(reqs); start += 25 {
		req := map[string][]types.WriteRequest{s.Table: reqs[start:min(start+25, len(reqs))]}
		for attempt := 0; len(req) > 0; attempt++ {
			out, err := s.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: req})
			if err != nil {
				return translate(err, what)
			}
			req = out.UnprocessedItems
			if len(req) > 0 {
				if attempt >= maxRaceRetries {
					return fault.New(fault.Unavailable, "%s: items left unprocessed after %d attempts", what, attempt+1)
				}
				if err := backoff(ctx, attempt); err != nil {
					return translate(err, what)
				}
			}
		}
	}
	return nil
}

// ChangeResult replaces stored by fresh (or deletes it when fresh is nil)
// and puts ev in the outbox, in one transaction conditional on the item
// still holding stored's run and labels. It reports false, changing
// nothing, when the item changed meanwhile (another delivery of the same
// segment made this very change, or the member's result was erased): so
// each change publishes its event once, however often a page is redone.
func (s *SegmentationStore) ChangeResult(ctx context.Context, stored *segment.Result, fresh *segment.Result, ev event.Envelope, at time.Time) (bool, error) {
	cond := "run_id = :run AND rfm_segment = :seg AND value_tier = :tier AND lifecycle_stage = :stage"
	vals := map[string]types.AttributeValue{
		":run": str(stored.RunID), ":seg": str(string(stored.RFMSegment)), ":tier": str(string(stored.ValueTier)),
		":stage": str(string(stored.LifecycleStage)),
	}
	var write types.TransactWriteItem
	if fresh == nil {
		write = types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.Table), Key: resultKey(stored.MemberID),
			ConditionExpression: aws.String(cond), ExpressionAttributeValues: vals}}
	} else {
		rec, err := toResultRecord(Write{Fresh: fresh, Replaces: stored}, at)
		if err != nil {
			return false, err
		}
		item, err := attributevalue.MarshalMap(rec)
		if err != nil {
			return false, fault.Wrap(fault.Internal, err, "marshal result")
		}
		write = types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.Table), Item: item,
			ConditionExpression: aws.String(cond), ExpressionAttributeValues: vals}}
	}
	outbox, err := outboxItem(s.Table, ev)
	if err != nil {
		return false, err
	}
	for attempt := 0; ; attempt++ {
		_, err = s.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{write, outbox}})
		if err == nil {
			return true, nil
		}
		reasons := cancellation(err)
		if len(reasons) > 0 && reasons[0] == "ConditionalCheckFailed" {
			return false, nil
		}
		if !isTransactionConflict(reasons) || attempt >= maxRaceRetries {
			return false, translate(err, "change result")
		}
		if err := backoff(ctx, attempt); err != nil {
			return false, translate(err, "change result")
		}
	}
}

// DeleteResult removes a member's result (erasure); no result is not an
// error.
func (s *SegmentationStore) DeleteResult(ctx context.Context, memberID string) error {
	_, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: resultKey(memberID)})
	return translate(err, "delete result")
}

// SegmentMembers lists the results of a segment ("" for members without a
// purchase) in member id order, from the member after which the previous
// page stopped ("" first), at most limit; next is the last member id of a
// full page, "" at the end. The by-segment index holds keys only (a
// nightly rewrite that keeps a member's segment then writes no index
// entry), so the listed results are read by key. The index is eventually
// consistent: a member who changed segment a moment ago may be missing
// from both lists, never listed with another segment's result.
func (s *SegmentationStore) SegmentMembers(ctx context.Context, seg segment.Segment, after string, limit int32) ([]segment.Result, string, error) {
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.Table), IndexName: aws.String(segmentIdx),
		KeyConditionExpression:    aws.String("seg_pk = :seg"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":seg": str(SegmentKey(seg))},
		Limit:                     aws.Int32(limit),
	}
	if after != "" {
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			"seg_pk": str(SegmentKey(seg)), "seg_sk": str(after), PartitionKey: str(resultsPK(Shard(after))), SortKey: str(after),
		}
	}
	var out []segment.Result
	read := int32(0)
	for {
		page, err := s.Client.Query(ctx, in)
		if err != nil {
			return nil, "", translate(err, "list segment members")
		}
		ids := make([]string, 0, len(page.Items))
		for _, item := range page.Items {
			if v, ok := item["seg_sk"].(*types.AttributeValueMemberS); ok {
				ids = append(ids, v.Value)
			}
		}
		read += int32(len(ids))
		found, err := s.resultsByKey(ctx, ids)
		if err != nil {
			return nil, "", err
		}
		for _, id := range ids {
			r, ok := found[id]
			if !ok || SegmentKey(r.Result.RFMSegment) != SegmentKey(seg) {
				continue // removed or moved since the index was read
			}
			if err := s.withCuts(ctx, &r.Result); err != nil {
				return nil, "", err
			}
			out = append(out, r.Result)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, "", nil
		}
		if read >= limit && len(ids) > 0 {
			return out, ids[len(ids)-1], nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
		in.Limit = aws.Int32(limit - read)
	}
}

// resultsByKey reads members' results by key, eventually consistent, up
// to eight BatchGetItem calls of 100 keys at once (a page of 1 000 takes
// about the time of one call).
func (s *SegmentationStore) resultsByKey(ctx context.Context, ids []string) (map[string]StoredResult, error) {
	out := make(map[string]StoredResult, len(ids))
	var mu sync.Mutex
	var chunks [][]string
	for start := 0; start < len(ids); start += 100 {
		chunks = append(chunks, ids[start:min(start+100, len(ids))])
	}
	err := sweep.Each(ctx, 8, chunks, func(ctx context.Context, chunk []string) error {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, id := range chunk {
			keys[i] = resultKey(id)
		}
		return batchGet(ctx, s.Client, s.Table, keys, false, "read segment members", func(item map[string]types.AttributeValue) error {
			r, err := decodeStored(item)
			if err != nil {
				return err
			}
			mu.Lock()
			out[r.Result.MemberID] = r
			mu.Unlock()
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// batchGet reads items by key, 100 per BatchGetItem, retrying unprocessed
// keys with backoff, and visits each item found (in no particular order).
// consistent asks for strongly consistent reads (twice the read units).
func batchGet(ctx context.Context, c *dynamodb.Client, table string, keys []map[string]types.AttributeValue, consistent bool, what string,
	visit func(map[string]types.AttributeValue) error) error {
	for start := 0; start < len(keys); start += 100 {
		req := map[string]types.KeysAndAttributes{table: {Keys: keys[start:min(start+100, len(keys))], ConsistentRead: aws.Bool(consistent)}}
		for attempt := 0; len(req) > 0; attempt++ {
			page, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return translate(err, what)
			}
			for _, item := range page.Responses[table] {
				if err := visit(item); err != nil {
					return err
				}
			}
			req = page.UnprocessedKeys
			if len(req) > 0 {
				if attempt >= maxRaceRetries {
					return fault.New(fault.Unavailable, "%s: keys left unprocessed after %d attempts", what, attempt+1)
				}
				if err := backoff(ctx, attempt); err != nil {
					return translate(err, what)
				}
			}
		}
	}
	return nil
}

// SavePlan stores a run's plan unless one is stored, and returns the
// stored one: a phase hook run twice keeps the first plan, so every member
// of a run is scored against the same cut points.
func (s *SegmentationStore) SavePlan(ctx context.Context, day string, p *segment.Plan) (*segment.Plan, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "marshal plan")
	}
	item, err := attributevalue.MarshalMap(planRecord{PK: planPK(day), SK: "PLAN", Plan: string(raw)})
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "marshal plan")
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if err == nil {
		return p, nil
	}
	if !isConditionFailed(err) {
		return nil, translate(err, "save plan")
	}
	return s.Plan(ctx, day)
}

// Plan reads a run's plan (fault.NotFound before phase 1 ended).
func (s *SegmentationStore) Plan(ctx context.Context, day string) (*segment.Plan, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: key(planPK(day), "PLAN"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, translate(err, "get plan")
	}
	if out.Item == nil {
		return nil, fault.New(fault.NotFound, "run of %s has no plan yet", day)
	}
	var rec planRecord
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "unmarshal plan")
	}
	var p segment.Plan
	if err := json.Unmarshal([]byte(rec.Plan), &p); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "decode plan")
	}
	return &p, nil
}

// SaveReport stores a finished run's report (a second save of the same
// run overwrites it with the same content).
func (s *SegmentationStore) SaveReport(ctx context.Context, r segment.Report) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return fault.Wrap(fault.Internal, err, "marshal report")
	}
	item, err := attributevalue.MarshalMap(reportRecord{PK: reportPK, SK: r.Day, Report: string(raw)})
	if err != nil {
		return fault.Wrap(fault.Internal, err, "marshal report")
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item})
	return translate(err, "save report")
}

// LatestReport reads the report of the newest finished run
// (fault.NotFound when no run finished yet).
func (s *SegmentationStore) LatestReport(ctx context.Context) (segment.Report, error) {
	out, err := s.Client.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.Table), KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(reportPK)},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(1),
	})
	if err != nil {
		return segment.Report{}, translate(err, "latest report")
	}
	if len(out.Items) == 0 {
		return segment.Report{}, fault.New(fault.NotFound, "no segmentation run has finished yet")
	}
	var rec reportRecord
	if err := attributevalue.UnmarshalMap(out.Items[0], &rec); err != nil {
		return segment.Report{}, fault.Wrap(fault.Internal, err, "unmarshal report")
	}
	var r segment.Report
	if err := json.Unmarshal([]byte(rec.Report), &r); err != nil {
		return segment.Report{}, fault.Wrap(fault.Internal, err, "decode report")
	}
	return r, nil
}

// PhaseStates visits the final state of every checkpoint of a run's
// phase, segment by segment (a page of checkpoints at a time, so memory
// holds one page, not every segment's state).
func (s *SegmentationStore) PhaseStates(ctx context.Context, k sweep.RunKey, phase int, visit func(c sweep.Checkpoint) error) error {
	return queryPages(ctx, s.Client, &dynamodb.QueryInput{
		TableName: aws.String(s.Table), KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :phase)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(checkpointPK(k)), ":phase": str(fmt.Sprintf("P%d#", phase))},
		ConsistentRead:            aws.Bool(true),
	}, "read segment states", func(items []map[string]types.AttributeValue) error {
		for _, item := range items {
			c, err := decodeCheckpoint(item)
			if err != nil {
				return err
			}
			if err := visit(c); err != nil {
				return err
			}
		}
		return nil
	})
}
