package source

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/owlstack/owl/internal/shift/analysis"
)

// AccessLog reads owl access logs (JSON lines, one tracectx.Record per
// line) and splits server records by their attrs.side.
type AccessLog struct {
	// Paths are the log files; glob patterns are expanded at each
	// Observe, so rotated files are found.
	Paths []string
	// Sides are the attrs.side values of the two sides.
	Sides Sides
	// Service, when set, keeps only records this service wrote.
	Service string
	// Interval is the length of one latency interval.
	Interval time.Duration
	// MaxMalformed is the share of lines that may fail to parse before
	// Observe reports the logs as broken (default 0.01); fewer are
	// skipped, since a writer may be mid-line.
	MaxMalformed float64
}

// logLine is the part of a tracectx.Record the analysis reads; the format
// is documented there, and decoding only these fields keeps the reader
// independent of the rest.
type logLine struct {
	Time       time.Time         `json:"time"`
	Kind       string            `json:"kind"`
	Service    string            `json:"service"`
	Status     *int              `json:"status"`
	DurationUS *int64            `json:"duration_us"`
	Attrs      map[string]string `json:"attrs"`
}

// ParseLine decodes one access-log line and reports the fields the
// analysis needs, or an error naming what is missing or malformed.
func ParseLine(line []byte) (t time.Time, kind, service, side string, status int, duration time.Duration, err error) {
	var l logLine
	if err := json.Unmarshal(line, &l); err != nil {
		return t, "", "", "", 0, 0, fmt.Errorf("not a JSON access-log record: %w", err)
	}
	switch {
	case l.Time.IsZero():
		return t, "", "", "", 0, 0, errors.New(`missing "time"`)
	case l.Status == nil:
		return t, "", "", "", 0, 0, errors.New(`missing "status"`)
	case *l.Status < 0 || *l.Status > 999:
		return t, "", "", "", 0, 0, fmt.Errorf(`"status" %d: want 0..999`, *l.Status)
	case l.DurationUS == nil:
		return t, "", "", "", 0, 0, errors.New(`missing "duration_us"`)
	case *l.DurationUS < 0:
		return t, "", "", "", 0, 0, fmt.Errorf(`"duration_us" %d: want >= 0`, *l.DurationUS)
	}
	return l.Time, l.Kind, l.Service, l.Attrs["side"], *l.Status, time.Duration(*l.DurationUS) * time.Microsecond, nil
}

// Observe reads the logs and counts the server records of each side whose
// time falls in [start, end).
func (a *AccessLog) Observe(ctx context.Context, start, end time.Time) (analysis.Window, error) {
	w := analysis.Window{Start: start, End: end}
	n, err := intervals(start, end, a.Interval)
	if err != nil {
		return w, fmt.Errorf("access logs: %w", err)
	}
	var files []string
	for _, p := range a.Paths {
		m, err := filepath.Glob(p)
		if err != nil {
			return w, fmt.Errorf("access logs: pattern %q: %w", p, err)
		}
		files = append(files, m...)
	}
	slices.Sort(files)
	files = slices.Compact(files)
	if len(files) == 0 {
		return w, fmt.Errorf("access logs: no file matches %q", a.Paths)
	}
	sides := a.Sides.withDefaults()
	from, to := newSeries(n), newSeries(n)
	maxBad := a.MaxMalformed
	if maxBad == 0 {
		maxBad = 0.01
	}
	var lines, bad int
	var firstBad error
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return w, fmt.Errorf("access logs: %w", err)
		}
		r := bufio.NewReaderSize(f, 64<<10)
		for lineNo := 1; ; lineNo++ {
			if lineNo%4096 == 0 && ctx.Err() != nil {
				f.Close()
				return w, fmt.Errorf("access logs: %w", ctx.Err())
			}
			line, rerr := r.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				lines++
				t, kind, service, side, status, d, err := ParseLine(line)
				switch {
				case err != nil:
					bad++
					if firstBad == nil {
						firstBad = fmt.Errorf("%s:%d: %w", name, lineNo, err)
					}
				case kind != "server" || (a.Service != "" && service != a.Service) || t.Before(start) || !t.Before(end):
				default:
					var s *series
					switch side {
					case sides.From:
						s = from
					case sides.To:
						s = to
					}
					if s == nil {
						break
					}
					s.requests++
					if isError(status) {
						s.errors++
					}
					if i := int(t.Sub(start) / a.Interval); i < n {
						s.sum[i] += d.Seconds()
						s.count[i]++
					}
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				f.Close()
				return w, fmt.Errorf("access logs: read %s: %w", name, rerr)
			}
		}
		f.Close()
	}
	if bad > 0 && float64(bad) > maxBad*float64(lines) {
		return w, fmt.Errorf("access logs: %d of %d lines malformed, first at %w", bad, lines, firstBad)
	}
	w.From, w.To = from.observation(), to.observation()
	return w, nil
}
