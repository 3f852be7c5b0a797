package local

import (
	"bytes"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestFailedItems(t *testing.T) {
	t.Parallel()
	batch := []types.Message{{MessageId: aws.String("a")}, {MessageId: aws.String("b")}}
	cases := []struct {
		response string
		failed   []string
		ok       bool
	}{
		{`{"batchItemFailures":[{"itemIdentifier":"b"}]}`, []string{"b"}, true},
		{`{"batchItemFailures":[]}`, nil, true},
		{`null`, nil, true},
		{`"done"`, nil, true},
		{`{"batchItemFailures":[{"itemIdentifier":"zzz"}]}`, nil, false},
		{`{"batchItemFailures":[{"itemIdentifier":""}]}`, nil, false},
	}
	for _, c := range cases {
		failed, ok := failedItems([]byte(c.response), batch)
		if ok != c.ok || len(failed) != len(c.failed) {
			t.Errorf("%s: failed %v ok %v, want %v %v", c.response, failed, ok, c.failed, c.ok)
			continue
		}
		for _, id := range c.failed {
			if !failed[id] {
				t.Errorf("%s: %s not failed", c.response, id)
			}
		}
	}
}

func TestLinePrefixer(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := newLinePrefixer(&out, "fn#1 | ")
	_, _ = w.Write([]byte("first li"))
	_, _ = w.Write([]byte("ne\nsecond\nthi"))
	w.Flush()
	if want := "fn#1 | first line\nfn#1 | second\nfn#1 | thi\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
