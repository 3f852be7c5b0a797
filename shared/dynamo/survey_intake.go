package dynamo

import (
	"context"
	"reflect"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/event"
	"clientele/shared/fault"
	"clientele/shared/survey"
)

// Items of the surveys table beyond those of surveys.go:
//
//	SURVEYS                   <survey id>   the survey registry (listing)
//	SINVITE#<invitation id>   INVITE        an invitation sent (dedupe; TTL)
//	SFATIGUE#<member>         FATIGUE       the member's last invitation (fatigue; TTL)

const surveyRegistryPK = "SURVEYS"

// invitationKeep is how long an invitation's dedupe item is kept: longer
// than any redelivery of the event that occasioned it.
const invitationKeep = 30 * 24 * time.Hour

type surveyRegistryRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Name      string `dynamodbav:"name"`
	CreatedAt int64  `dynamodbav:"created_at"`
}

type surveyInvitationRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Survey    string `dynamodbav:"survey"`
	SentAt    int64  `dynamodbav:"sent_at"`
	ExpiresAt int64  `dynamodbav:"expires_at"`
}

// SurveySummary is one survey of the registry.
type SurveySummary struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Surveys lists the registry, by id.
func (s *SurveyStore) Surveys(ctx context.Context) ([]SurveySummary, error) {
	out := []SurveySummary{}
	err := queryPages(ctx, s.Client, &dynamodb.QueryInput{
		TableName:                 aws.String(s.Table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: surveyRegistryPK}},
	}, "list surveys", func(items []map[string]types.AttributeValue) error {
		for _, it := range items {
			var r surveyRegistryRecord
			if err := attributevalue.UnmarshalMap(it, &r); err != nil {
				return fault.Wrap(fault.Internal, err, "unmarshal survey registry")
			}
			out = append(out, SurveySummary{ID: r.SK, Name: r.Name, CreatedAt: time.Unix(r.CreatedAt, 0).UTC()})
		}
		return nil
	})
	return out, err
}

// registryPut is the registry item of a new survey (CreateSurvey's
// transaction).
func registryPut(t *txn, d survey.Definition) error {
	return t.put("registry", surveyRegistryRecord{PK: surveyRegistryPK, SK: d.ID, Name: d.Name, CreatedAt: d.CreatedAt.Unix()},
		"attribute_not_exists(pk)", nil)
}

// CheckResponse tells, without writing, what RecordResponse would make of
// a response received at the door: replay is true when the same answers
// were already recorded under its id (a retry: nothing to queue); a
// conflict names why it cannot be recorded: another answer under the id
// (a reused link, "token"; a member's second answer, "member_id" or
// "order_id"), a claim taken by another response, a used nonce. The answer
// time is not compared: a retry is answered later than the original.
func (s *SurveyStore) CheckResponse(ctx context.Context, w SurveyResponseWrite) (replay bool, err error) {
	d, r := w.Definition, w.Response
	// secondAnswer explains a refusal: the link used before (other answers
	// under its response id), or the member's or order's one response.
	secondAnswer := func(sameID bool) error {
		field, reason := "member_id", "the member has already answered this survey"
		if d.OnePer == survey.PerOrder {
			field, reason = "order_id", "this order has already been answered"
		}
		if sameID && w.Nonce != "" {
			field, reason = "token", "the link was already used"
		}
		return &fault.Error{Kind: fault.Conflict, Message: "a response was already recorded", Fields: []fault.FieldError{{Field: field, Reason: reason}}}
	}
	claimPK := surveyClaimPK(d.ID, r.DedupeKey(d))
	items, err := s.readItems(ctx, [][2]string{{surveyResponsePK(w.ID), "RESPONSE"}, {claimPK, "CLAIM"}, {surveyNoncePK(w.Nonce), "NONCE"}})
	if err != nil {
		return false, err
	}
	if got := items[surveyResponsePK(w.ID)]; got != nil {
		prev, err := decodeResponse(got)
		if err != nil {
			return false, err
		}
		if prev.Erased {
			return true, nil
		}
		a, b := prev.Response, r
		a.At, b.At = time.Time{}, time.Time{}
		if reflect.DeepEqual(a, b) {
			return true, nil
		}
		return false, secondAnswer(true)
	}
	if items[claimPK] != nil {
		return false, secondAnswer(false)
	}
	if w.Nonce != "" && items[surveyNoncePK(w.Nonce)] != nil {
		return false, &fault.Error{Kind: fault.Conflict, Message: "the link was already used",
			Fields: []fault.FieldError{{Field: "token", Reason: "already used"}}}
	}
	return false, nil
}

// readItems reads items by (pk, sk) in one consistent batch, by pk.
func (s *SurveyStore) readItems(ctx context.Context, keys [][2]string) (map[string]map[string]types.AttributeValue, error) {
	ks := make([]map[string]types.AttributeValue, 0, len(keys))
	for _, k := range keys {
		ks = append(ks, key(k[0], k[1]))
	}
	out := map[string]map[string]types.AttributeValue{}
	req := map[string]types.KeysAndAttributes{s.Table: {Keys: ks, ConsistentRead: aws.Bool(true)}}
	for attempt := 0; len(req) > 0; attempt++ {
		res, err := s.Client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, translate(err, "read survey items")
		}
		for _, it := range res.Responses[s.Table] {
			if pk, ok := it[PartitionKey].(*types.AttributeValueMemberS); ok {
				out[pk.Value] = it
			}
		}
		req = res.UnprocessedKeys
		if len(req) > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, translate(err, "read survey items")
			}
		}
	}
	return out, nil
}

// InvitationOutcome is what RecordInvitation did.
type InvitationOutcome int

// Invitation outcomes.
const (
	// InvitationSent: recorded with its event in the outbox.
	InvitationSent InvitationOutcome = iota + 1
	// InvitationDuplicate: this invitation was sent before (a redelivery).
	InvitationDuplicate
	// InvitationFatigued: the member was invited within the fatigue window.
	InvitationFatigued
)

// SurveyInvitationWrite is one invitation to record.
type SurveyInvitationWrite struct {
	// ID identifies the occasion and survey (redeliveries keep it).
	ID       string
	Survey   string
	MemberID string
	// Fatigue is the window in which a member gets at most one invitation.
	Fatigue time.Duration
	// Event is the survey.invitation event, published through the outbox.
	Event event.Envelope
}

// RecordInvitation records an invitation in one transaction: its dedupe
// item, the member's fatigue marker (only when the last invitation is
// older than the window) and its event in the outbox.
func (s *SurveyStore) RecordInvitation(ctx context.Context, w SurveyInvitationWrite) (InvitationOutcome, error) {
	now := s.now()
	t := &txn{table: s.Table}
	if err := t.put("invitation", surveyInvitationRecord{PK: "SINVITE#" + w.ID, SK: "INVITE", Survey: w.Survey, SentAt: now.Unix(),
		ExpiresAt: now.Add(invitationKeep).Unix()}, "attribute_not_exists(pk)", nil); err != nil {
		return 0, err
	}
	t.add("fatigue", types.TransactWriteItem{Update: &types.Update{
		TableName:           aws.String(s.Table),
		Key:                 key("SFATIGUE#"+w.MemberID, "FATIGUE"),
		UpdateExpression:    aws.String("SET last_invited_at = :now, last_survey = :survey, expires_at = :exp"),
		ConditionExpression: aws.String("attribute_not_exists(pk) OR last_invited_at <= :cutoff"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now":    &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
			":cutoff": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(-w.Fatigue).Unix(), 10)},
			":exp":    &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(w.Fatigue).Unix(), 10)},
			":survey": &types.AttributeValueMemberS{Value: w.Survey},
		},
	}})
	it, err := outboxItem(s.Table, w.Event)
	if err != nil {
		return 0, err
	}
	t.add("outbox", it)
	for attempt := 0; ; attempt++ {
		_, err := s.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: t.items})
		if err == nil {
			return InvitationSent, nil
		}
		reasons := cancellation(err)
		switch {
		case len(reasons) > 0 && reasons[0] == "ConditionalCheckFailed":
			return InvitationDuplicate, nil
		case len(reasons) > 1 && reasons[1] == "ConditionalCheckFailed":
			return InvitationFatigued, nil
		case isTransactionConflict(reasons), reasons == nil && fault.Is(translate(err, "record invitation"), fault.Unavailable):
		default:
			return 0, translate(err, "record invitation")
		}
		if attempt >= 8 {
			return 0, fault.New(fault.Unavailable, "the invitation raced others; retry")
		}
		if berr := backoff(ctx, attempt); berr != nil {
			return 0, translate(berr, "record invitation")
		}
	}
}
