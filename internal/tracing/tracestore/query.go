package tracestore

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/tracectx"
	"github.com/owlstack/owl/internal/tracing"
)

// DefaultLimit is how many results a search returns when the query sets no limit.
const DefaultLimit = 50

// MaxLimit is the most results one search returns.
const MaxLimit = 1000

// Query selects traces. Zero fields do not filter.
type Query struct {
	// Root is a trace root (1-xxxxxxxx-...) or a 32-hex trace id.
	Root string
	// Service matches traces with a span of this service.
	Service string
	// Route matches traces with a span whose route or path contains it.
	Route string
	// Status matches the root span's status (an exact code or a class such
	// as 5xx), or "error": any span failed.
	Status *StatusFilter
	// MinDuration matches traces at least this long.
	MinDuration time.Duration
	// From and To bound the trace's start: From <= start < To.
	From, To time.Time
	// Limit caps the results; 0 is DefaultLimit.
	Limit int
}

// StatusFilter is the status part of a query.
type StatusFilter struct {
	// Code is an exact status, or the class times 100 when Class is set.
	Code  int
	Class bool
	// AnyError matches traces with any failed span.
	AnyError bool
	text     string
}

// String is the filter as it was written.
func (f *StatusFilter) String() string { return f.text }

func (f *StatusFilter) match(sum *Summary, _ *tracing.Trace) bool {
	switch {
	case f.AnyError:
		return sum.Errors > 0
	case f.Class:
		return sum.Status/100*100 == f.Code
	}
	return sum.Status == f.Code
}

// FieldError is a query parameter that could not be read.
type FieldError struct {
	Field string
	Value string
	Want  string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s=%q: want %s", e.Field, e.Value, e.Want)
}

// maxText bounds free-text parameters.
const maxText = 256

// ParseQuery reads a query from URL parameters: root, service, route,
// status (200, 5xx or error), min (a duration such as 250ms, or a number
// of milliseconds), from and to (RFC 3339, or 2006-01-02T15:04[:05] in
// UTC), last (a duration: the window ending at now, instead of from) and
// limit (1 to MaxLimit).
func ParseQuery(v url.Values, now time.Time) (Query, error) {
	var q Query
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	for _, k := range []string{"root", "service", "route"} {
		if s := get(k); len(s) > maxText {
			return q, &FieldError{k, s[:32] + "...", fmt.Sprintf("at most %d characters", maxText)}
		}
	}
	if s := get("root"); s != "" {
		if _, ok := normalizeID(s); !ok {
			return q, &FieldError{"root", s, "a trace root (1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx) or 32 hex digits"}
		}
		q.Root = s
	}
	q.Service = get("service")
	q.Route = get("route")
	if s := get("status"); s != "" {
		f, err := parseStatus(s)
		if err != nil {
			return q, err
		}
		q.Status = f
	}
	if s := get("min"); s != "" {
		d, err := parseDuration(s)
		if err != nil {
			return q, &FieldError{"min", s, "a duration such as 250ms or 1.5s, or a number of milliseconds, at least 0"}
		}
		q.MinDuration = d
	}
	var err error
	if q.From, err = parseTime("from", get("from")); err != nil {
		return q, err
	}
	if q.To, err = parseTime("to", get("to")); err != nil {
		return q, err
	}
	if s := get("last"); s != "" {
		d, err := parseDuration(s)
		if err != nil || d <= 0 {
			return q, &FieldError{"last", s, "a positive duration such as 15m or 1h"}
		}
		q.From = now.Add(-d)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, &FieldError{"to", get("to"), "a time after from"}
	}
	if s := get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return q, &FieldError{"limit", s, fmt.Sprintf("a whole number from 1 to %d", MaxLimit)}
		}
		q.Limit = n
	}
	return q, nil
}

func parseStatus(s string) (*StatusFilter, error) {
	f := &StatusFilter{text: s}
	ls := strings.ToLower(s)
	switch {
	case ls == "error":
		f.AnyError = true
		return f, nil
	case len(ls) == 3 && ls[1:] == "xx" && ls[0] >= '1' && ls[0] <= '5':
		f.Class, f.Code = true, int(ls[0]-'0')*100
		return f, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 999 {
		return nil, &FieldError{"status", s, "a status code (e.g. 503), a class (2xx to 5xx) or error"}
	}
	f.Code = n
	return f, nil
}

// parseDuration reads a Go duration or a plain number of milliseconds.
func parseDuration(s string) (time.Duration, error) {
	if ms, err := strconv.ParseFloat(s, 64); err == nil {
		if ms < 0 || ms > 1e12 {
			return 0, fmt.Errorf("out of range")
		}
		return time.Duration(ms * float64(time.Millisecond)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration")
	}
	return d, nil
}

func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, &FieldError{field, s, "a time as RFC 3339 (2026-01-02T15:04:05Z) or 2026-01-02T15:04 in UTC"}
}

// normalizeID turns a trace root or a 32-hex id into the 32-hex id.
func normalizeID(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	if id, err := tracectx.ParseRoot(s); err == nil {
		return id.String(), true
	}
	if id, err := tracectx.ParseTraceID(strings.ToLower(s)); err == nil {
		return id.String(), true
	}
	return "", false
}

// Values returns q as URL parameters that ParseQuery reads back, for links.
func (q Query) Values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("root", q.Root)
	set("service", q.Service)
	set("route", q.Route)
	if q.Status != nil {
		set("status", q.Status.text)
	}
	if q.MinDuration > 0 {
		set("min", q.MinDuration.String())
	}
	if !q.From.IsZero() {
		set("from", q.From.Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		set("to", q.To.Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		set("limit", strconv.Itoa(q.Limit))
	}
	return v
}
