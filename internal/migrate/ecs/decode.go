package ecs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in an input file: where it is and why it is wrong.
type Error struct {
	File   string // the file, as named to the reader
	Path   string // JSON path, e.g. $.taskDefinition.containerDefinitions[0].cpu
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s: %s", e.File, e.Path, e.Reason) }

// decoder fills Go values from generic JSON values, recording type errors
// and unknown fields with their JSON paths. encoding/json alone reports
// neither array indices nor every problem at once.
type decoder struct {
	file    string
	errs    []*Error
	unknown []string
	fields  map[reflect.Type]map[string]int
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, fields: make(map[reflect.Type]map[string]int)}
}

func (d *decoder) fail(path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Path: path, Reason: fmt.Sprintf(format, args...)})
}

// parse reads exactly one JSON value from data, numbers kept exact.
func (d *decoder) parse(data []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		d.fail("$", "%s", syntaxReason(data, err))
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		d.fail("$", "%s: more than one JSON value", position(data, dec.InputOffset()-1))
		return nil, false
	}
	return v, true
}

func syntaxReason(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s: malformed JSON: %v", position(data, se.Offset-1), err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "malformed JSON: unexpected end of input"
	}
	return "malformed JSON: " + err.Error()
}

// position turns a byte offset into "line L col C".
func position(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return fmt.Sprintf("line %d col %d", line, col)
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func member(path, key string) string {
	if plainKey.MatchString(key) {
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

func (d *decoder) fieldsOf(t reflect.Type) map[string]int {
	if f, ok := d.fields[t]; ok {
		return f
	}
	f := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			f[name] = i
		}
	}
	d.fields[t] = f
	return f
}

// value stores v in rv, which must be settable.
func (d *decoder) value(v any, rv reflect.Value, path string) {
	if rv.Kind() == reflect.Interface {
		if v != nil {
			rv.Set(reflect.ValueOf(v))
		}
		return
	}
	if v == nil {
		return // JSON null leaves the zero value, as the AWS SDKs do
	}
	switch rv.Kind() {
	case reflect.Pointer:
		p := reflect.New(rv.Type().Elem())
		d.value(v, p.Elem(), path)
		rv.Set(p)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			d.fail(path, "want an object, got %s", kind(v))
			return
		}
		fields := d.fieldsOf(rv.Type())
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			i, ok := fields[k]
			if !ok {
				d.unknown = append(d.unknown, member(path, k))
				continue
			}
			d.value(m[k], rv.Field(i), member(path, k))
		}
	case reflect.Slice:
		a, ok := v.([]any)
		if !ok {
			d.fail(path, "want an array, got %s", kind(v))
			return
		}
		s := reflect.MakeSlice(rv.Type(), len(a), len(a))
		for i, e := range a {
			d.value(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		rv.Set(s)
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			d.fail(path, "want an object, got %s", kind(v))
			return
		}
		out := reflect.MakeMapWithSize(rv.Type(), len(m))
		for k, e := range m {
			ev := reflect.New(rv.Type().Elem()).Elem()
			d.value(e, ev, member(path, k))
			out.SetMapIndex(reflect.ValueOf(k), ev)
		}
		rv.Set(out)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			d.fail(path, "want a string, got %s", kind(v))
			return
		}
		rv.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			d.fail(path, "want true or false, got %s", kind(v))
			return
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			d.fail(path, "want an integer, got %s", kind(v))
			return
		}
		i, err := strconv.ParseInt(string(n), 10, 32)
		if err != nil {
			d.fail(path, "want an integer, got %s", n)
			return
		}
		rv.SetInt(i)
	case reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			d.fail(path, "want a number, got %s", kind(v))
			return
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			d.fail(path, "want a number, got %s", n)
			return
		}
		rv.SetFloat(f)
	default:
		panic(fmt.Sprintf("ecs: no decoding for %s", rv.Type()))
	}
}
