//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"parley/handlers"
	"parley/internal/load"
	"parley/store"
)

// personHandle is the handle of prepared person i.
func personHandle(i int) string { return "person-" + strconv.Itoa(i) }

// prepare makes the accounts and sessions of a people scenario in a
// database file the server is not running on: each person gets an
// account (all sharing one password, hashed once) and one signed-in
// session, as a sign-in through the web would make it. The tokens go to a
// file, one person a line, in the order of their handles.
func prepare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley-bench prepare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "the database `file` to prepare (created when missing; the server must not be running on it)")
	people := fs.Int("people", 10000, "accounts to make, each with one session")
	tokens := fs.String("tokens", "", "the `file` to write the session tokens to")
	password := fs.String("password", "parley-bench-password", "the accounts' password")
	index := fs.Bool("search-index", true, "false: leave new messages out of the full-text index, to measure what it costs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *db == "" || *tokens == "":
		return errors.New("prepare needs -db and -tokens")
	case *people < 1:
		return errors.New("-people must be at least 1")
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	start := time.Now()
	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	if !*index {
		if err := st.StopIndexing(ctx); err != nil {
			return err
		}
	}
	handles := make([]string, *people)
	for i := range handles {
		handles[i] = personHandle(i)
	}
	users, err := st.SeedUsers(ctx, handles, *password)
	if err != nil {
		return err
	}
	toks, err := handlers.SeedSessions(ctx, st, users, 24*time.Hour)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(t)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(*tokens, []byte(b.String()), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "prepared %d people with one session each in %s in %s\n", len(users), *db, round(time.Since(start)))
	return nil
}

// readPeople reads the tokens prepare wrote, as the sessions of the people
// person-0, person-1, ….
func readPeople(path string) ([]load.Session, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var people []load.Session
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			people = append(people, load.Session{
				Handle: personHandle(len(people)),
				Cookie: load.SessionCookie + "=" + t,
			})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return people, nil
}
