package apigw_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"clientele/shared/apigw"
	"clientele/shared/fault"
)

func TestPathIDAndTokenSubjectFollowTheIdRule(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("m", 3000)
	for _, c := range []struct {
		id   string
		kind fault.Kind
		ok   bool
	}{
		{"01HMEMBER0000000000000000A", 0, true},
		{long, fault.NotFound, false},
		{"has space", fault.NotFound, false},
		{"", fault.Invalid, false},
	} {
		got, err := apigw.PathID(apigw.Request{PathParameters: map[string]string{"id": c.id}}, "id")
		if c.ok {
			if err != nil || got != c.id {
				t.Errorf("PathID(%.20q) = %q, %v", c.id, got, err)
			}
			continue
		}
		e, ok := fault.As(err)
		if !ok || e.Kind != c.kind || len(e.Fields) != 1 || e.Fields[0].Field != "id" {
			t.Errorf("PathID(%.20q) error = %v, want %s naming id", c.id, err, c.kind)
		}
	}
	req := apigw.Request{}
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": long}},
	}
	_, err := apigw.CallerOf(req)
	if e, ok := fault.As(err); !ok || e.Kind != fault.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != "Authorization" {
		t.Errorf("CallerOf(sub of 3000 characters) = %v, want invalid naming Authorization", err)
	}
}
