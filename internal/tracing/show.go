package tracing

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteTree writes t as a tree for the terminal: one line per span with
// its service, method and route (or path), status, duration and bytes; a
// '*' marks the critical path and '!' orphans (spans whose parent is missing).
func WriteTree(w io.Writer, t *Trace) error {
	crit := CriticalPath(t)
	children := map[string][]int{}
	ids := map[string]bool{}
	for _, s := range t.Spans {
		ids[s.SpanID] = true
	}
	var tops []int
	for i, s := range t.Spans {
		if s.ParentID == "" || !ids[s.ParentID] {
			tops = append(tops, i)
		} else {
			children[s.ParentID] = append(children[s.ParentID], i)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "trace %s (%s)  %d spans, %s; * critical path\n", t.Root, t.TraceID, len(t.Spans), fmtDur(t.Duration()))
	var walk func(i int, prefix string, last bool, top bool)
	walk = func(i int, prefix string, last, top bool) {
		s := &t.Spans[i]
		mark := " "
		if crit[s.SpanID] {
			mark = "*"
		}
		if s.Orphan {
			mark = "!"
		}
		branch, next := "", ""
		if !top {
			branch, next = "├─ ", "│  "
			if last {
				branch, next = "└─ ", "   "
			}
		}
		what := s.Route
		if what == "" {
			what = strings.TrimSpace(s.Method + " " + s.Path)
		}
		who := s.Service
		if s.Kind == KindClient && s.Peer != "" {
			who += " → " + s.Peer
		}
		fmt.Fprintf(&b, "%s %s%s%-6s %s  %s  %s  %s  %s→%s", mark, prefix, branch, s.Kind, who, what, status(s), fmtDur(time.Duration(s.DurationUS)*time.Microsecond), fmtBytes(s.ReqBytes), fmtBytes(s.RespBytes))
		if s.Encoding != "" {
			fmt.Fprintf(&b, " (%s)", s.Encoding)
		}
		if s.Orphan {
			fmt.Fprintf(&b, "  [parent %s missing]", s.MissingParent)
		}
		if s.SkewUS != 0 {
			fmt.Fprintf(&b, "  [clock skew %s corrected]", fmtDur(time.Duration(s.SkewUS)*time.Microsecond))
		}
		b.WriteByte('\n')
		kids := children[s.SpanID]
		for k, c := range kids {
			walk(c, prefix+next, k == len(kids)-1, false)
		}
	}
	for _, i := range tops {
		walk(i, "", true, true)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func status(s *Span) string {
	if s.Status == 0 {
		if s.Error != "" {
			return s.Error
		}
		return "-"
	}
	if s.Error != "" {
		return fmt.Sprintf("%d %s", s.Status, s.Error)
	}
	return fmt.Sprint(s.Status)
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%dµs", d.Microseconds())
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fkB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
