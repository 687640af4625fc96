// Package jaeger converts owl traces to the JSON the Jaeger UI loads: the
// document its "JSON File" upload reads and its query API returns
// ({"data": [trace...]}, spans with references, a process per service,
// 32 lower-case hex trace ids, times in microseconds).
package jaeger

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/owlstack/owl/internal/tracing"
)

// Document is the top level of a Jaeger JSON file.
type Document struct {
	Data []Trace `json:"data"`
}

// Trace is one trace as Jaeger's UI model has it.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
	Warnings  []string           `json:"warnings"`
}

// Span is one span as Jaeger's UI model has it.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	StartTime     int64       `json:"startTime"` // µs since the epoch
	Duration      int64       `json:"duration"`  // µs
	Tags          []KeyValue  `json:"tags"`
	Logs          []Log       `json:"logs"`
	ProcessID     string      `json:"processID"`
	Warnings      []string    `json:"warnings"`
}

// Reference links a span to its parent.
type Reference struct {
	RefType string `json:"refType"` // CHILD_OF
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// KeyValue is a typed tag.
type KeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"` // string, bool, int64
	Value any    `json:"value"`
}

// Log is a timed event of a span (owl writes none; the field must exist).
type Log struct {
	Timestamp int64      `json:"timestamp"`
	Fields    []KeyValue `json:"fields"`
}

// Process is the service that emitted spans.
type Process struct {
	ServiceName string     `json:"serviceName"`
	Tags        []KeyValue `json:"tags"`
}

// Convert turns one owl trace into a Jaeger trace.
func Convert(t *tracing.Trace) Trace {
	jt := Trace{TraceID: t.TraceID, Processes: map[string]Process{}, Warnings: nil}
	procs := map[string]string{}
	for i := range t.Spans {
		s := &t.Spans[i]
		pid, ok := procs[s.Service]
		if !ok {
			pid = fmt.Sprintf("p%d", len(procs)+1)
			procs[s.Service] = pid
			jt.Processes[pid] = Process{ServiceName: s.Service, Tags: []KeyValue{}}
		}
		op := s.Route
		if op == "" {
			op = s.Method + " " + s.Path
		}
		js := Span{
			TraceID:       t.TraceID,
			SpanID:        s.SpanID,
			OperationName: op,
			References:    []Reference{},
			StartTime:     s.Start.UnixMicro(),
			Duration:      s.DurationUS,
			Logs:          []Log{},
			ProcessID:     pid,
		}
		if s.ParentID != "" {
			js.References = append(js.References, Reference{RefType: "CHILD_OF", TraceID: t.TraceID, SpanID: s.ParentID})
		}
		kind := s.Kind
		if kind == tracing.KindLB {
			kind = "server" // Jaeger knows server and client; a balancer serves
		}
		tags := []KeyValue{
			{"span.kind", "string", kind},
			{"owl.kind", "string", s.Kind},
			{"http.method", "string", s.Method},
			{"http.status_code", "int64", int64(s.Status)},
			{"http.request_content_length", "int64", s.ReqBytes},
			{"http.response_content_length", "int64", s.RespBytes},
			{"aws.xray.trace_root", "string", t.Root},
		}
		for _, kv := range []struct{ k, v string }{
			{"http.route", s.Route}, {"http.target", s.Path}, {"owl.caller", s.Caller}, {"peer.service", s.Peer},
			{"http.response_content_type", s.ContentType}, {"http.response_encoding", s.Encoding},
			{"owl.fingerprint", s.Fingerprint}, {"owl.error_class", s.Error}, {"owl.missing_parent", s.MissingParent},
		} {
			if kv.v != "" {
				tags = append(tags, KeyValue{kv.k, "string", kv.v})
			}
		}
		if s.Status >= 500 || s.Status == 0 && s.Error != "" {
			tags = append(tags, KeyValue{"error", "bool", true})
		}
		if s.Orphan {
			tags = append(tags, KeyValue{"owl.orphan", "bool", true})
			js.Warnings = append(js.Warnings, "parent span "+s.MissingParent+" is missing from the logs; attached to the root")
		}
		if s.SkewUS != 0 {
			tags = append(tags, KeyValue{"owl.clock_skew_us", "int64", s.SkewUS})
		}
		keys := make([]string, 0, len(s.Attrs))
		for k := range s.Attrs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			tags = append(tags, KeyValue{"owl.attr." + k, "string", s.Attrs[k]})
		}
		js.Tags = tags
		jt.Spans = append(jt.Spans, js)
	}
	return jt
}

// Writer streams traces into one Jaeger JSON document.
type Writer struct {
	w     *bufio.Writer
	count int
}

// NewWriter starts a document on w; Close ends it.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 256<<10)}
}

// WriteTrace appends one trace to the document.
func (w *Writer) WriteTrace(t *tracing.Trace) error {
	b, err := json.Marshal(Convert(t))
	if err != nil {
		return err
	}
	sep := ",\n"
	if w.count == 0 {
		sep = `{"data":[` + "\n"
	}
	w.count++
	if _, err := w.w.WriteString(sep); err != nil {
		return err
	}
	_, err = w.w.Write(b)
	return err
}

// Close ends the document and flushes it.
func (w *Writer) Close() error {
	end := "\n]}\n"
	if w.count == 0 {
		end = `{"data":[]}` + "\n"
	}
	if _, err := w.w.WriteString(end); err != nil {
		return err
	}
	return w.w.Flush()
}
