package stitch

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/synth"
)

// BenchmarkStitch stitches a small synthetic fleet's logs and reports
// lines/s; it is short enough for every 'make check'.
func BenchmarkStitch(b *testing.B) {
	_, alb, app := synthesize(b, synth.Config{Services: 8, Requests: 300, Seed: 1})
	// The sink encodes and drops: stitching includes encoding.
	var lines int64
	b.ReportAllocs()
	for b.Loop() {
		sum, err := Stitch(context.Background(), alb, app, tracing.NewWriter(io.Discard), Options{})
		if err != nil {
			b.Fatal(err)
		}
		lines += sum.Lines
	}
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkStitchLarge stitches plain-text logs of 1 M (and, when asked
// with -bench=StitchLarge/10M, 10 M) lines, spilling sorted runs to disk,
// and reports lines/s relative to 'wc -l' on the same files and the peak
// Go heap, which must stay flat as the input grows. Too long for 'make
// check': skipped under -short.
func BenchmarkStitchLarge(b *testing.B) {
	if testing.Short() {
		b.Skip("long benchmark; run without -short")
	}
	for _, n := range []int{1_000_000, 10_000_000} {
		name := strconv.Itoa(n/1_000_000) + "M"
		b.Run(name, func(b *testing.B) {
			if n > 1_000_000 && !strings.Contains(benchFlag(), "10M") {
				b.Skip("10 M lines: ask for it with -bench=StitchLarge/10M")
			}
			files := largeLogs(b, n)
			wcStart := time.Now()
			out, err := exec.Command("wc", append([]string{"-l"}, files...)...).Output()
			if err != nil {
				b.Fatal(err)
			}
			wcSecs := time.Since(wcStart).Seconds()
			_ = out
			var peak atomic.Uint64
			stop := make(chan struct{})
			go func() {
				var ms runtime.MemStats
				for {
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
					select {
					case <-stop:
						return
					case <-time.After(50 * time.Millisecond):
					}
				}
			}()
			var lines int64
			for b.Loop() {
				sum, err := Stitch(context.Background(), nil, files, tracing.NewWriter(io.Discard), Options{TempDir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				lines += sum.Lines
			}
			close(stop)
			perSec := float64(lines) / b.Elapsed().Seconds()
			b.ReportMetric(perSec, "lines/s")
			b.ReportMetric(perSec/(float64(n)/wcSecs), "x-wc-l")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		})
	}
}

func benchFlag() string {
	for i, a := range os.Args {
		if v, ok := strings.CutPrefix(a, "-test.bench="); ok {
			return v
		}
		if a == "-test.bench" && i+1 < len(os.Args) {
			return os.Args[i+1]
		}
	}
	return ""
}

// largeLogs writes n lines of owl access logs, as a synthetic fleet writes
// them, into a temporary folder (plain text, so that wc -l reads the same).
func largeLogs(b *testing.B, n int) []string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "synth")
	// About 22 app lines per request with 8 services.
	if _, err := synth.Write(dir, synth.Config{Services: 8, Requests: n/22 + 1, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "app", "*.jsonl"))
	return files
}
