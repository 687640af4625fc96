// Package otlp converts owl traces to OTLP JSON, the OpenTelemetry
// protocol's JSON encoding (hex ids, integer enums), with the OpenTelemetry
// collector's pdata marshalers: one TracesData object per line, the shape
// the collector's file exporter writes and its file receiver reads.
package otlp

import (
	"bufio"
	"encoding/hex"
	"io"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/owlstack/owl/internal/tracing"
)

// Convert turns one owl trace into pdata traces: a resource per service
// (service.name), its spans under one scope.
func Convert(t *tracing.Trace) (ptrace.Traces, error) {
	td := ptrace.NewTraces()
	var tid pcommon.TraceID
	if _, err := hex.Decode(tid[:], []byte(t.TraceID)); err != nil {
		return td, err
	}
	scopes := map[string]ptrace.ScopeSpans{}
	for i := range t.Spans {
		s := &t.Spans[i]
		ss, ok := scopes[s.Service]
		if !ok {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", s.Service)
			ss = rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName("github.com/owlstack/owl/internal/tracing")
			scopes[s.Service] = ss
		}
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(tid)
		var sid pcommon.SpanID
		if _, err := hex.Decode(sid[:], []byte(s.SpanID)); err != nil {
			return td, err
		}
		sp.SetSpanID(sid)
		if s.ParentID != "" {
			var pid pcommon.SpanID
			if _, err := hex.Decode(pid[:], []byte(s.ParentID)); err != nil {
				return td, err
			}
			sp.SetParentSpanID(pid)
		}
		name := s.Route
		if name == "" {
			name = s.Method + " " + s.Path
		}
		sp.SetName(name)
		if s.Kind == tracing.KindClient {
			sp.SetKind(ptrace.SpanKindClient)
		} else {
			sp.SetKind(ptrace.SpanKindServer)
		}
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(s.Start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(s.End()))
		a := sp.Attributes()
		a.PutStr("owl.kind", s.Kind)
		a.PutStr("aws.xray.trace_root", t.Root)
		if s.Method != "" {
			a.PutStr("http.request.method", s.Method)
		}
		if s.Route != "" {
			a.PutStr("http.route", s.Route)
		}
		if s.Path != "" {
			a.PutStr("url.path", s.Path)
		}
		if s.Status != 0 {
			a.PutInt("http.response.status_code", int64(s.Status))
		}
		a.PutInt("http.request.body.size", s.ReqBytes)
		a.PutInt("http.response.body.size", s.RespBytes)
		for _, kv := range []struct{ k, v string }{
			{"owl.caller", s.Caller}, {"server.address", s.Peer}, {"owl.content_type", s.ContentType},
			{"owl.encoding", s.Encoding}, {"owl.fingerprint", s.Fingerprint}, {"error.type", s.Error},
			{"owl.missing_parent", s.MissingParent},
		} {
			if kv.v != "" {
				a.PutStr(kv.k, kv.v)
			}
		}
		if s.Orphan {
			a.PutBool("owl.orphan", true)
		}
		if s.SkewUS != 0 {
			a.PutInt("owl.clock_skew_us", s.SkewUS)
		}
		keys := make([]string, 0, len(s.Attrs))
		for k := range s.Attrs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			a.PutStr("owl.attr."+k, s.Attrs[k])
		}
		if s.Status >= 500 || s.Status == 0 && s.Error != "" {
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage(s.Error)
		}
	}
	return td, nil
}

// Writer writes one OTLP JSON TracesData per trace, one per line.
type Writer struct {
	w *bufio.Writer
	m ptrace.JSONMarshaler
}

// NewWriter writes to w; call Close at the end.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 256<<10)} }

// WriteTrace writes one trace line.
func (w *Writer) WriteTrace(t *tracing.Trace) error {
	td, err := Convert(t)
	if err != nil {
		return err
	}
	b, err := w.m.MarshalTraces(td)
	if err != nil {
		return err
	}
	if _, err := w.w.Write(b); err != nil {
		return err
	}
	return w.w.WriteByte('\n')
}

// Close flushes the output.
func (w *Writer) Close() error { return w.w.Flush() }
