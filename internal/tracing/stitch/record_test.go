package stitch

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/tracectx"
	"github.com/owlstack/owl/internal/tracing/synth"
)

var recordSeeds = []string{
	`{"time":"2026-01-01T00:00:00.009128Z","kind":"client","service":"api","trace_root":"1-6955b900-e08560daf27342622a029785","span":"1f0db3e732630109","parent":"1e4d18c925e5c436","peer":"internal-owl.elb.amazonaws.com","method":"POST","path":"/v1/session/34265","status":200,"duration_us":45366,"ttfb_us":45346,"req_bytes":286,"resp_bytes":7354,"content_type":"application/json","accept_encoding":"gzip","fingerprint":"b84dbd0fe7b0f142"}`,
	`{"time":"2026-01-01T00:00:00Z","kind":"server","service":"s","trace_root":"1-6955b900-e08560daf27342622a029785","span":"1f0db3e732630109","self":"1-67891233-aa","caller":"api","route":"GET /x/{id}","status":-0,"duration_us":0,"ua_hash":"x","user_hash":"y","query_hash":"z","link":"w","error":"server_error","encoding":"gzip"}`,
	`{"time":"2026-01-01T00:00:00Z","service":"s","extra":"skipped","other":12}`,
	`{"time":"2026-01-01T00:00:00Z","Service":"upper case key"}`,
	`{"time":"2026-01-01T00:00:00+01:00","service":"s"}`,
	`{"time":"2026-02-30T00:00:00Z"}`,
	`{"status":1.5}`,
	`{"status":1e3}`,
	`{"status":01}`,
	`{"status":"200"}`,
	`{"service":200}`,
	`{"service":null}`,
	`{"attrs":{"side":"new"},"service":"s"}`,
	`{"service":"caf\u00e9"}`,
	"{\"service\":\"caf\xc3\xa9\"}",
	"{\"service\":\"bad \xff byte\"}",
	`{"service":"a\"b"}`,
	`{"service":"s","service":"t"}`,
	`{"service":"s" }`,
	`{ "service":"s"}`,
	`{"service":"s"}}`,
	`{"service":"s",}`,
	`{}`,
	`{"duration_us":123456789012345678}`,
	`{"duration_us":1234567890123456789}`,
	`{"duration_us":-}`,
	`{"x":[1,2]}`,
	`{"x":true}`,
	`not json`,
}

// FuzzScanRecord checks that the fast path reads every line it takes as
// tracectx.ParseRecord reads it.
func FuzzScanRecord(f *testing.F) {
	for _, s := range recordSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var fast appFields
		if !scanRecord(line, &fast) {
			return
		}
		r, err := tracectx.ParseRecord(line)
		if err != nil {
			t.Fatalf("scanRecord took %q, ParseRecord: %v", line, err)
		}
		var slow appFields
		slow.fromRecord(&r)
		if diff := cmp.Diff(slow, fast, cmp.AllowUnexported(appFields{})); diff != "" {
			t.Fatalf("%q (-ParseRecord +scanRecord):\n%s", line, diff)
		}
	})
}

// TestScanRecordTakesOwlLines checks that the fast path takes the lines
// owl's middleware writes, so that the fuzz target above is not vacuous
// and the stitcher is fast on them.
func TestScanRecordTakesOwlLines(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "synth")
	if _, err := synth.Write(dir, synth.Config{Services: 6, Requests: 50, Seed: 2,
		Faults: []synth.Fault{{Kind: synth.FaultErrors, Service: "cart", Rate: 0.5}}}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "app", "*.jsonl"))
	n := 0
	for _, p := range files {
		for _, line := range readLines(t, p) {
			n++
			var f appFields
			if !scanRecord(line, &f) {
				t.Fatalf("%s: scanRecord does not take %s", filepath.Base(p), line)
			}
		}
	}
	if n == 0 {
		t.Fatal("no lines")
	}
	taken := 0
	for _, s := range recordSeeds {
		var f appFields
		if scanRecord(s, &f) {
			taken++
		}
	}
	if taken < 3 {
		t.Errorf("scanRecord took %d of the seeds", taken)
	}
}
