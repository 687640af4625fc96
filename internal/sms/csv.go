package sms

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// CSVColumns are the columns of a users file, in the order written by
// owl's own tools; a file may order them differently.
var CSVColumns = []string{"user_id", "phone", "time_zone", "streak_days", "last_active_at", "opted_out"}

// Row is one validated line of a users file; Phone is in E.164 form.
type Row struct {
	Line         int
	UserID       string
	Phone        string
	TimeZone     string
	StreakDays   int
	LastActiveAt time.Time
	OptedOut     bool
}

// RowError is a problem in a users file, at a line and column. Its message
// never contains a phone number.
type RowError struct {
	File   string
	Line   int
	Column int
	Field  string
	Msg    string
}

func (e *RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Column, e.Field, e.Msg)
}

// CSVReader reads and validates a users file row by row.
type CSVReader struct {
	name   string
	r      *csv.Reader
	col    map[string]int
	seen   map[string]int
	region string
}

// maxUserIDLen bounds user ids so that a stray column cannot become a key.
const maxUserIDLen = 128

// NewCSVReader reads the header of a users file named name (for errors) and
// returns a reader of its rows. Numbers without a country code are read in
// region (DefaultRegion when empty).
func NewCSVReader(r io.Reader, name, region string) (*CSVReader, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &RowError{File: name, Line: 1, Column: 1, Msg: "empty file: expected the header " + strings.Join(CSVColumns, ",")}
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	c := &CSVReader{name: name, r: cr, col: map[string]int{}, seen: map[string]int{}, region: region}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		_, col := cr.FieldPos(i)
		if !slices.Contains(CSVColumns, h) {
			return nil, &RowError{File: name, Line: 1, Column: col, Msg: fmt.Sprintf("unknown column %q (expected %s)", h, strings.Join(CSVColumns, ","))}
		}
		if _, dup := c.col[h]; dup {
			return nil, &RowError{File: name, Line: 1, Column: col, Msg: fmt.Sprintf("column %q repeats", h)}
		}
		c.col[h] = i
	}
	for _, h := range CSVColumns {
		if _, ok := c.col[h]; !ok {
			return nil, &RowError{File: name, Line: 1, Column: 1, Msg: fmt.Sprintf("missing column %q (expected %s)", h, strings.Join(CSVColumns, ","))}
		}
	}
	return c, nil
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		// The csv package's message quotes no field content.
		return &RowError{File: name, Line: pe.Line, Column: pe.Column, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("read %s: %w", name, err)
}

// Next returns the next row, io.EOF at the end, or a *RowError for a bad
// row; after a *RowError the following rows can still be read.
func (c *CSVReader) Next() (Row, error) {
	rec, err := c.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Row{}, io.EOF
		}
		return Row{}, csvError(c.name, err)
	}
	line, _ := c.r.FieldPos(0)
	if len(rec) != len(c.col) {
		return Row{Line: line}, &RowError{File: c.name, Line: line, Column: 1, Msg: fmt.Sprintf("%d fields, expected %d", len(rec), len(c.col))}
	}
	row := Row{Line: line}
	bad := func(field, msg string) error {
		_, col := c.r.FieldPos(c.col[field])
		return &RowError{File: c.name, Line: line, Column: col, Field: field, Msg: msg}
	}
	get := func(field string) string { return strings.TrimSpace(rec[c.col[field]]) }

	row.UserID = get("user_id")
	switch {
	case row.UserID == "":
		return row, bad("user_id", "empty")
	case len(row.UserID) > maxUserIDLen:
		return row, bad("user_id", fmt.Sprintf("longer than %d bytes", maxUserIDLen))
	case strings.IndexFunc(row.UserID, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) >= 0:
		return row, bad("user_id", "contains spaces or control characters")
	}
	if first, dup := c.seen[row.UserID]; dup {
		return row, bad("user_id", fmt.Sprintf("user %q repeats line %d", row.UserID, first))
	}
	c.seen[row.UserID] = line

	phone, err := NormalizePhone(get("phone"), c.region)
	if err != nil {
		return row, bad("phone", err.Error())
	}
	row.Phone = phone

	row.TimeZone = get("time_zone")
	if row.TimeZone == "" {
		row.TimeZone = DefaultTimeZone
	}
	if _, err := LoadZone(row.TimeZone); err != nil {
		return row, bad("time_zone", err.Error())
	}

	n, err := strconv.Atoi(get("streak_days"))
	if err != nil || n < 0 {
		return row, bad("streak_days", fmt.Sprintf("expected a whole number of days, 0 or more, got %q", get("streak_days")))
	}
	row.StreakDays = n

	t, err := time.Parse(time.RFC3339, get("last_active_at"))
	if err != nil {
		return row, bad("last_active_at", fmt.Sprintf("expected an RFC 3339 time such as 2025-01-15T08:30:00+08:00, got %q", get("last_active_at")))
	}
	row.LastActiveAt = t

	switch v := get("opted_out"); v {
	case "true":
		row.OptedOut = true
	case "false", "":
	default:
		return row, bad("opted_out", fmt.Sprintf("expected true or false, got %q", v))
	}
	return row, nil
}
