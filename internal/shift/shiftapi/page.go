package shiftapi

import (
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/shift"
)

//go:embed shifts.html
var pageHTML string

var pageTmpl = template.Must(template.New("shifts").Funcs(template.FuncMap{
	"pct": func(f float64) string {
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".") + "%"
	},
	"rate":   func(f float64) string { return fmt.Sprintf("%.2f%%", f*100) },
	"ms":     func(s float64) string { return fmt.Sprintf("%.1f ms", s*1000) },
	"time":   func(t time.Time) string { return t.Local().Format("15:04:05") },
	"sub100": func(f float64) float64 { return 100 - f },
	"deref":  func(f *float64) float64 { return *f },
	"inc":    func(i int) int { return i + 1 },
	"bp":     func(bp int) float64 { return float64(bp) / 100 },
}).Parse(pageHTML))

// card is one shift on the page.
type card struct {
	shift.Status
	Bar     bar
	Chart   chart
	History []shift.Event
}

// bar draws the split as two rectangles, 300 px wide.
type bar struct{ FromW, ToW float64 }

// chart draws the To side's share over the shift's history.
type chart struct {
	Points string
	W, H   int
}

const historyOnPage = 15

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	shifts, err := s.Store.List(r.Context())
	if err != nil {
		http.Error(w, "shifts unavailable", http.StatusServiceUnavailable)
		return
	}
	var cards []card
	for _, sh := range shifts {
		events, err := s.Store.History(r.Context(), sh.Name, 200)
		if err != nil {
			http.Error(w, "shifts unavailable", http.StatusServiceUnavailable)
			return
		}
		c := card{Status: shift.StatusOf(sh)}
		c.Bar.ToW = 300 * sh.Split.Percent() / 100
		c.Bar.FromW = 300 - c.Bar.ToW
		c.Chart = splitChart(events, s.now())
		for i := len(events) - 1; i >= 0 && len(c.History) < historyOnPage; i-- {
			c.History = append(c.History, events[i])
		}
		cards = append(cards, c)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = pageTmpl.Execute(w, struct { // a client gone away is not our error
		Shifts []card
		Now    string
	}{cards, s.now().Format("2006-01-02 15:04:05 MST")})
}

// splitChart plots the verified split after each event as a step line.
func splitChart(events []shift.Event, now time.Time) chart {
	const w, h = 300, 60
	c := chart{W: w, H: h}
	if len(events) == 0 {
		return c
	}
	start := events[0].At
	span := now.Sub(start).Seconds()
	if span <= 0 {
		span = 1
	}
	x := func(t time.Time) float64 { return w * t.Sub(start).Seconds() / span }
	y := func(bp int) float64 { return h - h*float64(bp)/shift.FullBP }
	var pts []string
	last := 0
	for _, e := range events {
		if e.Kind != shift.EventTransition {
			continue
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(e.At), y(last)), fmt.Sprintf("%.1f,%.1f", x(e.At), y(e.Split.ToBP)))
		last = e.Split.ToBP
	}
	pts = append(pts, fmt.Sprintf("%d,%.1f", w, y(last)))
	c.Points = strings.Join(pts, " ")
	return c
}
