package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// seedHistory stores n messages in general, with one in room "other" after
// every tenth, and returns the ids of general's messages and of other's.
func seedHistory(t *testing.T, s *Store, n int) (general, other []int64) {
	t.Helper()
	u := mustCreateUser(t, s, "ann")
	if _, err := s.CreateRoom(context.Background(), "other", KindPublic, u.ID); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		general = append(general, mustPost(t, s, GeneralRoom, u, fmt.Sprint("m", i)).ID)
		if i%10 == 0 {
			other = append(other, mustPost(t, s, "other", u, fmt.Sprint("o", i)).ID)
		}
	}
	return general, other
}

func pageIDs(p Page) []int64 {
	ids := make([]int64, len(p.Messages))
	for i, m := range p.Messages {
		ids[i] = m.ID
	}
	return ids
}

func TestHistory(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	ids, other := seedHistory(t, s, 130)
	general, err := s.Room(ctx, GeneralRoom)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		at           Cursor
		want         []int64
		older, newer bool
	}{
		{"Latest", Cursor{}, ids[80:], true, false},
		{"Before", Cursor{Before: ids[80]}, ids[30:80], true, true},
		{"BeforeReachesStart", Cursor{Before: ids[40]}, ids[:40], false, true},
		{"BeforeAnyID", Cursor{Before: other[5]}, ids[1:51], true, true},
		{"BeforeFirst", Cursor{Before: ids[0]}, nil, false, true},
		{"After", Cursor{After: ids[9]}, ids[10:60], true, true},
		{"AfterReachesEnd", Cursor{After: ids[99]}, ids[100:], true, false},
		{"AfterLast", Cursor{After: ids[129]}, nil, true, false},
		{"AfterHuge", Cursor{After: maxID}, nil, true, false},
		{"Around", Cursor{Around: ids[60]}, ids[35:85], true, true},
		{"AroundStart", Cursor{Around: ids[3]}, ids[:28], false, true},
		{"AroundEnd", Cursor{Around: ids[125]}, ids[100:], true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.History(ctx, general, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := pageIDs(p); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("ids = %v; want %v", got, tt.want)
			}
			if p.Older != tt.older || p.Newer != tt.newer {
				t.Errorf("Older, Newer = %v, %v; want %v, %v", p.Older, p.Newer, tt.older, tt.newer)
			}
			for _, m := range p.Messages {
				if m.Room != GeneralRoom || !strings.HasPrefix(m.Body, "m") {
					t.Fatalf("message %+v is not one of general's", m)
				}
			}
		})
	}
	t.Run("AroundCounts", func(t *testing.T) {
		p, _ := s.History(ctx, general, Cursor{Around: ids[60]})
		i := 0
		for p.Messages[i].ID != ids[60] {
			i++
		}
		if before, after := i, len(p.Messages)-i-1; before != Around || after != PageSize-Around-1 {
			t.Errorf("around: %d before, %d after; want %d and %d", before, after, Around, PageSize-Around-1)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, id := range []int64{other[2], ids[129] + 1000} {
			if _, err := s.History(ctx, general, Cursor{Around: id}); !errors.Is(err, ErrNotFound) {
				t.Errorf("around %d: err = %v; want ErrNotFound", id, err)
			}
		}
	})
}

// TestHistoryPlan checks that every history query walks the (room_id, id)
// index from the cursor: no scan of the table, no sort, no OFFSET.
func TestHistoryPlan(t *testing.T) {
	sqliteOnly(t, "SQLite's query plan")
	s := mustOpenStore(t)
	seedHistory(t, s, 20)
	for _, q := range []string{olderQuery, newerQuery, existsQuery("<="), existsQuery(">=")} {
		plan := queryPlan(t, s, q, 1, 10, 51)
		if !strings.Contains(plan, "SEARCH messages USING INDEX messages_room_id (room_id=? AND id") &&
			!strings.Contains(plan, "SEARCH messages USING COVERING INDEX messages_room_id (room_id=? AND id") {
			t.Errorf("plan of %s:\n%s\nwant a search of messages_room_id on room_id and id", q, plan)
		}
		if strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "SCAN messages") {
			t.Errorf("plan of %s:\n%s\nwant no scan and no sort", q, plan)
		}
	}
}

// queryPlan returns SQLite's EXPLAIN QUERY PLAN of q, one step a line.
func queryPlan(t *testing.T, s *Store, q string, args ...any) string {
	t.Helper()
	rows, err := s.DB.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
