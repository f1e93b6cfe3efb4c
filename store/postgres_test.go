package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestTSQuery(t *testing.T) {
	tests := []struct{ q, want string }{
		{"", ""},
		{"deploy", `'deploy':*`},
		{"Café  au lait", `'Café':* & 'au' & 'lait':*`},
		{`don't`, `'don' <-> 't':*`},
		{`it's'`, `'it' <-> 's':*`},
		{`a\b 'x'`, `'a' <-> 'b' & 'x'`},
		{`* - : ( ) & | ! <-> NEAR(`, `'NEAR':*`},
		{strings.Repeat("w ", 100), strings.TrimSuffix(strings.Repeat(`'w' & `, maxTerms), " & ")},
	}
	for _, tt := range tests {
		if got := tsQuery(tt.q); got != tt.want {
			t.Errorf("tsQuery(%q) = %q; want %q", tt.q, got, tt.want)
		}
	}
}

// Servers that share one PostgreSQL database take message ids from one
// counter in commit order: two stores writing at once get every id once,
// with no gap, and each publishes its own in increasing order; and a
// reader that has seen id N never sees a lower id appear afterwards, so
// reading on from the last id seen misses nothing.
func TestSharedDatabaseIDs(t *testing.T) {
	if !onPostgres() {
		t.Skip("PostgreSQL only: two stores on one database")
	}
	url := testDB(t)
	a, b := mustOpenStoreAt(t, url), mustOpenStoreAt(t, url)
	ann := mustCreateUser(t, a, "ann")
	g := mustRoom(t, a, GeneralRoom)
	first := mustPost(t, a, GeneralRoom, ann, "first")

	var mu sync.Mutex
	var all []int64
	for _, s := range []*Store{a, b} {
		published := recordPublished(s)
		t.Cleanup(func() {
			var ids []int64
			for _, m := range published() {
				ids = append(ids, m.EventID())
			}
			if !slices.IsSorted(ids) {
				t.Errorf("one store published %v; want increasing ids", ids)
			}
		})
	}
	stop := make(chan struct{})
	var late []int64 // ids that appeared below one seen before
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		seen, top := map[int64]bool{}, int64(0)
		for {
			select {
			case <-stop:
				return
			default:
			}
			rows, err := a.DB.Query(`SELECT id FROM messages UNION ALL SELECT id FROM changes`)
			if err != nil {
				t.Error(err)
				return
			}
			ids, err := collect(rows, scanInt64)
			if err != nil {
				t.Error(err)
				return
			}
			newTop := top
			for _, id := range ids {
				if !seen[id] && id < top {
					late = append(late, id)
				}
				seen[id], newTop = true, max(newTop, id)
			}
			top = newTop
		}
	}()
	var wg sync.WaitGroup
	for w := range 8 {
		s := []*Store{a, b}[w%2]
		wg.Go(func() {
			for i := range 20 {
				var id int64
				if i%5 == 4 { // a change takes an id from the same counter
					r, err := s.ToggleReaction(context.Background(), g, first.ID, ann.ID, "👍")
					if err != nil {
						t.Error(err)
						return
					}
					id = r.ChangeID
				} else {
					id = mustPost(t, s, GeneralRoom, ann, fmt.Sprint(w, "-", i)).ID
				}
				mu.Lock()
				all = append(all, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(stop)
	<-readerDone
	if len(late) > 0 {
		t.Errorf("ids %v became visible after higher ones: not in commit order", late)
	}
	slices.Sort(all)
	for i, id := range all {
		if id != first.ID+1+int64(i) {
			t.Fatalf("ids %v; want %d to %d, each once", all, first.ID+1, first.ID+int64(len(all)))
		}
	}
}

// PostgreSQL's errors are told apart by their codes: a refused duplicate,
// and the faults that pass (ErrUnavailable), not the caller's own end.
func TestPostgresErrors(t *testing.T) {
	for _, tt := range []struct {
		err               error
		unavailable, uniq bool
	}{
		{&pgconn.PgError{Code: "23505"}, false, true},
		{&pgconn.PgError{Code: "40P01"}, true, false},  // deadlock
		{&pgconn.PgError{Code: "40001"}, true, false},  // serialization failure
		{&pgconn.PgError{Code: "57P01"}, true, false},  // server shutting down
		{&pgconn.PgError{Code: "53300"}, true, false},  // too many connections
		{&pgconn.PgError{Code: "42601"}, false, false}, // syntax error
		{fmt.Errorf("query: %w", &net.OpError{Op: "read", Err: errors.New("connection reset")}), true, false},
		{context.Canceled, false, false},
		{context.DeadlineExceeded, false, false},
	} {
		err := wrap("op", tt.err)
		if got := errors.Is(err, ErrUnavailable); got != tt.unavailable {
			t.Errorf("wrap(%v) unavailable = %v; want %v", tt.err, got, tt.unavailable)
		}
		if got := isUniqueViolation(tt.err); got != tt.uniq {
			t.Errorf("isUniqueViolation(%v) = %v; want %v", tt.err, got, tt.uniq)
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("wrap(%v) = %v; want it to wrap the error", tt.err, err)
		}
	}
}

// Servers started together on a new database all start: one migrates,
// the others wait for it and find the migrations applied.
func TestMigrateTogether(t *testing.T) {
	if !onPostgres() {
		t.Skip("PostgreSQL only: several processes on one database")
	}
	url := testDB(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := Open(context.Background(), url)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
