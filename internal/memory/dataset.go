package memory

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Columns are the 12 columns of Duolingo's public half-life regression
// dataset (settles.acl16.learning_traces.13m.csv), in its order.
var Columns = []string{
	"p_recall", "timestamp", "delta", "user_id", "learning_language", "ui_language",
	"lexeme_id", "lexeme_string", "history_seen", "history_correct", "session_seen", "session_correct",
}

// Row is one row of a learning-trace file: one word practised by one user
// in one session.
type Row struct {
	PRecall        float64 // session_correct / session_seen
	Timestamp      int64   // Unix seconds of the session
	Delta          int64   // seconds since the word was last seen
	UserID         string
	LearningLang   string
	UILang         string
	LexemeID       string
	LexemeString   string
	HistorySeen    int // times seen before this session
	HistoryCorrect int
	SessionSeen    int
	SessionCorrect int
}

// TraceReader streams rows from a learning-trace CSV file. The header
// must name the 12 columns, in any order.
type TraceReader struct {
	r    *csv.Reader
	idx  [12]int
	line int
}

// NewTraceReader reads and checks the header.
func NewTraceReader(r io.Reader) (*TraceReader, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("trace header: %w", err)
	}
	tr := &TraceReader{r: cr, line: 1}
	for i := range tr.idx {
		tr.idx[i] = -1
	}
	for j, name := range head {
		for i, c := range Columns {
			if strings.TrimSpace(name) == c {
				tr.idx[i] = j
			}
		}
	}
	var missing []string
	for i, j := range tr.idx {
		if j < 0 {
			missing = append(missing, Columns[i])
		}
	}
	if missing != nil {
		return nil, fmt.Errorf("trace header: missing columns %s (want %s)", strings.Join(missing, ", "), strings.Join(Columns, ","))
	}
	return tr, nil
}

// Next returns the next row, or io.EOF.
func (tr *TraceReader) Next() (Row, error) {
	rec, err := tr.r.Read()
	tr.line++
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Row{}, io.EOF
		}
		return Row{}, fmt.Errorf("trace line %d: %w", tr.line, err)
	}
	col := func(i int) string { return rec[tr.idx[i]] }
	var row Row
	bad := func(i int, err error) (Row, error) {
		return Row{}, fmt.Errorf("trace line %d: column %s: %q: %w", tr.line, Columns[i], col(i), err)
	}
	if row.PRecall, err = strconv.ParseFloat(col(0), 64); err != nil {
		return bad(0, err)
	}
	if row.PRecall < 0 || row.PRecall > 1 {
		return bad(0, errors.New("not between 0 and 1"))
	}
	if row.Timestamp, err = strconv.ParseInt(col(1), 10, 64); err != nil {
		return bad(1, err)
	}
	if row.Delta, err = strconv.ParseInt(col(2), 10, 64); err != nil {
		return bad(2, err)
	}
	if row.Delta < 0 {
		return bad(2, errors.New("negative"))
	}
	row.UserID, row.LearningLang, row.UILang = col(3), col(4), col(5)
	row.LexemeID, row.LexemeString = col(6), col(7)
	ints := []*int{&row.HistorySeen, &row.HistoryCorrect, &row.SessionSeen, &row.SessionCorrect}
	for k, p := range ints {
		i := 8 + k
		if *p, err = strconv.Atoi(col(i)); err != nil {
			return bad(i, err)
		}
		if *p < 0 {
			return bad(i, errors.New("negative"))
		}
	}
	if row.HistoryCorrect > row.HistorySeen || row.SessionCorrect > row.SessionSeen {
		return Row{}, fmt.Errorf("trace line %d: more correct answers than answers", tr.line)
	}
	return row, nil
}

// TraceWriter writes rows in the dataset's format.
type TraceWriter struct {
	w   *csv.Writer
	rec []string
}

// NewTraceWriter writes the header.
func NewTraceWriter(w io.Writer) (*TraceWriter, error) {
	tw := &TraceWriter{w: csv.NewWriter(w), rec: make([]string, len(Columns))}
	return tw, tw.w.Write(Columns)
}

// Write writes one row.
func (tw *TraceWriter) Write(r Row) error {
	tw.rec[0] = strconv.FormatFloat(r.PRecall, 'f', -1, 64)
	tw.rec[1] = strconv.FormatInt(r.Timestamp, 10)
	tw.rec[2] = strconv.FormatInt(r.Delta, 10)
	tw.rec[3], tw.rec[4], tw.rec[5], tw.rec[6], tw.rec[7] = r.UserID, r.LearningLang, r.UILang, r.LexemeID, r.LexemeString
	tw.rec[8] = strconv.Itoa(r.HistorySeen)
	tw.rec[9] = strconv.Itoa(r.HistoryCorrect)
	tw.rec[10] = strconv.Itoa(r.SessionSeen)
	tw.rec[11] = strconv.Itoa(r.SessionCorrect)
	return tw.w.Write(tw.rec)
}

// Flush writes buffered rows and reports any write error.
func (tw *TraceWriter) Flush() error {
	tw.w.Flush()
	return tw.w.Error()
}
