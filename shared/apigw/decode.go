package apigw

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strconv"
	"strings"

	"clientele/shared/fault"
)

// MaxBody is the largest request body accepted (64 KiB).
const MaxBody = 64 << 10

// Header returns a request header; HTTP API lowercases header names.
func Header(req Request, name string) string {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Body returns the raw request body, decoding base64 when API Gateway
// encoded it. Bodies over MaxBody are TooLarge.
func Body(req Request) ([]byte, error) {
	raw := []byte(req.Body)
	if req.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBody+3 {
			return nil, fault.New(fault.TooLarge, "the body exceeds %d bytes", MaxBody)
		}
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return nil, fault.Field("body", "not valid base64")
		}
		raw = b
	}
	if len(raw) > MaxBody {
		return nil, fault.New(fault.TooLarge, "the body exceeds %d bytes", MaxBody)
	}
	return raw, nil
}

// DecodeJSON decodes the body into v strictly: the content type must be JSON,
// the body at most MaxBody, unknown fields and trailing data are rejected, and
// errors name the field at fault.
func DecodeJSON(req Request, v any) error {
	ct := Header(req, "Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return fault.New(fault.UnsupportedMedia, "the body must be application/json")
	}
	raw, err := Body(req)
	if err != nil {
		return err
	}
	return DecodeStrict(raw, v)
}

// DecodeStrict decodes one JSON value from raw into v, rejecting unknown
// fields and trailing data. Every type error and unknown field is reported
// together, each under its JSON path ("lines[0].quantity"); the fields
// that did decode are set, so Combine can add the validation errors of the
// rest.
func DecodeStrict(raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return fault.Field("body", "the body is empty")
	}
	// The fast path: encoding/json, which stops at the first error.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); err != io.EOF {
			return fault.Field("body", "unexpected data after the JSON value")
		}
		return nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) {
		return decodeError(err)
	}
	// A type error or an unknown field: walk the body again to find them
	// all, each under its JSON path.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
	if fs := decodePaths(raw, v); len(fs) > 0 {
		return fs.Err()
	}
	return decodeError(err)
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fault.Field("body", fmt.Sprintf("malformed JSON at byte %d", syn.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fault.Field("body", "malformed JSON: unexpected end")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return fault.Field(field, "must be "+jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if name == "" {
			return fault.Field("body", `unknown field ""`)
		}
		return fault.Field(name, "unknown field")
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe
	}
	return fault.Field("body", "malformed JSON")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return "of another type"
}

// PathParam returns a path parameter or an Invalid error naming it.
func PathParam(req Request, name string) (string, error) {
	v := req.PathParameters[name]
	if v == "" {
		return "", fault.Field(name, "missing path parameter")
	}
	return v, nil
}

// QueryInt parses an optional integer query parameter within [min, max].
func QueryInt(req Request, name string, def, min, max int) (int, error) {
	v, ok := req.QueryStringParameters[name]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, fault.Field(name, fmt.Sprintf("must be an integer from %d to %d", min, max))
	}
	return n, nil
}

// ETag renders a version as a strong entity tag.
func ETag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// AnyVersion is what IfMatch returns for "If-Match: *": any current version.
const AnyVersion int64 = -1

// IfMatch returns the version named by If-Match. A missing header is
// PreconditionRequired; an unparseable one is PreconditionFailed.
func IfMatch(req Request) (int64, error) {
	v := strings.TrimSpace(Header(req, "If-Match"))
	if v == "" {
		return 0, fault.New(fault.PreconditionRequired, "If-Match is required: send the ETag of the version you read")
	}
	if v == "*" {
		return AnyVersion, nil
	}
	v = strings.TrimPrefix(v, "W/")
	n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
	if err != nil {
		return 0, fault.New(fault.PreconditionFailed, "If-Match does not name a version of this resource")
	}
	return n, nil
}
