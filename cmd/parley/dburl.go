package main

import (
	"net/url"
	"strings"
)

// displayDB returns the -db value as it may be printed and logged: a SQLite
// file as it is, a PostgreSQL URL with its password replaced by xxxxx,
// in the user information and in a password parameter alike.
func displayDB(db string) string {
	if !strings.HasPrefix(db, "postgres://") && !strings.HasPrefix(db, "postgresql://") {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return db[:strings.Index(db, "://")+3] + "(a URL that does not parse)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
