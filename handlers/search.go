package handlers

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"parley/store"
	"parley/views"
)

// maxQueryLen bounds the text of a query that is read at all, in bytes;
// the store bounds the words it looks up.
const maxQueryLen = 1000

// showSearch is the search page: GET /search?q=...&room=...&before=...
// An empty q shows the form alone; any other q is a query (quotes,
// operators and punctuation are plain text), never an error.
func (a *App) showSearch(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	me := currentUser(r)
	q := r.URL.Query()
	v := views.SearchView{Me: me, Query: strings.TrimSpace(cleanQuery(q.Get("q"))), Room: q.Get("room")}
	if s, ok := q["before"]; ok {
		id, ok := positiveID(s[0])
		if !ok || len(s) != 1 {
			a.fail(w, r, errBadRequest)
			return
		}
		v.Before = id
	}
	if v.Room != "" {
		if _, err := a.store.CanRead(ctx, me.ID, v.Room); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	rooms, err := a.store.ReadableRooms(ctx, me.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v.Labels = map[string]string{}
	for _, rm := range rooms {
		v.Rooms = append(v.Rooms, rm.Name)
		if v.Labels[rm.Name], err = a.roomLabel(r, rm.Name, me.ID); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if v.Query != "" {
		v.Results, err = a.store.Search(ctx, store.SearchQuery{UserID: me.ID, Text: v.Query, Room: v.Room, Before: v.Before})
		if err != nil {
			a.fail(w, r, err)
			return
		}
	}
	a.render(w, r, http.StatusOK, views.SearchPage(v))
}

// cleanQuery makes q fit to show again in the form: valid UTF-8, at most
// maxQueryLen bytes, cut at a character boundary.
func cleanQuery(q string) string {
	q = strings.ToValidUTF8(q, "\uFFFD")
	if len(q) > maxQueryLen {
		q = q[:maxQueryLen]
		for !utf8.ValidString(q) {
			q = q[:len(q)-1]
		}
	}
	return q
}
