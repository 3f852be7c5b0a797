package dynamo

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/fault"
	"clientele/shared/feedback"
)

// Triage rulesets live in the feedback table: "FBRULES"/"CURRENT" is the
// ruleset in force (with a revision counter for optimistic writes) and
// "FBRULES"/"V#<version>" keeps every version ever put, so a case's
// recorded rules version can always be read back.
const rulesPK = "FBRULES"

type rulesRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Version   string `dynamodbav:"version"`
	Revision  int64  `dynamodbav:"revision"`
	Body      string `dynamodbav:"body"`
	UpdatedAt string `dynamodbav:"updated_at"`
	UpdatedBy string `dynamodbav:"updated_by"`
}

// StoredRuleset is a ruleset a brand put, with who put it and when.
type StoredRuleset struct {
	Ruleset feedback.Ruleset
	// Revision counts the puts (1 for the first); a put names the revision
	// it replaces.
	Revision  int64
	UpdatedAt time.Time
	UpdatedBy string
}

// ActiveRuleset returns the ruleset in force, or NotFound when the brand
// never put one (the shipped default applies).
func (s *FeedbackStore) ActiveRuleset(ctx context.Context) (StoredRuleset, error) {
	return s.ruleset(ctx, "CURRENT")
}

// RulesetVersion returns a ruleset version ever put, or NotFound.
func (s *FeedbackStore) RulesetVersion(ctx context.Context, version string) (StoredRuleset, error) {
	return s.ruleset(ctx, "V#"+version)
}

func (s *FeedbackStore) ruleset(ctx context.Context, sk string) (StoredRuleset, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: key(rulesPK, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return StoredRuleset{}, translate(err, "get ruleset")
	}
	if out.Item == nil {
		return StoredRuleset{}, fault.New(fault.NotFound, "no stored ruleset")
	}
	var r rulesRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return StoredRuleset{}, fault.Wrap(fault.Internal, err, "unmarshal ruleset")
	}
	rs, err := feedback.ParseRuleset([]byte(r.Body))
	if err != nil {
		return StoredRuleset{}, fault.Wrap(fault.Internal, err, "stored ruleset %s", r.Version)
	}
	at, _ := time.Parse(time.RFC3339Nano, r.UpdatedAt)
	return StoredRuleset{Ruleset: rs, Revision: r.Revision, UpdatedAt: at, UpdatedBy: r.UpdatedBy}, nil
}

// PutRuleset makes rs the ruleset in force if the one in force is still at
// revision prev (0: none was ever put). A stale prev is Conflict naming
// If-Match; a version already used is Conflict naming version (versions
// are never reused, so a case's recorded version names one ruleset).
func (s *FeedbackStore) PutRuleset(ctx context.Context, rs feedback.Ruleset, prev int64, by string, now time.Time) (StoredRuleset, error) {
	if err := rs.Validate(); err != nil {
		return StoredRuleset{}, err
	}
	if rs.Version == feedback.DefaultRuleset().Version {
		return StoredRuleset{}, &fault.Error{Kind: fault.Conflict, Message: "this is the shipped default's version; name your own",
			Fields: []fault.FieldError{{Field: "version", Reason: "already used"}}}
	}
	body, err := json.Marshal(rs)
	if err != nil {
		return StoredRuleset{}, fault.Wrap(fault.Internal, err, "encode ruleset")
	}
	rec := rulesRecord{PK: rulesPK, SK: "CURRENT", Version: rs.Version, Revision: prev + 1, Body: string(body),
		UpdatedAt: now.UTC().Format(time.RFC3339Nano), UpdatedBy: by}
	t := &txn{table: s.Table}
	if prev == 0 {
		err = t.put("rules-current", rec, "attribute_not_exists(pk)", nil)
	} else {
		err = t.put("rules-current", rec, "revision = :r", map[string]types.AttributeValue{":r": &types.AttributeValueMemberN{Value: strconv.FormatInt(prev, 10)}})
	}
	if err != nil {
		return StoredRuleset{}, err
	}
	hist := rec
	hist.SK = "V#" + rs.Version
	if err := t.put("rules-version", hist, "attribute_not_exists(pk)", nil); err != nil {
		return StoredRuleset{}, err
	}
	if err := t.commit(ctx, s.Client); err != nil {
		e, ok := fault.As(err)
		if ok && e.Kind == fault.Conflict {
			for i, r := range cancellation(e.Err) {
				if r != "ConditionalCheckFailed" || i >= len(t.names) {
					continue
				}
				if t.names[i] == "rules-current" {
					return StoredRuleset{}, &fault.Error{Kind: fault.Conflict, Message: "the rules changed meanwhile; read them again",
						Fields: []fault.FieldError{{Field: "If-Match", Reason: "stale revision"}}}
				}
				return StoredRuleset{}, &fault.Error{Kind: fault.Conflict, Message: "this ruleset version was used before",
					Fields: []fault.FieldError{{Field: "version", Reason: "already used"}}}
			}
		}
		return StoredRuleset{}, err
	}
	return StoredRuleset{Ruleset: rs, Revision: rec.Revision, UpdatedAt: now.UTC(), UpdatedBy: by}, nil
}
