package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"
)

// A role that owns its database and nothing more (no superuser, no
// CREATEDB) runs every migration, unaccent included, which PostgreSQL
// trusts a database owner to create; searches then fold accents.
func TestPostgresUnprivilegedOwner(t *testing.T) {
	postgresOnly(t, "roles and extensions of PostgreSQL")
	adminURL := testDB(t)
	admin, err := sql.Open("pgx", adminURL)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("owner_%d", os.Getpid())
	for _, q := range []string{
		`CREATE ROLE ` + name + ` LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE`,
		`CREATE DATABASE ` + name + ` OWNER ` + name,
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		defer admin.Close()
		for _, q := range []string{`DROP DATABASE ` + name + ` WITH (FORCE)`, `DROP ROLE ` + name} {
			if _, err := admin.Exec(q); err != nil {
				t.Error(err)
			}
		}
	})
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User, u.Path = url.User(name), "/"+name
	s := mustOpenStoreAt(t, u.String())
	ann := mustCreateUser(t, s, "ann")
	mustPost(t, s, GeneralRoom, ann, "un café crème")
	page, err := s.Search(context.Background(), SearchQuery{UserID: ann.ID, Text: "cafe"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Results) != 1 {
		t.Fatalf("search for cafe as the owner role: %d results; want 1", len(page.Results))
	}
}
