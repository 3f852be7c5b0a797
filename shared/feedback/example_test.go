package feedback_test

import (
	"fmt"
	"time"

	"clientele/shared/feedback"
)

func ExampleCalendar_AddWorking() {
	cal, err := feedback.ParseCalendar([]byte(`{
	  "id": "cn-service", "time_zone": "Asia/Shanghai",
	  "week": {"fri": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}]},
	  "holidays": ["2026-10-02"],
	  "make_up_days": [{"date": "2026-10-04", "periods": [{"start": "10:00", "end": "16:00"}]}]
	}`))
	if err != nil {
		panic(err)
	}
	// Friday 2026-09-25 17:00 plus 4 working hours: 1 h on Friday, the 2nd of
	// October (a Friday) is a holiday, so the rest lands on the make-up
	// Sunday, 4 October.
	start := time.Date(2026, 9, 25, 17, 0, 0, 0, cal.Location())
	fmt.Println(cal.AddWorking(start, 4*time.Hour).Format("Mon 2006-01-02 15:04"))
	// Output: Sun 2026-10-04 13:00
}

func ExampleBurstRule_Evaluate() {
	rule := feedback.DefaultBurstRule()
	flagship := []int{38, 45, 41, 36, 44, 40, 39}
	small := []int{0, 1, 0, 0, 0, 1, 0}
	fmt.Println(rule.Evaluate(46, flagship).Open, rule.Evaluate(5, small).Open)
	fmt.Println(rule.Evaluate(5, small).Reason)
	// Output:
	// false true
	// 5 complaints, 10.0× the trailing mean of 0.50 per window (Poisson p=0.00017)
}

func ExampleComputeSLA() {
	cal, _ := feedback.ParseCalendar([]byte(`{"id": "cn", "time_zone": "Asia/Shanghai",
	  "week": {"mon": [{"start": "09:00", "end": "18:00"}], "tue": [{"start": "09:00", "end": "18:00"}]}}`))
	at := func(s string) time.Time {
		t, _ := time.ParseInLocation("2006-01-02 15:04", s, cal.Location())
		return t
	}
	history := []feedback.HistoryEntry{
		{At: at("2026-09-28 10:00"), Kind: feedback.EntryCreated, Status: feedback.StatusOpen},
		{At: at("2026-09-28 11:00"), Kind: feedback.EntryAgentReply},
		{At: at("2026-09-28 11:00"), Kind: feedback.EntryStatus, Status: feedback.StatusWaitingCustomer},
	}
	st, _ := feedback.ComputeSLA(feedback.DefaultSLAPolicy(), cal, feedback.P2, history, at("2026-09-28 16:00"))
	fmt.Println(st.Paused, st.Resolution.Remaining)
	// Output: true 23h0m0s
}
