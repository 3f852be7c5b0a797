package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/survey"
)

// Item layout of the surveys table (pk/sk only, no index):
//
//	SURVEY#<id>                       HEAD                  latest version and a revision (optimistic edits)
//	SURVEY#<id>                       V#<version>           one definition version (JSON), version zero-padded
//	SURVEY#<id>                       STORE#<version>#<st>  a store with responses to that version (rankings)
//	SRESP#<response id>               RESPONSE              the response: its dedupe item (content hash)
//	SCLAIM#<survey>#<dedupe key>      CLAIM                 one response per member or per order
//	SNONCE#<nonce>                    NONCE                 a link token's single use (expires with the token)
//	SMEMBER#<member>                  RESPONSE#<id>         the member's responses (erasure, export)
//	SCELL#<survey>#<v>#<store>#<ch>   D#<day>#<part>        a day cell of one roll-up series
//	SCELL#<survey>#<v>#<store>#<ch>   M#<month>#<part>      its month roll-up
//
// A cell item holds the tallies of all questions of a survey version, as
// numbers updated with ADD (attribute q<i><field>, i the question's index in
// the version; choices by index too). When a version's worst-case update
// expression would pass DynamoDB's 4 KB expression limit, its questions are
// split over parts (items) of the same cell; every response touches every
// part, so each part item exists wherever the cell does.

// Survey storage limits.
const (
	// MaxTransactItems is DynamoDB's limit on the items of one transaction.
	MaxTransactItems = 100
	// maxExpressionBytes is what one cell part's ADD expression may take
	// (DynamoDB allows 4 KB per expression string).
	maxExpressionBytes = 3800
	// maxResponseBytes bounds a stored response (DynamoDB items are at
	// most 400 KB).
	maxResponseBytes = 350_000
	// maxResponseEvents is what a response may publish through the outbox
	// (a follow-up request and a completion bonus).
	maxResponseEvents = 2
	// fixedResponseItems are the items of a response's transaction besides
	// cells and events: response, claim, nonce, member link, store registry.
	fixedResponseItems = 5
	// cellsPerPart: 4 roll-up series × (day + month).
	cellsPerPart = 8
	// loadConcurrency bounds the parallel queries of one scores load.
	loadConcurrency = 16
	recordAttempts  = 25
)

var surveyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

// SurveyStore keeps survey definitions, responses and their aggregate cells
// in one table.
type SurveyStore struct {
	Client *dynamodb.Client
	Table  string
	// Zone is the brand's time zone: cells are kept by its local days.
	Zone *time.Location
	Now  func() time.Time
	// Cells, when set, caches the cells of closed periods that scores
	// queries read (see SurveyCellCache).
	Cells *SurveyCellCache
}

func (s *SurveyStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

type surveyHeadRecord struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	Latest   int    `dynamodbav:"latest"`
	Revision int64  `dynamodbav:"revision"`
}

type surveyVersionRecord struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Version    int    `dynamodbav:"version"`
	Definition string `dynamodbav:"definition"`
}

type surveyResponseRecord struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	Survey   string `dynamodbav:"survey"`
	Version  int    `dynamodbav:"version"`
	MemberID string `dynamodbav:"member_id,omitempty"`
	// Claim is the pk of the response's one-per claim.
	Claim string `dynamodbav:"claim"`
	Nonce string `dynamodbav:"nonce,omitempty"`
	// Hash identifies the content, so a replay is told from a different
	// response under the same id; dropped on erasure.
	Hash       string `dynamodbav:"hash,omitempty"`
	Response   string `dynamodbav:"response"`
	Erased     bool   `dynamodbav:"erased,omitempty"`
	RecordedAt int64  `dynamodbav:"recorded_at"`
}

type surveyClaimRecord struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	ResponseID string `dynamodbav:"response_id"`
}

type surveyNonceRecord struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	ResponseID string `dynamodbav:"response_id"`
	ExpiresAt  int64  `dynamodbav:"expires_at,omitempty"`
}

type surveyMemberLinkRecord struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	Survey string `dynamodbav:"survey"`
}

func surveyPK(id string) string             { return "SURVEY#" + id }
func surveyVersionSK(v int) string          { return fmt.Sprintf("V#%010d", v) }
func surveyStoreSK(v int, st string) string { return fmt.Sprintf("STORE#%010d#%s", v, st) }
func surveyResponsePK(id string) string     { return "SRESP#" + id }
func surveyNoncePK(n string) string         { return "SNONCE#" + n }
func surveyMemberPK(m string) string        { return "SMEMBER#" + m }
func surveyClaimPK(survey, k string) string { return "SCLAIM#" + survey + "#" + k }
func cellPK(k survey.SeriesKey) string {
	return fmt.Sprintf("SCELL#%s#%d#%s#%s", k.Survey, k.Version, k.Store, k.Channel)
}
func dayCellSK(d survey.Day, part int) string     { return fmt.Sprintf("D#%s#%d", d, part) }
func monthCellSK(m survey.Month, part int) string { return fmt.Sprintf("M#%s#%d", m, part) }

// SurveyFootprint is what one response to a definition version costs in
// DynamoDB at most.
type SurveyFootprint struct {
	// Parts is the number of items each cell is split over.
	Parts int
	// Items is the transaction's item count (at most MaxTransactItems).
	Items int
	// ResponseBytes bounds the stored response.
	ResponseBytes int
}

// Footprint computes the worst-case cost of recording one response to d.
func Footprint(d survey.Definition) SurveyFootprint {
	parts := cellParts(d)
	size := 2048 // ids, store, channel, instant, hash, attribute names
	for _, q := range d.Questions {
		size += 64 + len(q.ID)
		switch q.Kind {
		case survey.Text:
			size += 4*q.MaxLength + 32 // UTF-8 and JSON escapes of a typical text
		case survey.MultipleChoice, survey.SingleChoice:
			for _, c := range q.Choices {
				size += len(c.ID) + 3
			}
		}
	}
	return SurveyFootprint{Parts: len(parts), Items: fixedResponseItems + maxResponseEvents + cellsPerPart*len(parts), ResponseBytes: size}
}

// CheckDefinition refuses a definition version whose responses could not be
// recorded in one transaction: too many items, or a response too large for
// one item. The error names the questions field.
func CheckDefinition(d survey.Definition) error {
	var fs fault.Fields
	if !surveyIDPattern.MatchString(d.ID) {
		fs.Add("id", "must be 1 to 128 letters, digits, '-' or '_'")
	}
	if d.Version < 1 {
		fs.Add("version", "must be at least 1")
	}
	f := Footprint(d)
	if f.Items > MaxTransactItems {
		fs.Add("questions", fmt.Sprintf("a response would touch %d items in its transaction (at most %d): use fewer choice questions or choices", f.Items, MaxTransactItems))
	}
	if f.ResponseBytes > maxResponseBytes {
		fs.Add("questions", fmt.Sprintf("a response could take %d bytes (at most %d): lower the text questions' max_length", f.ResponseBytes, maxResponseBytes))
	}
	return fs.Err()
}

// cellTerm is one attribute a response may add to in a cell, with the
// largest value it may add (to bound the expression's length).
type cellTerm struct {
	name string
	max  int64
}

func questionTerms(d survey.Definition, i int) []cellTerm {
	q := d.Questions[i]
	p := "q" + strconv.Itoa(i)
	ts := []cellTerm{{p + "a", 1}, {p + "s", 1}}
	switch {
	case q.Kind.Scaled():
		ts = append(ts, cellTerm{p + "v10", 1})
		if q.Kind != survey.NPS && d.NPSQuestion() != "" {
			ts = append(ts, cellTerm{p + "dn", 1}, cellTerm{p + "dx", 10}, cellTerm{p + "dy", 10},
				cellTerm{p + "dxx", 100}, cellTerm{p + "dyy", 100}, cellTerm{p + "dxy", 100})
		}
	case q.Kind == survey.SingleChoice:
		ts = append(ts, cellTerm{p + "c" + strconv.Itoa(max(len(q.Choices)-1, 0)), 1})
	case q.Kind == survey.MultipleChoice:
		for j := range q.Choices {
			ts = append(ts, cellTerm{p + "c" + strconv.Itoa(j), 1})
		}
	}
	return ts
}

// termBytes is the length of "name :nV, " in an ADD expression.
func termBytes(t cellTerm) int {
	return len(t.name) + len(" :n") + len(strconv.FormatInt(t.max, 10)) + len(", ")
}

// cellParts splits a version's questions (by index) over cell items so
// each item's worst-case ADD expression fits. Deterministic per version.
func cellParts(d survey.Definition) [][]int {
	var parts [][]int
	var cur []int
	used := len("ADD ")
	for i := range d.Questions {
		n := 0
		for _, t := range questionTerms(d, i) {
			n += termBytes(t)
		}
		if len(cur) > 0 && used+n > maxExpressionBytes {
			parts = append(parts, cur)
			cur, used = nil, len("ADD ")
		}
		cur = append(cur, i)
		used += n
	}
	if len(cur) > 0 || len(parts) == 0 {
		parts = append(parts, cur)
	}
	return parts
}

// cellAdd builds the ADD expression of one cell part for a response's
// contribution, or "" when it adds nothing.
func cellAdd(d survey.Definition, qs []int, contrib map[string]survey.Tally) (string, map[string]types.AttributeValue) {
	var terms []string
	vals := map[string]types.AttributeValue{}
	add := func(name string, v int64) {
		if v == 0 {
			return
		}
		ph := ":n" + strconv.FormatInt(v, 10)
		vals[ph] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
		terms = append(terms, name+" "+ph)
	}
	for _, i := range qs {
		q := d.Questions[i]
		t := contrib[q.ID]
		p := "q" + strconv.Itoa(i)
		add(p+"a", t.Answered)
		add(p+"s", t.Skipped)
		for v, c := range t.Counts {
			add(p+"v"+strconv.Itoa(v), c)
		}
		for j, c := range q.Choices {
			add(p+"c"+strconv.Itoa(j), t.Choices[c.ID])
		}
		add(p+"dn", t.Drivers.N)
		add(p+"dx", t.Drivers.X)
		add(p+"dy", t.Drivers.Y)
		add(p+"dxx", t.Drivers.XX)
		add(p+"dyy", t.Drivers.YY)
		add(p+"dxy", t.Drivers.XY)
	}
	if len(terms) == 0 {
		return "", nil
	}
	return "ADD " + strings.Join(terms, ", "), vals
}

// cellTallies decodes the tallies of one cell part item. It visits the
// item's attributes once (only nonzero numbers are stored).
func cellTallies(d survey.Definition, qs []int, item map[string]types.AttributeValue) map[string]survey.Tally {
	ts := make([]survey.Tally, len(d.Questions))
	for name, av := range item {
		n, ok := av.(*types.AttributeValueMemberN)
		if !ok || len(name) < 3 || name[0] != 'q' {
			continue
		}
		j := 1
		for j < len(name) && name[j] >= '0' && name[j] <= '9' {
			j++
		}
		i, err := strconv.Atoi(name[1:j])
		if err != nil || i >= len(ts) || j == len(name) {
			continue
		}
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			continue
		}
		t := &ts[i]
		switch field := name[j:]; field {
		case "a":
			t.Answered = v
		case "s":
			t.Skipped = v
		case "dn":
			t.Drivers.N = v
		case "dx":
			t.Drivers.X = v
		case "dy":
			t.Drivers.Y = v
		case "dxx":
			t.Drivers.XX = v
		case "dyy":
			t.Drivers.YY = v
		case "dxy":
			t.Drivers.XY = v
		default:
			k, err := strconv.Atoi(field[1:])
			if err != nil || k < 0 {
				continue
			}
			switch {
			case field[0] == 'v' && k < len(t.Counts):
				t.Counts[k] = v
			case field[0] == 'c' && k < len(d.Questions[i].Choices):
				if t.Choices == nil {
					t.Choices = map[string]int64{}
				}
				t.Choices[d.Questions[i].Choices[k].ID] = v
			}
		}
	}
	out := make(map[string]survey.Tally, len(qs))
	for _, i := range qs {
		if i < len(d.Questions) {
			out[d.Questions[i].ID] = ts[i]
		}
	}
	return out
}

// ---- definitions ----

// CreateSurvey stores version 1 of a new survey. An existing id is a
// conflict naming "id".
func (s *SurveyStore) CreateSurvey(ctx context.Context, d survey.Definition) error {
	if d.Version != 1 {
		return fault.Field("version", "a new survey starts at version 1")
	}
	if err := CheckDefinition(d); err != nil {
		return err
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return fault.Wrap(fault.Internal, err, "encode definition")
	}
	t := &txn{table: s.Table}
	if err := t.put("head", surveyHeadRecord{PK: surveyPK(d.ID), SK: "HEAD", Latest: 1, Revision: 1}, "attribute_not_exists(pk)", nil); err != nil {
		return err
	}
	if err := t.put("version", surveyVersionRecord{PK: surveyPK(d.ID), SK: surveyVersionSK(1), Version: 1, Definition: string(raw)}, "attribute_not_exists(pk)", nil); err != nil {
		return err
	}
	if err := registryPut(t, d); err != nil {
		return err
	}
	err = s.commit(ctx, t, "create survey")
	if fault.Is(err, fault.Conflict) {
		return &fault.Error{Kind: fault.Conflict, Message: "a survey with this id exists", Err: err,
			Fields: []fault.FieldError{{Field: "id", Reason: "already exists"}}}
	}
	return err
}

// Survey returns a survey's latest version and the revision an edit must
// name (SaveSurveyVersion).
func (s *SurveyStore) Survey(ctx context.Context, id string) (survey.Definition, int64, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: key(surveyPK(id), "HEAD"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return survey.Definition{}, 0, translate(err, "get survey")
	}
	if out.Item == nil {
		return survey.Definition{}, 0, fault.New(fault.NotFound, "no survey %s", id)
	}
	var h surveyHeadRecord
	if err := attributevalue.UnmarshalMap(out.Item, &h); err != nil {
		return survey.Definition{}, 0, fault.Wrap(fault.Internal, err, "unmarshal survey head")
	}
	d, err := s.SurveyVersion(ctx, id, h.Latest)
	return d, h.Revision, err
}

// SurveyVersion returns one version of a survey.
func (s *SurveyStore) SurveyVersion(ctx context.Context, id string, v int) (survey.Definition, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: key(surveyPK(id), surveyVersionSK(v)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return survey.Definition{}, translate(err, "get survey version")
	}
	if out.Item == nil {
		return survey.Definition{}, fault.New(fault.NotFound, "survey %s has no version %d", id, v)
	}
	return decodeVersion(out.Item)
}

func decodeVersion(item map[string]types.AttributeValue) (survey.Definition, error) {
	var r surveyVersionRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return survey.Definition{}, fault.Wrap(fault.Internal, err, "unmarshal survey version")
	}
	var d survey.Definition
	if err := json.Unmarshal([]byte(r.Definition), &d); err != nil {
		return survey.Definition{}, fault.Wrap(fault.Internal, err, "decode survey version")
	}
	return d, nil
}

// SurveyHistory returns every version of a survey, oldest first.
func (s *SurveyStore) SurveyHistory(ctx context.Context, id string) ([]survey.Definition, error) {
	var out []survey.Definition
	err := queryPages(ctx, s.Client, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :v)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: surveyPK(id)},
			":v":  &types.AttributeValueMemberS{Value: "V#"},
		},
		ConsistentRead: aws.Bool(true),
	}, "list survey versions", func(items []map[string]types.AttributeValue) error {
		for _, it := range items {
			d, err := decodeVersion(it)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fault.New(fault.NotFound, "no survey %s", id)
	}
	return out, nil
}

// SaveSurveyVersion stores an edit made with survey.Edit on the version
// read at revision: a new version (the latest's number + 1) or the latest
// version replaced in place. Of two concurrent edits from the same
// revision, one wins and the other is a conflict.
func (s *SurveyStore) SaveSurveyVersion(ctx context.Context, d survey.Definition, revision int64) error {
	if err := CheckDefinition(d); err != nil {
		return err
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return fault.Wrap(fault.Internal, err, "encode definition")
	}
	t := &txn{table: s.Table}
	t.add("head", types.TransactWriteItem{Update: &types.Update{
		TableName:           aws.String(s.Table),
		Key:                 key(surveyPK(d.ID), "HEAD"),
		UpdateExpression:    aws.String("SET latest = :v, revision = :next"),
		ConditionExpression: aws.String("revision = :rev AND (latest = :v OR latest = :prev)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":v":    &types.AttributeValueMemberN{Value: strconv.Itoa(d.Version)},
			":prev": &types.AttributeValueMemberN{Value: strconv.Itoa(d.Version - 1)},
			":rev":  &types.AttributeValueMemberN{Value: strconv.FormatInt(revision, 10)},
			":next": &types.AttributeValueMemberN{Value: strconv.FormatInt(revision+1, 10)},
		},
	}})
	if err := t.put("version", surveyVersionRecord{PK: surveyPK(d.ID), SK: surveyVersionSK(d.Version), Version: d.Version, Definition: string(raw)}, "", nil); err != nil {
		return err
	}
	err = s.commit(ctx, t, "save survey version")
	if fault.Is(err, fault.Conflict) {
		return &fault.Error{Kind: fault.Conflict, Message: "the survey was edited meanwhile; read it again", Err: err,
			Fields: []fault.FieldError{{Field: "version", Reason: "the survey changed since it was read"}}}
	}
	return err
}

// ---- responses ----

// SurveyResponseWrite is one validated response to record.
type SurveyResponseWrite struct {
	// ID identifies the response: redeliveries and retries carry the same
	// id (e.g. the link token's nonce, or the caller's Idempotency-Key).
	ID string
	// Definition is the version the response answers.
	Definition survey.Definition
	Response   survey.Response
	// Nonce is the link token's nonce ("" when a member answered with
	// their own token); NonceExpires is the token's expiry.
	Nonce        string
	NonceExpires time.Time
	// Events are published through the outbox with the response (the
	// follow-up request, a completion bonus).
	Events []event.Envelope
}

// StoredSurveyResponse is a response as stored.
type StoredSurveyResponse struct {
	ID       string          `json:"id"`
	Response survey.Response `json:"response"`
	// Erased is set once the member was erased: no member link, no text.
	Erased bool `json:"erased,omitempty"`
}

type responseContent struct {
	Response survey.Response `json:"response"`
	Nonce    string          `json:"nonce,omitempty"`
}

func contentHash(c responseContent) (string, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:]), nil
}

// RecordResponse records a validated response in one transaction: the
// response (its dedupe item, keyed by id), its one-per-member or per-order
// claim, the link token nonce's single use, the member link, the store
// registry, the ADD to its day and month cells in each roll-up series, and
// its events. So a response counts exactly once. A replay with the same
// content is a no-op (duplicate is true); another content under the same
// id, a second response by the member or for the order, or a reused nonce
// is a conflict naming the field.
func (s *SurveyStore) RecordResponse(ctx context.Context, w SurveyResponseWrite) (duplicate bool, err error) {
	d, r := w.Definition, w.Response
	if w.ID == "" || strings.ContainsRune(w.ID, '#') {
		return false, fault.Field("id", "a response id is required (no '#')")
	}
	if r.Survey != d.ID || r.Version != d.Version {
		return false, fault.New(fault.Internal, "response answers %s v%d, not the definition given", r.Survey, r.Version)
	}
	if len(w.Events) > maxResponseEvents {
		return false, fault.New(fault.Internal, "a response publishes at most %d events", maxResponseEvents)
	}
	if err := CheckDefinition(d); err != nil {
		return false, err
	}
	c := responseContent{Response: r, Nonce: w.Nonce}
	hash, err := contentHash(c)
	if err != nil {
		return false, fault.Wrap(fault.Internal, err, "hash response")
	}
	t, err := s.responseTxn(w, hash)
	if err != nil {
		return false, err
	}
	for attempt := 0; ; attempt++ {
		_, err := s.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: t.items})
		if err == nil {
			return false, nil
		}
		reasons := cancellation(err)
		switch {
		case reasons == nil:
			// Throttling, a timeout: the outcome may be unknown, and a
			// retry with the same id is a replay at worst.
			if terr := translate(err, "record response"); !fault.Is(terr, fault.Unavailable) {
				return false, terr
			}
		case slices.ContainsFunc(reasons, func(r string) bool {
			return r != "" && r != "None" && r != "ConditionalCheckFailed" && r != "TransactionConflict"
		}):
			return false, fault.Wrap(fault.Internal, err, "record response: %v", reasons)
		case !isTransactionConflict(reasons) || slices.Contains(reasons, "ConditionalCheckFailed"):
			dup, rerr := s.refused(ctx, w, c, hash)
			if !fault.Is(rerr, fault.Unavailable) {
				return dup, rerr
			}
		}
		if attempt >= recordAttempts {
			return false, fault.New(fault.Unavailable, "the survey's cells are busy; retry")
		}
		if berr := backoff(ctx, attempt); berr != nil {
			return false, translate(berr, "record response")
		}
	}
}

// commit runs a transaction, retrying cancellations caused by concurrent
// transactions; a failed condition is a fault.Conflict.
func (s *SurveyStore) commit(ctx context.Context, t *txn, op string) error {
	for attempt := 0; ; attempt++ {
		_, err := s.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: t.items})
		reasons := cancellation(err)
		terr := translate(err, op)
		if terr == nil || attempt >= 8 || !(isTransactionConflict(reasons) || (reasons == nil && fault.Is(terr, fault.Unavailable))) {
			return terr
		}
		if berr := backoff(ctx, attempt); berr != nil {
			return translate(berr, op)
		}
	}
}

func (s *SurveyStore) responseTxn(w SurveyResponseWrite, hash string) (*txn, error) {
	d, r := w.Definition, w.Response
	now := s.now()
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "encode response")
	}
	claim := surveyClaimPK(d.ID, r.DedupeKey(d))
	t := &txn{table: s.Table}
	if err := t.put("response", surveyResponseRecord{PK: surveyResponsePK(w.ID), SK: "RESPONSE", Survey: d.ID, Version: d.Version,
		MemberID: r.MemberID, Claim: claim, Nonce: w.Nonce, Hash: hash, Response: string(raw), RecordedAt: now.Unix()},
		"attribute_not_exists(pk)", nil); err != nil {
		return nil, err
	}
	if err := t.put("claim", surveyClaimRecord{PK: claim, SK: "CLAIM", ResponseID: w.ID}, "attribute_not_exists(pk)", nil); err != nil {
		return nil, err
	}
	if w.Nonce != "" {
		var exp int64
		if !w.NonceExpires.IsZero() {
			exp = w.NonceExpires.Unix()
		}
		if err := t.put("nonce", surveyNonceRecord{PK: surveyNoncePK(w.Nonce), SK: "NONCE", ResponseID: w.ID, ExpiresAt: exp},
			"attribute_not_exists(pk)", nil); err != nil {
			return nil, err
		}
	}
	if r.MemberID != "" {
		if err := t.put("member", surveyMemberLinkRecord{PK: surveyMemberPK(r.MemberID), SK: "RESPONSE#" + w.ID, Survey: d.ID}, "", nil); err != nil {
			return nil, err
		}
	}
	t.add("store", types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.Table), Key: key(surveyPK(d.ID), surveyStoreSK(d.Version, r.Store)),
		UpdateExpression:          aws.String("ADD responses :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}},
	}})
	contrib := survey.Contribution(d, r)
	day := survey.DayOf(r.At, s.zone())
	for _, sc := range survey.RollUps(r.Store, r.Channel) {
		pk := cellPK(survey.SeriesKey{Survey: d.ID, Version: d.Version, Store: sc[0], Channel: sc[1]})
		for p, qs := range cellParts(d) {
			expr, vals := cellAdd(d, qs, contrib)
			if expr == "" {
				continue
			}
			for _, sk := range []string{dayCellSK(day, p), monthCellSK(day.Month(), p)} {
				t.add("cell", types.TransactWriteItem{Update: &types.Update{
					TableName: aws.String(s.Table), Key: key(pk, sk),
					UpdateExpression: aws.String(expr), ExpressionAttributeValues: vals,
				}})
			}
		}
	}
	for _, e := range w.Events {
		it, err := outboxItem(s.Table, e)
		if err != nil {
			return nil, err
		}
		t.add("outbox", it)
	}
	if len(t.items) > MaxTransactItems {
		return nil, fault.New(fault.Internal, "a response of survey %s v%d touches %d items", d.ID, d.Version, len(t.items))
	}
	return t, nil
}

func (s *SurveyStore) zone() *time.Location {
	if s.Zone != nil {
		return s.Zone
	}
	return time.UTC
}

// refused explains a cancelled response transaction: a replay (no-op), a
// different response under the same id, a second response, a reused
// nonce. It reads consistently, after the winner committed.
func (s *SurveyStore) refused(ctx context.Context, w SurveyResponseWrite, c responseContent, hash string) (bool, error) {
	got, err := s.getItem(ctx, surveyResponsePK(w.ID), "RESPONSE")
	if err != nil {
		return false, err
	}
	if got != nil {
		var rec surveyResponseRecord
		if err := attributevalue.UnmarshalMap(got, &rec); err != nil {
			return false, fault.Wrap(fault.Internal, err, "unmarshal response")
		}
		if rec.Erased || rec.Hash == hash {
			return true, nil
		}
		var prev survey.Response
		if err := json.Unmarshal([]byte(rec.Response), &prev); err != nil {
			return false, fault.Wrap(fault.Internal, err, "decode response")
		}
		field := responseDiff(responseContent{Response: prev, Nonce: rec.Nonce}, c)
		return false, &fault.Error{Kind: fault.Conflict, Message: "another response was recorded under this id",
			Fields: []fault.FieldError{{Field: field, Reason: "differs from the response already recorded under this id"}}}
	}
	d, r := w.Definition, w.Response
	claim, err := s.getItem(ctx, surveyClaimPK(d.ID, r.DedupeKey(d)), "CLAIM")
	if err != nil {
		return false, err
	}
	if claim != nil {
		field, reason := "member_id", "the member has already answered this survey"
		if d.OnePer == survey.PerOrder {
			field, reason = "order_id", "this order has already been answered"
		}
		return false, &fault.Error{Kind: fault.Conflict, Message: "a response was already recorded", Fields: []fault.FieldError{{Field: field, Reason: reason}}}
	}
	if w.Nonce != "" {
		n, err := s.getItem(ctx, surveyNoncePK(w.Nonce), "NONCE")
		if err != nil {
			return false, err
		}
		if n != nil {
			return false, &fault.Error{Kind: fault.Conflict, Message: "the link was already used",
				Fields: []fault.FieldError{{Field: "token", Reason: "already used"}}}
		}
	}
	// Nothing refuses it now: the cancellation was a race that passed.
	return false, &fault.Error{Kind: fault.Unavailable, Message: "the response raced another; retry"}
}

// responseDiff names the first field where two contents differ.
func responseDiff(a, b responseContent) string {
	x, y := a.Response, b.Response
	switch {
	case x.Survey != y.Survey:
		return "survey"
	case x.Version != y.Version:
		return "version"
	case x.MemberID != y.MemberID:
		return "member_id"
	case x.OrderID != y.OrderID:
		return "order_id"
	case x.Store != y.Store:
		return "store"
	case x.Channel != y.Channel:
		return "channel"
	case !x.At.Equal(y.At):
		return "at"
	case a.Nonce != b.Nonce:
		return "token"
	}
	for i := range max(len(x.Answers), len(y.Answers)) {
		if i >= len(x.Answers) || i >= len(y.Answers) || !reflect.DeepEqual(x.Answers[i], y.Answers[i]) {
			return fmt.Sprintf("answers[%d]", i)
		}
	}
	return "answers"
}

func (s *SurveyStore) getItem(ctx context.Context, pk, sk string) (map[string]types.AttributeValue, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, translate(err, "get "+strings.SplitN(pk, "#", 2)[0])
	}
	return out.Item, nil
}

// SurveyResponse returns one stored response.
func (s *SurveyStore) SurveyResponse(ctx context.Context, id string) (StoredSurveyResponse, error) {
	it, err := s.getItem(ctx, surveyResponsePK(id), "RESPONSE")
	if err != nil {
		return StoredSurveyResponse{}, err
	}
	if it == nil {
		return StoredSurveyResponse{}, fault.New(fault.NotFound, "no survey response %s", id)
	}
	return decodeResponse(it)
}

func decodeResponse(it map[string]types.AttributeValue) (StoredSurveyResponse, error) {
	var rec surveyResponseRecord
	if err := attributevalue.UnmarshalMap(it, &rec); err != nil {
		return StoredSurveyResponse{}, fault.Wrap(fault.Internal, err, "unmarshal response")
	}
	var r survey.Response
	if err := json.Unmarshal([]byte(rec.Response), &r); err != nil {
		return StoredSurveyResponse{}, fault.Wrap(fault.Internal, err, "decode response")
	}
	return StoredSurveyResponse{ID: strings.TrimPrefix(rec.PK, "SRESP#"), Response: r, Erased: rec.Erased}, nil
}

// memberResponseIDs lists the ids of a member's responses (a query on the
// member's partition).
func (s *SurveyStore) memberResponseIDs(ctx context.Context, memberID string) ([]string, error) {
	var ids []string
	err := queryPages(ctx, s.Client, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :r)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: surveyMemberPK(memberID)},
			":r":  &types.AttributeValueMemberS{Value: "RESPONSE#"},
		},
		ProjectionExpression: aws.String("sk"),
		ConsistentRead:       aws.Bool(true),
	}, "list member responses", func(items []map[string]types.AttributeValue) error {
		ids = appendSortKeys(ids, items, "RESPONSE#")
		return nil
	})
	return ids, err
}

// MemberResponses returns a member's responses (export), by a query on the
// member's partition and batched reads.
func (s *SurveyStore) MemberResponses(ctx context.Context, memberID string) ([]StoredSurveyResponse, error) {
	ids, err := s.memberResponseIDs(ctx, memberID)
	if err != nil {
		return nil, err
	}
	out := make([]StoredSurveyResponse, 0, len(ids))
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = key(surveyResponsePK(id), "RESPONSE")
	}
	err = batchGet(ctx, s.Client, s.Table, keys, true, "read member responses", func(it map[string]types.AttributeValue) error {
		r, err := decodeResponse(it)
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b StoredSurveyResponse) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// EraseMember drops a member's link and text answers from each of their
// responses (member.erased) and their per-member claims; the counts stay.
// It finds the responses by a query on the member's partition, and may be
// run again after a failure. It returns how many responses it erased.
func (s *SurveyStore) EraseMember(ctx context.Context, memberID string) (int, error) {
	ids, err := s.memberResponseIDs(ctx, memberID)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := s.eraseResponse(ctx, memberID, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

func (s *SurveyStore) eraseResponse(ctx context.Context, memberID, id string) error {
	it, err := s.getItem(ctx, surveyResponsePK(id), "RESPONSE")
	if err != nil {
		return err
	}
	t := &txn{table: s.Table}
	if it != nil {
		var rec surveyResponseRecord
		if err := attributevalue.UnmarshalMap(it, &rec); err != nil {
			return fault.Wrap(fault.Internal, err, "unmarshal response")
		}
		var r survey.Response
		if err := json.Unmarshal([]byte(rec.Response), &r); err != nil {
			return fault.Wrap(fault.Internal, err, "decode response")
		}
		raw, err := json.Marshal(r.Erase())
		if err != nil {
			return fault.Wrap(fault.Internal, err, "encode response")
		}
		if strings.Contains(rec.Claim, "#member#") {
			t.add("claim", types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.Table), Key: key(rec.Claim, "CLAIM")}})
		}
		rec.MemberID, rec.Hash, rec.Erased, rec.Response = "", "", true, string(raw)
		if err := t.put("response", rec, "attribute_exists(pk)", nil); err != nil {
			return err
		}
	}
	t.add("member", types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.Table), Key: key(surveyMemberPK(memberID), "RESPONSE#"+id)}})
	return s.commit(ctx, t, "erase response")
}

// ---- scores ----

// cellSpan is a range of cells of one series to read with one query.
type cellSpan struct {
	series survey.SeriesKey
	from   string
	to     string
	// only, when set, is the one question read (by projection): a store's
	// series serves the ranking and per-store changes of the headline.
	only string
}

// LoadScores reads the cells a scores query needs into aggregates, on
// which survey.Aggregates.Report computes the response: for each version
// merged into a scored question, the series of the query's stores (or the
// every-store roll-up plus each store with responses, for the ranking and
// per-store changes), and in each series the month roll-ups and edge days
// of the period, the previous period and the trend's buckets. Queries on
// each series' partition, never a scan.
func (s *SurveyStore) LoadScores(ctx context.Context, history []survey.Definition, q survey.ScoresQuery) (*survey.Aggregates, error) {
	agg := survey.NewAggregates(s.zone())
	byVersion := map[int]survey.Definition{}
	for _, d := range history {
		byVersion[d.Version] = d
	}
	d, ok := byVersion[q.Version]
	if !ok {
		return nil, fault.Field("version", "not a version of the survey")
	}
	versions := []int{d.Version}
	for _, x := range d.Questions {
		versions = append(versions, survey.Versions(history, x.ID, d.Version, q.Across)...)
	}
	slices.Sort(versions)
	versions = slices.Compact(versions)

	months, days := neededCells(q)
	channel := q.Channel
	if channel == "" {
		channel = survey.All
	}
	var spans []cellSpan
	// With a cell cache, closed months and days are read in spans of their
	// own, which the cache can keep (see SurveyCellCache).
	closedMonths, closedDays := 0, 0
	if s.Cells != nil {
		now := s.now()
		for closedMonths < len(months) && spanClosed(cellSpan{to: "M#" + months[closedMonths].String() + "#~"}, now, s.zone()) {
			closedMonths++
		}
		for closedDays < len(days) && spanClosed(cellSpan{to: "D#" + days[closedDays].String() + "#~"}, now, s.zone()) {
			closedDays++
		}
	}
	addSpans := func(k survey.SeriesKey, only string) {
		for _, ms := range [][]survey.Month{months[:closedMonths], months[closedMonths:]} {
			if len(ms) > 0 {
				spans = append(spans, cellSpan{k, "M#" + ms[0].String(), "M#" + ms[len(ms)-1].String() + "#~", only})
			}
		}
		for _, ds := range [][]survey.Day{days[:closedDays], days[closedDays:]} {
			for _, run := range dayRuns(ds) {
				spans = append(spans, cellSpan{k, "D#" + run[0].String(), "D#" + run[1].String() + "#~", only})
			}
		}
	}
	// Without a store set, scores, drivers, trend and change read the
	// every-store series; only the headline's ranking and per-store changes
	// read each store's series, and only the headline question of it.
	headline := survey.Versions(history, q.Question, d.Version, q.Across)
	registered := map[survey.SeriesKey]bool{}
	for _, v := range versions {
		if len(q.Stores) > 0 {
			stores := slices.Clone(q.Stores)
			slices.Sort(stores)
			for _, st := range slices.Compact(stores) {
				addSpans(survey.SeriesKey{Survey: d.ID, Version: v, Store: st, Channel: channel}, "")
			}
			continue
		}
		addSpans(survey.SeriesKey{Survey: d.ID, Version: v, Store: survey.All, Channel: channel}, "")
		if _, ok := byVersion[v].Question(q.Question); !ok || !slices.Contains(headline, v) {
			continue
		}
		st, err := s.versionStores(ctx, d.ID, v)
		if err != nil {
			return nil, err
		}
		for _, x := range st {
			k := survey.SeriesKey{Survey: d.ID, Version: v, Store: x, Channel: channel}
			registered[k] = true
			addSpans(k, q.Question)
		}
	}

	var mu sync.Mutex
	loaded := map[survey.SeriesKey]bool{}
	var firstErr error
	sem := make(chan struct{}, loadConcurrency)
	var wg sync.WaitGroup
	for _, sp := range spans {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			items, err := s.cachedCells(ctx, sp, byVersion[sp.series.Version])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			dv := byVersion[sp.series.Version]
			parts := cellParts(dv)
			for _, it := range items {
				sk, _ := it[SortKey].(*types.AttributeValueMemberS)
				if sk == nil {
					continue
				}
				f := strings.Split(sk.Value, "#")
				if len(f) != 3 {
					continue
				}
				part, err := strconv.Atoi(f[2])
				if err != nil || part >= len(parts) {
					continue
				}
				for qid, t := range cellTallies(dv, parts[part], it) {
					if sp.only != "" && qid != sp.only {
						continue
					}
					k := sp.series
					k.Question = qid
					switch f[0] {
					case "D":
						day, err := survey.ParseDay(f[1])
						if err == nil {
							agg.LoadDay(k, day, t)
						}
					case "M":
						day, err := survey.ParseDay(f[1] + "-01")
						if err == nil {
							agg.LoadMonth(k, day.Month(), t)
						}
					}
				}
				loaded[sp.series] = true
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	// A store with responses outside the period still takes part in the
	// ranking (unranked) and the per-store changes: register it with an
	// empty cell, which adds nothing.
	for k := range registered {
		if loaded[k] {
			continue
		}
		k.Question = q.Question
		agg.LoadMonth(k, q.From.Month(), survey.Tally{})
	}
	return agg, nil
}

// neededCells lists the months and days a report reads: the plans of the
// period, the previous period of the same length and each trend bucket.
func neededCells(q survey.ScoresQuery) ([]survey.Month, []survey.Day) {
	ms, ds := map[survey.Month]bool{}, map[survey.Day]bool{}
	plan := func(from, to survey.Day) {
		m, d := survey.Plan(from, to)
		for _, x := range m {
			ms[x] = true
		}
		for _, x := range d {
			ds[x] = true
		}
	}
	plan(q.From, q.To)
	plan(survey.Previous(q.From, q.To))
	for _, b := range survey.Buckets(q.From, q.To, q.Granularity) {
		plan(b[0], b[1])
	}
	months := make([]survey.Month, 0, len(ms))
	for m := range ms {
		months = append(months, m)
	}
	days := make([]survey.Day, 0, len(ds))
	for d := range ds {
		days = append(days, d)
	}
	slices.Sort(months)
	slices.Sort(days)
	return months, days
}

// dayRuns groups sorted days into ranges read by one query each; gaps of
// up to a week are read through (a few extra items beat another request).
func dayRuns(days []survey.Day) [][2]survey.Day {
	var out [][2]survey.Day
	for _, d := range days {
		if n := len(out); n > 0 && d-out[n-1][1] <= 7 {
			out[n-1][1] = d
			continue
		}
		out = append(out, [2]survey.Day{d, d})
	}
	return out
}

// cachedCells reads a span's cells, from the cell cache when the span is
// closed and cached.
func (s *SurveyStore) cachedCells(ctx context.Context, sp cellSpan, d survey.Definition) ([]map[string]types.AttributeValue, error) {
	now := s.now()
	if s.Cells == nil || !spanClosed(sp, now, s.zone()) {
		return s.queryCells(ctx, sp, d)
	}
	key := spanKey(s.Table, sp)
	if items, ok := s.Cells.get(key, now); ok {
		return items, nil
	}
	items, err := s.queryCells(ctx, sp, d)
	if err == nil {
		s.Cells.put(key, items, now)
	}
	return items, err
}

func (s *SurveyStore) queryCells(ctx context.Context, sp cellSpan, d survey.Definition) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :a AND :b"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: cellPK(sp.series)},
			":a":  &types.AttributeValueMemberS{Value: sp.from},
			":b":  &types.AttributeValueMemberS{Value: sp.to},
		},
	}
	if sp.only != "" {
		// The headline's answered, skipped and value counts: what a
		// score needs (its drivers and choices are not ranked).
		i := slices.IndexFunc(d.Questions, func(x survey.Question) bool { return x.ID == sp.only })
		p := "q" + strconv.Itoa(i)
		names := []string{"sk", p + "a", p + "s"}
		for v := range survey.MaxScale + 1 {
			names = append(names, p+"v"+strconv.Itoa(v))
		}
		in.ProjectionExpression = aws.String(strings.Join(names, ", "))
	}
	p := dynamodb.NewQueryPaginator(s.Client, in)
	var out []map[string]types.AttributeValue
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, translate(err, "read survey cells")
		}
		out = append(out, page.Items...)
	}
	return out, nil
}

// versionStores lists the stores with responses to a survey version.
func (s *SurveyStore) versionStores(ctx context.Context, id string, v int) ([]string, error) {
	prefix := fmt.Sprintf("STORE#%010d#", v)
	var out []string
	err := queryPages(ctx, s.Client, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: surveyPK(id)},
			":p":  &types.AttributeValueMemberS{Value: prefix},
		},
		ProjectionExpression: aws.String("sk"),
	}, "list survey stores", func(items []map[string]types.AttributeValue) error {
		out = appendSortKeys(out, items, prefix)
		return nil
	})
	return out, err
}

// appendSortKeys appends each item's sort key, less prefix, to keys.
func appendSortKeys(keys []string, items []map[string]types.AttributeValue, prefix string) []string {
	for _, it := range items {
		if sk, ok := it[SortKey].(*types.AttributeValueMemberS); ok {
			keys = append(keys, strings.TrimPrefix(sk.Value, prefix))
		}
	}
	return keys
}
