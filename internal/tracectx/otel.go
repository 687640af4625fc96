package tracectx

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// NewOTLPExporter returns an exporter sending spans over OTLP/HTTP to
// endpointURL (e.g. http://jaeger:4318 or http://tempo:4318), for
// Options.Exporter.
func NewOTLPExporter(ctx context.Context, endpointURL string) (sdktrace.SpanExporter, error) {
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpointURL+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("otlp exporter %s: %w", endpointURL, err)
	}
	return exp, nil
}

// otelExport hands every access-log record to the OpenTelemetry SDK as a
// span with the same trace and span ids, so the OTLP view and the access
// logs describe the same trace.
type otelExport struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
}

func newOtelExport(service string, exp sdktrace.SpanExporter) *otelExport {
	res := resource.NewSchemaless(attribute.String("service.name", service))
	p := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithIDGenerator(ctxIDs{}),
	)
	return &otelExport{provider: p, tracer: p.Tracer("github.com/owlstack/owl/internal/tracectx")}
}

func (o *otelExport) shutdown(ctx context.Context) error { return o.provider.Shutdown(ctx) }

type idsKey struct{}

type spanIDs struct {
	trace trace.TraceID
	span  trace.SpanID
}

// ctxIDs makes the SDK use the ids owl already chose for the span.
type ctxIDs struct{}

func (ctxIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	ids, _ := ctx.Value(idsKey{}).(spanIDs)
	return ids.trace, ids.span
}

func (ctxIDs) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	ids, _ := ctx.Value(idsKey{}).(spanIDs)
	return ids.span
}

// export records one finished hop: rec with the span context sc (for a
// client record, sc.SpanID is the serving span and rec.Span the call).
func (o *otelExport) export(ctx context.Context, sc SpanContext, rec *Record, start, end time.Time) {
	span, _ := ParseSpanID(rec.Span)
	var parent SpanID
	kind := trace.SpanKindServer
	if rec.Kind == KindClient {
		kind = trace.SpanKindClient
		parent = sc.SpanID
	} else {
		parent = sc.Parent
	}
	ctx = context.WithoutCancel(ctx)
	if !parent.IsZero() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID:    trace.TraceID(sc.TraceID),
			SpanID:     trace.SpanID(parent),
			TraceFlags: trace.TraceFlags(sc.Flags & FlagSampled),
			Remote:     true,
		}))
	} else {
		ctx = trace.ContextWithSpanContext(ctx, trace.SpanContext{})
	}
	ctx = context.WithValue(ctx, idsKey{}, spanIDs{trace.TraceID(sc.TraceID), trace.SpanID(span)})
	name := rec.Route
	if name == "" {
		name = rec.Method + " " + rec.Path
	}
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", rec.Method),
		attribute.String("url.path", rec.Path),
		attribute.Int("http.response.status_code", rec.Status),
		attribute.Int64("http.request.body.size", rec.ReqBytes),
		attribute.Int64("http.response.body.size", rec.RespBytes),
		attribute.String("aws.xray.trace_root", rec.TraceRoot),
	}
	if rec.Route != "" {
		attrs = append(attrs, attribute.String("http.route", rec.Route))
	}
	if rec.Caller != "" {
		attrs = append(attrs, attribute.String("owl.caller", rec.Caller))
	}
	if rec.Peer != "" {
		attrs = append(attrs, attribute.String("server.address", rec.Peer))
	}
	for k, v := range rec.Attrs {
		attrs = append(attrs, attribute.String("owl.attr."+k, v))
	}
	_, s := o.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	if rec.Error != "" && (rec.Status >= 500 || rec.Status == 0) {
		s.SetStatus(codes.Error, rec.Error)
	}
	s.End(trace.WithTimestamp(end))
}
