package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
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

// Cluster is an open problem cluster.
type Cluster struct {
	ID string `json:"id"`
	// Key is what the cluster counts: "sku#<sku>", "store#<store>#<category>"
	// or, for a text cluster, "text#<first band key>".
	Key string `json:"key"`
	// Window is the start of the window the cluster opened in; a key opens
	// at most one cluster per window.
	Window   time.Time `json:"window"`
	OpenedAt time.Time `json:"opened_at"`
	// Decision is why it opened.
	Decision feedback.BurstDecision `json:"decision"`
	// Signature represents a text cluster (nil for sku and store keys):
	// complaints without a key find it through its band keys.
	Signature *feedback.Signature `json:"signature,omitempty"`
	// Cases counts the cases linked to it.
	Cases int64 `json:"cases"`
}

type clusterKeyRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	ClusterID string `dynamodbav:"cluster_id"`
}

type clusterRecord struct {
	PK    string `dynamodbav:"pk"`
	SK    string `dynamodbav:"sk"`
	Body  string `dynamodbav:"body"`
	Cases int64  `dynamodbav:"cases"`
}

type bandRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Signature string `dynamodbav:"signature"`
}

type counterRecord struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	N  int64  `dynamodbav:"n"`
}

// openClustersPK partitions the index of open clusters (clusters do not
// close yet, so it lists every cluster).
const openClustersPK = "FBIDX#clusters#open"

func clusterKeyPK(k string) string { return "FBCLKEY#" + k }

func windowSK(w time.Time) string { return "WINDOW#" + w.UTC().Format(time.RFC3339Nano) }

func bandPK(i int, h uint64) string { return fmt.Sprintf("FBBAND#%02d#%016x", i, h) }

// OpenCluster opens cl unless its key already has a cluster in cl.Window:
// a conditional put on the key's window item, so of any number of
// concurrent intakes exactly one opens it (opened true, its events go to the
// outbox in the same transaction) and the others get that cluster with
// opened false.
func (s *FeedbackStore) OpenCluster(ctx context.Context, cl Cluster, events []event.Envelope) (Cluster, bool, error) {
	if cl.ID == "" || cl.Key == "" || cl.Window.IsZero() {
		return Cluster{}, false, fault.New(fault.Invalid, "a cluster needs an id, a key and a window")
	}
	for attempt := 0; ; attempt++ {
		out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(s.Table), Key: key(clusterKeyPK(cl.Key), windowSK(cl.Window)), ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return Cluster{}, false, translate(err, "get cluster key")
		}
		if out.Item != nil {
			var r clusterKeyRecord
			if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
				return Cluster{}, false, fault.Wrap(fault.Internal, err, "unmarshal cluster key")
			}
			got, err := s.Cluster(ctx, r.ClusterID)
			return got, false, err
		}
		err = s.writeCluster(ctx, cl, events)
		if err == nil {
			return cl, true, nil
		}
		if e, ok := fault.As(err); ok && (e.Err == errRace || e.Err == errClusterTaken) && attempt < 20 {
			if berr := backoff(ctx, min(attempt, 4)); berr != nil {
				return Cluster{}, false, translate(berr, "open cluster")
			}
			continue
		}
		return Cluster{}, false, err
	}
}

func (s *FeedbackStore) writeCluster(ctx context.Context, cl Cluster, events []event.Envelope) error {
	t := &txn{table: s.Table}
	if err := t.put("cluster-key", clusterKeyRecord{PK: clusterKeyPK(cl.Key), SK: windowSK(cl.Window), ClusterID: cl.ID}, "attribute_not_exists(pk)", nil); err != nil {
		return err
	}
	body, err := json.Marshal(cl)
	if err != nil {
		return fault.Wrap(fault.Internal, err, "encode cluster")
	}
	if err := t.put("cluster", clusterRecord{PK: "FBCL#" + cl.ID, SK: "CLUSTER", Body: string(body), Cases: cl.Cases}, "attribute_not_exists(pk)", nil); err != nil {
		return err
	}
	// The open-clusters index (reports and the staff list).
	if err := t.put("index", clusterKeyRecord{PK: openClustersPK, SK: cl.ID, ClusterID: cl.ID}, "", nil); err != nil {
		return err
	}
	if cl.Signature != nil {
		sig, err := json.Marshal(cl.Signature)
		if err != nil {
			return fault.Wrap(fault.Internal, err, "encode signature")
		}
		for i, b := range cl.Signature.BandKeys() {
			if err := t.put("band", bandRecord{PK: bandPK(i, b), SK: cl.ID, Signature: string(sig)}, "", nil); err != nil {
				return err
			}
		}
	}
	if err := addEvents(t, events); err != nil {
		return err
	}
	return caseConflict(t, t.commit(ctx, s.Client))
}

// LatestCluster returns the cluster a key opened most recently, so intake
// can keep joining a burst that runs past its window instead of opening
// another; fault.NotFound when the key never opened one.
func (s *FeedbackStore) LatestCluster(ctx context.Context, clusterKey string) (Cluster, error) {
	out, err := s.Client.Query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :w)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: clusterKeyPK(clusterKey)},
			":w":  &types.AttributeValueMemberS{Value: "WINDOW#"},
		},
		ScanIndexForward: aws.Bool(false),
		Limit:            aws.Int32(1),
		ConsistentRead:   aws.Bool(true),
	})
	if err != nil {
		return Cluster{}, translate(err, "query cluster key")
	}
	if len(out.Items) == 0 {
		return Cluster{}, &fault.Error{Kind: fault.NotFound, Message: "no cluster for this key", Fields: []fault.FieldError{{Field: "cluster", Reason: "none"}}}
	}
	var r clusterKeyRecord
	if err := attributevalue.UnmarshalMap(out.Items[0], &r); err != nil {
		return Cluster{}, fault.Wrap(fault.Internal, err, "unmarshal cluster key")
	}
	return s.Cluster(ctx, r.ClusterID)
}

// OpenClusters lists up to limit open clusters, newest first (cluster ids
// are ULIDs), with a cursor for the next page ("" at the end).
func (s *FeedbackStore) OpenClusters(ctx context.Context, cursor string, limit int) ([]Cluster, string, error) {
	if limit <= 0 || limit > 100 {
		return nil, "", fault.Field("limit", "must be 1–100")
	}
	if cursor != "" && !cursorPattern.MatchString(cursor) {
		return nil, "", fault.Field("cursor", "not a position in this list")
	}
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: openClustersPK},
		},
		ScanIndexForward: aws.Bool(false),
		Limit:            aws.Int32(int32(limit + 1)),
		ConsistentRead:   aws.Bool(true),
	}
	if cursor != "" {
		in.ExclusiveStartKey = key(openClustersPK, cursor)
	}
	out, err := s.Client.Query(ctx, in)
	if err != nil {
		return nil, "", translate(err, "list clusters")
	}
	var recs []clusterKeyRecord
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &recs); err != nil {
		return nil, "", fault.Wrap(fault.Internal, err, "unmarshal cluster index")
	}
	next := ""
	if len(recs) > limit {
		recs = recs[:limit]
		next = recs[limit-1].ClusterID
	}
	cls := make([]Cluster, 0, len(recs))
	for _, r := range recs {
		cl, err := s.Cluster(ctx, r.ClusterID)
		if err != nil {
			return nil, "", err
		}
		cls = append(cls, cl)
	}
	return cls, next, nil
}

// Cluster returns a cluster by id with its current case count.
func (s *FeedbackStore) Cluster(ctx context.Context, id string) (Cluster, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key("FBCL#"+id, "CLUSTER"), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Cluster{}, translate(err, "get cluster")
	}
	if out.Item == nil {
		return Cluster{}, &fault.Error{Kind: fault.NotFound, Message: "no such cluster", Fields: []fault.FieldError{{Field: "cluster", Reason: "no such cluster"}}}
	}
	var r clusterRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return Cluster{}, fault.Wrap(fault.Internal, err, "unmarshal cluster")
	}
	var cl Cluster
	if err := json.Unmarshal([]byte(r.Body), &cl); err != nil {
		return Cluster{}, fault.Wrap(fault.Internal, err, "decode cluster")
	}
	cl.Cases = r.Cases
	return cl, nil
}

// LinkCase links a case to a cluster (feedback.Case.JoinCluster) and counts
// it on the cluster in the same transaction; linking it again changes
// nothing.
func (s *FeedbackStore) LinkCase(ctx context.Context, clusterID, caseID string) (*feedback.Case, error) {
	now := s.now()
	return s.Update(ctx, caseID, func(c *feedback.Case) error { return c.JoinCluster(clusterID, now) }, CaseWrite{})
}

// TextCandidates returns the text clusters sharing a band key with sig,
// for feedback.BestMatch: 16 queries of the band index, no scan.
func (s *FeedbackStore) TextCandidates(ctx context.Context, sig feedback.Signature) ([]feedback.ClusterCandidate, error) {
	seen := map[string]bool{}
	var out []feedback.ClusterCandidate
	for i, b := range sig.BandKeys() {
		page, err := s.Client.Query(ctx, &dynamodb.QueryInput{
			TableName:              aws.String(s.Table),
			KeyConditionExpression: aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": &types.AttributeValueMemberS{Value: bandPK(i, b)},
			},
			Limit: aws.Int32(50),
		})
		if err != nil {
			return nil, translate(err, "query cluster bands")
		}
		var recs []bandRecord
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
			return nil, fault.Wrap(fault.Internal, err, "unmarshal cluster bands")
		}
		for _, r := range recs {
			if seen[r.SK] {
				continue
			}
			seen[r.SK] = true
			var c feedback.ClusterCandidate
			c.ID = r.SK
			if err := json.Unmarshal([]byte(r.Signature), &c.Signature); err != nil {
				return nil, fault.Wrap(fault.Internal, err, "decode band signature")
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// DayCounts returns the complaints counted for key on each UTC day from
// first to last (inclusive), oldest first: the burst rule's window and
// trailing baseline. Counts are added when a case is triaged.
func (s *FeedbackStore) DayCounts(ctx context.Context, countKey string, first, last time.Time) ([]int, error) {
	first, last = first.UTC().Truncate(24*time.Hour), last.UTC().Truncate(24*time.Hour)
	if last.Before(first) || last.Sub(first) > 366*24*time.Hour {
		return nil, fault.Field("from", "must be within a year before the end")
	}
	days := int(last.Sub(first)/(24*time.Hour)) + 1
	counts := make([]int, days)
	err := queryPages(ctx, s.Client, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "FBCOUNT#" + countKey},
			":lo": &types.AttributeValueMemberS{Value: "DAY#" + first.Format("2006-01-02")},
			":hi": &types.AttributeValueMemberS{Value: "DAY#" + last.Format("2006-01-02")},
		},
		ConsistentRead: aws.Bool(true),
	}, "query day counts", func(items []map[string]types.AttributeValue) error {
		var recs []counterRecord
		if err := attributevalue.UnmarshalListOfMaps(items, &recs); err != nil {
			return fault.Wrap(fault.Internal, err, "unmarshal day counts")
		}
		for _, r := range recs {
			d, err := time.Parse("2006-01-02", strings.TrimPrefix(r.SK, "DAY#"))
			if err != nil {
				continue
			}
			counts[int(d.Sub(first)/(24*time.Hour))] = int(r.N)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// FeedbackReport is a week's report aggregates.
type FeedbackReport struct {
	// Counts by dimension and value: received/all, channel, store, type,
	// category, priority, resolved/all, breached/all.
	Counts map[string]map[string]int64 `json:"counts"`
	// FirstResponse and Resolution are the sketches of the times from
	// creation to the first agent reply and to the first resolution, for
	// medians and 90th percentiles.
	FirstResponse feedback.DurationSketch `json:"first_response"`
	Resolution    feedback.DurationSketch `json:"resolution"`
}

// Report returns a week's aggregates ("2026-W49": ISO weeks in UTC, by
// case creation), summing the shards of each counter: one query, no scan.
func (s *FeedbackStore) Report(ctx context.Context, week string) (FeedbackReport, error) {
	rep := FeedbackReport{Counts: map[string]map[string]int64{}}
	p := dynamodb.NewQueryPaginator(s.Client, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "FBREPORT#" + week},
		},
		ConsistentRead: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return FeedbackReport{}, translate(err, "query report")
		}
		var recs []counterRecord
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
			return FeedbackReport{}, fault.Wrap(fault.Internal, err, "unmarshal report")
		}
		for _, r := range recs {
			i := strings.LastIndex(r.SK, "#")
			if i < 0 {
				continue
			}
			dim, value, ok := strings.Cut(r.SK[:i], "#")
			if _, err := strconv.Atoi(r.SK[i+1:]); !ok || err != nil {
				continue
			}
			switch dim {
			case "first_response", "resolution":
				sk := &rep.FirstResponse
				if dim == "resolution" {
					sk = &rep.Resolution
				}
				if value == "zero" {
					sk.Zero += r.N
				} else if b, err := strconv.Atoi(value); err == nil {
					sk.Merge(feedback.DurationSketch{Counts: map[int]int64{b: r.N}})
				}
			default:
				if rep.Counts[dim] == nil {
					rep.Counts[dim] = map[string]int64{}
				}
				rep.Counts[dim][value] += r.N
			}
		}
	}
	return rep, nil
}

// ReportWeek names the report week of t (ISO week in UTC).
func ReportWeek(t time.Time) string { return isoWeek(t) }
