package sqldb

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSQLitePath(t *testing.T) {
	for _, tc := range []struct{ url, want, err string }{
		{"", "def.db", ""},
		{"sqlite://", "def.db", ""},
		{"sqlite:///var/owl/x.db", "/var/owl/x.db", ""},
		{"data/x.db", "data/x.db", ""},
		{"mysql://h/db", "", `got scheme "mysql"`},
	} {
		got, err := SQLitePath(tc.url, "def.db")
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("SQLitePath(%q) = %q, %v; want %q, error with %q", tc.url, got, err, tc.want, tc.err)
		}
	}
	if !IsPostgres("postgresql://u@h/db") || !IsPostgres("postgres://h/db") || IsPostgres("sqlite://x") {
		t.Error("IsPostgres")
	}
}

func TestOpenSQLiteAndRedact(t *testing.T) {
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "sub", "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q, %v; want wal", mode, err)
	}
	if got := Redact("postgres://owl:s3cret@db:5432/owl"); strings.Contains(got, "s3cret") {
		t.Errorf("Redact kept the password: %s", got)
	}
}
