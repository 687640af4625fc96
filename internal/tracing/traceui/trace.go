package traceui

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/tracing"
)

type spanRow struct {
	Span      *tracing.Span
	Indent    string
	What      string
	Critical  bool
	Side      string
	Offset    time.Duration
	EndOffset time.Duration
	Duration  time.Duration
	X, W      string // the bar, in a 0..1000 view box
}

type tick struct {
	X, TextX, Anchor, Label string
}

type tracePage struct {
	base
	Trace    *tracing.Trace
	Start    time.Time
	Total    time.Duration
	Rows     []spanRow
	Critical []string
	Ticks    []tick
}

func (u *UI) tracePage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	t, ok := u.traces.Get(id)
	if !ok {
		p := searchPage{base: u.base("search", "Trace not found"), Form: map[string]string{"root": id, "limit": "50"}, LastChoices: lastChoices}
		p.Error = fmt.Sprintf("Trace %s is not in memory: it may be older than what is kept, not stitched yet (a few seconds after the request), or not a trace id.", id)
		u.render(w, r, http.StatusNotFound, "search", p)
		return
	}
	u.render(w, r, http.StatusOK, "trace", waterfall(u.base("trace", "Trace"), t))
}

// waterfall lays out a trace: one row per span, in tree order, each bar
// placed on the time line from the earliest start to the latest end.
func waterfall(b base, t *tracing.Trace) tracePage {
	p := tracePage{base: b, Trace: t}
	if len(t.Spans) == 0 {
		return p
	}
	start, end := t.Spans[0].Start, t.Spans[0].End()
	for i := range t.Spans {
		s := &t.Spans[i]
		if s.Start.Before(start) {
			start = s.Start
		}
		if s.End().After(end) {
			end = s.End()
		}
	}
	total := end.Sub(start)
	if total <= 0 {
		total = time.Microsecond
	}
	p.Start, p.Total = start, total
	crit := tracing.CriticalPath(t)
	depth := map[string]int{}
	for i := range t.Spans {
		s := &t.Spans[i]
		d := 0
		if pd, ok := depth[s.ParentID]; ok && s.ParentID != "" {
			d = pd + 1
		}
		depth[s.SpanID] = d
		off := s.Start.Sub(start)
		dur := time.Duration(s.DurationUS) * time.Microsecond
		x := 1000 * float64(off) / float64(total)
		wd := max(1000*float64(dur)/float64(total), 2)
		what := s.Route
		if what == "" {
			what = strings.TrimSpace(s.Method + " " + s.Path)
		}
		row := spanRow{
			Span: s, Indent: fmt.Sprintf("%.1f", 0.6+1.1*float64(d)), What: what, Critical: crit[s.SpanID],
			Side: s.Attrs["side"], Offset: off, EndOffset: off + dur, Duration: dur,
			X: fmt.Sprintf("%.1f", min(x, 998)), W: fmt.Sprintf("%.1f", min(wd, 1000-min(x, 998))),
		}
		p.Rows = append(p.Rows, row)
		if row.Critical {
			p.Critical = append(p.Critical, s.Service+" "+what)
		}
	}
	for i := 0; i <= 4; i++ {
		x := 250 * i
		tk := tick{X: fmt.Sprint(x), TextX: fmt.Sprint(x), Anchor: "middle", Label: fmtDur(total * time.Duration(i) / 4)}
		switch i {
		case 0:
			tk.Anchor, tk.TextX = "start", "1"
		case 4:
			tk.Anchor, tk.TextX = "end", "999"
		}
		p.Ticks = append(p.Ticks, tk)
	}
	return p
}
