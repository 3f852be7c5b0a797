package apigw

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"clientele/shared/fault"
)

// MaxFieldErrors bounds the field errors one request reports; a body of
// thousands of bad elements gets the first ones, not a megabyte of errors.
const MaxFieldErrors = 50

// decodePaths decodes the single JSON value raw (already checked to be
// syntactically valid) into v, walking the JSON and the Go type together.
// Unlike encoding/json it does not stop at the first type error: every
// type error and unknown field is recorded under its JSON path with
// indexes ("lines[0].quantity"), and every field that does decode is set,
// so the caller's validation can report its own errors beside these.
func decodePaths(raw []byte, v any) fault.Fields {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fault.Fields{{Field: "body", Reason: "cannot be decoded"}}
	}
	w := &pathWalker{}
	w.value("", raw, rv.Elem())
	return w.errs
}

type pathWalker struct {
	errs fault.Fields
}

func (w *pathWalker) add(path, reason string) {
	if len(w.errs) >= MaxFieldErrors {
		return
	}
	if path == "" {
		path = "body"
	}
	w.errs.Add(path, reason)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
)

// firstByte is the first byte of a JSON value: '{', '[', '"', 't', 'f', 'n'
// or a number's first character.
func firstByte(raw []byte) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func (w *pathWalker) value(path string, raw []byte, v reflect.Value) {
	if len(w.errs) >= MaxFieldErrors {
		return // enough to report; the rest of the body is not read
	}
	t := v.Type()
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || (reflect.PointerTo(t).Implements(textUnmarshaler) && t.Kind() != reflect.String) {
		w.leaf(path, raw, v)
		return
	}
	null := firstByte(raw) == 'n'
	switch t.Kind() {
	case reflect.Pointer:
		if null {
			v.SetZero()
			return
		}
		p := reflect.New(t.Elem())
		w.value(path, raw, p.Elem())
		v.Set(p)
	case reflect.Struct:
		if null {
			return
		}
		w.object(path, raw, v)
	case reflect.Slice:
		if null {
			v.SetZero()
			return
		}
		if t.Elem().Kind() == reflect.Uint8 && firstByte(raw) == '"' {
			w.leaf(path, raw, v) // []byte is base64 text
			return
		}
		w.array(path, raw, v)
	case reflect.Map:
		if null {
			v.SetZero()
			return
		}
		if t.Key().Kind() != reflect.String {
			w.leaf(path, raw, v)
			return
		}
		w.mapping(path, raw, v)
	default:
		w.leaf(path, raw, v)
	}
}

// leaf hands raw to encoding/json and turns its error into a reason.
func (w *pathWalker) leaf(path string, raw []byte, v reflect.Value) {
	p := reflect.New(v.Type())
	p.Elem().Set(v)
	if err := json.Unmarshal(raw, p.Interface()); err != nil {
		w.add(path, leafReason(v.Type(), err))
		return
	}
	v.Set(p.Elem())
}

func leafReason(t reflect.Type, err error) string {
	if t == timeType || (t.Kind() == reflect.Pointer && t.Elem() == timeType) {
		return "must be a date-time in RFC 3339 form, e.g. 2026-03-01T12:00:00+08:00"
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Type != nil {
		return "must be " + jsonKind(typ.Type.Kind().String())
	}
	var fe *fault.Error
	if errors.As(err, &fe) && len(fe.Fields) > 0 {
		return fe.Fields[0].Reason
	}
	return "must be " + jsonKind(t.Kind().String())
}

// members splits a JSON object into its keys and raw values, in order.
func members(raw []byte) ([]string, []json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, false
	}
	var keys []string
	var vals []json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, false
		}
		k, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, nil, false
		}
		keys = append(keys, k)
		vals = append(vals, val)
	}
	return keys, vals, true
}

func (w *pathWalker) object(path string, raw []byte, v reflect.Value) {
	keys, vals, ok := members(raw)
	if !ok {
		w.add(path, "must be an object")
		return
	}
	fields := fieldsOf(v.Type())
	for i, k := range keys {
		f, ok := fields.lookup(k)
		if !ok {
			if k == "" {
				w.add(join(path, `""`), "unknown field")
			} else {
				w.add(join(path, k), "unknown field")
			}
			continue
		}
		fv, ok := fieldByIndex(v, f.index)
		if !ok {
			continue
		}
		w.value(join(path, f.name), vals[i], fv)
	}
}

// fieldByIndex returns the field at index, allocating embedded pointers.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, false
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, v.CanSet()
}

func (w *pathWalker) array(path string, raw []byte, v reflect.Value) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		w.add(path, "must be an array")
		return
	}
	var elems []json.RawMessage
	for dec.More() {
		var e json.RawMessage
		if err := dec.Decode(&e); err != nil {
			w.add(path, "must be an array")
			return
		}
		elems = append(elems, e)
	}
	s := reflect.MakeSlice(v.Type(), len(elems), len(elems))
	for i, e := range elems {
		w.value(path+"["+strconv.Itoa(i)+"]", e, s.Index(i))
	}
	v.Set(s)
}

func (w *pathWalker) mapping(path string, raw []byte, v reflect.Value) {
	keys, vals, ok := members(raw)
	if !ok {
		w.add(path, "must be an object")
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(keys))
	for i, k := range keys {
		e := reflect.New(v.Type().Elem()).Elem()
		w.value(join(path, k), vals[i], e)
		m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), e)
	}
	v.Set(m)
}

// jsonField is one decodable field of a struct.
type jsonField struct {
	name  string
	index []int
}

type structFields []jsonField

// lookup matches a key exactly, then case-insensitively, as encoding/json
// does.
func (fs structFields) lookup(key string) (jsonField, bool) {
	for _, f := range fs {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fs {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return jsonField{}, false
}

var fieldCache sync.Map // reflect.Type -> structFields

// fieldsOf lists the JSON fields of a struct type, flattening embedded
// structs as encoding/json does (shallower fields win).
func fieldsOf(t reflect.Type) structFields {
	if c, ok := fieldCache.Load(t); ok {
		return c.(structFields)
	}
	var out structFields
	seen := map[string]bool{}
	var walk func(t reflect.Type, index []int, depth int)
	walk = func(t reflect.Type, index []int, depth int) {
		var embedded []reflect.StructField
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if sf.Anonymous && name == "" && ft.Kind() == reflect.Struct {
				embedded = append(embedded, sf)
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, jsonField{name: name, index: append(append([]int{}, index...), i)})
		}
		if depth < 8 {
			for _, sf := range embedded {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				walk(ft, append(append([]int{}, index...), sf.Index...), depth+1)
			}
		}
	}
	walk(t, nil, 0)
	fieldCache.Store(t, out)
	return out
}
