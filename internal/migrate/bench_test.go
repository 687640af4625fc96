package migrate

import (
	"testing"
	"time"

	"github.com/owlstack/owl/internal/migrate/ecs"
	"github.com/owlstack/owl/internal/migrate/synth"
)

// fleetFiles is a synthetic fleet as file contents, so that the benchmark
// measures decoding and conversion, not the disk.
func fleetFiles(tb testing.TB, n int) map[string][]byte {
	files, _, err := synth.Files(synth.Config{Services: n, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

func decode(files map[string][]byte) *ecs.Input {
	in := &ecs.Input{}
	for name, b := range files {
		in.Add(name, b)
	}
	return in
}

// TestSynthFleetConverts converts a synthetic fleet: every service
// converts, and nothing in the input is an error.
func TestSynthFleetConverts(t *testing.T) {
	in := decode(fleetFiles(t, 60))
	if len(in.Errors) > 0 {
		t.Fatalf("synthetic input has errors: %v", in.Errors)
	}
	out, err := Convert(in, DefaultMapping())
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Report.Services) != 60 {
		t.Fatalf("%d services in the report", len(out.Report.Services))
	}
	for _, s := range out.Report.Services {
		if s.Error != "" {
			t.Errorf("%s: %s", s.Service, s.Error)
		}
	}
}

// BenchmarkConvert500 converts 500 synthetic services into every cell of
// the default mapping, and reports the ratio of the conversion's time
// (decode + convert + render + strict validation) to decoding alone,
// measured in the same run.
func BenchmarkConvert500(b *testing.B) {
	if testing.Short() {
		b.Skip("500-service benchmark skipped in -short mode")
	}
	files := fleetFiles(b, 500)
	m := DefaultMapping()
	const decodeRounds = 3
	var decodeTime, convertTime time.Duration
	var nfiles int
	for b.Loop() {
		start := time.Now()
		for range decodeRounds {
			decode(files)
		}
		decodeTime += time.Since(start) / decodeRounds
		start = time.Now()
		out, err := Convert(decode(files), m)
		if err != nil {
			b.Fatal(err)
		}
		convertTime += time.Since(start)
		nfiles = len(out.Files)
	}
	b.ReportMetric(float64(convertTime)/float64(decodeTime), "convert/decode")
	b.ReportMetric(float64(convertTime.Milliseconds())/float64(b.N), "convert-ms/op")
	b.ReportMetric(float64(nfiles), "files")
}
