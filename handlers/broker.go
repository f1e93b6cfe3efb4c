package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"

	"parley/hub"
	"parley/store"
)

// Live events between servers. On PostgreSQL several servers may share
// the database, and each person's streams may be on any of them. Stored
// events (messages and changes) reach every server from the store's feed
// (store.StartFeed), in id order, and each server publishes them to its
// own hub as it did its own; the per-user events derived from them (a
// mention, a room list whose counts grew) are worked out on every server
// from the same messages. What remains is what one server does that
// other servers' streams must hear and that is no stored event: sessions
// ended, a person's streams of a room ended, someone joining or leaving a
// room, a room list to send again. servers sends these as small control
// payloads (store.SendControl) and applies the others' to its own hub.
// On SQLite there is one server, and no servers at all (App.servers is
// nil, its methods do nothing).

// The kinds of control.
const (
	ctlEndSessions = "end"     // Sessions: digests of the tokens
	ctlEndUserRoom = "endroom" // User, Name
	ctlJoined      = "joined"  // User, Room
	ctlLeft        = "left"    // User, Room
	ctlChanged     = "changed" // User: their room list
	ctlRoomChanged = "room"    // Name: the lists of those online elsewhere
)

// control is one thing other servers must do.
type control struct {
	Kind     string   `json:"k"`
	User     int64    `json:"u,omitempty"`
	Room     int64    `json:"r,omitempty"`
	Name     string   `json:"n,omitempty"`
	Sessions []string `json:"s,omitempty"`
}

// sessionsPerControl bounds the token digests one control carries, so a
// payload stays within store.MaxControl.
const sessionsPerControl = 200

// sessionDigest names a session token to other servers without telling
// it: the first 128 bits of its SHA-256.
func sessionDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// servers relays controls between this server and the others.
type servers struct {
	a   *App
	out *queue[control]
}

// followServers makes a server on a shared database follow the others:
// the store's feed publishes every server's events here, and the broker
// tells the others what the hub alone would keep here.
func (a *App) followServers() {
	if !a.store.Shared() {
		return
	}
	srv := &servers{a: a}
	srv.out = newQueue(srv.send)
	a.servers = srv
	a.broker = serversBroker{Hub: a.hub, servers: srv}
	a.store.StartFeed(srv.received)
}

// tell queues c for the other servers.
func (s *servers) tell(c control) {
	if s != nil {
		s.out.add(c)
	}
}

// stop drops what is still to be sent.
func (s *servers) stop() {
	if s != nil {
		s.out.stop()
	}
}

// send sends a batch of controls in as few payloads as fit.
func (s *servers) send(batch []control) {
	var payloads [][]byte
	var cur []json.RawMessage
	size := 2
	flush := func() {
		if len(cur) > 0 {
			p, _ := json.Marshal(cur)
			payloads = append(payloads, p)
			cur, size = nil, 2
		}
	}
	for _, c := range batch {
		b, err := json.Marshal(c)
		if err != nil {
			continue
		}
		if size+len(b)+1 > store.MaxControl {
			flush()
		}
		cur, size = append(cur, b), size+len(b)+1
	}
	flush()
	for _, p := range payloads {
		ctx, cancel := context.WithTimeout(bgCtx, 5*time.Second)
		err := s.a.store.SendControl(ctx, string(p))
		cancel()
		if err != nil {
			// The payload may name sessions: it is not logged. Streams of
			// sessions that ended still end at the hub's session check.
			s.a.log.Warn("events between servers: control not sent", "err", err)
		}
	}
}

// received applies the controls another server sent. It runs on the
// store's feed goroutine, and only queues work or touches the hub.
func (s *servers) received(payload string) {
	var batch []control
	if err := json.Unmarshal([]byte(payload), &batch); err != nil {
		s.a.log.Warn("events between servers: control not understood", "err", err)
		return
	}
	for _, c := range batch {
		switch c.Kind {
		case ctlEndSessions:
			ended := make(map[string]bool, len(c.Sessions))
			for _, d := range c.Sessions {
				ended[d] = true
			}
			match := func(token string) bool { return ended[sessionDigest(token)] }
			s.a.store.ForgetLogins(match)
			s.a.hub.EndSessionsMatching(match)
		case ctlEndUserRoom:
			s.a.hub.EndUserRoom(c.User, c.Name)
		case ctlJoined, ctlLeft:
			s.a.personal.member(c.Room, c.User, c.Kind == ctlJoined)
		case ctlChanged:
			s.a.personal.changedHere(c.User)
		case ctlRoomChanged:
			s.a.personal.roomChangedHere(c.Name)
		}
	}
}

// serversBroker is the Broker of a server that shares its database with
// others. Messages and per-user events are published to this server's hub
// only, since every server derives them from the feed; ending streams is
// done here and told to the others.
type serversBroker struct {
	*hub.Hub
	servers *servers
}

// EndSessions ends the sessions' streams on every server.
func (b serversBroker) EndSessions(tokens ...string) {
	b.Hub.EndSessions(tokens...)
	for len(tokens) > 0 {
		n := min(len(tokens), sessionsPerControl)
		c := control{Kind: ctlEndSessions}
		for _, t := range tokens[:n] {
			c.Sessions = append(c.Sessions, sessionDigest(t))
		}
		b.servers.tell(c)
		tokens = tokens[n:]
	}
}

// EndUserRoom ends userID's streams of room on every server.
func (b serversBroker) EndUserRoom(userID int64, room string) {
	b.Hub.EndUserRoom(userID, room)
	b.servers.tell(control{Kind: ctlEndUserRoom, User: userID, Name: room})
}
