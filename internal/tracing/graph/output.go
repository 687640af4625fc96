package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// WriteJSON writes g as one indented JSON document (the Graph type's fields).
func (g *Graph) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(g)
}

// DOT returns g in Graphviz's DOT language: nodes shaped by kind, edges
// labelled with calls, error rate and p99 latency, thicker with more
// calls, red when more than 1% fail, dashed when most responses go
// uncompressed. Same graph, same text, so renders can be cached by it
// (see package graphsvg).
func (g *Graph) DOT() []byte {
	var b bytes.Buffer
	b.WriteString("digraph owl {\n")
	b.WriteString("  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=10, nodesep=0.3, ranksep=0.6];\n")
	b.WriteString("  node [fontname=\"Helvetica\", fontsize=10, style=filled, fillcolor=\"#f4f6f8\", color=\"#5b6b7b\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=8, color=\"#5b6b7b\"];\n")
	maxCalls := int64(1)
	for _, e := range g.Edges {
		maxCalls = max(maxCalls, e.Calls)
	}
	for _, n := range g.Nodes {
		shape, fill := "box", "#f4f6f8"
		switch n.Kind {
		case KindLB:
			shape, fill = "diamond", "#e8eefc"
		case KindExternal:
			shape, fill = "cylinder", "#fdf5e6"
		case KindUnknown:
			shape, fill = "ellipse", "#eeeeee"
		}
		if n.ErrorsIn > 0 && n.CallsIn > 0 && float64(n.ErrorsIn)/float64(n.CallsIn) > 0.01 {
			fill = "#fde2e2"
		}
		label := n.Name
		if n.Kind == KindService && n.CallsIn > 0 {
			label += fmt.Sprintf("\\n%d calls in", n.CallsIn)
		}
		fmt.Fprintf(&b, "  %s [label=%s, shape=%s, fillcolor=%q];\n", dotID(n.Name), dotID(label), shape, fill)
	}
	for _, e := range g.Edges {
		label := fmt.Sprintf("%d calls (%.2g/req)\\np99 %s", e.Calls, e.CallsPerRequest, micros(e.LatencyP99US))
		if e.Errors > 0 {
			label += fmt.Sprintf("\\n%.1f%% errors", 100*e.ErrorRate)
		}
		width := 1 + 3*math.Log1p(float64(e.Calls))/math.Log1p(float64(maxCalls))
		attrs := fmt.Sprintf("label=%s, penwidth=%.2f", dotID(label), width)
		if e.ErrorRate > 0.01 {
			attrs += `, color="#c0392b", fontcolor="#c0392b"`
		}
		if e.Uncompressed > 0.5 && e.RespBytesMean >= 1024 {
			attrs += ", style=dashed"
		}
		fmt.Fprintf(&b, "  %s -> %s [%s];\n", dotID(e.Caller), dotID(e.Callee), attrs)
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// WriteDOT writes g.DOT() to w.
func (g *Graph) WriteDOT(w io.Writer) error {
	_, err := w.Write(g.DOT())
	return err
}

// dotID quotes s as a DOT string; "\n" sequences already in s stay line
// breaks, other backslashes and quotes are escaped.
func dotID(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && s[i+1] == 'n':
			b.WriteString(`\n`)
			i++
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c < 0x20:
			// control characters have no place in a label
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func micros(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.1fms", us/1e3)
	}
	return fmt.Sprintf("%.0fµs", us)
}
