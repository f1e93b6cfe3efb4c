package handlers

import (
	"cmp"
	"crypto/rand"
	"errors"
	"net/http"
	"time"

	"parley/hub"
	"parley/store"
	"parley/views"
)

// room returns the room named in the request path when the signed-in user
// may read it, else ErrNotFound: a room they may not read does not exist
// for them.
func (a *App) room(r *http.Request) (store.Room, error) {
	return a.store.CanRead(r.Context(), currentUser(r).ID, r.PathValue("room"))
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
	a.renderRoom(w, r, http.StatusOK, room.Name, views.RoomView{At: at})
}

// renderRoom writes the room page (of "general" when room is empty, or
// when the user may not read room) with the page of messages v.At asks for
// and the forms as v holds them; it fills in the rest of v. Showing a
// room's latest messages marks them read: the page puts the unread marker
// before the first message the person had not seen, and their other tabs
// get their new counts.
func (a *App) renderRoom(w http.ResponseWriter, r *http.Request, status int, name string, v views.RoomView) {
	ctx := r.Context()
	me := currentUser(r)
	room, err := a.store.CanRead(ctx, me.ID, cmp.Or(name, store.GeneralRoom))
	if errors.Is(err, store.ErrNotFound) {
		room, err = a.store.Room(ctx, store.GeneralRoom)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	readID, member, err := a.store.ReadPosition(ctx, room, me.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page, err := a.store.History(ctx, room, v.At)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if n := len(page.Messages); v.At.Latest() && member && n > 0 && page.Messages[n-1].ID > readID {
		v.Unread, v.UnreadAfter = true, readID
		// A page that cannot record its reading still shows: the counts
		// catch up with the next page.
		moved, err := a.store.MarkRead(ctx, store.ReadMark{RoomID: room.ID, UserID: me.ID, ID: page.Messages[n-1].ID})
		if err != nil {
			a.log.Warn("mark read", "room", room.Name, "err", err)
		} else if len(moved) > 0 {
			a.personal.changed(me.ID)
		}
	}
	a.personal.keepCursors(me.ID)
	if v.Rooms, err = a.store.RoomList(ctx, me.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	if room.Kind == store.KindDirect {
		if v.Other, err = a.store.User(ctx, store.OtherPerson(room, me.ID)); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	v.Room, v.Kind, v.Member, v.Me, v.Online = room.Name, room.Kind, member, me, a.presence.online(room.Name)
	v.Messages, v.Older, v.Newer = page.Messages, page.Older, page.Newer
	v.Composer.Room, v.Rename.Room, v.AddMember.Room = room.Name, room.Name, room.Name
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
	rm, err := a.room(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	room := rm.Name
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
	m := store.Message{Room: room, UserID: me.ID, Kind: store.KindText, Author: me.Handle, Body: body, ClientID: clientID}
	if m.Mentions, m.MentionIDs, err = a.mentioned(r.Context(), rm, body); err != nil {
		a.fail(w, r, err)
		return
	}
	_, err = a.store.CreateMessage(r.Context(), m)
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

// publishMessages is the store's commit hook: each message is rendered
// into its event frame once, and the frame goes to every stream of its
// room. Changes (edits, deletes, reactions) go through the room's
// changeMerger.
func (a *App) publishMessages(msgs []store.Message) {
	committed := time.Now().UnixNano()
	for _, m := range msgs {
		if m.ChangeID != 0 {
			a.changes.change(m)
			continue
		}
		html, err := renderBytes(bgCtx, views.Message(m))
		if err != nil {
			a.log.Error("render message", "id", m.ID, "err", err)
			continue
		}
		f := eventFrame(m, html)
		f.Committed = committed // where the fan-out latency starts
		a.changes.publish(m.Room, f)
		if m.Kind == store.KindText {
			a.presence.spoke(m.Room, m.UserID, m.ID)
			a.personal.stored(m, html)
		}
	}
}

// messageFrame renders m as its event of the stream, from the same
// component as the page: "message" for a new message, "update" for a
// change, "delete" for a deletion, each with its own id.
func messageFrame(m store.Message) (hub.Frame, error) {
	html, err := renderBytes(bgCtx, views.Message(m))
	if err != nil {
		return hub.Frame{}, err
	}
	return eventFrame(m, html), nil
}

// eventFrame is messageFrame with the element already rendered.
func eventFrame(m store.Message, html []byte) hub.Frame {
	event := "message"
	switch {
	case m.ChangeID == 0:
	case m.Deleted():
		event = "delete"
	default:
		event = "update"
	}
	return hub.Encode(m.EventID(), event, html)
}
