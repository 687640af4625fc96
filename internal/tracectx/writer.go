package tracectx

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// LogWriter writes access-log records as JSON lines. It is safe for
// concurrent use; records are buffered and flushed every second by Run, and
// written through at once after Run returns, so that requests still draining
// at shutdown are not lost.
type LogWriter struct {
	mu       sync.Mutex
	w        *bufio.Writer
	closer   io.Closer
	direct   bool
	err      error
	bufs     sync.Pool
	interval time.Duration
}

// NewLogWriter writes records to w.
func NewLogWriter(w io.Writer) *LogWriter {
	l := &LogWriter{w: bufio.NewWriterSize(w, 64<<10), interval: time.Second}
	l.bufs.New = func() any { b := make([]byte, 0, 1024); return &b }
	return l
}

// OpenLog appends records to the file at path, creating it and its folder.
func OpenLog(path string) (*LogWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	l := NewLogWriter(f)
	l.closer = f
	return l, nil
}

// Write appends one record.
func (l *LogWriter) Write(r *Record) { l.write(r, false) }

// write is Write; owlText is Record.appendJSON's.
func (l *LogWriter) write(r *Record, owlText bool) {
	bp := l.bufs.Get().(*[]byte)
	b := r.appendJSON((*bp)[:0], owlText)
	b = append(b, '\n')
	l.mu.Lock()
	_, err := l.w.Write(b)
	if err == nil && l.direct {
		err = l.w.Flush()
	}
	if err != nil && l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
	*bp = b
	l.bufs.Put(bp)
}

// Flush writes buffered records out and reports the first write error
// since the last Flush.
func (l *LogWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.w.Flush()
	if l.err != nil {
		err, l.err = l.err, nil
	}
	if err != nil {
		return fmt.Errorf("access log: %w", err)
	}
	return nil
}

// Run flushes every second until ctx ends, then switches to writing
// through. A write error fails it, which stops the process: an owl service
// does not run without its access log.
func (l *LogWriter) Run(ctx context.Context) error {
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			l.mu.Lock()
			l.direct = true
			l.mu.Unlock()
			return l.Flush()
		case <-t.C:
			if err := l.Flush(); err != nil {
				return err
			}
		}
	}
}

// Close flushes and closes the file OpenLog opened.
func (l *LogWriter) Close() error {
	err := l.Flush()
	if l.closer != nil {
		if cerr := l.closer.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("access log: %w", cerr)
		}
	}
	return err
}
