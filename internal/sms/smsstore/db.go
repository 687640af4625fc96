// Package smsstore keeps the SMS batch's users, reminders and batch
// selections in SQLite (the embedded default, through modernc.org/sqlite) or
// PostgreSQL (through pgx), with embedded migrations. River's own tables
// live in the same database, so that a reminder's outcome and its job's
// completion commit in one transaction.
package smsstore

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
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/owlstack/owl/internal/sqldb"
)

// Dialect names the database engine.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed migrations
var migrations embed.FS

// DB is an open SMS database.
type DB struct {
	Dialect Dialect
	// SQL is the SQLite pool (one connection); nil on PostgreSQL.
	SQL *sql.DB
	// Pool is the PostgreSQL pool; nil on SQLite.
	Pool *pgxpool.Pool
	// Name is the database for messages: a file path, or the URL without
	// its password.
	Name string
}

// DefaultFile is the SQLite file under the data folder.
const DefaultFile = "sms/sms.db"

// Open opens the database at databaseURL: a postgres:// or postgresql://
// URL, or empty for the SQLite file DefaultFile under dataDir. It does not
// migrate.
func Open(ctx context.Context, databaseURL, dataDir string) (*DB, error) {
	if sqldb.IsPostgres(databaseURL) {
		return openPostgres(ctx, databaseURL)
	}
	path, err := sqldb.SQLitePath(databaseURL, filepath.Join(dataDir, DefaultFile))
	if err != nil {
		return nil, err
	}
	return OpenSQLite(path)
}

// OpenSQLite opens (creating it if needed) the SQLite database at path.
func OpenSQLite(path string) (*DB, error) {
	// River's SQLite driver needs a single connection; so does correctness
	// of SQLite's write lock under many goroutines: sqldb opens just one.
	db, err := sqldb.OpenSQLite(path)
	if err != nil {
		return nil, err
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &DB{Dialect: SQLite, SQL: db, Name: path}, nil
}

func openPostgres(ctx context.Context, databaseURL string) (*DB, error) {
	name := sqldb.Redact(databaseURL)
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("database URL %s: %w", name, err)
	}
	// Workers each need a connection for a moment per reminder; River
	// needs a few more for itself.
	if cfg.MaxConns < 40 {
		cfg.MaxConns = 40
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", name, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", name, err)
	}
	return &DB{Dialect: Postgres, Pool: pool, Name: name}, nil
}

// Close closes the database.
func (db *DB) Close() {
	if db.SQL != nil {
		db.SQL.Close()
	}
	if db.Pool != nil {
		db.Pool.Close()
	}
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if db.Pool != nil {
		return db.Pool.Ping(ctx)
	}
	return db.SQL.PingContext(ctx)
}

// Migrate brings owl's SMS tables and River's tables up to date. It is safe
// to run from several processes at once.
func (db *DB) Migrate(ctx context.Context) error {
	if err := db.migrateOwl(ctx); err != nil {
		return err
	}
	var err error
	switch db.Dialect {
	case Postgres:
		var m *rivermigrate.Migrator[pgx.Tx]
		if m, err = rivermigrate.New(riverpgxv5.New(db.Pool), nil); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	default:
		var m *rivermigrate.Migrator[*sql.Tx]
		if m, err = rivermigrate.New(riversqlite.New(db.SQL), nil); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("migrate River tables: %w", err)
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

// owlMigrations reads the embedded migrations, written once for both
// engines: on PostgreSQL the column type BLOB becomes BYTEA.
func (db *DB) owlMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its version", e.Name())
		}
		b, err := fs.ReadFile(migrations, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		sql := string(b)
		if db.Dialect == Postgres {
			sql = strings.ReplaceAll(sql, " BLOB ", " BYTEA ")
		}
		ms = append(ms, migration{v, e.Name(), sql})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

func (db *DB) migrateOwl(ctx context.Context) error {
	ms, err := db.owlMigrations()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	for _, m := range ms {
		err := db.InTx(ctx, func(q *Tx) error {
			if db.Dialect == Postgres {
				// Serialise concurrent migrators.
				if _, err := q.exec(ctx, "SELECT pg_advisory_xact_lock(7402051301)"); err != nil {
					return err
				}
			}
			if _, err := q.exec(ctx, "CREATE TABLE IF NOT EXISTS sms_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"); err != nil {
				return err
			}
			var n int64
			if err := q.queryRow(ctx, "SELECT COUNT(*) FROM sms_migrations WHERE version = $1", m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := q.exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := q.exec(ctx, "INSERT INTO sms_migrations (version, applied_at) VALUES ($1, $2)", m.version, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

// InTx runs fn in a transaction and commits it when fn returns nil.
func (db *DB) InTx(ctx context.Context, fn func(*Tx) error) error {
	if db.Pool != nil {
		tx, err := db.Pool.Begin(ctx)
		if err != nil {
			return err
		}
		// A no-op after Commit; when fn failed, its error is the one to report.
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		if err := fn(db.PgxTx(tx)); err != nil {
			return err
		}
		return tx.Commit(ctx)
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	// A no-op after Commit; when fn failed, its error is the one to report.
	defer func() { _ = tx.Rollback() }()
	if err := fn(db.SQLTx(tx)); err != nil {
		return err
	}
	return tx.Commit()
}

// Tx runs the store's queries on one connection or transaction.
type Tx struct {
	db   *DB
	sqlq interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
	pgq interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

// SQLTx runs queries in a SQLite transaction, such as River's.
func (db *DB) SQLTx(tx *sql.Tx) *Tx { return &Tx{db: db, sqlq: tx} }

// PgxTx runs queries in a PostgreSQL transaction, such as River's.
func (db *DB) PgxTx(tx pgx.Tx) *Tx { return &Tx{db: db, pgq: tx} }

// Q runs queries outside any transaction.
func (db *DB) Q() *Tx {
	if db.Pool != nil {
		return &Tx{db: db, pgq: db.Pool}
	}
	return &Tx{db: db, sqlq: db.SQL}
}

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

type pgRows struct{ pgx.Rows }

func (r pgRows) Close() error { r.Rows.Close(); return nil }

func (q *Tx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	if q.pgq != nil {
		tag, err := q.pgq.Exec(ctx, query, args...)
		return tag.RowsAffected(), err
	}
	res, err := q.sqlq.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q *Tx) query(ctx context.Context, query string, args ...any) (interface {
	rows
	Close() error
}, error) {
	if q.pgq != nil {
		r, err := q.pgq.Query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		return pgRows{r}, nil
	}
	return q.sqlq.QueryContext(ctx, query, args...)
}

type row interface{ Scan(dest ...any) error }

type sqlRow struct{ *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return errNoRows
	}
	return err
}

type pgRow struct{ pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoRows
	}
	return err
}

var errNoRows = errors.New("no rows")

func (q *Tx) queryRow(ctx context.Context, query string, args ...any) row {
	if q.pgq != nil {
		return pgRow{q.pgq.QueryRow(ctx, query, args...)}
	}
	return sqlRow{q.sqlq.QueryRowContext(ctx, query, args...)}
}
