// Package userstate is the API front of the session generator, the "API
// server" of seed 001: it owns each learner's settings, per-word memory
// state and review history (in SQLite or PostgreSQL), injects that state
// into requests to the session generator, and applies graded results back,
// idempotently.
package userstate

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/owlstack/owl/internal/sqldb"
)

// Dialect names the database engine.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DefaultFile is the SQLite file under the data folder.
const DefaultFile = "users/users.db"

//go:embed migrations/*.sql
var migrations embed.FS

// Store keeps learners' state. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	// name is the database for messages: a path, or a URL without password.
	name string
}

// Open opens the database at databaseURL: a postgres:// or postgresql://
// URL, sqlite://PATH, or empty for the SQLite file DefaultFile under
// dataDir. It does not migrate; call Migrate.
func Open(ctx context.Context, databaseURL, dataDir string) (*Store, error) {
	if sqldb.IsPostgres(databaseURL) {
		name := sqldb.Redact(databaseURL)
		db, err := sql.Open("pgx", databaseURL)
		if err != nil {
			return nil, fmt.Errorf("database URL %s: %w", name, err)
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("connect to %s: %w", name, err)
		}
		return &Store{db: db, dialect: Postgres, name: name}, nil
	}
	path, err := sqldb.SQLitePath(databaseURL, filepath.Join(dataDir, DefaultFile))
	if err != nil {
		return nil, err
	}
	// One connection: SQLite has one writer, and immediate transactions on
	// one connection serialise the read-modify-write of results.
	db, err := sqldb.OpenSQLite(path)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &Store{db: db, dialect: SQLite, name: path}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Dialect returns the database engine.
func (s *Store) Dialect() Dialect { return s.dialect }

// Name returns the database's path, or its URL without the password.
func (s *Store) Name() string { return s.name }

// Ping checks the database: a readiness check.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// migration is one embedded, numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must start with a version number and _", e.Name())
		}
		data, err := fs.ReadFile(migrations, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(data)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := range out {
		if out[i].version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", out[i].name, i+1)
		}
	}
	return out, nil
}

// Migrate brings the schema to the latest embedded version, each migration
// in its own transaction. Concurrent starts against one PostgreSQL database
// are serialised by an advisory lock.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS userstate_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate %s: %w", s.name, err)
	}
	for _, m := range ms {
		if err := s.migrateOne(ctx, m); err != nil {
			return fmt.Errorf("migrate %s: %s: %w", s.name, m.name, err)
		}
	}
	return nil
}

func (s *Store) migrateOne(ctx context.Context, m migration) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if s.dialect == Postgres {
		// An arbitrary constant: the lock of owl's user-state migrations.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7395022615)`); err != nil {
			return err
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM userstate_migrations WHERE version = ?`), m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return tx.Rollback()
	}
	for _, stmt := range strings.Split(m.sql, ";") {
		if strings.TrimSpace(stripComments(stmt)) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO userstate_migrations (version, name) VALUES (?, ?)`), m.version, m.name); err != nil {
		return err
	}
	return tx.Commit()
}

func stripComments(stmt string) string {
	var b strings.Builder
	for line := range strings.Lines(stmt) {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// Version returns the schema version applied.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM userstate_migrations`).Scan(&v)
	return int(v.Int64), err
}

// q rewrites ? placeholders to PostgreSQL's $n.
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// retryable reports a PostgreSQL serialisation failure or deadlock, after
// which the transaction may simply be run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
