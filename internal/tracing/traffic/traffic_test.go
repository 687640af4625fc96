package traffic

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracectx"
	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/stitch"
)

// runFleet serves a fleet without background load, sends n requests to
// each entry point, stops it and returns the access log's path.
func runFleet(t *testing.T, n int) string {
	t.Helper()
	return runFleetWith(t, n, nil)
}

// runFleetWith is runFleet with an incident schedule.
func runFleetWith(t *testing.T, n int, incidents *Schedule) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fleet.jsonl")
	f, err := New(Options{LogPath: path, HashKey: []byte("0123456789abcdef0123"), Rate: -1, Incidents: incidents})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	for i := range n {
		for _, p := range []string{"/api/home", "/api/friends", "/api/lesson/" + string(rune('1'+i%9))} {
			// Injected failures (server errors) are expected; a request
			// that got no answer is not.
			if err := f.Do(ctx, p); err != nil && !errors.Is(err, ErrServerError) {
				t.Fatalf("request %d to %s: %v", i, p, err)
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if sent, _ := f.Sent(); sent != int64(3*n) {
		t.Errorf("sent %d requests, want %d", sent, 3*n)
	}
	return path
}

func readRecords(t *testing.T, path string) []tracectx.Record {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var recs []tracectx.Record
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r tracectx.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("access log line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestInjectedFindingsAreInTheLogs(t *testing.T) {
	path := runFleet(t, 30)
	recs := readRecords(t, path)
	if len(recs) < 30*10 {
		t.Fatalf("only %d access-log records", len(recs))
	}
	services := map[string]bool{}
	uncompressed, compressed := 0, 0
	sides := map[string]int{}
	// fingerprint counts of streaks' client calls, per trace
	repeated := map[string]map[string]int{}
	for _, r := range recs {
		services[r.Service] = true
		if r.Kind == tracectx.KindServer && r.Route == UncompressedRoute && r.Status == 200 {
			if r.Encoding != "" || r.AcceptEncoding != "gzip" || r.RespBytes < 100_000 {
				t.Errorf("catalog record: encoding %q, accept %q, %d bytes; want a large uncompressed answer to a gzip client", r.Encoding, r.AcceptEncoding, r.RespBytes)
			}
			uncompressed++
		}
		if r.Kind == tracectx.KindServer && r.Encoding == "gzip" {
			compressed++
		}
		if r.Kind == tracectx.KindServer && r.Service == Streaks {
			sides[r.Attrs["side"]]++
		}
		if r.Kind == tracectx.KindClient && r.Service == RepeatedCaller {
			if repeated[r.TraceRoot] == nil {
				repeated[r.TraceRoot] = map[string]int{}
			}
			repeated[r.TraceRoot][r.Fingerprint]++
		}
	}
	for _, s := range []string{Gateway, Profile, Streaks, Lessons, Catalog, UserDB} {
		if !services[s] {
			t.Errorf("no record of service %s", s)
		}
	}
	if uncompressed == 0 {
		t.Error("no uncompressed catalog answer in the log")
	}
	if compressed == 0 {
		t.Error("no service compressed its answer: the uncompressed one would not stand out")
	}
	for _, side := range Sides {
		if sides[side] == 0 {
			t.Errorf("no streaks request on side %s: %v", side, sides)
		}
	}
	if len(sides) != len(Sides) {
		t.Errorf("streaks sides = %v, want exactly %v", sides, Sides)
	}
	// A request cut short (its caller gave up) makes fewer calls; never more.
	withRepeats := 0
	for root, fps := range repeated {
		for fp, n := range fps {
			if n > Repeats {
				t.Errorf("trace %s: %d identical calls %s, want at most %d", root, n, fp, Repeats)
			}
			if n == Repeats {
				withRepeats++
			}
		}
	}
	if withRepeats == 0 {
		t.Error("no trace with repeated identical calls from " + RepeatedCaller)
	}
}

type collect []*tracing.Trace

func (c *collect) WriteTrace(t *tracing.Trace) error { *c = append(*c, t); return nil }

func TestFleetLogsStitchIntoWholeTrees(t *testing.T) {
	path := runFleet(t, 10)
	var traces collect
	sum, err := stitch.Stitch(t.Context(), nil, []string{path}, &traces, stitch.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Malformed != 0 || sum.Unmatched != 0 {
		t.Errorf("stitch: %d malformed lines, %d unmatched spans: %v", sum.Malformed, sum.Unmatched, sum.Problems)
	}
	if len(traces) != 30 {
		t.Fatalf("%d traces, want 30 (one per user request)", len(traces))
	}
	for _, tr := range traces {
		root := tr.Spans[0]
		if root.Service != Gateway || root.Kind != tracing.KindServer {
			t.Errorf("trace %s starts at %s %s, want the gateway's server span", tr.Root, root.Kind, root.Service)
		}
		if len(tr.Spans) < 3 {
			t.Errorf("trace %s has %d spans", tr.Root, len(tr.Spans))
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for ae, want := range map[string]bool{
		"":                   false,
		"gzip":               true,
		"br, gzip;q=0.5":     true,
		"gzip;q=0":           false,
		"identity":           false,
		"GZIP , deflate":     true,
		"deflate, gzip;q=0.": false,
	} {
		if got := acceptsGzip(ae); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", ae, got, want)
		}
	}
}

func TestScheduleActive(t *testing.T) {
	s := &Schedule{Every: 5 * time.Minute, At: 2 * time.Minute, For: 90 * time.Second}
	for _, tc := range []struct {
		elapsed time.Duration
		want    bool
	}{
		{0, false}, {119 * time.Second, false}, {2 * time.Minute, true}, {209 * time.Second, true},
		{210 * time.Second, false}, {7*time.Minute + time.Second, true}, {10 * time.Minute, false},
	} {
		if got := s.active(tc.elapsed); got != tc.want {
			t.Errorf("active(%v) = %v, want %v", tc.elapsed, got, tc.want)
		}
	}
	if (*Schedule)(nil).active(time.Hour) {
		t.Error("no schedule, yet an incident")
	}
}

func TestIncidentSlowsUserDB(t *testing.T) {
	const slow = 50 * time.Millisecond
	recs := readRecords(t, runFleetWith(t, 3, &Schedule{Every: time.Hour, At: 0, For: time.Hour, Slow: slow}))
	// Queries whose caller gave up (its own caller failed) end early, so
	// most, not all, take the incident's time.
	var n, slowed int
	for _, r := range recs {
		if r.Kind == "server" && r.Service == UserDB {
			n++
			if time.Duration(r.DurationUS)*time.Microsecond >= slow {
				slowed++
			}
		}
	}
	if n == 0 || slowed*10 < n*8 {
		t.Fatalf("%d of %d userdb queries took the incident's %v; want at least 80%%", slowed, n, slow)
	}
}
