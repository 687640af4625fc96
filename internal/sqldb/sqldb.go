// Package sqldb holds what owl's stores share about their databases: which
// URLs name PostgreSQL and which a SQLite file, how the embedded SQLite
// default is opened, and how a URL is shown without its password.
package sqldb

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// IsPostgres reports whether databaseURL names a PostgreSQL database.
func IsPostgres(databaseURL string) bool {
	return strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://")
}

// SQLitePath returns the SQLite file a database URL that is not
// PostgreSQL names: sqlite://PATH or a bare path; empty means def.
func SQLitePath(databaseURL, def string) (string, error) {
	path, _ := strings.CutPrefix(databaseURL, "sqlite://")
	if path == "" {
		path = def
	}
	if scheme, _, ok := strings.Cut(path, "://"); ok {
		return "", fmt.Errorf("database URL: expected postgres://, postgresql:// or sqlite://PATH, got scheme %q", scheme)
	}
	return path, nil
}

// OpenSQLite opens, creating it and its folder if needed, the SQLite
// database at path: WAL journal, full sync, a 10 s busy timeout, immediate
// (write-locking) transactions, and one connection, since SQLite has one
// writer and River's SQLite driver wants a single connection too.
func OpenSQLite(path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("database folder: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// Redact shows a database URL without its password.
func Redact(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "(unparsable database URL)"
	}
	return u.Redacted()
}
