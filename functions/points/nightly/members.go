package main

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/fault"
	"clientele/shared/member"
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

// Birthdays implements Members. The filter runs on the server and the
// projection fetches only the id, status and birthday, so no other
// personal data leaves the table.
func (m *MemberTable) Birthdays(ctx context.Context, segment, total int, monthDays []string, visit func(string) error) error {
	if len(monthDays) == 0 {
		return nil
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
	p := dynamodb.NewScanPaginator(m.Client, &dynamodb.ScanInput{
		TableName: aws.String(m.Table),
		// "YYYY-MM-DD" has "-MM-DD" only at its end, so contains matches
		// the month and day exactly; the suffix is checked again below.
		FilterExpression:          aws.String("sk = :profile AND #s = :active AND (" + strings.Join(days, " OR ") + ")"),
		ProjectionExpression:      aws.String("id, #s, #b"),
		ExpressionAttributeNames:  map[string]string{"#s": "status", "#b": "birthday"},
		ExpressionAttributeValues: vals,
		Segment:                   aws.Int32(int32(segment)),
		TotalSegments:             aws.Int32(int32(total)),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return errStop
			}
			return fault.Wrap(fault.Unavailable, err, "scan members for birthdays")
		}
		for _, it := range page.Items {
			var r birthdayRecord
			if err := attributevalue.UnmarshalMap(it, &r); err != nil {
				return fault.Wrap(fault.Internal, err, "unmarshal member")
			}
			if r.ID == "" || r.Status != string(member.Active) || !celebrates(r.Birthday, monthDays) {
				continue
			}
			if err := visit(r.ID); err != nil {
				return err
			}
		}
	}
	return nil
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
