package handlers

import (
	"crypto/rand"
	"errors"
	"net/http"
	"strings"

	"parley/hub"
	"parley/store"
	"parley/views"
)

// room returns the room named in the request path when the signed-in user
// may read it, or ErrNotFound.
func (a *App) room(r *http.Request) (string, error) {
	rm, err := a.store.CanRead(r.Context(), currentUser(r).ID, r.PathValue("room"))
	if err != nil {
		return "", err
	}
	return rm.Name, nil
}

// showRoom shows a room page: the latest, or one of its history (cursor).
func (a *App) showRoom(w http.ResponseWriter, r *http.Request) {
	room, err := a.room(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	at, err := cursor(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.renderRoom(w, r, http.StatusOK, room, views.RoomView{At: at})
}

// renderRoom writes the room page (of "general" when room is empty) with
// the page of messages v.At asks for and the forms as v holds them; it
// fills in the rest of v.
func (a *App) renderRoom(w http.ResponseWriter, r *http.Request, status int, room string, v views.RoomView) {
	if room == "" {
		room = store.GeneralRoom
	}
	ctx := r.Context()
	rm, err := a.store.Room(ctx, room)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page, err := a.store.History(ctx, rm, v.At)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rooms, err := a.store.Rooms(ctx)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	names := make([]string, len(rooms))
	for i, rm := range rooms {
		names[i] = rm.Name
	}
	v.Room, v.Rooms, v.Me, v.Messages, v.Online = room, names, currentUser(r), page.Messages, a.presence.online(room)
	v.Older, v.Newer = page.Older, page.Newer
	v.Composer.Room, v.Rename.Room = room, room
	if v.Composer.ClientID == "" {
		v.Composer.ClientID = newClientID()
	}
	a.render(w, r, status, views.RoomPage(v))
}

// postMessage stores a message. The message reaches the room's streams,
// the sender's included, from the store's commit hook; the answer is a
// redirect to the room, or for htmx an empty composer with a new client id.
// A client_id the user already sent to the room stores nothing new and
// gets the same answer, so a form sent twice makes one message.
func (a *App) postMessage(w http.ResponseWriter, r *http.Request) {
	room, err := a.room(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, err)
		return
	}
	me := currentUser(r)
	raw := r.PostForm.Get("body")
	clientID, hasClientID := r.PostForm.Get("client_id"), r.PostForm.Has("client_id")
	fail := func(status int, msg string) {
		f := views.ComposerForm{Room: room, Body: raw, Error: msg}
		if store.ValidateClientID(clientID) == nil {
			f.ClientID = clientID // nothing was stored: the same form may go again
		} else {
			f.ClientID = newClientID()
		}
		if isHTMX(r) {
			a.render(w, r, status, views.Composer(f))
			return
		}
		a.renderRoom(w, r, status, room, views.RoomView{Composer: f})
	}
	body := store.NormalizeBody(raw)
	var fe *store.FieldError
	err = store.ValidateBody(body)
	if err == nil && hasClientID {
		err = store.ValidateClientID(clientID)
	}
	if errors.As(err, &fe) {
		fail(http.StatusUnprocessableEntity, fe.Message)
		return
	}
	if ok, wait := a.limits.allowPost(me.ID, a.store.Now()); !ok && !a.sentBefore(r, room, me.ID, clientID) {
		setRetryAfter(w, wait)
		fail(http.StatusTooManyRequests, "You are sending messages too fast. Wait a moment and send again.")
		return
	}
	_, err = a.store.CreateMessage(r.Context(), store.Message{
		Room: room, UserID: me.ID, Kind: store.KindText, Author: me.Handle, Body: body, ClientID: clientID,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if isHTMX(r) {
		a.render(w, r, http.StatusOK, views.Composer(views.ComposerForm{Room: room, ClientID: newClientID()}))
		return
	}
	http.Redirect(w, r, "/rooms/"+room, http.StatusSeeOther)
}

// sentBefore reports whether the user already sent clientID to room. A
// throttled repeat of a message that was stored is answered as the first
// was; only a post the limiter refused pays for the look-up.
func (a *App) sentBefore(r *http.Request, room string, userID int64, clientID string) bool {
	if clientID == "" {
		return false
	}
	_, err := a.store.SentMessage(r.Context(), room, userID, clientID)
	return err == nil
}

// newClientID returns a fresh client id for a message form: at least 128
// random bits in base32 (A-Z, 2-7), well within the client id rules.
func newClientID() string {
	return rand.Text()
}

// createRoom creates a room (or finds it) and goes there.
func (a *App) createRoom(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, err)
		return
	}
	typed := strings.TrimSpace(r.PostForm.Get("name"))
	name := strings.ToLower(typed)
	if err := store.ValidateRoomName(name); err != nil {
		back, _ := a.refererRoom(r) // on failure, the page of general will do
		a.renderRoom(w, r, http.StatusUnprocessableEntity, back, views.RoomView{
			NewRoom: views.NewRoomForm{Name: typed, Error: err.(*store.FieldError).Message},
		})
		return
	}
	if _, err := a.store.CreateRoom(r.Context(), name); err != nil && !errors.Is(err, store.ErrRoomTaken) {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/rooms/"+name, http.StatusSeeOther)
}

// publishMessages is the store's commit hook: each message is rendered
// into its event frame once, and the frame goes to every stream of its room.
func (a *App) publishMessages(msgs []store.Message) {
	for _, m := range msgs {
		f, err := messageFrame(m)
		if err != nil {
			a.log.Error("render message", "id", m.ID, "err", err)
			continue
		}
		a.broker.Publish(m.Room, f)
		if m.Kind == store.KindText {
			a.presence.spoke(m.Room, m.UserID, m.ID)
		}
	}
}

// messageFrame renders m as the "message" event of the stream, from the
// same component as the page.
func messageFrame(m store.Message) (hub.Frame, error) {
	html, err := renderBytes(bgCtx, views.Message(m))
	if err != nil {
		return hub.Frame{}, err
	}
	return hub.Encode(m.ID, "message", html), nil
}
