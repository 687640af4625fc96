package tracestore

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/stitch"
	"github.com/owlstack/owl/internal/tracing/synth"
)

// synthTraces stitches two synthetic fleets' logs: real traces with an ALB
// entry; the first half from 8 services with errors on payment and latency
// on cart, the second from 4 healthy services a minute later.
func synthTraces(t testing.TB, requests int) []*tracing.Trace {
	t.Helper()
	faults, err := synth.ParseFaults("errors:svc=payment,rate=0.3;latency:svc=cart,ms=300")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out collect
	for i, cfg := range []synth.Config{
		{Services: 8, Requests: requests / 2, Faults: faults, Seed: 7, Start: start},
		{Services: 4, Requests: requests - requests/2, Seed: 8, Start: start.Add(time.Minute)},
	} {
		dir := filepath.Join(t.TempDir(), fmt.Sprint("synth", i))
		if _, err := synth.Write(dir, cfg); err != nil {
			t.Fatal(err)
		}
		alb, err := expand(filepath.Join(dir, "alb"))
		if err != nil {
			t.Fatal(err)
		}
		app, err := expand(filepath.Join(dir, "app"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stitch.Stitch(t.Context(), alb, app, &out, stitch.Options{TempDir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

type collect []*tracing.Trace

func (c *collect) WriteTrace(t *tracing.Trace) error { *c = append(*c, t); return nil }

func TestStoreIsBounded(t *testing.T) {
	traces := synthTraces(t, 300)
	s := New(Options{MaxTraces: 100})
	for _, tr := range traces {
		s.Put(tr)
	}
	st := s.Stats()
	if st.Traces != 100 || st.Evicted != int64(len(traces)-100) {
		t.Fatalf("stats = %+v, want 100 traces and %d evicted", st, len(traces)-100)
	}
	// The newest 100 by start time stay.
	byStart := slices.Clone(traces)
	slices.SortFunc(byStart, func(a, b *tracing.Trace) int { return a.Spans[0].Start.Compare(b.Spans[0].Start) })
	for i, tr := range byStart {
		_, ok := s.Get(tr.Root)
		if want := i >= len(byStart)-100; ok != want {
			t.Fatalf("trace %d of %d by start: kept = %v, want %v", i, len(byStart), ok, want)
		}
	}

	spans := New(Options{MaxSpans: 500})
	for _, tr := range traces {
		spans.Put(tr)
	}
	if st := spans.Stats(); st.Spans > 500 || st.Traces < 5 {
		t.Errorf("span-bounded store: %+v, want at most 500 spans", st)
	}
}

func TestPutReplacesTheSameTrace(t *testing.T) {
	traces := synthTraces(t, 5)
	s := New(Options{})
	s.Put(traces[0])
	short := *traces[0]
	short.Spans = short.Spans[:1]
	s.Put(&short)
	if st := s.Stats(); st.Traces != 1 || st.Spans != 1 {
		t.Errorf("after replacing: %+v, want 1 trace of 1 span", st)
	}
	got, ok := s.Get(traces[0].TraceID)
	if !ok || len(got.Spans) != 1 {
		t.Errorf("Get by hex id = %v, %v", got, ok)
	}
}

func TestSearchFilters(t *testing.T) {
	traces := synthTraces(t, 400)
	s := New(Options{})
	for _, tr := range traces {
		s.Put(tr)
	}
	t0 := traces[0].Spans[0].Start
	for _, tr := range traces {
		if st := tr.Spans[0].Start; st.Before(t0) {
			t0 = st
		}
	}
	mid := t0.Add(30 * time.Second)
	tests := []struct {
		name  string
		query string
		want  func(tr *tracing.Trace) bool
	}{
		{"service", "service=payment", func(tr *tracing.Trace) bool {
			return hasSpan(tr, func(s *tracing.Span) bool { return s.Service == "payment" })
		}},
		{"route", "route=/v1/cart", func(tr *tracing.Trace) bool {
			return hasSpan(tr, func(s *tracing.Span) bool {
				return strings.Contains(s.Route, "/v1/cart") || strings.Contains(s.Path, "/v1/cart")
			})
		}},
		{"status class", "status=5xx", func(tr *tracing.Trace) bool { return tr.Spans[0].Status >= 500 }},
		{"status code", "status=200", func(tr *tracing.Trace) bool { return tr.Spans[0].Status == 200 }},
		{"any error", "status=error", func(tr *tracing.Trace) bool { return hasSpan(tr, func(s *tracing.Span) bool { return s.Error != "" }) }},
		{"min duration", "min=300ms", func(tr *tracing.Trace) bool { return tr.Duration() >= 300*time.Millisecond }},
		{"from", "from=" + mid.Format(time.RFC3339Nano), func(tr *tracing.Trace) bool { return !tr.Spans[0].Start.Before(mid) }},
		{"to", "to=" + mid.Format(time.RFC3339Nano), func(tr *tracing.Trace) bool { return tr.Spans[0].Start.Before(mid) }},
		{"root", "root=" + traces[17].Root, func(tr *tracing.Trace) bool { return tr == traces[17] }},
		{"combined", "service=cart&min=100&status=error", func(tr *tracing.Trace) bool {
			return hasSpan(tr, func(s *tracing.Span) bool { return s.Service == "cart" }) && tr.Duration() >= 100*time.Millisecond &&
				hasSpan(tr, func(s *tracing.Span) bool { return s.Error != "" })
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := url.ParseQuery(tc.query)
			q, err := ParseQuery(v, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			q.Limit = MaxLimit
			res := s.Search(q)
			var want []string
			for _, tr := range traces {
				if tc.want(tr) {
					want = append(want, tr.TraceID)
				}
			}
			var got []string
			for _, sum := range res.Traces {
				got = append(got, sum.TraceID)
			}
			if len(want) == 0 || len(want) == len(traces) && tc.name != "status code" {
				t.Fatalf("the filter selects %d of %d traces: a test that cannot fail", len(want), len(traces))
			}
			slices.Sort(want)
			sorted := slices.Sorted(slices.Values(got))
			if !slices.Equal(sorted, want) || res.Matched != len(want) {
				t.Errorf("%s matched %d (%d returned), want %d", tc.query, res.Matched, len(got), len(want))
			}
			for i := 1; i < len(res.Traces); i++ {
				if res.Traces[i].Start.After(res.Traces[i-1].Start) {
					t.Fatalf("results not newest first at %d", i)
				}
			}
		})
	}
	if res := s.Search(Query{Limit: 7}); len(res.Traces) != 7 || res.Matched != len(traces) {
		t.Errorf("limit 7: %d results of %d matched", len(res.Traces), res.Matched)
	}
}

func hasSpan(tr *tracing.Trace, f func(*tracing.Span) bool) bool {
	for i := range tr.Spans {
		if f(&tr.Spans[i]) {
			return true
		}
	}
	return false
}

func TestWindow(t *testing.T) {
	traces := synthTraces(t, 100)
	s := New(Options{})
	for _, tr := range traces {
		s.Put(tr)
	}
	all := s.Window(time.Time{}, time.Time{})
	if len(all) != len(traces) {
		t.Fatalf("Window(open) = %d traces, want %d", len(all), len(traces))
	}
	mid := all[len(all)/2].Spans[0].Start
	before, after := s.Window(time.Time{}, mid), s.Window(mid, time.Time{})
	if len(before)+len(after) != len(all) || len(before) == 0 || len(after) == 0 {
		t.Errorf("split at the middle: %d + %d, want %d", len(before), len(after), len(all))
	}
}

func TestParseQueryErrors(t *testing.T) {
	for _, tc := range []struct{ query, field string }{
		{"root=nope", "root"},
		{"status=9xx", "status"},
		{"status=abc", "status"},
		{"min=-5", "min"},
		{"min=fast", "min"},
		{"from=yesterday", "from"},
		{"from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "to"},
		{"last=0s", "last"},
		{"limit=0", "limit"},
		{"limit=5000", "limit"},
	} {
		v, _ := url.ParseQuery(tc.query)
		_, err := ParseQuery(v, time.Now())
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("ParseQuery(%s) = %v, want an error on %s", tc.query, err, tc.field)
		}
	}
	v, _ := url.ParseQuery("root=1-67891233-abcdef012345678912345678&status=5XX&min=1.5s&last=15m&limit=20")
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	q, err := ParseQuery(v, now)
	if err != nil {
		t.Fatal(err)
	}
	if q.MinDuration != 1500*time.Millisecond || !q.From.Equal(now.Add(-15*time.Minute)) || q.Limit != 20 || !q.Status.Class || q.Status.Code != 500 {
		t.Errorf("query = %+v", q)
	}
	back, err := ParseQuery(q.Values(), now)
	if err != nil || back.MinDuration != q.MinDuration || !back.From.Equal(q.From) || back.Root != q.Root {
		t.Errorf("Values does not read back: %+v, %v", back, err)
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "root=1-67891233-abcdef012345678912345678", "status=5xx&min=250ms", "from=2026-01-02T15:04&to=2026-01-02T16:04", "last=1h&limit=10", "min=1e400", "status=error&service=a&route=%2Fv1"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseQuery(v, now)
		if err != nil {
			return
		}
		if q.MinDuration < 0 || q.Limit < 0 || q.Limit > MaxLimit {
			t.Fatalf("accepted an out-of-range query: %+v", q)
		}
		if _, err := ParseQuery(q.Values(), now); err != nil {
			t.Fatalf("Values of an accepted query does not parse: %v", err)
		}
	})
}
