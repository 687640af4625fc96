// Package logging builds the structured loggers every owl process uses.
//
// Logs are JSON lines by default and human-readable text when they go to a
// terminal. A logger is always built here and passed down; nothing in owl
// logs through a package-level logger.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"
)

// Formats lists the accepted values of the log format setting.
var Formats = []string{"auto", "json", "text"}

// Options selects the level and format of a logger.
type Options struct {
	// Level is one of debug, info, warn, error.
	Level string
	// Format is auto (text on a terminal, JSON otherwise), json or text.
	Format string
}

// ParseLevel turns a level name into a slog.Level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: expected one of debug, info, warn, error", s)
	}
	return l, nil
}

// New returns a logger writing to w with the given options.
func New(w io.Writer, opts Options) (*slog.Logger, error) {
	level, err := ParseLevel(orDefault(opts.Level, "info"))
	if err != nil {
		return nil, err
	}
	ho := &slog.HandlerOptions{Level: level}
	switch format := orDefault(opts.Format, "auto"); format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "auto":
		if IsTerminal(w) {
			return slog.New(slog.NewTextHandler(w, ho)), nil
		}
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	default:
		return nil, fmt.Errorf("log format %q: expected one of %s", format, strings.Join(Formats, ", "))
	}
}

// Discard returns a logger that drops every record; for tests and quiet tools.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
