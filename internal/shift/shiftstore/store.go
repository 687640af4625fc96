// Package shiftstore keeps traffic shifts, their append-only history,
// operator requests and controller leases in SQLite (the embedded default,
// through modernc.org/sqlite) or PostgreSQL (through pgx), with embedded
// migrations.
//
// A lease gives one controller the right to drive one shift; its fencing
// token grows with every acquisition, and Save refuses a write whose token
// is no longer current in the same transaction that records it.
package shiftstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/sqldb"
)

//go:embed migrations
var migrations embed.FS

// DefaultFile is the SQLite file under the data folder.
const DefaultFile = "shift/shift.db"

// Store is an open shift database.
type Store struct {
	db       *sql.DB
	postgres bool
	// Name is the database for messages: a file path, or the URL without
	// its password.
	Name string
}

// Open opens and migrates the database at databaseURL: a postgres:// or
// postgresql:// URL, or empty for the SQLite file DefaultFile under dataDir.
func Open(ctx context.Context, databaseURL, dataDir string) (*Store, error) {
	var s *Store
	switch {
	case sqldb.IsPostgres(databaseURL):
		name := sqldb.Redact(databaseURL)
		db, err := sql.Open("pgx", databaseURL)
		if err != nil {
			return nil, fmt.Errorf("shift database %s: %w", name, err)
		}
		db.SetMaxOpenConns(8)
		s = &Store{db: db, postgres: true, Name: name}
	default:
		path, err := sqldb.SQLitePath(databaseURL, filepath.Join(dataDir, DefaultFile))
		if err != nil {
			return nil, fmt.Errorf("shift %w", err)
		}
		db, err := sqldb.OpenSQLite(path)
		if err != nil {
			return nil, fmt.Errorf("shift database: %w", err)
		}
		s = &Store{db: db, Name: path}
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("connect to shift database %s: %w", s.Name, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("migrate shift database %s: %w", s.Name, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

func (s *Store) migrate(ctx context.Context) error {
	dir := "migrations/sqlite"
	if s.postgres {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return err
	}
	type migration struct {
		version int
		name    string
	}
	var ms []migration
	for _, e := range entries {
		v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with its version", e.Name())
		}
		ms = append(ms, migration{v, e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for _, m := range ms {
		body, err := fs.ReadFile(migrations, dir+"/"+m.name)
		if err != nil {
			return err
		}
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if s.postgres {
				// Serialise concurrent migrators.
				if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7402051309)"); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS shift_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM shift_migrations WHERE version = $1", m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO shift_migrations (version, applied_at) VALUES ($1, $2)", m.version, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	// A no-op after Commit; when fn failed, its error is the one to report.
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// Create stores a new shift and the first line of its history. It returns
// shift.ErrExists when the name is taken.
func (s *Store) Create(ctx context.Context, sh *shift.Shift) error {
	body, err := json.Marshal(sh)
	if err != nil {
		return fmt.Errorf("create shift %s: %w", sh.Name, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "INSERT INTO shifts (name, state, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
			sh.Name, string(sh.State), string(body), micros(sh.CreatedAt), micros(sh.UpdatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return shift.ErrExists
		}
		return appendEvents(ctx, tx, sh.Name, []shift.Event{{At: sh.CreatedAt, Kind: shift.EventTransition, State: sh.State, Step: sh.Step, Split: sh.Split, Reason: "created"}})
	})
	if err != nil {
		return fmt.Errorf("create shift %s: %w", sh.Name, err)
	}
	return nil
}

func appendEvents(ctx context.Context, tx *sql.Tx, name string, events []shift.Event) error {
	for _, e := range events {
		var detail any
		if len(e.Detail) > 0 {
			detail = string(e.Detail)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO shift_history (shift, at, kind, state, step, to_bp, reason, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			name, micros(e.At), e.Kind, string(e.State), e.Step, e.Split.ToBP, e.Reason, detail); err != nil {
			return err
		}
	}
	return nil
}

// Get reads one shift; shift.ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, name string) (*shift.Shift, error) {
	var body string
	err := s.db.QueryRowContext(ctx, "SELECT body FROM shifts WHERE name = $1", name).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("shift %s: %w", name, shift.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read shift %s: %w", name, err)
	}
	return decode(name, body)
}

func decode(name, body string) (*shift.Shift, error) {
	var sh shift.Shift
	if err := json.Unmarshal([]byte(body), &sh); err != nil {
		return nil, fmt.Errorf("read shift %s: stored state is corrupt: %w", name, err)
	}
	return &sh, nil
}

// List reads every shift, the most recently created first.
func (s *Store) List(ctx context.Context) ([]*shift.Shift, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name, body FROM shifts ORDER BY created_at DESC, name")
	if err != nil {
		return nil, fmt.Errorf("list shifts: %w", err)
	}
	defer rows.Close()
	var out []*shift.Shift
	for rows.Next() {
		var name, body string
		if err := rows.Scan(&name, &body); err != nil {
			return nil, fmt.Errorf("list shifts: %w", err)
		}
		sh, err := decode(name, body)
		if err != nil {
			return nil, err
		}
		out = append(out, sh)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list shifts: %w", err)
	}
	return out, nil
}

// Acquire gives holder the lease of shift name until now+ttl. A holder that
// still holds it renews it with the same fencing token; a lease that
// expired (or was released) is taken with the next token. While another
// holder's lease runs, Acquire returns shift.ErrLeaseHeld.
func (s *Store) Acquire(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (shift.Lease, error) {
	var l shift.Lease
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO shift_leases (shift, holder, fence, expires_at) VALUES ($1, '', 0, 0) ON CONFLICT (shift) DO NOTHING", name); err != nil {
			return err
		}
		cur, err := s.lockLease(ctx, tx, name)
		if err != nil {
			return err
		}
		live := cur.Expires.After(now)
		switch {
		case live && cur.Holder == holder:
			l = cur // renewal
		case live:
			l = cur
			return shift.ErrLeaseHeld
		default:
			l = shift.Lease{Shift: name, Holder: holder, Fence: cur.Fence + 1}
		}
		l.Expires = now.Add(ttl)
		_, err = tx.ExecContext(ctx, "UPDATE shift_leases SET holder = $2, fence = $3, expires_at = $4 WHERE shift = $1", name, holder, int64(l.Fence), micros(l.Expires))
		return err
	})
	if errors.Is(err, shift.ErrLeaseHeld) {
		return l, fmt.Errorf("lease of shift %s (held by %s until %s): %w", name, l.Holder, l.Expires.Format(time.RFC3339), err)
	}
	if err != nil {
		return shift.Lease{}, fmt.Errorf("acquire lease of shift %s: %w", name, err)
	}
	return l, nil
}

func (s *Store) lockLease(ctx context.Context, tx *sql.Tx, name string) (shift.Lease, error) {
	q := "SELECT holder, fence, expires_at FROM shift_leases WHERE shift = $1"
	if s.postgres {
		q += " FOR UPDATE"
	}
	l := shift.Lease{Shift: name}
	var fence, exp int64
	err := tx.QueryRowContext(ctx, q, name).Scan(&l.Holder, &fence, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return shift.Lease{Shift: name}, nil
	}
	l.Fence, l.Expires = uint64(fence), fromMicros(exp)
	return l, err
}

// Release gives up a lease, so that another controller can take the shift
// at once (with the next fencing token).
func (s *Store) Release(ctx context.Context, l shift.Lease) error {
	_, err := s.db.ExecContext(ctx, "UPDATE shift_leases SET expires_at = 0 WHERE shift = $1 AND holder = $2 AND fence = $3", l.Shift, l.Holder, int64(l.Fence))
	if err != nil {
		return fmt.Errorf("release lease of shift %s: %w", l.Shift, err)
	}
	return nil
}

// Save writes a shift's new state and appends events to its history, in
// one transaction that first checks that lease is still the shift's
// current lease at sh.UpdatedAt; otherwise it writes nothing and returns
// shift.ErrLeaseLost.
func (s *Store) Save(ctx context.Context, l shift.Lease, sh *shift.Shift, events []shift.Event) error {
	body, err := json.Marshal(sh)
	if err != nil {
		return fmt.Errorf("save shift %s: %w", sh.Name, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.lockLease(ctx, tx, sh.Name)
		if err != nil {
			return err
		}
		if cur.Holder != l.Holder || cur.Fence != l.Fence || !cur.Expires.After(sh.UpdatedAt) {
			return shift.ErrLeaseLost
		}
		res, err := tx.ExecContext(ctx, "UPDATE shifts SET state = $2, body = $3, updated_at = $4 WHERE name = $1", sh.Name, string(sh.State), string(body), micros(sh.UpdatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return shift.ErrNotFound
		}
		return appendEvents(ctx, tx, sh.Name, events)
	})
	if err != nil {
		return fmt.Errorf("save shift %s: %w", sh.Name, err)
	}
	return nil
}

// Enqueue records an operator command for the controller driving shift
// name, which applies it on its next tick. It returns shift.ErrNotFound for
// an unknown shift and shift.ErrFinal for one that is over.
func (s *Store) Enqueue(ctx context.Context, name string, cmd shift.Command, by string, now time.Time) (shift.Request, error) {
	r := shift.Request{Shift: name, Command: cmd, By: by, At: now}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, "SELECT state FROM shifts WHERE name = $1", name).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return shift.ErrNotFound
		}
		if err != nil {
			return err
		}
		if shift.State(state).Final() {
			return fmt.Errorf("%w (state %s)", shift.ErrFinal, state)
		}
		if err := tx.QueryRowContext(ctx, "INSERT INTO shift_requests (shift, command, by_whom, at) VALUES ($1, $2, $3, $4) RETURNING id",
			name, string(cmd), by, micros(now)).Scan(&r.ID); err != nil {
			return err
		}
		reason := string(cmd) + " requested"
		if by != "" {
			reason += " by " + by
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO shift_history (shift, at, kind, state, step, to_bp, reason) SELECT $1, $2, $3, state, -1, 0, $4 FROM shifts WHERE name = $1",
			name, micros(now), shift.EventRequest, reason)
		return err
	})
	if err != nil {
		return shift.Request{}, fmt.Errorf("%s shift %s: %w", cmd, name, err)
	}
	return r, nil
}

// Requests lists the operator commands for shift name with an id above
// after, oldest first.
func (s *Store) Requests(ctx context.Context, name string, after int64) ([]shift.Request, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, command, by_whom, at FROM shift_requests WHERE shift = $1 AND id > $2 ORDER BY id", name, after)
	if err != nil {
		return nil, fmt.Errorf("requests of shift %s: %w", name, err)
	}
	defer rows.Close()
	var out []shift.Request
	for rows.Next() {
		r := shift.Request{Shift: name}
		var cmd string
		var at int64
		if err := rows.Scan(&r.ID, &cmd, &r.By, &at); err != nil {
			return nil, fmt.Errorf("requests of shift %s: %w", name, err)
		}
		r.Command, r.At = shift.Command(cmd), fromMicros(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("requests of shift %s: %w", name, err)
	}
	return out, nil
}

// History returns the last limit events of shift name (all when limit is
// 0), oldest first.
func (s *Store) History(ctx context.Context, name string, limit int) ([]shift.Event, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := s.db.QueryContext(ctx, `SELECT at, kind, state, step, to_bp, reason, detail FROM
		(SELECT id, at, kind, state, step, to_bp, reason, detail FROM shift_history WHERE shift = $1 ORDER BY id DESC LIMIT $2) h ORDER BY id`, name, limit)
	if err != nil {
		return nil, fmt.Errorf("history of shift %s: %w", name, err)
	}
	defer rows.Close()
	var out []shift.Event
	for rows.Next() {
		var e shift.Event
		var at int64
		var state string
		var detail sql.NullString
		if err := rows.Scan(&at, &e.Kind, &state, &e.Step, &e.Split.ToBP, &e.Reason, &detail); err != nil {
			return nil, fmt.Errorf("history of shift %s: %w", name, err)
		}
		e.At, e.State = fromMicros(at), shift.State(state)
		if detail.Valid {
			e.Detail = json.RawMessage(detail.String)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history of shift %s: %w", name, err)
	}
	return out, nil
}
