package handlers

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"parley/hub"
	"parley/store"
	"parley/views"
)

// Editing, deleting and reacting. Each change is stored by the store's one
// writer with an id from the message sequence and comes back through the
// commit hook (publishMessages), which hands it to the room's changeMerger:
// the streams get it as "update" or "delete", carrying the message's new
// element.

// messageRef returns the room in the request path, when the user may read
// it, and the message id; an id that is not a positive integer is no
// message (ErrNotFound).
func (a *App) messageRef(r *http.Request) (store.Room, int64, error) {
	room, err := a.room(r)
	if err != nil {
		return store.Room{}, 0, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.Room{}, 0, store.ErrNotFound
	}
	return room, id, nil
}

// changed answers a change that was made (or needed none): a redirect to
// the room, or for htmx an empty 204, the stream bringing the new element.
func changed(w http.ResponseWriter, r *http.Request, room string) {
	if isHTMX(r) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, "/rooms/"+room, http.StatusSeeOther)
}

// showEdit is the edit page of one of the user's messages, for browsers
// without JavaScript.
func (a *App) showEdit(w http.ResponseWriter, r *http.Request) {
	room, id, err := a.messageRef(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	m, err := a.store.Message(r.Context(), room, id)
	if err == nil && m.Deleted() {
		err = store.ErrNotFound
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if m.System() || m.UserID != currentUser(r).ID {
		a.fail(w, r, store.ErrNotAuthor)
		return
	}
	a.render(w, r, http.StatusOK, views.EditPage(views.EditForm{Message: m, Body: m.Body}))
}

// editMessage replaces the body of one of the user's messages; a body that
// breaks the rules of a new message comes back in the form with the error.
func (a *App) editMessage(w http.ResponseWriter, r *http.Request) {
	room, id, err := a.messageRef(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	raw := r.PostFormValue("body")
	e := store.Edit{Room: room, ID: id, UserID: currentUser(r).ID, Body: store.NormalizeBody(raw)}
	if err := store.ValidateBody(e.Body); err != nil {
		a.refuseEdit(w, r, room, id, raw, err)
		return
	}
	if e.Mentions, e.MentionIDs, err = a.mentioned(r.Context(), room, e.Body); err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := a.store.EditMessage(r.Context(), e); err != nil {
		a.fail(w, r, err)
		return
	}
	changed(w, r, room.Name)
}

// refuseEdit answers an edit whose body is wrong: the form again (alone for
// htmx), with the text as typed and the error, when the message is the
// user's to edit; otherwise what refuses them.
func (a *App) refuseEdit(w http.ResponseWriter, r *http.Request, room store.Room, id int64, raw string, bodyErr error) {
	m, err := a.store.Message(r.Context(), room, id)
	if err == nil && m.Deleted() {
		err = store.ErrNotFound
	}
	if err == nil && m.System() {
		err = store.ErrNotice
	}
	if err == nil && m.UserID != currentUser(r).ID {
		err = store.ErrNotAuthor
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var fe *store.FieldError
	if !errors.As(bodyErr, &fe) {
		a.fail(w, r, bodyErr)
		return
	}
	f := views.EditForm{Message: m, Body: raw, Error: fe.Message}
	if isHTMX(r) {
		a.render(w, r, http.StatusUnprocessableEntity, views.EditBox(f))
		return
	}
	a.render(w, r, http.StatusUnprocessableEntity, views.EditPage(f))
}

// deleteMessage deletes one of the user's messages.
func (a *App) deleteMessage(w http.ResponseWriter, r *http.Request) {
	room, id, err := a.messageRef(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	m, err := a.store.DeleteMessage(r.Context(), room, id, currentUser(r).ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if m.ChangeID != 0 {
		// It may have counted as unread, or as a mention, for people
		// reading other rooms: their lists go again (deletes are rare).
		a.personal.roomChanged(room.Name)
	}
	changed(w, r, room.Name)
}

// react adds the user's reaction to a message, or takes it back.
func (a *App) react(w http.ResponseWriter, r *http.Request) {
	room, id, err := a.messageRef(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	_, err = a.store.ToggleReaction(r.Context(), room, id, currentUser(r).ID, r.PostFormValue("emoji"))
	var fe *store.FieldError
	if errors.As(err, &fe) {
		a.renderError(w, r, http.StatusUnprocessableEntity, "Not an emoji", "React with one emoji. Nothing was changed.")
		return
	} else if err != nil {
		a.fail(w, r, err)
		return
	}
	changed(w, r, room.Name)
}

// mentioned resolves the mentions of body in room, as stored with a
// message: the handles folded, and the account ids.
func (a *App) mentioned(ctx context.Context, room store.Room, body string) (keys []string, ids []int64, err error) {
	users, err := a.store.ResolveMentions(ctx, room, body)
	if err != nil {
		return nil, nil, err
	}
	for _, u := range users {
		keys = append(keys, store.HandleKey(u.Handle))
		ids = append(ids, u.ID)
	}
	return keys, ids, nil
}

// changeWindow is how long the frames of one message's changes are held
// and merged: a reaction storm (a hundred people within a second) costs
// each stream about four update frames a second, not a hundred.
const changeWindow = 250 * time.Millisecond

// changeMerger publishes the changes of messages to their rooms' streams.
// The first change of a message goes out at once; further changes of it
// within changeWindow wait and only the latest state is sent, when the
// window ends. Frames must reach a stream in id order (a stream skips ids
// below the last it sent), so whatever else a room publishes (a new
// message, a change that may go at once) first sends the room's waiting
// changes, and everything is published under one lock.
type changeMerger struct {
	a       *App
	mu      sync.Mutex
	pending map[string]map[int64]store.Message // room → message id → latest state
	sent    map[int64]time.Time                // message id → when its last frame went out
}

func newChangeMerger(a *App) *changeMerger {
	return &changeMerger{a: a, pending: map[string]map[int64]store.Message{}, sent: map[int64]time.Time{}}
}

// change publishes a committed change, now or at the end of its window.
func (c *changeMerger) change(m store.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if last, ok := c.sent[m.ID]; !ok || now.Sub(last) >= changeWindow {
		c.flushLocked(m.Room)
		c.publishLocked(m, now)
		return
	}
	p := c.pending[m.Room]
	if p == nil {
		p = map[int64]store.Message{}
		c.pending[m.Room] = p
		room := m.Room
		time.AfterFunc(changeWindow, func() { c.flush(room) })
	}
	p[m.ID] = m
}

// publish publishes a new message of room, after the room's waiting
// changes, which have lower ids.
func (c *changeMerger) publish(room string, f hub.Frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked(room)
	c.a.broker.Publish(room, f)
}

func (c *changeMerger) flush(room string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked(room)
}

func (c *changeMerger) flushLocked(room string) {
	p := c.pending[room]
	if p == nil {
		return
	}
	delete(c.pending, room)
	msgs := make([]store.Message, 0, len(p))
	for _, m := range p {
		msgs = append(msgs, m)
	}
	slices.SortFunc(msgs, func(x, y store.Message) int { return cmp.Compare(x.ChangeID, y.ChangeID) })
	now := time.Now()
	for _, m := range msgs {
		c.publishLocked(m, now)
	}
}

// sentKept is how many recently changed messages the merger remembers
// before it forgets those whose window has passed.
const sentKept = 1024

func (c *changeMerger) publishLocked(m store.Message, now time.Time) {
	f, err := messageFrame(m)
	if err != nil {
		c.a.log.Error("render change", "id", m.ID, "change", m.ChangeID, "err", err)
		return
	}
	c.a.broker.Publish(m.Room, f)
	if len(c.sent) >= sentKept {
		for id, t := range c.sent {
			if now.Sub(t) >= changeWindow {
				delete(c.sent, id)
			}
		}
	}
	c.sent[m.ID] = now
}
