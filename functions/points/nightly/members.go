package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/fault"
	"clientele/shared/member"
	"clientele/shared/sweep"
)

// MemberTable reads birthdays from the members table (read-only: the
// function is granted read access only). A member's profile item is
// pk "MEMBER#<id>", sk "PROFILE", with id, status and birthday
// "YYYY-MM-DD" (see shared/dynamo/members.go).
type MemberTable struct {
	Client *dynamodb.Client
	Table  string
}

type birthdayRecord struct {
	ID       string `dynamodbav:"id"`
	Status   string `dynamodbav:"status"`
	Birthday string `dynamodbav:"birthday"`
}

// BirthdayPage implements Members. The filter runs on the server and the
// projection fetches only the id, status and birthday, so no other
// personal data leaves the table.
func (m *MemberTable) BirthdayPage(ctx context.Context, pg sweep.Page, monthDays []string) ([]string, string, error) {
	if len(monthDays) == 0 {
		return nil, "", nil
	}
	vals := map[string]types.AttributeValue{
		":profile": &types.AttributeValueMemberS{Value: "PROFILE"},
		":active":  &types.AttributeValueMemberS{Value: string(member.Active)},
	}
	var days []string
	for i, md := range monthDays {
		k := ":d" + string(rune('0'+i))
		vals[k] = &types.AttributeValueMemberS{Value: "-" + md}
		days = append(days, "contains(#b, "+k+")")
	}
	in := &dynamodb.ScanInput{
		TableName: aws.String(m.Table),
		// "YYYY-MM-DD" has "-MM-DD" only at its end, so contains matches
		// the month and day exactly; the suffix is checked again below.
		FilterExpression:          aws.String("sk = :profile AND #s = :active AND (" + strings.Join(days, " OR ") + ")"),
		ProjectionExpression:      aws.String("id, #s, #b"),
		ExpressionAttributeNames:  map[string]string{"#s": "status", "#b": "birthday"},
		ExpressionAttributeValues: vals,
		Segment:                   aws.Int32(int32(pg.Segment)),
		TotalSegments:             aws.Int32(int32(pg.TotalSegments)),
	}
	if pg.Limit > 0 {
		in.Limit = aws.Int32(pg.Limit)
	}
	if pg.Cursor != "" {
		start, err := decodeMemberCursor(pg.Cursor)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	page, err := m.Client.Scan(ctx, in)
	if err != nil {
		return nil, "", fault.Wrap(fault.Unavailable, err, "scan members for birthdays")
	}
	var ids []string
	for _, it := range page.Items {
		var r birthdayRecord
		if err := attributevalue.UnmarshalMap(it, &r); err != nil {
			return nil, "", fault.Wrap(fault.Internal, err, "unmarshal member")
		}
		if r.ID == "" || r.Status != string(member.Active) || !celebrates(r.Birthday, monthDays) {
			continue
		}
		ids = append(ids, r.ID)
	}
	next, err := encodeMemberCursor(page.LastEvaluatedKey)
	return ids, next, err
}

// The members' scan cursor: the LastEvaluatedKey's pk and sk, base64 JSON.
func encodeMemberCursor(k map[string]types.AttributeValue) (string, error) {
	if len(k) == 0 {
		return "", nil
	}
	pk, ok1 := k["pk"].(*types.AttributeValueMemberS)
	sk, ok2 := k["sk"].(*types.AttributeValueMemberS)
	if !ok1 || !ok2 || len(k) != 2 {
		return "", fault.New(fault.Internal, "members scan: unexpected key attributes")
	}
	c := struct{ PK, SK string }{pk.Value, sk.Value}
	raw, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

func decodeMemberCursor(s string) (map[string]types.AttributeValue, error) {
	var c struct{ PK, SK string }
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil || c.PK == "" || c.SK == "" {
		return nil, fault.New(fault.Invalid, "members scan cursor %q is malformed", s)
	}
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: c.PK}, "sk": &types.AttributeValueMemberS{Value: c.SK}}, nil
}

func celebrates(birthday string, monthDays []string) bool {
	if len(birthday) != len("2006-01-02") {
		return false
	}
	for _, md := range monthDays {
		if strings.HasSuffix(birthday, "-"+md) {
			return true
		}
	}
	return false
}
