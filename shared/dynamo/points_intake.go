package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
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

// Items of the intake, in the points table:
//
//	INTAKE#order:<id>   INTAKE          an accepted purchase's fingerprint
//	INTAKE#return:<id>  INTAKE          an accepted return: fingerprint, state, body
//	ORDER#<order id>    RESERVED        units of each line that accepted returns hold ("u#<line id>")
//	ORDER#<order id>    PARKED#<return> a return waiting for its order to be applied

var _ points.Intake = (*PointsStore)(nil)

type orderClaimRecord struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	Fingerprint string `dynamodbav:"fingerprint"`
	Member      string `dynamodbav:"member_id"`
	At          int64  `dynamodbav:"at"`
}

type returnClaimRecord struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	Fingerprint string `dynamodbav:"fingerprint"`
	OrderID     string `dynamodbav:"order_id"`
	Member      string `dynamodbav:"member_id"`
	State       string `dynamodbav:"state"`
	Return      string `dynamodbav:"return"`
	At          int64  `dynamodbav:"at"`
}

type parkedRecord struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	Return string `dynamodbav:"return"`
	// At orders parked returns (unix nanoseconds).
	At int64 `dynamodbav:"at"`
}

func orderClaimPK(id string) string    { return "INTAKE#order:" + id }
func returnClaimPK(id string) string   { return "INTAKE#return:" + id }
func reservedUnits(line string) string { return "u#" + line }

func conflictOn(field, reason, msg string) error {
	return &fault.Error{Kind: fault.Conflict, Message: msg, Fields: []fault.FieldError{{Field: field, Reason: reason}}}
}

// ClaimOrder implements points.Intake.
func (s *PointsStore) ClaimOrder(ctx context.Context, p points.Purchase, now time.Time) error {
	fp := points.PurchaseFingerprint(p)
	conflict := conflictOn("order_id", "already used with other content",
		"this order id was already sent with other lines, member or store; send the order again unchanged or use a new order id")
	applied, err := s.AppliedOrderFingerprint(ctx, p.OrderID)
	switch {
	case err == nil && applied != fp:
		return conflict
	case err != nil && !fault.Is(err, fault.NotFound):
		return err
	}
	item, err := attributevalue.MarshalMap(orderClaimRecord{PK: orderClaimPK(p.OrderID), SK: "INTAKE", Fingerprint: fp,
		Member: p.MemberID, At: now.Unix()})
	if err != nil {
		return fault.Wrap(fault.Internal, err, "marshal order claim")
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR fingerprint = :fp"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":fp": &types.AttributeValueMemberS{Value: fp}},
	})
	if err = translate(err, "claim order id"); fault.Is(err, fault.Conflict) {
		return conflict
	}
	return err
}

// AppliedOrderFingerprint implements points.Intake. An order stored before
// fingerprints were kept gets its fingerprint computed from its record.
func (s *PointsStore) AppliedOrderFingerprint(ctx context.Context, orderID string) (string, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key("ORDER#"+orderID, "ORDER"), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", translate(err, "get order")
	}
	if out.Item == nil {
		return "", fault.New(fault.NotFound, "no order %s", orderID)
	}
	var r orderRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return "", fault.Wrap(fault.Internal, err, "unmarshal order")
	}
	if r.Fingerprint != "" {
		return r.Fingerprint, nil
	}
	var o points.Order
	if err := json.Unmarshal([]byte(r.Order), &o); err != nil {
		return "", fault.Wrap(fault.Internal, err, "decode order")
	}
	return points.OrderFingerprint(o), nil
}

// AppliedReturnFingerprint implements points.Intake; "" when the return
// was applied before fingerprints were kept.
func (s *PointsStore) AppliedReturnFingerprint(ctx context.Context, returnID string) (string, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key("SEEN#return:"+returnID, "SEEN"), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", translate(err, "get return marker")
	}
	if out.Item == nil {
		return "", fault.New(fault.NotFound, "return %s not applied", returnID)
	}
	var r seenRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return "", fault.Wrap(fault.Internal, err, "unmarshal return marker")
	}
	return r.Fingerprint, nil
}

func (s *PointsStore) returnClaim(ctx context.Context, returnID string) (*returnClaimRecord, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(returnClaimPK(returnID), "INTAKE"), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, translate(err, "get return claim")
	}
	if out.Item == nil {
		return nil, nil
	}
	var r returnClaimRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "unmarshal return claim")
	}
	return &r, nil
}

var returnIDConflict = conflictOn("return_id", "already used with other content",
	"this return id was already sent with another order, member or other lines; send the return again unchanged or use a new return id")

// knownReturn answers a return id that intake or the worker already knows:
// a replay, a conflict, or nil when the id is new.
func (s *PointsStore) knownReturn(ctx context.Context, r points.Return, fp string) (*points.ReturnClaim, error) {
	rec, err := s.returnClaim(ctx, r.ReturnID)
	if err != nil {
		return nil, err
	}
	if rec != nil {
		if rec.Fingerprint != fp || (r.MemberID != "" && rec.Member != "" && r.MemberID != rec.Member) {
			return nil, returnIDConflict
		}
		var stored points.Return
		if err := json.Unmarshal([]byte(rec.Return), &stored); err != nil {
			return nil, fault.Wrap(fault.Internal, err, "decode return claim")
		}
		c := &points.ReturnClaim{Return: stored, Fingerprint: fp, State: points.ReturnState(rec.State), Replay: true}
		if _, err := s.AppliedReturnFingerprint(ctx, r.ReturnID); err == nil {
			c.State = points.ReturnApplied
		} else if !fault.Is(err, fault.NotFound) {
			return nil, err
		}
		return c, nil
	}
	applied, err := s.AppliedReturnFingerprint(ctx, r.ReturnID)
	if fault.Is(err, fault.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if applied != "" && applied != fp {
		return nil, returnIDConflict
	}
	return &points.ReturnClaim{Return: r, Fingerprint: fp, State: points.ReturnApplied, Replay: true}, nil
}

// reserveItem is the conditional update that adds a return's units to its
// order's reservations, failing unless every line keeps within what was
// bought.
func (s *PointsStore) reserveItem(r points.Return, o points.Order) types.TransactWriteItem {
	want := points.ReturnQuantities(r)
	lines := make([]string, 0, len(want))
	for id := range want {
		lines = append(lines, id)
	}
	sort.Strings(lines)
	names := map[string]string{}
	vals := map[string]types.AttributeValue{}
	var conds, adds []string
	for i, id := range lines {
		var bought int64
		for _, l := range o.Lines {
			if l.LineID == id {
				bought = l.Quantity
			}
		}
		n, q, m := fmt.Sprintf("#u%d", i), fmt.Sprintf(":q%d", i), fmt.Sprintf(":m%d", i)
		names[n] = reservedUnits(id)
		vals[q] = &types.AttributeValueMemberN{Value: strconv.FormatInt(want[id], 10)}
		vals[m] = &types.AttributeValueMemberN{Value: strconv.FormatInt(bought-want[id], 10)}
		conds = append(conds, fmt.Sprintf("(attribute_not_exists(%s) OR %s <= %s)", n, n, m))
		adds = append(adds, n+" "+q)
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.Table), Key: key("ORDER#"+o.ID, "RESERVED"),
		UpdateExpression:          aws.String("ADD " + strings.Join(adds, ", ")),
		ConditionExpression:       aws.String(strings.Join(conds, " AND ")),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	}}
}

// unitsLeft explains a failed reservation: the lines of r that ask for
// more units than other returns left.
func (s *PointsStore) unitsLeft(ctx context.Context, r points.Return, o points.Order) error {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key("ORDER#"+o.ID, "RESERVED"), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return translate(err, "get reservations")
	}
	var reserved map[string]int64
	if out.Item != nil {
		delete(out.Item, PartitionKey)
		delete(out.Item, SortKey)
		if err := attributevalue.UnmarshalMap(out.Item, &reserved); err != nil {
			return fault.Wrap(fault.Internal, err, "unmarshal reservations")
		}
	}
	e := &fault.Error{Kind: fault.Conflict, Message: "other returns already hold these units of the order"}
	want := map[string]int64{}
	for i, l := range r.Lines {
		want[l.LineID] += l.Quantity
		for _, ol := range o.Lines {
			if left := ol.Quantity - reserved[reservedUnits(l.LineID)]; ol.LineID == l.LineID && want[l.LineID] > left {
				e.Fields = append(e.Fields, fault.FieldError{Field: fmt.Sprintf("lines[%d].quantity", i),
					Reason: fmt.Sprintf("only %d units are left to return; other returns hold the rest", max(0, left))})
			}
		}
	}
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

func claimItem(table string, rec returnClaimRecord) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return types.TransactWriteItem{}, fault.Wrap(fault.Internal, err, "marshal return claim")
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)")}}, nil
}

// transact runs items and returns the index of the first item whose
// condition failed (-1 for none), whether the transaction lost a race with
// another one (retry), and any other error.
func (s *PointsStore) transact(ctx context.Context, items []types.TransactWriteItem) (int, bool, error) {
	_, err := s.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return -1, false, nil
	}
	reasons := cancellation(err)
	if reasons == nil {
		return -1, false, translate(err, "intake transaction")
	}
	if i := slices.Index(reasons, "ConditionalCheckFailed"); i >= 0 {
		return i, false, nil
	}
	if isTransactionConflict(reasons) {
		return -1, true, nil
	}
	return -1, false, translate(err, "intake transaction")
}

// ClaimReturn implements points.Intake.
func (s *PointsStore) ClaimReturn(ctx context.Context, r points.Return, now time.Time) (points.ReturnClaim, error) {
	fp := points.ReturnFingerprint(r)
	for attempt := 0; attempt < 12; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt-1); err != nil {
				return points.ReturnClaim{}, translate(err, "claim return")
			}
		}
		known, err := s.knownReturn(ctx, r, fp)
		if err != nil || known != nil {
			if known == nil {
				return points.ReturnClaim{}, err
			}
			return *known, nil
		}
		o, err := s.Order(ctx, r.OrderID)
		if err != nil && !fault.Is(err, fault.NotFound) {
			return points.ReturnClaim{}, err
		}
		orderKnown := err == nil
		c := r
		state := points.ReturnParked
		if orderKnown {
			if err := points.CheckReturnAgainst(c, o); err != nil {
				return points.ReturnClaim{}, err
			}
			if c.MemberID == "" {
				c.MemberID = o.MemberID
			}
			state = points.ReturnReserved
		}
		raw, err := json.Marshal(c)
		if err != nil {
			return points.ReturnClaim{}, fault.Wrap(fault.Internal, err, "encode return")
		}
		claim, err := claimItem(s.Table, returnClaimRecord{PK: returnClaimPK(c.ReturnID), SK: "INTAKE", Fingerprint: fp,
			OrderID: c.OrderID, Member: c.MemberID, State: string(state), Return: string(raw), At: now.Unix()})
		if err != nil {
			return points.ReturnClaim{}, err
		}
		var items []types.TransactWriteItem
		if orderKnown {
			items = []types.TransactWriteItem{claim, s.reserveItem(c, o)}
		} else {
			park, err := attributevalue.MarshalMap(parkedRecord{PK: "ORDER#" + c.OrderID, SK: "PARKED#" + c.ReturnID, Return: string(raw), At: now.UnixNano()})
			if err != nil {
				return points.ReturnClaim{}, fault.Wrap(fault.Internal, err, "marshal parked return")
			}
			items = []types.TransactWriteItem{claim, {ConditionCheck: &types.ConditionCheck{
				TableName: aws.String(s.Table), Key: key("ORDER#"+c.OrderID, "ORDER"),
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			}}, {Put: &types.Put{TableName: aws.String(s.Table), Item: park}}}
		}
		failed, race, err := s.transact(ctx, items)
		switch {
		case err != nil:
			return points.ReturnClaim{}, err
		case race, failed == 0:
			// A concurrent claim of the same id, or a race: look again.
			continue
		case failed == 1 && orderKnown:
			if err := s.unitsLeft(ctx, c, o); err != nil {
				return points.ReturnClaim{}, err
			}
			continue
		case failed == 1:
			continue // the order was applied meanwhile: reserve instead
		}
		return points.ReturnClaim{Return: c, Fingerprint: fp, State: state}, nil
	}
	return points.ReturnClaim{}, fault.New(fault.Unavailable, "the order is busy with other returns; retry")
}

// ParkedReturns implements points.Intake.
func (s *PointsStore) ParkedReturns(ctx context.Context, orderID string) ([]points.Return, error) {
	var recs []parkedRecord
	err := queryPages(ctx, s.Client, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "ORDER#" + orderID},
			":p":  &types.AttributeValueMemberS{Value: "PARKED#"},
		},
		ConsistentRead: aws.Bool(true),
	}, "list parked returns", func(items []map[string]types.AttributeValue) error {
		var rs []parkedRecord
		if err := attributevalue.UnmarshalListOfMaps(items, &rs); err != nil {
			return fault.Wrap(fault.Internal, err, "unmarshal parked returns")
		}
		recs = append(recs, rs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].At < recs[j].At })
	out := make([]points.Return, 0, len(recs))
	for _, rec := range recs {
		var r points.Return
		if err := json.Unmarshal([]byte(rec.Return), &r); err != nil {
			return nil, fault.Wrap(fault.Internal, err, "decode parked return")
		}
		out = append(out, r)
	}
	return out, nil
}

// setClaimState is the conditional update moving a parked claim on.
func (s *PointsStore) setClaimState(r points.Return, state points.ReturnState) (types.TransactWriteItem, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return types.TransactWriteItem{}, fault.Wrap(fault.Internal, err, "encode return")
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.Table), Key: key(returnClaimPK(r.ReturnID), "INTAKE"),
		UpdateExpression:         aws.String("SET #s = :s, member_id = :m, #r = :r"),
		ConditionExpression:      aws.String("#s = :parked"),
		ExpressionAttributeNames: map[string]string{"#s": "state", "#r": "return"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s":      &types.AttributeValueMemberS{Value: string(state)},
			":m":      &types.AttributeValueMemberS{Value: r.MemberID},
			":r":      &types.AttributeValueMemberS{Value: string(raw)},
			":parked": &types.AttributeValueMemberS{Value: string(points.ReturnParked)},
		},
	}}, nil
}

// PromoteParked implements points.Intake.
func (s *PointsStore) PromoteParked(ctx context.Context, r points.Return, now time.Time) (points.ReturnState, error) {
	for attempt := 0; attempt < 12; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt-1); err != nil {
				return "", translate(err, "promote parked return")
			}
		}
		rec, err := s.returnClaim(ctx, r.ReturnID)
		if err != nil {
			return "", err
		}
		if rec == nil {
			return "", fault.New(fault.Internal, "parked return %s has no claim", r.ReturnID)
		}
		if points.ReturnState(rec.State) != points.ReturnParked {
			return points.ReturnState(rec.State), nil
		}
		o, err := s.Order(ctx, r.OrderID)
		if err != nil {
			return "", err
		}
		c := r
		if c.MemberID == "" {
			c.MemberID = o.MemberID
		}
		reason := points.CheckReturnAgainst(c, o)
		var items []types.TransactWriteItem
		if reason == nil {
			up, err := s.setClaimState(c, points.ReturnReserved)
			if err != nil {
				return "", err
			}
			items = []types.TransactWriteItem{up, s.reserveItem(c, o)}
		} else {
			up, err := s.setClaimState(c, points.ReturnRejected)
			if err != nil {
				return "", err
			}
			items = []types.TransactWriteItem{up}
		}
		failed, race, err := s.transact(ctx, items)
		switch {
		case err != nil:
			return "", err
		case race, failed == 0:
			continue
		case failed == 1:
			// Other returns hold the units: reject it.
			reason = s.unitsLeft(ctx, c, o)
			if reason == nil {
				continue
			}
			up, err := s.setClaimState(c, points.ReturnRejected)
			if err != nil {
				return "", err
			}
			failed, race, err := s.transact(ctx, []types.TransactWriteItem{up})
			if err != nil {
				return "", err
			}
			if race || failed >= 0 {
				continue // promoted meanwhile, or a race: look again
			}
			return points.ReturnRejected, reason
		}
		if reason != nil {
			return points.ReturnRejected, reason
		}
		return points.ReturnReserved, nil
	}
	return "", fault.New(fault.Unavailable, "the order is busy with other returns; retry")
}

// Unpark implements points.Intake.
func (s *PointsStore) Unpark(ctx context.Context, r points.Return) error {
	_, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: key("ORDER#"+r.OrderID, "PARKED#"+r.ReturnID)})
	return translate(err, "unpark return")
}
