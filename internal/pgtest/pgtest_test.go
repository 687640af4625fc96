package pgtest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestNewDatabaseIsFreshAndIsolated(t *testing.T) {
	ctx := context.Background()
	var names []string
	for range 2 {
		u := NewDatabase(t)
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var name string
		var tables int
		if err := conn.QueryRow(ctx, "SELECT current_database(), (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')").Scan(&name, &tables); err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("database %s is not empty: %d tables", name, tables)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE users (id int PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if names[0] == names[1] || !strings.HasPrefix(names[0], "owl_test_") {
		t.Errorf("databases %v are not distinct owl_test_ databases", names)
	}
}

func TestDatabaseIsDroppedAfterTest(t *testing.T) {
	var u string
	t.Run("inner", func(t *testing.T) { u = NewDatabase(t) })
	if u == "" {
		t.Skip("inner test skipped: no PostgreSQL")
	}
	name := u[strings.LastIndex(u, "/")+1:]
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestRedact(t *testing.T) {
	if got := redact("postgres://u:hunter2@h/db"); strings.Contains(got, "hunter2") {
		t.Errorf("redact leaked the password: %s", got)
	}
}
