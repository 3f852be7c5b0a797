package env

import (
	"fmt"
	"os"
	"time"
	// The brand's zone must resolve the same way on every machine, the
	// Lambda runtime (which may have no zoneinfo) included.
	_ "time/tzdata"
)

// TimeZone is the brand's IANA time zone ("Asia/Shanghai"), from the
// topology's System.TimeZone; it decides what "today" and a purchase's
// calendar day mean. Unset means UTC.
const TimeZone = "CLIENTELE_TIME_ZONE"

// Location returns the zone TimeZone names (UTC when unset), or an error
// naming the variable.
func Location() (*time.Location, error) {
	name := os.Getenv(TimeZone)
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", TimeZone, err)
	}
	return loc, nil
}
