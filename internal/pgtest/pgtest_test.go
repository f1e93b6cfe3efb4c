package pgtest_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"parley/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Each test gets an empty database of its own on a real server.
func TestDatabasesAreSeparate(t *testing.T) {
	a, b := pgtest.URL(t), pgtest.URL(t)
	if a == b {
		t.Fatalf("two tests share database %s", a)
	}
	db, err := sql.Open("pgx", a)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (x int)`); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("pgx", b)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var n int
	if err := other.QueryRow(`SELECT count(*) FROM pg_tables WHERE tablename = 't'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("table of one database seen in the other: %d, %v", n, err)
	}
	var v string
	if err := db.QueryRow(`SHOW server_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL %s", v)
}

// A paused server refuses connections; resumed, it serves the same data
// on the same address.
func TestPauseAndResume(t *testing.T) {
	c := pgtest.Own(t)
	u, err := c.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (x int); INSERT INTO t VALUES (42)`); err != nil {
		t.Fatal(err)
	}
	if err := c.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err == nil {
		t.Fatal("a paused server answered")
	}
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	var x int
	if err := db.QueryRow(`SELECT x FROM t`).Scan(&x); err != nil || x != 42 {
		t.Fatalf("after resume: x = %d, %v; want 42", x, err)
	}
}

// A durable cluster keeps PostgreSQL's default durability; the tests'
// cluster does not.
func TestStartDurable(t *testing.T) {
	if _, err := pgtest.Bin(); err != nil {
		t.Skip(err)
	}
	for _, tt := range []struct {
		start func() (*pgtest.Cluster, error)
		want  string
	}{{pgtest.StartDurable, "on"}, {pgtest.Start, "off"}} {
		c, err := tt.start()
		if err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("pgx", c.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
			var v string
			if err := db.QueryRow("SHOW " + name).Scan(&v); err != nil {
				t.Fatal(err)
			}
			if v != tt.want {
				t.Errorf("%s = %s; want %s", name, v, tt.want)
			}
		}
		db.Close()
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
	}
}
