//go:build unix

package main

import (
	"bufio"
	"context"
	"database/sql"
	"io"
	"testing"
	"time"

	"parley/internal/pgtest"
)

// "parley-bench pg" prints the URLs of separate empty databases on a
// durable cluster, which it stops when its context ends.
func TestPGCluster(t *testing.T) {
	if _, err := pgtest.Bin(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- pgCluster(ctx, []string{"-databases", "2"}, w, io.Discard)
		w.Close()
	}()
	sc := bufio.NewScanner(r)
	var urls []string
	for len(urls) < 2 && sc.Scan() {
		urls = append(urls, sc.Text())
	}
	if len(urls) != 2 || urls[0] == urls[1] {
		t.Fatalf("printed %q; want two different URLs", urls)
	}
	go io.Copy(io.Discard, r)
	var dbs []*sql.DB
	for _, u := range urls {
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var tables int
		if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil || tables != 0 {
			t.Fatalf("%s: %d tables, %v; want an empty database", u, tables, err)
		}
		var sync string
		if err := db.QueryRow(`SHOW synchronous_commit`).Scan(&sync); err != nil || sync != "on" {
			t.Fatalf("synchronous_commit = %q, %v; want on", sync, err)
		}
		dbs = append(dbs, db)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the cluster did not stop after its context ended")
	}
	dbs[0].SetMaxIdleConns(0)
	if err := dbs[0].PingContext(context.Background()); err == nil {
		t.Error("the database still answers after the cluster stopped")
	}
}

func TestPGClusterFlags(t *testing.T) {
	for _, args := range [][]string{{"-databases", "0"}, {"extra"}} {
		if err := pgCluster(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("pg %q: no error", args)
		}
	}
}
