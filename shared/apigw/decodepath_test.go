package apigw_test

import (
	"slices"
	"testing"
	"time"

	"clientele/shared/apigw"
	"clientele/shared/fault"
)

type line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

type order struct {
	OrderID string    `json:"order_id"`
	At      time.Time `json:"purchased_at,omitzero"`
	Lines   []line    `json:"lines"`
	Note    *string   `json:"note,omitempty"`
}

// TestDecodeStrictReportsEveryErrorByPath: type errors and unknown fields
// are all reported, each under its JSON path with indexes, and the fields
// that decoded are set.
func TestDecodeStrictReportsEveryErrorByPath(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
		want []fault.FieldError
	}{
		{"date-time", `{"order_id":"o1","purchased_at":"yesterday"}`,
			[]fault.FieldError{fe("purchased_at", "must be a date-time in RFC 3339 form, e.g. 2026-03-01T12:00:00+08:00")}},
		{"date-time of the wrong type", `{"purchased_at":5}`,
			[]fault.FieldError{fe("purchased_at", "must be a date-time in RFC 3339 form, e.g. 2026-03-01T12:00:00+08:00")}},
		{"index in the path", `{"lines":[{"sku":"A","quantity":1},{"sku":"B","quantity":"two"}]}`,
			[]fault.FieldError{fe("lines[1].quantity", "must be an integer")}},
		{"every error at once", `{"order_id":7,"purchased_at":"yesterday","lines":[{"sku":1,"quantity":"x"},{"colour":"red"}],"extra":true}`,
			[]fault.FieldError{
				fe("order_id", "must be a string"),
				fe("purchased_at", "must be a date-time in RFC 3339 form, e.g. 2026-03-01T12:00:00+08:00"),
				fe("lines[0].sku", "must be a string"),
				fe("lines[0].quantity", "must be an integer"),
				fe("lines[1].colour", "unknown field"),
				fe("extra", "unknown field"),
			}},
		{"pointer field", `{"note":3}`, []fault.FieldError{fe("note", "must be a string")}},
		{"array of the wrong type", `{"lines":{"sku":"A"}}`, []fault.FieldError{fe("lines", "must be an array")}},
		{"element of the wrong type", `{"lines":[1]}`, []fault.FieldError{fe("lines[0]", "must be an object")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var o order
			e, ok := fault.As(apigw.DecodeStrict([]byte(c.body), &o))
			if !ok || e.Kind != fault.Invalid {
				t.Fatalf("error = %v, want invalid", e)
			}
			if !slices.Equal(e.Fields, c.want) {
				t.Errorf("fields\n got %v\nwant %v", e.Fields, c.want)
			}
		})
	}
	var o order
	_ = apigw.DecodeStrict([]byte(`{"order_id":"o1","purchased_at":"yesterday","lines":[{"sku":"A","quantity":"x"},{"sku":"B","quantity":2}]}`), &o)
	if o.OrderID != "o1" || len(o.Lines) != 2 || o.Lines[0].SKU != "A" || o.Lines[1].Quantity != 2 {
		t.Errorf("the fields that decoded were not set: %+v", o)
	}
}

// TestDecodeStrictBoundsTheErrorList: a body of thousands of bad elements
// reports at most MaxFieldErrors.
func TestDecodeStrictBoundsTheErrorList(t *testing.T) {
	t.Parallel()
	body := []byte(`{"lines":[`)
	for i := range 1000 {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"quantity":"x"}`...)
	}
	body = append(body, "]}"...)
	var o order
	e, _ := fault.As(apigw.DecodeStrict(body, &o))
	if e == nil || len(e.Fields) != apigw.MaxFieldErrors {
		t.Fatalf("got %v, want %d field errors", e, apigw.MaxFieldErrors)
	}
}

func TestCombine(t *testing.T) {
	t.Parallel()
	decodeErr := fault.Fields{fe("purchased_at", "must be a date-time"), fe("lines[0].quantity", "must be an integer")}.Err()
	validateErr := fault.Fields{
		fe("channel", "must be store, online, app or social"),
		fe("lines[0].quantity", "must be a positive whole number"), // the zero the decoder left
		fe("lines[1].sku", "is required"),
	}.Err()
	got, _ := fault.As(apigw.Combine(decodeErr, validateErr))
	want := []fault.FieldError{
		fe("purchased_at", "must be a date-time"), fe("lines[0].quantity", "must be an integer"),
		fe("channel", "must be store, online, app or social"), fe("lines[1].sku", "is required"),
	}
	if got == nil || !slices.Equal(got.Fields, want) {
		t.Errorf("Combine = %v, want %v", got, want)
	}
	if err := apigw.Combine(nil, validateErr); err != validateErr {
		t.Errorf("without decode errors Combine = %v", err)
	}
	media := fault.New(fault.UnsupportedMedia, "json please")
	if err := apigw.Combine(media, validateErr); err != media {
		t.Errorf("a media error must stand alone, got %v", err)
	}
	syntax := fault.Field("body", "malformed JSON at byte 3")
	if err := apigw.Combine(syntax, validateErr); err != syntax {
		t.Errorf("a syntax error must stand alone, got %v", err)
	}
	conflict := fault.New(fault.Conflict, "erased")
	if err := apigw.Combine(decodeErr, conflict); err != decodeErr {
		t.Errorf("a non-field validation error must not hide the decode errors, got %v", err)
	}
}

func fe(field, reason string) fault.FieldError { return fault.FieldError{Field: field, Reason: reason} }

// BenchmarkDecodeStrict decodes a 100-line purchase-shaped body.
func BenchmarkDecodeStrict(b *testing.B) {
	body := []byte(`{"order_id":"o1","purchased_at":"2026-03-01T12:00:00+08:00","lines":[`)
	for i := range 100 {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"sku":"SKU-12345","quantity":2}`...)
	}
	body = append(body, "]}"...)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var o order
		if err := apigw.DecodeStrict(body, &o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeStrictTypeErrors decodes a 100-line body whose every line
// has a type error: the path walker's cost, paid only by bad requests.
func BenchmarkDecodeStrictTypeErrors(b *testing.B) {
	body := []byte(`{"order_id":"o1","purchased_at":"yesterday","lines":[`)
	for i := range 100 {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"sku":"SKU-12345","quantity":"two"}`...)
	}
	body = append(body, "]}"...)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var o order
		if err := apigw.DecodeStrict(body, &o); err == nil {
			b.Fatal("accepted")
		}
	}
}
