package apigw_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"clientele/shared/apigw"
	"clientele/shared/fault"
)

type address struct {
	City string `json:"city"`
	Zip  int    `json:"zip"`
}

type item struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

type profile struct {
	Name    string         `json:"name"`
	Age     int            `json:"age"`
	Score   float64        `json:"score"`
	Active  bool           `json:"active"`
	Tags    []string       `json:"tags"`
	Address address        `json:"address"`
	Items   []item         `json:"items"`
	Labels  map[string]int `json:"labels"`
}

func jsonRequest(contentType, body string) apigw.Request {
	h := map[string]string{}
	if contentType != "" {
		h["content-type"] = contentType
	}
	return apigw.Request{Headers: h, Body: body}
}

func TestDecodeJSONContentTypes(t *testing.T) {
	t.Parallel()
	const body = `{"name":"Ann"}`
	cases := []struct {
		name    string
		headers map[string]string
		ok      bool
	}{
		{"json", map[string]string{"content-type": "application/json"}, true},
		{"json with charset", map[string]string{"content-type": "application/json; charset=utf-8"}, true},
		{"json upper case", map[string]string{"content-type": "Application/JSON; Charset=UTF-8"}, true},
		{"merge patch", map[string]string{"content-type": "application/merge-patch+json"}, true},
		{"header name not lower-cased", map[string]string{"Content-Type": "application/json"}, true},
		{"missing", map[string]string{}, false},
		{"no headers at all", nil, false},
		{"empty", map[string]string{"content-type": ""}, false},
		{"text/plain", map[string]string{"content-type": "text/plain"}, false},
		{"text/plain with charset", map[string]string{"content-type": "text/plain; charset=utf-8"}, false},
		{"form", map[string]string{"content-type": "application/x-www-form-urlencoded"}, false},
		{"json prefix only", map[string]string{"content-type": "application/jsonp"}, false},
		{"malformed media type", map[string]string{"content-type": "application/json; charset"}, false},
		{"bare json", map[string]string{"content-type": "json"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var p profile
			err := apigw.DecodeJSON(apigw.Request{Headers: c.headers, Body: body}, &p)
			if c.ok {
				if err != nil {
					t.Fatalf("DecodeJSON: %v", err)
				}
				if p.Name != "Ann" {
					t.Fatalf("Name = %q, want Ann", p.Name)
				}
				return
			}
			e := wantFault(t, err, fault.UnsupportedMedia, "")
			if e.Kind.Status() != 415 {
				t.Fatalf("status = %d, want 415", e.Kind.Status())
			}
		})
	}
}

// jsonOfSize returns a JSON object exactly n bytes long.
func jsonOfSize(n int) string {
	const prefix, suffix = `{"name":"`, `"}`
	return prefix + strings.Repeat("a", n-len(prefix)-len(suffix)) + suffix
}

func TestDecodeJSONBodySize(t *testing.T) {
	t.Parallel()
	atLimit := jsonOfSize(apigw.MaxBody)
	overLimit := jsonOfSize(apigw.MaxBody + 1)
	b64 := base64.StdEncoding.EncodeToString
	cases := []struct {
		name   string
		body   string
		base64 bool
		kind   fault.Kind // 0 (Internal) is used as "no error" here
		ok     bool
	}{
		{"at the limit", atLimit, false, 0, true},
		{"one byte over", overLimit, false, fault.TooLarge, false},
		{"far over", jsonOfSize(10 * apigw.MaxBody), false, fault.TooLarge, false},
		{"base64 at the limit", b64([]byte(atLimit)), true, 0, true},
		{"base64 one byte over", b64([]byte(overLimit)), true, fault.TooLarge, false},
		{"base64 two bytes over", b64([]byte(jsonOfSize(apigw.MaxBody + 2))), true, fault.TooLarge, false},
		{"base64 far over", b64([]byte(jsonOfSize(4 * apigw.MaxBody))), true, fault.TooLarge, false},
		{"base64 small", b64([]byte(`{"name":"Ann"}`)), true, 0, true},
		{"base64 garbage", "not base64!!", true, fault.Invalid, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req := jsonRequest("application/json", c.body)
			req.IsBase64Encoded = c.base64
			var p profile
			err := apigw.DecodeJSON(req, &p)
			if c.ok {
				if err != nil {
					t.Fatalf("DecodeJSON: %v", err)
				}
				if p.Name == "" {
					t.Fatal("Name not decoded")
				}
				return
			}
			e := wantFault(t, err, c.kind, "")
			if c.kind == fault.TooLarge && e.Kind.Status() != 413 {
				t.Fatalf("status = %d, want 413", e.Kind.Status())
			}
		})
	}
}

func TestBodyDecodesBase64(t *testing.T) {
	t.Parallel()
	raw, err := apigw.Body(apigw.Request{Body: base64.StdEncoding.EncodeToString([]byte("{\"a\":\"\xe4\xbd\xa0\"}")), IsBase64Encoded: true})
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"a":"你"}` {
		t.Fatalf("Body = %q", raw)
	}
	raw, err = apigw.Body(apigw.Request{Body: "plain"})
	if err != nil || string(raw) != "plain" {
		t.Fatalf("Body = %q, %v", raw, err)
	}
}

func TestDecodeJSONFromTestdata(t *testing.T) {
	t.Parallel()
	req := loadRequest(t, "http-api-signup-base64.json")
	var in struct {
		Email         string `json:"email"`
		Phone         string `json:"phone"`
		SignupChannel string `json:"signup_channel"`
		Consents      []struct {
			Purpose string `json:"purpose"`
			Channel string `json:"channel"`
			Granted *bool  `json:"granted"`
		} `json:"consents"`
	}
	if err := apigw.DecodeJSON(req, &in); err != nil {
		t.Fatalf("DecodeJSON: %v", err)
	}
	if in.Email != "Ann@Example.com" || in.SignupChannel != "app" || len(in.Consents) != 1 || in.Consents[0].Granted == nil {
		t.Fatalf("decoded %+v", in)
	}
	// The same event with a text/plain content type is refused before the
	// body is looked at.
	req.Headers["content-type"] = "text/plain"
	wantFault(t, apigw.DecodeJSON(req, &in), fault.UnsupportedMedia, "")
}

func TestDecodeStrictErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		body   string
		field  string
		reason string // substring of the field's reason
	}{
		{"empty", ``, "body", "empty"},
		{"blank", " \n\t ", "body", "empty"},
		{"truncated", `{"name":"Ann"`, "body", "malformed"},
		{"open brace", `{`, "body", "malformed"},
		{"syntax", `{"name":}`, "body", "malformed"},
		{"single quotes", `{'name':'Ann'}`, "body", "malformed"},
		{"trailing object", `{"name":"a"} {"name":"b"}`, "body", "after the JSON value"},
		{"trailing garbage", `{"name":"a"} x`, "body", "after the JSON value"},
		{"trailing bracket", `{"name":"a"}]`, "body", "after the JSON value"},
		{"trailing comma", `{"name":"a"},`, "body", "after the JSON value"},
		{"unknown field", `{"nmae":"Ann"}`, "nmae", "unknown field"},
		{"unknown nested field", `{"address":{"town":"Xiamen"}}`, "address.town", "unknown field"},
		{"unknown field in array element", `{"items":[{"sku":"A","colour":"red"}]}`, "items[0].colour", "unknown field"},
		{"string for int", `{"age":"30"}`, "age", "must be an integer"},
		{"fraction for int", `{"age":30.5}`, "age", "must be an integer"},
		{"huge number for int", `{"age":1e400}`, "age", "must be an integer"},
		{"number for string", `{"name":5}`, "name", "must be a string"},
		{"string for bool", `{"active":"yes"}`, "active", "must be a boolean"},
		{"string for float", `{"score":"high"}`, "score", "must be a number"},
		{"string for array", `{"tags":"a,b"}`, "tags", "must be an array"},
		{"number in string array", `{"tags":["a",2]}`, "tags[1]", "must be a string"},
		{"array for object", `{"address":[]}`, "address", "must be an object"},
		{"nested type error", `{"address":{"zip":"361000"}}`, "address.zip", "must be an integer"},
		{"type error inside array element", `{"items":[{"sku":"A","qty":"two"}]}`, "items[0].qty", "must be an integer"},
		{"top-level array", `[]`, "body", "must be an object"},
		{"top-level string", `"Ann"`, "body", "must be an object"},
		{"top-level number", `42`, "body", "must be an object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var p profile
			e := wantFault(t, apigw.DecodeStrict([]byte(c.body), &p), fault.Invalid, c.field)
			for _, f := range e.Fields {
				if f.Field == c.field && !strings.Contains(f.Reason, c.reason) {
					t.Errorf("reason for %s = %q, want it to contain %q", c.field, f.Reason, c.reason)
				}
			}
		})
	}
}

func TestDecodeStrictAccepts(t *testing.T) {
	t.Parallel()
	body := ` {"name":"Ann","age":30,"score":9.5,"active":true,"tags":["vip"],
		"address":{"city":"Xiamen","zip":361000},"items":[{"sku":"A","qty":2}],"labels":{"x":1}}
	`
	var p profile
	if err := apigw.DecodeStrict([]byte(body), &p); err != nil {
		t.Fatalf("DecodeStrict: %v", err)
	}
	if p.Name != "Ann" || p.Age != 30 || !p.Active || p.Address.Zip != 361000 || len(p.Items) != 1 || p.Items[0].Qty != 2 || p.Labels["x"] != 1 {
		t.Fatalf("decoded %+v", p)
	}
}

func TestHeaderIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	req := loadRequest(t, "http-api-jwt.json")
	req.Headers["X-Mixed-Case"] = "kept"
	cases := []struct{ name, want string }{
		{"If-Match", `W/"3"`},
		{"if-match", `W/"3"`},
		{"IF-MATCH", `W/"3"`},
		{"User-Agent", "curl/8.5.0"},
		{"x-mixed-case", "kept"},
		{"X-MIXED-CASE", "kept"},
		{"Idempotency-Key", ""},
	}
	for _, c := range cases {
		if got := apigw.Header(req, c.name); got != c.want {
			t.Errorf("Header(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	if got := apigw.Header(apigw.Request{}, "Content-Type"); got != "" {
		t.Errorf("Header on nil headers = %q", got)
	}
}

func TestPathParam(t *testing.T) {
	t.Parallel()
	req := loadRequest(t, "http-api-jwt.json")
	id, err := apigw.PathParam(req, "id")
	if err != nil || id != "01HZX3R8J6W9Q2M4N5P7T8V9AB" {
		t.Fatalf("PathParam(id) = %q, %v", id, err)
	}
	_, err = apigw.PathParam(req, "code")
	wantFault(t, err, fault.Invalid, "code")
	req.PathParameters["id"] = ""
	_, err = apigw.PathParam(req, "id")
	wantFault(t, err, fault.Invalid, "id")
	_, err = apigw.PathParam(apigw.Request{}, "id")
	wantFault(t, err, fault.Invalid, "id")
}

func TestQueryInt(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		params  map[string]string
		want    int
		invalid bool
	}{
		{"absent uses default", nil, 20, false},
		{"empty uses default", map[string]string{"limit": ""}, 20, false},
		{"inside", map[string]string{"limit": "50"}, 50, false},
		{"at min", map[string]string{"limit": "1"}, 1, false},
		{"at max", map[string]string{"limit": "100"}, 100, false},
		{"below min", map[string]string{"limit": "0"}, 0, true},
		{"negative", map[string]string{"limit": "-5"}, 0, true},
		{"above max", map[string]string{"limit": "101"}, 0, true},
		{"not a number", map[string]string{"limit": "ten"}, 0, true},
		{"fraction", map[string]string{"limit": "2.5"}, 0, true},
		{"overflow", map[string]string{"limit": "99999999999999999999999"}, 0, true},
		{"two values as API Gateway joins them", map[string]string{"limit": "10,20"}, 0, true},
		{"other parameter ignored", map[string]string{"offset": "500"}, 20, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := apigw.QueryInt(apigw.Request{QueryStringParameters: c.params}, "limit", 20, 1, 100)
			if c.invalid {
				e := wantFault(t, err, fault.Invalid, "limit")
				if !strings.Contains(e.Fields[0].Reason, "1 to 100") {
					t.Errorf("reason = %q, want the bounds", e.Fields[0].Reason)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("QueryInt = %d, %v; want %d", got, err, c.want)
			}
		})
	}
}

func TestIfMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		header string // "" means absent
		want   int64
		kind   fault.Kind
		ok     bool
	}{
		{"strong", `"3"`, 3, 0, true},
		{"weak", `W/"3"`, 3, 0, true},
		{"surrounding spaces", `  "12"  `, 12, 0, true},
		{"large", `"9007199254740993"`, 9007199254740993, 0, true},
		{"missing", "", 0, fault.PreconditionRequired, false},
		{"blank", "   ", 0, fault.PreconditionRequired, false},
		{"garbage", "garbage", 0, fault.PreconditionFailed, false},
		{"quoted garbage", `"abc"`, 0, fault.PreconditionFailed, false},
		{"empty quotes", `""`, 0, fault.PreconditionFailed, false},
		{"wildcard means any current version (RFC 9110)", `*`, apigw.AnyVersion, 0, true},
		{"list", `"3", "4"`, 0, fault.PreconditionFailed, false},
		{"fraction", `"3.0"`, 0, fault.PreconditionFailed, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req := apigw.Request{Headers: map[string]string{}}
			if c.header != "" {
				req.Headers["if-match"] = c.header
			}
			got, err := apigw.IfMatch(req)
			if c.ok {
				if err != nil || got != c.want {
					t.Fatalf("IfMatch(%q) = %d, %v; want %d", c.header, got, err, c.want)
				}
				return
			}
			e := wantFault(t, err, c.kind, "")
			wantStatus := map[fault.Kind]int{fault.PreconditionRequired: 428, fault.PreconditionFailed: 412}[c.kind]
			if e.Kind.Status() != wantStatus {
				t.Fatalf("status = %d, want %d", e.Kind.Status(), wantStatus)
			}
		})
	}
}

func TestIfMatchFromTestdata(t *testing.T) {
	t.Parallel()
	v, err := apigw.IfMatch(loadRequest(t, "http-api-jwt.json"))
	if err != nil || v != 3 {
		t.Fatalf("IfMatch = %d, %v; want 3", v, err)
	}
}

func TestETagRoundTripsThroughIfMatch(t *testing.T) {
	t.Parallel()
	for _, v := range []int64{0, 1, 3, 42, 1 << 40} {
		tag := apigw.ETag(v)
		if tag != fmt.Sprintf("%q", fmt.Sprint(v)) {
			t.Errorf("ETag(%d) = %s, want a quoted strong tag", v, tag)
		}
		got, err := apigw.IfMatch(apigw.Request{Headers: map[string]string{"if-match": tag}})
		if err != nil || got != v {
			t.Errorf("IfMatch(ETag(%d)) = %d, %v", v, got, err)
		}
	}
}

func ExampleETag() {
	fmt.Println(apigw.ETag(3))
	v, err := apigw.IfMatch(apigw.Request{Headers: map[string]string{"if-match": `W/"3"`}})
	fmt.Println(v, err)
	// Output:
	// "3"
	// 3 <nil>
}

// TestDecodeStrictNamesEveryField: every field error names something a
// client can act on. An unknown member whose key is the empty string (found
// by FuzzDecodeStrict: {"":0}) must not produce a field error with an empty
// field name.
func TestDecodeStrictNamesEveryField(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"":0}`, `{"address":{"":1}}`, `{"name":"Ann","":null}`} {
		var p profile
		e := wantFault(t, apigw.DecodeStrict([]byte(body), &p), fault.Invalid, "")
		for _, f := range e.Fields {
			if f.Field == "" {
				t.Errorf("DecodeStrict(%s): field error with an empty field name: %+v", body, e.Fields)
			}
		}
	}
}
