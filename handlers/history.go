package handlers

import (
	"errors"
	"net/http"

	"parley/store"
)

// errBadRequest marks a request whose address asks for something that
// cannot be: fail answers it with 400.
var errBadRequest = errors.New("bad request")

// cursor reads which page of a room the request asks for: ?before=,
// ?after= or ?around= with a message id, or none of them for the latest
// page. Anything but one positive integer in one of them is errBadRequest.
func cursor(r *http.Request) (store.Cursor, error) {
	var c store.Cursor
	q := r.URL.Query()
	n := 0
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"before", &c.Before}, {"after", &c.After}, {"around", &c.Around}} {
		vs, ok := q[p.name]
		if !ok {
			continue
		}
		n++
		if len(vs) != 1 || n > 1 {
			return store.Cursor{}, errBadRequest
		}
		id, ok := positiveID(vs[0])
		if !ok {
			return store.Cursor{}, errBadRequest
		}
		*p.dst = id
	}
	return c, nil
}

// positiveID parses a message id: decimal digits only, above zero, within
// int64.
func positiveID(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var id int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if id > (1<<63-1-d)/10 {
			return 0, false
		}
		id = id*10 + d
	}
	return id, id > 0
}
