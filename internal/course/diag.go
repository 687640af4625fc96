package course

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// DefaultMaxErrors is how many errors a Diagnostics keeps when no limit is given.
const DefaultMaxErrors = 50

// Pos is a position in a course source file. Line and Col count from 1; zero
// means unknown.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// String formats the position as file:line:col, leaving out what is unknown.
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(p.Line))
		if p.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Col))
		}
	}
	return b.String()
}

// Severity tells whether a diagnostic stops a course from compiling.
type Severity uint8

// The severities of a diagnostic.
const (
	// SeverityError means the course cannot be compiled.
	SeverityError Severity = iota + 1
	// SeverityWarning means the course compiles but something looks wrong.
	SeverityWarning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the severity as "error" or "warning", for JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes "error" or "warning".
func (s *Severity) UnmarshalText(text []byte) error {
	switch string(text) {
	case "error":
		*s = SeverityError
	case "warning":
		*s = SeverityWarning
	default:
		return fmt.Errorf("unknown severity %q", text)
	}
	return nil
}

// Diagnostic is one error or warning about a course source, with its
// position. In JSON it is {"severity", "file", "line", "col", "message"}.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	Pos
	Message string `json:"message"`
}

// String formats an error as "file:line:col: message" and a warning as
// "file:line:col: warning: message".
func (d Diagnostic) String() string {
	var b strings.Builder
	if pos := d.Pos.String(); pos != "" {
		b.WriteString(pos)
		b.WriteString(": ")
	}
	if d.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// Diagnostics collects the errors and warnings found while loading or
// validating a course, in the order they were found. It keeps at most
// MaxErrors errors and counts the rest; warnings are always kept.
// The zero value is ready to use and keeps DefaultMaxErrors errors.
type Diagnostics struct {
	// MaxErrors is the number of errors kept; zero means DefaultMaxErrors.
	MaxErrors int
	// List holds the diagnostics kept, in the order they were found.
	List []Diagnostic
	// Omitted counts the errors found after MaxErrors were kept.
	Omitted int

	errors int
}

func (d *Diagnostics) limit() int {
	if d.MaxErrors > 0 {
		return d.MaxErrors
	}
	return DefaultMaxErrors
}

// Add records a diagnostic.
func (d *Diagnostics) Add(diag Diagnostic) {
	if diag.Severity == SeverityError {
		if d.errors >= d.limit() {
			d.Omitted++
			return
		}
		d.errors++
	}
	d.List = append(d.List, diag)
}

// Errorf records an error at pos.
func (d *Diagnostics) Errorf(pos Pos, format string, args ...any) {
	d.Add(Diagnostic{Severity: SeverityError, Pos: pos, Message: fmt.Sprintf(format, args...)})
}

// Warnf records a warning at pos.
func (d *Diagnostics) Warnf(pos Pos, format string, args ...any) {
	d.Add(Diagnostic{Severity: SeverityWarning, Pos: pos, Message: fmt.Sprintf(format, args...)})
}

// HasErrors reports whether any error was found.
func (d *Diagnostics) HasErrors() bool { return d.errors > 0 || d.Omitted > 0 }

// Full reports whether the error limit is reached, so that a caller can stop
// looking for more.
func (d *Diagnostics) Full() bool { return d.errors >= d.limit() }

// Errors returns the errors kept.
func (d *Diagnostics) Errors() []Diagnostic { return d.filter(SeverityError) }

// Warnings returns the warnings.
func (d *Diagnostics) Warnings() []Diagnostic { return d.filter(SeverityWarning) }

func (d *Diagnostics) filter(s Severity) []Diagnostic {
	var out []Diagnostic
	for _, diag := range d.List {
		if diag.Severity == s {
			out = append(out, diag)
		}
	}
	return out
}

// Merge appends the diagnostics of other, keeping this collection's limit.
func (d *Diagnostics) Merge(other *Diagnostics) {
	for _, diag := range other.List {
		d.Add(diag)
	}
	d.Omitted += other.Omitted
}

// PromoteWarnings turns every warning into an error (strict mode).
func (d *Diagnostics) PromoteWarnings() {
	list := d.List
	d.List, d.errors = nil, 0
	for _, diag := range list {
		diag.Severity = SeverityError
		d.Add(diag)
	}
}

// Sort orders the diagnostics by file, in the order files were first
// reported, then by line and column; diagnostics at the same place keep
// their order.
func (d *Diagnostics) Sort() {
	fileOrder := make(map[string]int)
	for _, diag := range d.List {
		if _, ok := fileOrder[diag.File]; !ok {
			fileOrder[diag.File] = len(fileOrder)
		}
	}
	slices.SortStableFunc(d.List, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(fileOrder[a.File], fileOrder[b.File]),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
		)
	})
}

// WriteTo writes one diagnostic a line, followed by a line counting the
// errors left out, if any.
func (d *Diagnostics) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	for _, diag := range d.List {
		b.WriteString(diag.String())
		b.WriteByte('\n')
	}
	if d.Omitted > 0 {
		fmt.Fprintf(&b, "too many errors: %d more not shown\n", d.Omitted)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// Err returns nil when no error was found, and otherwise an *InvalidError
// carrying the errors.
func (d *Diagnostics) Err() error {
	if !d.HasErrors() {
		return nil
	}
	return &InvalidError{Errors: d.Errors(), Omitted: d.Omitted}
}

// InvalidError reports that a course has errors; it carries them.
type InvalidError struct {
	Errors  []Diagnostic
	Omitted int
}

// Error returns the first error and how many others there are.
func (e *InvalidError) Error() string {
	n := len(e.Errors) + e.Omitted
	if len(e.Errors) == 0 {
		return fmt.Sprintf("course has %d errors", n)
	}
	first := e.Errors[0].String()
	if n == 1 {
		return first
	}
	return fmt.Sprintf("%s (and %d more errors)", first, n-1)
}
