package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"parley/store"
	"parley/views"
)

// directory lists the public rooms, with the form that creates a room.
func (a *App) directory(w http.ResponseWriter, r *http.Request) {
	a.renderDirectory(w, r, http.StatusOK, views.NewRoomForm{})
}

func (a *App) renderDirectory(w http.ResponseWriter, r *http.Request, status int, f views.NewRoomForm) {
	rooms, err := a.store.Directory(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, status, views.DirectoryPage(views.DirectoryView{Me: currentUser(r), Rooms: rooms, NewRoom: f}))
}

// createRoom creates a public or private room with the user as its first
// member and goes there. A name that exists leads to that room when the
// user may read it; otherwise it is taken, and nothing tells whose it is.
func (a *App) createRoom(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, err)
		return
	}
	ctx := r.Context()
	me := currentUser(r)
	typed := strings.TrimSpace(r.PostForm.Get("name"))
	name := strings.ToLower(typed)
	kind := store.KindPublic
	if r.PostForm.Get("private") == "1" {
		kind = store.KindPrivate
	}
	fail := func(status int, msg string) {
		f := views.NewRoomForm{Name: typed, Private: kind == store.KindPrivate, Error: msg}
		if fromPath(r) == "/rooms" {
			a.renderDirectory(w, r, status, f)
			return
		}
		back, _ := a.refererRoom(r) // on failure, the page of general will do
		a.renderRoom(w, r, status, back, views.RoomView{NewRoom: f})
	}
	if err := store.ValidateRoomName(name); err != nil {
		fail(http.StatusUnprocessableEntity, err.(*store.FieldError).Message)
		return
	}
	room, err := a.store.CreateRoom(ctx, name, kind, me.ID)
	switch {
	case errors.Is(err, store.ErrRoomTaken):
		if _, err := a.store.CanRead(ctx, me.ID, name); errors.Is(err, store.ErrNotFound) {
			fail(http.StatusConflict, "That name is taken. Choose another one.")
			return
		} else if err != nil {
			a.fail(w, r, err)
			return
		}
	case err != nil:
		a.fail(w, r, err)
		return
	default:
		a.personal.joined(room, me.ID)
	}
	http.Redirect(w, r, "/rooms/"+name, http.StatusSeeOther)
}

// fromPath returns the path of the page a form was sent from, on this
// server, or "".
func fromPath(r *http.Request) string {
	u, err := url.Parse(r.Referer())
	if err != nil || u.Host != "" && u.Host != r.Host {
		return ""
	}
	return u.Path
}

// join makes the user a member of a public room.
func (a *App) join(w http.ResponseWriter, r *http.Request) {
	room, err := a.room(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if room.Kind == store.KindDirect {
		a.refuse(w, r, room, http.StatusUnprocessableEntity, "Nobody joins a direct conversation.")
		return
	}
	switch err := a.store.AddMember(r.Context(), room, currentUser(r).ID); {
	case err == nil:
		a.personal.joined(room, currentUser(r).ID)
	case !errors.Is(err, store.ErrAlreadyMember):
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/rooms/"+room.Name, http.StatusSeeOther)
}

// leave ends the user's membership. Leaving a private room ends their
// streams of it: they may no longer read it.
func (a *App) leave(w http.ResponseWriter, r *http.Request) {
	room, err := a.room(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	me := currentUser(r)
	switch {
	case room.Name == store.GeneralRoom:
		a.refuse(w, r, room, http.StatusUnprocessableEntity, "Everyone stays in #general.")
		return
	case room.Kind == store.KindDirect:
		a.refuse(w, r, room, http.StatusUnprocessableEntity, "A direct conversation cannot be left.")
		return
	}
	switch err := a.store.RemoveMember(r.Context(), room, me.ID); {
	case errors.Is(err, store.ErrNotMember):
		a.refuse(w, r, room, http.StatusConflict, "You are not a member of #"+room.Name+".")
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	a.personal.left(room, me.ID)
	if room.Kind == store.KindPrivate {
		a.broker.EndUserRoom(me.ID, room.Name)
		a.presence.revoked(room.Name, me.ID)
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// addMember lets a member of a private room add someone to it.
func (a *App) addMember(w http.ResponseWriter, r *http.Request) {
	room, err := a.room(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, err)
		return
	}
	ctx := r.Context()
	handle := strings.TrimSpace(r.PostForm.Get("handle"))
	fail := func(status int, msg string) {
		a.renderRoom(w, r, status, room.Name, views.RoomView{AddMember: views.AddMemberForm{Handle: handle, Error: msg}})
	}
	if room.Kind == store.KindDirect {
		a.refuse(w, r, room, http.StatusUnprocessableEntity, "Nobody is added to a direct conversation.")
		return
	}
	if ok, err := a.store.IsMember(ctx, room, currentUser(r).ID); err != nil {
		a.fail(w, r, err)
		return
	} else if !ok {
		a.refuse(w, r, room, http.StatusForbidden, "Join #"+room.Name+" before adding people to it.")
		return
	}
	if handle == "" {
		fail(http.StatusUnprocessableEntity, "Write the handle of the person to add.")
		return
	}
	u, err := a.store.UserByHandle(ctx, handle)
	if errors.Is(err, store.ErrNotFound) || store.ValidateHandle(handle) != nil {
		fail(http.StatusUnprocessableEntity, "Nobody is called "+handle+".")
		return
	} else if err != nil {
		a.fail(w, r, err)
		return
	}
	switch err := a.store.AddMember(ctx, room, u.ID); {
	case errors.Is(err, store.ErrAlreadyMember):
		fail(http.StatusConflict, u.Handle+" is a member already.")
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	a.personal.joined(room, u.ID)
	http.Redirect(w, r, "/rooms/"+room.Name, http.StatusSeeOther)
}

// refuse answers a room's join, leave or members form with the room page
// and what went wrong.
func (a *App) refuse(w http.ResponseWriter, r *http.Request, room store.Room, status int, msg string) {
	a.renderRoom(w, r, status, room.Name, views.RoomView{Problem: msg})
}
