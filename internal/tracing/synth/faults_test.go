package synth

import (
	"strings"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracing"
)

func TestParseNewFaultKinds(t *testing.T) {
	spec := "slowdep:svc=cart,ms=20;retries:svc=payment,rate=0.3;timeout:svc=search,ms=200;spikes:svc=ads,ms=30,rate=0.05"
	fs, err := ParseFaults(spec)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.String())
	}
	if s := strings.Join(got, ";"); s != spec {
		t.Errorf("faults = %s", s)
	}
	for spec, want := range map[string]string{
		"spikes:svc=a,ms=3":     "missing rate",
		"timeout:svc=a,ms=-5":   "negative latency",
		"retries:svc=a,rate=-1": "between 0 and 1",
		"nope:svc=a":            "valid kinds: latency, errors, skew, uncompressed, slowdep, retries, timeout, spikes",
	} {
		if _, err := ParseFaults(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFaults(%q) = %v, want %q", spec, err, want)
		}
	}
}

// incident generates a fleet with faults from the 100th request on and
// returns the traces of both windows.
func incident(t *testing.T, faults ...Fault) (base, inc []*tracing.Trace) {
	t.Helper()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := start.Add(100 * 16 * time.Millisecond)
	_, err := Generate(Config{Services: 6, Requests: 200, Seed: 5, Start: start, IncidentAt: at, IncidentFaults: faults}, func(tr *tracing.Trace) error {
		if tr.Spans[0].Start.Before(at) {
			base = append(base, tr)
		} else {
			inc = append(inc, tr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(base) < 50 || len(inc) < 50 {
		t.Fatalf("%d baseline and %d incident traces", len(base), len(inc))
	}
	return base, inc
}

func count(ts []*tracing.Trace, f func(*tracing.Span) bool) (n int) {
	for _, t := range ts {
		for i := range t.Spans {
			if f(&t.Spans[i]) {
				n++
			}
		}
	}
	return n
}

func TestIncidentFaults(t *testing.T) {
	// session (index 1) and course (2): course always calls DynamoDB.
	t.Run("timeout", func(t *testing.T) {
		base, inc := incident(t, Fault{Kind: FaultTimeout, Service: "course", MS: 100})
		timedOut := func(s *tracing.Span) bool { return s.Kind == tracing.KindClient && s.Status == 504 }
		if n := count(base, timedOut); n != 0 {
			t.Errorf("%d timeouts before the incident", n)
		}
		if n := count(inc, timedOut); n < len(inc) {
			t.Errorf("%d timeouts in %d incident traces, want every request to time out", n, len(inc))
		}
		if n := count(inc, func(s *tracing.Span) bool { return s.Kind == tracing.KindLB && s.ParentID == "" && s.Status == 502 }); n != len(inc) {
			t.Errorf("%d of %d requests failed at the entry; the timeout must cascade", n, len(inc))
		}
	})
	t.Run("retries", func(t *testing.T) {
		base, inc := incident(t, Fault{Kind: FaultRetries, Service: "course", Rate: 0.5})
		calls := func(ts []*tracing.Trace) int {
			return count(ts, func(s *tracing.Span) bool { return s.Kind == tracing.KindServer && s.Service == "course" })
		}
		if b, i := calls(base), calls(inc); float64(i)/float64(len(inc)) < 1.3*float64(b)/float64(len(base)) {
			t.Errorf("course served %d calls in %d requests, then %d in %d: retries do not amplify load", b, len(base), i, len(inc))
		}
		// A retry resends the same request.
		for _, tr := range inc {
			seen := map[string]int{}
			for _, s := range tr.Spans {
				if s.Kind == tracing.KindClient && s.Status == 503 {
					seen[s.ParentID+s.Path]++
				}
			}
			for _, s := range tr.Spans {
				if s.Kind == tracing.KindClient && s.Status == 200 && seen[s.ParentID+s.Path] > 0 {
					return
				}
			}
		}
		t.Error("no failed call was retried with the same path and succeeded")
	})
	t.Run("slowdep", func(t *testing.T) {
		base, inc := incident(t, Fault{Kind: FaultSlowDep, Service: "course", MS: 50})
		slow := func(s *tracing.Span) bool {
			return s.Kind == tracing.KindClient && s.Service == "course" && s.Peer == dynamo && s.DurationUS > 50000
		}
		if count(base, slow) != 0 || count(inc, slow) < len(inc) {
			t.Errorf("slow DynamoDB calls: %d before, %d during", count(base, slow), count(inc, slow))
		}
	})
}

func TestGenerateMatchesWrite(t *testing.T) {
	cfg := Config{Services: 5, Requests: 30, Seed: 2, Faults: []Fault{{Kind: FaultSpikes, Service: "user", MS: 10, Rate: 0.5}}}
	var mem []*tracing.Trace
	sum, err := Generate(cfg, func(t *tracing.Trace) error { mem = append(mem, t); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Requests != 30 || len(mem) != 30 {
		t.Fatalf("Generate: %d requests, %d traces", sum.Requests, len(mem))
	}
	dir := t.TempDir() + "/out"
	wsum, err := Write(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if wsum.Spans != sum.Spans || wsum.AppLines != sum.AppLines || wsum.ALBLines != sum.ALBLines {
		t.Errorf("Write %+v, Generate %+v", wsum, sum)
	}
}
