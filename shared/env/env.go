// Package env names the environment variables that configure the functions.
// The names are shared by the functions (which read them), the CDK stack and
// the local runner (which set them), so none of the three can drift.
package env

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// Variables set on every function.
const (
	// Service is the function's logical name from the topology ("members-api").
	Service = "CLIENTELE_SERVICE"
	// Stage is "local" under make run, the deployment stage ("dev", "prod";
	// the stack is Clientele-<stage>) on AWS.
	Stage = "CLIENTELE_STAGE"
	// LogLevel is debug, info, warn or error (default info).
	LogLevel = "CLIENTELE_LOG_LEVEL"
	// EventRoutes maps event types to the queues that receive them:
	// "member.registered=points-events;member.erased=points-events".
	EventRoutes = "CLIENTELE_EVENT_ROUTES"
	// HMACKeyParam holds the secret used to key uniqueness items and sign
	// pagination cursors. On AWS it is generated per stack; locally it is a dev key.
	HMACKey = "CLIENTELE_HMAC_KEY"
	// HMACKeySecret names (by ARN) the Secrets Manager secret holding the
	// HMAC key on AWS; shared/hmackey fetches it at run time through the
	// Parameters and Secrets Lambda extension. Only functions that use the
	// key get it.
	HMACKeySecret = "CLIENTELE_HMAC_KEY_SECRET"
	// DefaultPhoneRegion is the ISO 3166 region used to parse phone numbers
	// written without a country code (default "CN").
	DefaultPhoneRegion = "CLIENTELE_DEFAULT_PHONE_REGION"
	// PointsPolicy is the loyalty programme as JSON (see points.ParsePolicy);
	// unset fields take the defaults.
	PointsPolicy = "CLIENTELE_POINTS_POLICY"
	// FeedbackDesk is the feedback service desk as JSON (SLA policy,
	// calendars, teams, burst rule; see feedback.ParseDesk); "{}" or unset
	// keeps the defaults.
	FeedbackDesk = "CLIENTELE_FEEDBACK_DESK"
	// MemberClaim names the token claim holding a member token's member id:
	// "sub" for an identity provider whose subjects are member ids (and the
	// local runner), "custom:member_id" for the default Cognito user pool.
	MemberClaim = "CLIENTELE_MEMBER_CLAIM"
	// GroupsClaim names the token claims, comma-separated, listing the
	// caller's groups ("cognito:groups,groups" when unset).
	GroupsClaim = "CLIENTELE_GROUPS_CLAIM"
)

// Segmentation's variables.
const (
	// SegmentationConfig is the segmentation run's configuration as JSON
	// (functions/segmentation/worker): the segment.Config fields plus the
	// fan-out; unset fields take the defaults.
	SegmentationConfig = "CLIENTELE_SEGMENTATION_CONFIG"
)

// Survey functions' variables.
const (
	// SurveyInvitations is the survey invitation policy as JSON (see
	// survey.ParseInvitationPolicy).
	SurveyInvitations = "CLIENTELE_SURVEY_INVITATIONS"
)

// BucketVar is the variable that carries the physical name of a logical
// bucket.
func BucketVar(bucket string) string { return "CLIENTELE_BUCKET_" + upperSnake(bucket) }

// TableVar is the variable that carries the physical name of a logical table.
func TableVar(table string) string { return "CLIENTELE_TABLE_" + upperSnake(table) }

// QueueURLVar is the variable that carries the URL of a logical queue.
func QueueURLVar(queue string) string { return "CLIENTELE_QUEUE_URL_" + upperSnake(queue) }

func upperSnake(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(s))
}

// FormatEventRoutes renders a routing map as the value of EventRoutes, sorted
// so the value is stable.
func FormatEventRoutes(routes map[string][]string) string {
	types := make([]string, 0, len(routes))
	for t := range routes {
		types = append(types, t)
	}
	sort.Strings(types)
	parts := make([]string, 0, len(types))
	for _, t := range types {
		if len(routes[t]) == 0 {
			continue
		}
		qs := append([]string(nil), routes[t]...)
		sort.Strings(qs)
		parts = append(parts, t+"="+strings.Join(qs, ","))
	}
	return strings.Join(parts, ";")
}

// ParseEventRoutes reads a value written by FormatEventRoutes.
func ParseEventRoutes(v string) (map[string][]string, error) {
	out := map[string][]string{}
	if strings.TrimSpace(v) == "" {
		return out, nil
	}
	for _, part := range strings.Split(v, ";") {
		typ, qs, ok := strings.Cut(part, "=")
		if !ok || typ == "" || qs == "" {
			return nil, fmt.Errorf("%s: malformed route %q", EventRoutes, part)
		}
		if _, dup := out[typ]; dup {
			return nil, fmt.Errorf("%s: event type %q routed twice", EventRoutes, typ)
		}
		queues := strings.Split(qs, ",")
		for _, q := range queues {
			if q == "" {
				return nil, fmt.Errorf("%s: empty queue name in route %q", EventRoutes, part)
			}
		}
		out[typ] = queues
	}
	return out, nil
}

// Lookup returns a required variable or an error naming it.
func Lookup(name string) (string, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return "", fmt.Errorf("environment variable %s is not set", name)
	}
	return v, nil
}

// Or returns the variable's value, or def when it is unset or empty.
func Or(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
