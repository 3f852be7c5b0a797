package survey_test

import (
	"encoding/json"
	"fmt"

	"clientele/shared/survey"
)

// The issue's example: 100 answers, 50 promoters, 30 passives, 20
// detractors.
func ExampleNPSScore() {
	var t survey.Tally
	t.Counts[10], t.Counts[8], t.Counts[3] = 50, 30, 20
	t.Skipped = 4
	s := survey.NPSScore(&t, 30)
	fmt.Printf("NPS %.0f ± %.1f (n = %d, %d skipped)\n", s.Value, s.MarginOfError, s.N, s.Skipped)
	// Output: NPS 30 ± 15.3 (n = 100, 4 skipped)
}

// Below the minimum sample no number is shown.
func ExampleScore_MarshalJSON() {
	var t survey.Tally
	t.Counts[5] = 12
	b, _ := json.Marshal(survey.CSATScore(&t, 30))
	fmt.Println(string(b))
	// Output: {"metric":"csat","status":"insufficient","n":12,"skipped":0,"min_sample":30,"counts":{"not_satisfied":0,"satisfied":12},"interval":"wilson score"}
}

// Benjamini & Hochberg's (1995) example: 15 p-values, FDR 5 %.
func ExampleBenjaminiHochberg() {
	p := []float64{0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000}
	_, reject := survey.BenjaminiHochberg(p, 0.05)
	n := 0
	for _, r := range reject {
		if r {
			n++
		}
	}
	fmt.Println(n, "rejected")
	// Output: 4 rejected
}

func ExamplePlan() {
	from, _ := survey.ParseDay("2025-03-15")
	to, _ := survey.ParseDay("2026-03-15")
	months, days := survey.Plan(from, to)
	fmt.Println(len(months), "months from", months[0], "to", months[len(months)-1], "and", len(days), "edge days")
	// Output: 11 months from 2025-04 to 2026-02 and 31 edge days
}
