package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"parley/store"
	"parley/views"
)

// Session keys.
const (
	sessionUserKey  = "uid"
	sessionFlashKey = "flash"
)

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	if currentLogin(r) == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/rooms/"+store.GeneralRoom, http.StatusSeeOther)
}

func (a *App) showRegister(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, views.RegisterPage(views.AuthForm{}))
}

func (a *App) showLogin(w http.ResponseWriter, r *http.Request) {
	f := views.AuthForm{Notice: a.sessions.PopString(r.Context(), sessionFlashKey)}
	a.render(w, r, http.StatusOK, views.LoginPage(f))
}

// credentials reads the handle and password fields of a form.
func credentials(r *http.Request) (store.Credentials, error) {
	if err := r.ParseForm(); err != nil {
		return store.Credentials{}, err
	}
	return store.Credentials{
		Handle:   strings.TrimSpace(r.PostForm.Get("handle")),
		Password: r.PostForm.Get("password"),
	}, nil
}

func (a *App) register(w http.ResponseWriter, r *http.Request) {
	c, err := credentials(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := func(status int, field, msg string) {
		a.render(w, r, status, views.RegisterPage(views.AuthForm{Handle: c.Handle, Field: field, Error: msg}))
	}
	var fe *store.FieldError
	if err := c.Validate(); errors.As(err, &fe) {
		page(http.StatusUnprocessableEntity, fe.Field, fe.Message)
		return
	}
	wait, err := a.signIns.register(r.Context(), clientAddr(r), a.store.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if wait > 0 {
		setRetryAfter(w, wait)
		page(http.StatusTooManyRequests, "", fmt.Sprintf(
			"Too many new accounts from your network. Try again in %s.", humanDuration(wait)))
		return
	}
	u, err := a.store.CreateUser(r.Context(), c)
	switch {
	case errors.Is(err, store.ErrHandleTaken):
		page(http.StatusConflict, "handle", "That handle is taken. Choose another one.")
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	if err := a.signIn(r, u); err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	c, err := credentials(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := func(status int, field, msg string) {
		a.render(w, r, status, views.LoginPage(views.AuthForm{Handle: c.Handle, Field: field, Error: msg}))
	}
	if c.Handle == "" || c.Password == "" {
		page(http.StatusUnprocessableEntity, "", "Enter your handle and your password.")
		return
	}
	if len(c.Handle) > store.HandleMaxLen || len(c.Password) > store.PasswordMaxLen {
		a.refused.wrongPassword.Add(1)
		page(http.StatusUnauthorized, "", "Wrong handle or password.")
		return
	}
	key, addr, now := store.HandleKey(c.Handle), clientAddr(r), a.store.Now()
	wait, byAddress, err := a.signIns.signInWait(r.Context(), key, addr, now)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if wait > 0 {
		a.refused.throttled.Add(1)
		setRetryAfter(w, wait)
		why := "for this handle"
		if byAddress {
			why = "from your network"
		}
		page(http.StatusTooManyRequests, "", fmt.Sprintf(
			"Too many failed sign-ins %s. Try again in %s.", why, humanDuration(wait)))
		return
	}
	u, err := a.store.Authenticate(r.Context(), c)
	switch {
	case errors.Is(err, store.ErrBadCredentials):
		a.refused.wrongPassword.Add(1)
		if err := a.signIns.signInFailed(r.Context(), key, addr, a.store.Now()); err != nil {
			a.fail(w, r, err)
			return
		}
		page(http.StatusUnauthorized, "", "Wrong handle or password.")
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	if err := a.signIns.signInSucceeded(r.Context(), key); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.signIn(r, u); err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// signIn gives the request's session a new token and signs it in as u. A
// sign-in the session had before ends, with its streams.
func (a *App) signIn(r *http.Request, u store.User) error {
	ctx := r.Context()
	if old := currentLogin(r); old != nil {
		if err := a.store.DeleteLogin(ctx, old.Token); err != nil {
			return err
		}
		a.broker.EndSessions(old.Token)
	}
	if err := a.sessions.RenewToken(ctx); err != nil {
		return fmt.Errorf("renew token: %w", err)
	}
	a.sessions.Put(ctx, sessionUserKey, u.ID)
	return a.store.CreateLogin(ctx, a.sessions.Token(ctx), u.ID)
}

// logout signs the session out and ends its event streams; with
// everywhere=1, every session of the account.
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, err)
		return
	}
	ctx := r.Context()
	if l := currentLogin(r); l != nil {
		tokens := []string{l.Token}
		if r.PostForm.Get("everywhere") == "1" {
			all, err := a.store.DeleteUserLogins(ctx, l.User.ID)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			tokens = append(tokens, all...)
		} else if err := a.store.DeleteLogin(ctx, l.Token); err != nil {
			a.fail(w, r, err)
			return
		}
		a.broker.EndSessions(tokens...)
	}
	if err := a.sessions.Destroy(ctx); err != nil {
		a.fail(w, r, fmt.Errorf("%w: destroy session: %w", store.ErrUnavailable, err))
		return
	}
	// A fresh session, with a new token, carries the notice to the page.
	a.sessions.Put(ctx, sessionFlashKey, "You have signed out.")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// rename changes the signed-in account's handle, tells the rooms the user
// is in, and goes back to the room the form was sent from.
func (a *App) rename(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, err)
		return
	}
	me := currentUser(r)
	handle := strings.TrimSpace(r.PostForm.Get("handle"))
	room, err := a.refererRoom(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	fail := func(status int, msg string) {
		f := views.RenameForm{Room: room, Handle: handle, Error: msg}
		if isHTMX(r) {
			a.render(w, r, status, views.Identity(me, f, views.NewRoomForm{}))
			return
		}
		a.renderRoom(w, r, status, room, views.RoomView{Rename: f})
	}
	if err := store.ValidateHandle(handle); err != nil {
		fail(http.StatusUnprocessableEntity, err.(*store.FieldError).Message)
		return
	}
	rooms := a.presence.roomsOf(me.ID)
	if room != "" && !slices.Contains(rooms, room) {
		rooms = append(rooms, room)
	}
	_, _, err = a.store.RenameUser(r.Context(), me.ID, handle, rooms)
	switch {
	case errors.Is(err, store.ErrHandleTaken):
		fail(http.StatusConflict, "That handle is taken. Choose another one.")
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	a.presence.renamed(me.ID, handle)
	if isHTMX(r) {
		me.Handle = handle
		a.render(w, r, http.StatusOK, views.Identity(me, views.RenameForm{Room: room}, views.NewRoomForm{}))
		return
	}
	if room == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/rooms/"+room, http.StatusSeeOther)
}

// refererRoom returns the room of the page the request came from, if it
// came from one of our rooms, or "".
func (a *App) refererRoom(r *http.Request) (string, error) {
	u, err := url.Parse(r.Referer())
	if err != nil || u.Host != "" && u.Host != r.Host {
		return "", nil
	}
	name, ok := strings.CutPrefix(u.Path, "/rooms/")
	if !ok || store.ValidateRoomName(name) != nil {
		return "", nil
	}
	if _, err := a.store.Room(r.Context(), name); errors.Is(err, store.ErrNotFound) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return name, nil
}

func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// humanDuration says d in whole minutes, or seconds when under a minute.
func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", max(1, int((d+time.Second-1)/time.Second)))
	}
	m := int((d + time.Minute - 1) / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}
