package handlers

import (
	"encoding/json"
	"errors"
	"net/http"

	"parley/store"
	"parley/views"
)

// direct goes to the direct room of the user and the person named, making
// it on first use.
func (a *App) direct(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	me := currentUser(r)
	handle := r.PathValue("handle")
	if store.ValidateHandle(handle) != nil {
		a.fail(w, r, store.ErrNotFound)
		return
	}
	other, err := a.store.UserByHandle(ctx, handle)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	room, created, err := a.store.DirectRoom(ctx, me.ID, other.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if created {
		a.personal.joined(room, me.ID)
		a.personal.joined(room, other.ID)
	}
	http.Redirect(w, r, "/rooms/"+room.Name, http.StatusSeeOther)
}

// mentions lists the latest messages that mention the user, in the rooms
// they may still read.
func (a *App) mentions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	me := currentUser(r)
	msgs, err := a.store.MentionsOf(ctx, me.ID, store.PageSize)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	labels := map[string]string{}
	for _, m := range msgs {
		if _, ok := labels[m.Room]; ok {
			continue
		}
		if labels[m.Room], err = a.roomLabel(r, m.Room, me.ID); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	a.render(w, r, http.StatusOK, views.MentionsPage(views.MentionsView{Me: me, Messages: msgs, Rooms: labels}))
}

// roomLabel names a room to userID: "#name", or the other person's handle.
func (a *App) roomLabel(r *http.Request, name string, userID int64) (string, error) {
	room, err := a.store.Room(r.Context(), name)
	if err != nil {
		return "", err
	}
	if room.Kind != store.KindDirect {
		return "#" + name, nil
	}
	u, err := a.store.User(r.Context(), store.OtherPerson(room, userID))
	if errors.Is(err, store.ErrNotFound) {
		return "a conversation", nil
	}
	return u.Handle, err
}

// people answers the composer's "@" with the handles, starting with q, of
// the people who may read the room: a JSON array of at most eight.
func (a *App) people(w http.ResponseWriter, r *http.Request) {
	room, err := a.room(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query().Get("q")
	if !store.ValidHandlePrefix(q) {
		http.Error(w, "q is the start of a handle: letters, digits, '_', '-' and '.'.", http.StatusBadRequest)
		return
	}
	handles, err := a.store.Readers(r.Context(), room, q, 8)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(handles)
}
