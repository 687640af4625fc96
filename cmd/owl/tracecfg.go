package main

import (
	"context"
	"fmt"
	"log/slog"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/owlstack/owl/internal/landing"
	"github.com/owlstack/owl/internal/runner"
	"github.com/owlstack/owl/internal/tracectx"
)

// startTracer gives process p trace propagation and access logs as cfg
// (a target's trace section) says: records go to the access log, hashed
// with the key in the hash key file (created at first start), spans also
// go to the OTLP endpoint when one is set, and logged errors of a request
// carry its trace root. Files default to their places under data.
func startTracer(ctx context.Context, p *process, cfg tracectx.Config, data string) (*tracectx.Tracer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logPath, keyPath := cfg.Paths(data)
	key, err := loadOrCreateKey(keyPath)
	if err != nil {
		return nil, fmt.Errorf("trace hash key: %w", err)
	}
	lw, err := tracectx.OpenLog(logPath)
	if err != nil {
		return nil, err
	}
	var exp sdktrace.SpanExporter
	if cfg.OTLPEndpoint != "" {
		if exp, err = tracectx.NewOTLPExporter(ctx, cfg.OTLPEndpoint); err != nil {
			lw.Close()
			return nil, err
		}
	}
	t, err := tracectx.New(tracectx.Options{
		Service:    cfg.Service,
		Log:        lw,
		HashKey:    key,
		UserHeader: cfg.UserHeader,
		Attrs:      cfg.Attrs,
		Registerer: p.reg,
		Exporter:   exp,
	})
	if err != nil {
		lw.Close()
		return nil, err
	}
	p.log = slog.New(tracectx.LogHandler(p.log.Handler()))
	desc := "trace propagation and access logs of every request, in " + logPath
	if cfg.OTLPEndpoint != "" {
		desc += "; spans also exported to " + cfg.OTLPEndpoint
	}
	p.add(runner.Component{Name: "access-log", Run: t.Run}, landing.Entry{Description: desc})
	return t, nil
}
