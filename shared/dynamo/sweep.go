package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/fault"
	"clientele/shared/sweep"
)

// Item layout of sweep runs (in whichever table the run's function owns):
//
//	SWEEP#<kind>         RUN#<day>          the run: phase, status, deadline, timings,
//	                                        done_1 / done_2 (number sets of completed segments)
//	SWEEP#<kind>#<day>   P<phase>#S<00000>  a segment's checkpoint: cursor, processor state, counters
//
// Runs of a kind sort by day, so the latest is one Query.

type runRecord struct {
	PK            string `dynamodbav:"pk"`
	SK            string `dynamodbav:"sk"`
	Kind          string `dynamodbav:"kind"`
	Day           string `dynamodbav:"day"`
	Zone          string `dynamodbav:"zone"`
	TotalSegments int    `dynamodbav:"total_segments"`
	Phases        int    `dynamodbav:"phases"`
	Phase         int    `dynamodbav:"phase"`
	Status        string `dynamodbav:"status"`
	Done1         []int  `dynamodbav:"done_1,numberset,omitempty"`
	Done2         []int  `dynamodbav:"done_2,numberset,omitempty"`
	Missing       []int  `dynamodbav:"missing,numberset,omitempty"`
	StartedAt     string `dynamodbav:"started_at"`
	Deadline      string `dynamodbav:"deadline"`
	FinishedAt    string `dynamodbav:"finished_at,omitempty"`
	P1Started     string `dynamodbav:"p1_started,omitempty"`
	P1Finished    string `dynamodbav:"p1_finished,omitempty"`
	P2Started     string `dynamodbav:"p2_started,omitempty"`
	P2Finished    string `dynamodbav:"p2_finished,omitempty"`
	Resumes       int    `dynamodbav:"resumes"`
}

type checkpointRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Phase     int    `dynamodbav:"phase"`
	Segment   int    `dynamodbav:"segment"`
	Cursor    string `dynamodbav:"cursor,omitempty"`
	State     []byte `dynamodbav:"state,omitempty"`
	Items     int64  `dynamodbav:"items"`
	Pages     int64  `dynamodbav:"pages"`
	Exhausted bool   `dynamodbav:"exhausted"`
	UpdatedAt string `dynamodbav:"updated_at"`
}

func runPK(kind string) string           { return "SWEEP#" + kind }
func runSK(day string) string            { return "RUN#" + day }
func checkpointPK(k sweep.RunKey) string { return "SWEEP#" + k.Kind + "#" + k.Day }
func checkpointSK(phase, segment int) string {
	return fmt.Sprintf("P%d#S%05d", phase, segment)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func toRunRecord(r sweep.Run) runRecord {
	return runRecord{PK: runPK(r.Key.Kind), SK: runSK(r.Key.Day), Kind: r.Key.Kind, Day: r.Key.Day, Zone: r.Zone,
		TotalSegments: r.TotalSegments, Phases: r.Phases, Phase: r.Phase, Status: string(r.Status),
		Done1: r.Done[0], Done2: r.Done[1], Missing: r.Missing, StartedAt: fmtTime(r.StartedAt), Deadline: fmtTime(r.Deadline),
		FinishedAt: fmtTime(r.FinishedAt), P1Started: fmtTime(r.Timings[0].Started), P1Finished: fmtTime(r.Timings[0].Finished),
		P2Started: fmtTime(r.Timings[1].Started), P2Finished: fmtTime(r.Timings[1].Finished), Resumes: r.Resumes}
}

func fromRunRecord(rec runRecord) sweep.Run {
	r := sweep.Run{Key: sweep.RunKey{Kind: rec.Kind, Day: rec.Day}, Zone: rec.Zone, TotalSegments: rec.TotalSegments,
		Phases: rec.Phases, Phase: rec.Phase, Status: sweep.Status(rec.Status), Missing: rec.Missing,
		StartedAt: parseTime(rec.StartedAt), Deadline: parseTime(rec.Deadline), FinishedAt: parseTime(rec.FinishedAt), Resumes: rec.Resumes}
	r.Done[0], r.Done[1] = rec.Done1, rec.Done2
	for i := range r.Done {
		slices.Sort(r.Done[i])
	}
	slices.Sort(r.Missing)
	r.Timings[0] = sweep.PhaseTiming{Started: parseTime(rec.P1Started), Finished: parseTime(rec.P1Finished)}
	r.Timings[1] = sweep.PhaseTiming{Started: parseTime(rec.P2Started), Finished: parseTime(rec.P2Finished)}
	return r
}

// SweepStore implements sweep.Store.
type SweepStore struct {
	Client *dynamodb.Client
	Table  string
}

var _ sweep.Store = (*SweepStore)(nil)

func runKey(k sweep.RunKey) map[string]types.AttributeValue { return key(runPK(k.Kind), runSK(k.Day)) }

func num(n int) types.AttributeValue { return &types.AttributeValueMemberN{Value: strconv.Itoa(n)} }
func str(s string) types.AttributeValue {
	return &types.AttributeValueMemberS{Value: s}
}

// CreateRun implements sweep.Store.
func (s *SweepStore) CreateRun(ctx context.Context, r sweep.Run) (sweep.Run, bool, error) {
	item, err := attributevalue.MarshalMap(toRunRecord(r))
	if err != nil {
		return sweep.Run{}, false, fault.Wrap(fault.Internal, err, "marshal run")
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err == nil {
		return r, true, nil
	}
	if !isConditionFailed(err) {
		return sweep.Run{}, false, translate(err, "create run")
	}
	existing, err := s.Run(ctx, r.Key)
	return existing, false, err
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// Run implements sweep.Store.
func (s *SweepStore) Run(ctx context.Context, k sweep.RunKey) (sweep.Run, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: runKey(k), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return sweep.Run{}, translate(err, "get run")
	}
	if out.Item == nil {
		return sweep.Run{}, fault.New(fault.NotFound, "no run %s", k.ID())
	}
	return decodeRun(out.Item)
}

func decodeRun(item map[string]types.AttributeValue) (sweep.Run, error) {
	var rec runRecord
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return sweep.Run{}, fault.Wrap(fault.Internal, err, "unmarshal run")
	}
	return fromRunRecord(rec), nil
}

// Latest implements sweep.Store.
func (s *SweepStore) Latest(ctx context.Context, kind string) (sweep.Run, error) {
	out, err := s.Client.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.Table), KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :run)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(runPK(kind)), ":run": str("RUN#")},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(1), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return sweep.Run{}, translate(err, "latest run")
	}
	if len(out.Items) == 0 {
		return sweep.Run{}, fault.New(fault.NotFound, "no %s run yet", kind)
	}
	return decodeRun(out.Items[0])
}

// Checkpoint implements sweep.Store.
func (s *SweepStore) Checkpoint(ctx context.Context, k sweep.RunKey, phase, segment int) (sweep.Checkpoint, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(checkpointPK(k), checkpointSK(phase, segment)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return sweep.Checkpoint{}, translate(err, "get checkpoint")
	}
	if out.Item == nil {
		return sweep.Checkpoint{Phase: phase, Segment: segment}, nil
	}
	return decodeCheckpoint(out.Item)
}

func decodeCheckpoint(item map[string]types.AttributeValue) (sweep.Checkpoint, error) {
	var rec checkpointRecord
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return sweep.Checkpoint{}, fault.Wrap(fault.Internal, err, "unmarshal checkpoint")
	}
	return sweep.Checkpoint{Phase: rec.Phase, Segment: rec.Segment, Cursor: rec.Cursor, State: rec.State, Items: rec.Items,
		Pages: rec.Pages, Exhausted: rec.Exhausted, UpdatedAt: parseTime(rec.UpdatedAt)}, nil
}

// MaxCheckpointState bounds a processor's checkpointed state: the
// checkpoint is one item, and DynamoDB items stop at 400 KB.
const MaxCheckpointState = 350 << 10

// SaveCheckpoint implements sweep.Store.
func (s *SweepStore) SaveCheckpoint(ctx context.Context, k sweep.RunKey, c sweep.Checkpoint, prevPages int64) error {
	if len(c.State) > MaxCheckpointState {
		return fault.New(fault.Internal, "segment %d of run %s: processor state of %d bytes exceeds the checkpoint's %d", c.Segment, k.ID(), len(c.State), MaxCheckpointState)
	}
	item, err := attributevalue.MarshalMap(checkpointRecord{PK: checkpointPK(k), SK: checkpointSK(c.Phase, c.Segment), Phase: c.Phase,
		Segment: c.Segment, Cursor: c.Cursor, State: c.State, Items: c.Items, Pages: c.Pages, Exhausted: c.Exhausted, UpdatedAt: fmtTime(c.UpdatedAt)})
	if err != nil {
		return fault.Wrap(fault.Internal, err, "marshal checkpoint")
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item}
	if prevPages == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		in.ConditionExpression = aws.String("#pages = :prev")
		in.ExpressionAttributeNames = map[string]string{"#pages": "pages"}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":prev": num(int(prevPages))}
	}
	if _, err := s.Client.PutItem(ctx, in); err != nil {
		if isConditionFailed(err) {
			return fault.Wrap(fault.Conflict, err, "segment %d of phase %d of run %s moved on in another delivery", c.Segment, c.Phase, k.ID())
		}
		return translate(err, "save checkpoint")
	}
	return nil
}

// Checkpoints implements sweep.Store.
func (s *SweepStore) Checkpoints(ctx context.Context, k sweep.RunKey) ([]sweep.Checkpoint, error) {
	var out []sweep.Checkpoint
	err := queryPages(ctx, s.Client, &dynamodb.QueryInput{
		TableName: aws.String(s.Table), KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(checkpointPK(k))}, ConsistentRead: aws.Bool(true),
	}, "list checkpoints", func(items []map[string]types.AttributeValue) error {
		for _, item := range items {
			c, err := decodeCheckpoint(item)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

func phaseAttr(prefix string, phase int) (string, error) {
	if phase < 1 || phase > sweep.MaxPhases {
		return "", fault.New(fault.Invalid, "phase %d out of range", phase)
	}
	return prefix + strconv.Itoa(phase), nil
}

// CompleteSegment implements sweep.Store: ADD to the phase's number set of
// completed segments, conditional on the run running in that phase and
// the set not containing the segment, so a redelivered segment is never
// counted twice and exactly one update fills the set.
func (s *SweepStore) CompleteSegment(ctx context.Context, k sweep.RunKey, phase, segment int) (sweep.Run, bool, error) {
	done, err := phaseAttr("done_", phase)
	if err != nil {
		return sweep.Run{}, false, err
	}
	out, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: runKey(k),
		UpdateExpression:         aws.String("ADD #done :seg"),
		ConditionExpression:      aws.String("#st = :running AND #ph = :phase AND (attribute_not_exists(#done) OR NOT contains(#done, :n))"),
		ExpressionAttributeNames: map[string]string{"#done": done, "#st": "status", "#ph": "phase"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":seg": &types.AttributeValueMemberNS{Value: []string{strconv.Itoa(segment)}}, ":n": num(segment),
			":running": str(string(sweep.Running)), ":phase": num(phase),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err == nil {
		r, err := decodeRun(out.Attributes)
		return r, err == nil, err
	}
	if !isConditionFailed(err) {
		return sweep.Run{}, false, translate(err, "complete segment")
	}
	r, err := s.Run(ctx, k)
	return r, false, err
}

// update runs a conditional UpdateItem on the run item and reports whether
// the condition held.
func (s *SweepStore) update(ctx context.Context, k sweep.RunKey, op, expr, cond string, names map[string]string, values map[string]types.AttributeValue) (bool, error) {
	names["#st"] = "status"
	for _, n := range []string{"phases", "missing", "deadline", "finished_at", "resumes"} {
		if strings.Contains(expr, "#"+n) || strings.Contains(cond, "#"+n) {
			names["#"+n] = n
		}
	}
	values[":running"] = str(string(sweep.Running))
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: runKey(k), UpdateExpression: aws.String(expr),
		ConditionExpression:      aws.String("attribute_exists(pk) AND " + cond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	if err == nil {
		return true, nil
	}
	if isConditionFailed(err) {
		return false, nil
	}
	return false, translate(err, op)
}

// AdvancePhase implements sweep.Store.
func (s *SweepStore) AdvancePhase(ctx context.Context, k sweep.RunKey, from int, at time.Time) (bool, error) {
	fin, err := phaseAttr("p", from)
	if err != nil {
		return false, err
	}
	start, err := phaseAttr("p", from+1)
	if err != nil {
		return false, err
	}
	return s.update(ctx, k, "advance run",
		"SET #ph = :to, #fin = :at, #start = :at",
		"#st = :running AND #ph = :from AND #phases > :from",
		map[string]string{"#ph": "phase", "#fin": fin + "_finished", "#start": start + "_started"},
		map[string]types.AttributeValue{":to": num(from + 1), ":from": num(from), ":at": str(fmtTime(at))})
}

// Succeed implements sweep.Store.
func (s *SweepStore) Succeed(ctx context.Context, k sweep.RunKey, at time.Time) (bool, error) {
	r, err := s.Run(ctx, k)
	if err != nil {
		return false, err
	}
	fin, err := phaseAttr("p", r.Phase)
	if err != nil {
		return false, err
	}
	return s.update(ctx, k, "finish run",
		"SET #st = :ok, #fin = :at, #finished_at = :at",
		"#st = :running AND #ph = #phases AND #ph = :phase",
		map[string]string{"#ph": "phase", "#fin": fin + "_finished"},
		map[string]types.AttributeValue{":ok": str(string(sweep.Succeeded)), ":at": str(fmtTime(at)), ":phase": num(r.Phase)})
}

// Fail implements sweep.Store.
func (s *SweepStore) Fail(ctx context.Context, k sweep.RunKey, phase int, missing []int, at time.Time) (bool, error) {
	done, err := phaseAttr("done_", phase)
	if err != nil {
		return false, err
	}
	r, err := s.Run(ctx, k)
	if err != nil {
		return false, err
	}
	expr := "SET #st = :failed, #finished_at = :at REMOVE #missing"
	values := map[string]types.AttributeValue{":failed": str(string(sweep.Failed)), ":at": str(fmtTime(at)), ":phase": num(phase)}
	if len(missing) > 0 {
		ns := make([]string, len(missing))
		for i, m := range missing {
			ns[i] = strconv.Itoa(m)
		}
		expr = "SET #st = :failed, #finished_at = :at, #missing = :missing"
		values[":missing"] = &types.AttributeValueMemberNS{Value: ns}
	}
	cond := "#st = :running AND #ph = :phase AND attribute_not_exists(#done)"
	if n := r.TotalSegments - len(missing); n > 0 {
		cond = "#st = :running AND #ph = :phase AND size(#done) = :done"
		values[":done"] = num(n)
	}
	return s.update(ctx, k, "fail run", expr, cond, map[string]string{"#ph": "phase", "#done": done}, values)
}

// Reopen implements sweep.Store.
func (s *SweepStore) Reopen(ctx context.Context, k sweep.RunKey, deadline time.Time) (bool, error) {
	return s.update(ctx, k, "reopen run",
		"SET #st = :running, #deadline = :deadline REMOVE #missing, #finished_at ADD #resumes :one",
		"#st = :failed",
		map[string]string{},
		map[string]types.AttributeValue{":failed": str(string(sweep.Failed)), ":deadline": str(fmtTime(deadline)), ":one": num(1)})
}

// ScanReader reads one parallel-scan segment of a table a page at a time,
// keeping the items whose partition key starts with Prefix (all when
// empty) and decoding them into T (a record with dynamodbav tags). It
// implements sweep.PageReader[T]. The cursor is the page's
// LastEvaluatedKey, encoded as base64 JSON of its string attributes.
type ScanReader[T any] struct {
	Client *dynamodb.Client
	Table  string
	// Index, when set, scans that secondary index instead of the table: a
	// sparse index holding only the swept items (say, points accounts)
	// makes the scan read, and pay for, only those.
	Index  string
	Prefix string
	// ConsistentRead makes the scan strongly consistent (twice the read
	// cost).
	ConsistentRead bool
}

var _ sweep.PageReader[struct{}] = (*ScanReader[struct{}])(nil)

// ReadPage implements sweep.PageReader.
func (r *ScanReader[T]) ReadPage(ctx context.Context, p sweep.Page) ([]T, string, error) {
	in := &dynamodb.ScanInput{
		TableName: aws.String(r.Table), Segment: aws.Int32(int32(p.Segment)), TotalSegments: aws.Int32(int32(p.TotalSegments)),
		ConsistentRead: aws.Bool(r.ConsistentRead),
	}
	if r.Index != "" {
		in.IndexName = aws.String(r.Index)
	}
	if p.Limit > 0 {
		in.Limit = aws.Int32(p.Limit)
	}
	if r.Prefix != "" {
		in.FilterExpression = aws.String("begins_with(pk, :prefix)")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":prefix": str(r.Prefix)}
	}
	if p.Cursor != "" {
		start, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	out, err := r.Client.Scan(ctx, in)
	if err != nil {
		return nil, "", translate(err, "scan segment")
	}
	items := make([]T, 0, len(out.Items))
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, "", fault.Wrap(fault.Internal, err, "unmarshal scanned items")
	}
	next, err := encodeCursor(out.LastEvaluatedKey)
	if err != nil {
		return nil, "", err
	}
	return items, next, nil
}

func encodeCursor(k map[string]types.AttributeValue) (string, error) {
	if len(k) == 0 {
		return "", nil
	}
	m := make(map[string]string, len(k))
	for name, v := range k {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fault.New(fault.Internal, "scan cursor: key attribute %s is not a string", name)
		}
		m[name] = s.Value
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return "", fault.Wrap(fault.Internal, err, "encode scan cursor")
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

func decodeCursor(c string) (map[string]types.AttributeValue, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	var m map[string]string
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil || len(m) == 0 {
		return nil, fault.New(fault.Invalid, "scan cursor %q is malformed", c)
	}
	out := make(map[string]types.AttributeValue, len(m))
	for name, v := range m {
		out[name] = str(v)
	}
	return out, nil
}

// TableSizer reports a table's approximate item count (DescribeTable;
// DynamoDB refreshes it about every six hours). It implements sweep.Sizer.
type TableSizer struct {
	Client *dynamodb.Client
	Table  string
}

// ItemCount implements sweep.Sizer.
func (s *TableSizer) ItemCount(ctx context.Context) (int64, error) {
	out, err := s.Client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Table)})
	if err != nil {
		return 0, translate(err, "describe table")
	}
	return aws.ToInt64(out.Table.ItemCount), nil
}
