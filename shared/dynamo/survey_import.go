package dynamo

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"clientele/shared/survey"
)

// Importing aggregates: a brand moving from another survey tool brings its
// history as daily tallies, not as responses; the benchmarks write a year
// of cells the same way instead of recording every response. Imported
// cells are not responses: no dedupe items, claims or member links.

// CellItem is a cell's stored form.
type CellItem = map[string]types.AttributeValue

// SurveyCellItems encodes the tallies of one series' day (or, with month
// set, month) cell as the items RecordResponse's ADDs would have made.
func SurveyCellItems(d survey.Definition, k survey.SeriesKey, day survey.Day, month bool, tallies map[string]survey.Tally) []CellItem {
	var out []CellItem
	for p, qs := range cellParts(d) {
		sk := dayCellSK(day, p)
		if month {
			sk = monthCellSK(day.Month(), p)
		}
		it := key(cellPK(k), sk)
		set := func(name string, v int64) {
			if v != 0 {
				it[name] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
			}
		}
		for _, i := range qs {
			q := d.Questions[i]
			t := tallies[q.ID]
			p := "q" + strconv.Itoa(i)
			set(p+"a", t.Answered)
			set(p+"s", t.Skipped)
			for v, c := range t.Counts {
				set(p+"v"+strconv.Itoa(v), c)
			}
			for j, c := range q.Choices {
				set(p+"c"+strconv.Itoa(j), t.Choices[c.ID])
			}
			set(p+"dn", t.Drivers.N)
			set(p+"dx", t.Drivers.X)
			set(p+"dy", t.Drivers.Y)
			set(p+"dxx", t.Drivers.XX)
			set(p+"dyy", t.Drivers.YY)
			set(p+"dxy", t.Drivers.XY)
		}
		out = append(out, it)
	}
	return out
}

// PutSurveyCells writes cell items in batches of 25, replacing what the
// cells held.
func PutSurveyCells(ctx context.Context, s *SurveyStore, items []CellItem) error {
	for start := 0; start < len(items); start += 25 {
		var reqs []types.WriteRequest
		for _, it := range items[start:min(start+25, len(items))] {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
		}
		req := map[string][]types.WriteRequest{s.Table: reqs}
		for attempt := 0; len(req) > 0; attempt++ {
			out, err := s.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: req})
			if err != nil {
				return translate(err, "put cells")
			}
			req = out.UnprocessedItems
			if len(req) > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// RegisterSurveyStore records that a store has responses to a version.
func RegisterSurveyStore(ctx context.Context, s *SurveyStore, survey string, version int, store string) error {
	_, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table),
		Item: key(surveyPK(survey), surveyStoreSK(version, store))})
	return translate(err, "register store")
}
