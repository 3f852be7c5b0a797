package apigw_test

import (
	"encoding/json"
	"errors"
	"testing"

	"clientele/shared/apigw"
	"clientele/shared/fault"
)

// FuzzDecodeStrict checks that DecodeStrict never panics, that every error
// it returns is a *fault.Error of kind Invalid listing at least one field
// error, and that whatever it accepts is exactly one valid JSON value.
// (Whether the field's name is empty is checked by TestDecodeStrictNamesEveryField.)
func FuzzDecodeStrict(f *testing.F) {
	seeds := []string{
		``,
		`{}`,
		`null`,
		`{"name":"Ann","age":30,"tags":["a"],"address":{"city":"Xiamen","zip":361000},"items":[{"sku":"A","qty":1}]}`,
		`{"name":"Ann"} {"name":"Bob"}`,
		`{"address":{"zip":"x"}}`,
		`{"nmae":1}`,
		`{"age":1e400}`,
		`[1,2,3]`,
		`{"labels":{"a":"b"}}`,
		"{\"name\":\"\xff\xfe\"}",
		`{"name":"\ud800"}`,
		`{"items":[{"qty":-1},{"qty":9223372036854775808}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var p profile
		err := apigw.DecodeStrict(raw, &p)
		if err == nil {
			if !json.Valid(raw) {
				t.Fatalf("accepted invalid JSON %q", raw)
			}
			return
		}
		var e *fault.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T %v is not a *fault.Error", err, err)
		}
		if e.Kind != fault.Invalid {
			t.Fatalf("kind = %s, want invalid (%v)", e.Kind, err)
		}
		if len(e.Fields) == 0 {
			t.Fatalf("error lists no field: %v", err)
		}
	})
}
