package rcaeval

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/rca"
	"github.com/owlstack/owl/internal/tracing/synth"
)

// BenchmarkRank measures reading two windows of traces (owl format),
// profiling them and ranking, as the CLI and the web UI do, and reports
// the time relative to a decode-only pass over the same bytes measured in
// the same run (x_decode).
func BenchmarkRank(b *testing.B) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := start.Add(1000 * 16 * time.Millisecond)
	var base, inc bytes.Buffer
	bw, iw := tracing.NewWriter(&base), tracing.NewWriter(&inc)
	spans := 0
	_, err := synth.Generate(synth.Config{Services: 30, Requests: 2000, Seed: 1, CallProb: 0.8, Start: start, IncidentAt: at,
		IncidentFaults: []synth.Fault{{Kind: synth.FaultLatency, Service: "cart", MS: 10}}}, func(t *tracing.Trace) error {
		spans += len(t.Spans)
		if t.Spans[0].Start.Before(at) {
			return bw.WriteTrace(t)
		}
		return iw.WriteTrace(t)
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := errors.Join(bw.Flush(), iw.Flush()); err != nil {
		b.Fatal(err)
	}
	read := func(data []byte, fn func(*tracing.Trace)) {
		r := tracing.NewReader(bytes.NewReader(data), "bench")
		for {
			t, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				b.Fatal(err)
			}
			fn(t)
		}
	}
	t0 := time.Now()
	const decodeRuns = 3
	for range decodeRuns {
		read(base.Bytes(), func(*tracing.Trace) {})
		read(inc.Bytes(), func(*tracing.Trace) {})
	}
	decode := time.Since(t0) / decodeRuns
	b.ResetTimer()
	for b.Loop() {
		bp, ip := rca.NewProfile(rca.Symptom{}), rca.NewProfile(rca.Symptom{})
		read(base.Bytes(), bp.Add)
		read(inc.Bytes(), ip.Add)
		sus, err := rca.Rank(bp, ip, rca.Options{})
		if err != nil || sus[0].Node != "cart" {
			b.Fatalf("rank: %v, first %v", err, sus[0].Node)
		}
	}
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(decode), "x_decode")
	b.ReportMetric(float64(spans)/per.Seconds(), "spans/s")
}
