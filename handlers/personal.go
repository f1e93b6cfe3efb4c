package handlers

import (
	"sync"
	"time"

	"parley/hub"
	"parley/store"
	"parley/views"
)

// personal is each person's own live channel, carried by every stream they
// have open whatever its room: their room list (event "rooms") whenever one
// of their counts changes or their rooms do, and the messages that mention
// them (event "mention").
//
// A person's list is rendered once per change and the same frame goes to
// all their streams; changes close together are merged, so a flood in one
// room gives them a few lists a second at most. Messages a stream delivers
// count as read for its room: what a stream was given is written back as
// the read position when the stream closes, or before the person's list is
// worked out.
//
// The store's writer hands over every committed message; personal works on
// its own goroutine, so a post never waits for it.
type personal struct {
	a *App

	mu      sync.Mutex
	members map[int64]map[int64]struct{} // room id → member ids, for the rooms seen since start
	lists   map[int64]*listState         // person → when their list goes out
	kept    map[readKey]int64            // read positions written for open streams
	jobs    *queue[personalJob]
}

type readKey struct {
	userID int64
	room   string
}

type listState struct {
	sentAt    time.Time
	scheduled bool
}

// personalJob is one piece of work for the goroutine: a stored message
// (with its element's HTML), a person's list falling due, or a stream's
// read position to keep.
type personalJob struct {
	msg    store.Message
	html   []byte
	userID int64 // for a list due, or a read position
	room   string
	readID int64
}

// listDelay and listEvery pace a person's lists: the first change waits a
// moment for others to come with it, and two lists are at least listEvery
// apart. Both are well within the second the contract allows.
const (
	listDelay = 50 * time.Millisecond
	listEvery = 400 * time.Millisecond
)

func newPersonal(a *App) *personal {
	p := &personal{
		a:       a,
		members: map[int64]map[int64]struct{}{},
		lists:   map[int64]*listState{},
		kept:    map[readKey]int64{},
	}
	p.jobs = newQueue(p.handle)
	return p
}

func (p *personal) enqueue(j personalJob) { p.jobs.add(j) }

func (p *personal) stop() { p.jobs.stop() }

func (p *personal) handle(jobs []personalJob) {
	var msgs []personalJob
	for _, j := range jobs {
		switch {
		case j.msg.ID != 0:
			msgs = append(msgs, j)
		case j.readID != 0:
			p.keepRead(j.room, j.userID, j.readID)
			p.mu.Lock()
			delete(p.kept, readKey{j.userID, j.room})
			p.mu.Unlock()
		default:
			p.sendList(j.userID)
		}
	}
	if len(msgs) > 0 {
		p.delivered(msgs)
	}
}

// stored hands a committed message, and its element's HTML, to the
// goroutine.
func (p *personal) stored(m store.Message, html []byte) {
	if m.Kind == store.KindText {
		p.enqueue(personalJob{msg: m, html: html})
	}
}

// closed keeps what a person's last stream of room was given as read.
func (p *personal) closed(room string, userID, lastID int64) {
	if lastID > 0 {
		p.enqueue(personalJob{userID: userID, room: room, readID: lastID})
	}
}

// delivered tells the people concerned by new messages: those mentioned
// (and in a direct room the other person) get the message, and the
// members online elsewhere, whose unread counts grew, get their list.
func (p *personal) delivered(jobs []personalJob) {
	byRoom := map[string][]personalJob{}
	var order []string
	for _, j := range jobs {
		if byRoom[j.msg.Room] == nil {
			order = append(order, j.msg.Room)
		}
		byRoom[j.msg.Room] = append(byRoom[j.msg.Room], j)
	}
	for _, name := range order {
		room, err := p.a.store.Room(bgCtx, name)
		if err != nil {
			p.a.log.Warn("personal: room", "room", name, "err", err)
			continue
		}
		members, err := p.membersOf(room)
		if err != nil {
			p.a.log.Warn("personal: members", "room", name, "err", err)
			continue
		}
		authors := map[int64]bool{}
		for _, j := range byRoom[name] {
			authors[j.msg.UserID] = true
			p.tellMentioned(room, j.msg, j.html)
		}
		elsewhere := p.a.hub.Elsewhere(name) // online, in another room
		p.mu.Lock()
		for id := range authors {
			members[id] = struct{}{} // writing made them a member
		}
		for _, id := range elsewhere {
			if _, member := members[id]; member && (len(authors) > 1 || !authors[id]) {
				p.scheduleLocked(id)
			}
		}
		p.mu.Unlock()
	}
}

// tellMentioned sends m to the streams of everyone it mentions and, in a
// direct room, of the other person.
func (p *personal) tellMentioned(room store.Room, m store.Message, html []byte) {
	var to []int64
	for _, id := range m.MentionIDs {
		if id != m.UserID {
			to = append(to, id)
		}
	}
	if room.Kind == store.KindDirect {
		if other := store.OtherPerson(room, m.UserID); other != m.UserID {
			to = append(to, other)
		}
	}
	if len(to) == 0 {
		return
	}
	f := hub.Encode(0, "mention", html)
	sent := map[int64]bool{}
	for _, id := range to {
		if !sent[id] {
			sent[id] = true
			p.a.broker.PublishUser(id, f)
		}
	}
}

// membersOf returns the member set of room, read from the store the first
// time and kept current by the changes made through this server.
func (p *personal) membersOf(room store.Room) (map[int64]struct{}, error) {
	p.mu.Lock()
	set := p.members[room.ID]
	p.mu.Unlock()
	if set != nil {
		return set, nil
	}
	ids, err := p.a.store.MemberIDs(bgCtx, room)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if set = p.members[room.ID]; set == nil {
		set = make(map[int64]struct{}, len(ids))
		for _, id := range ids {
			set[id] = struct{}{}
		}
		p.members[room.ID] = set
	}
	return set, nil
}

// joined and left keep the member sets current, and tell the person, on
// every server.
func (p *personal) joined(room store.Room, userID int64) {
	p.member(room.ID, userID, true)
	p.a.servers.tell(control{Kind: ctlJoined, Room: room.ID, User: userID})
}

func (p *personal) left(room store.Room, userID int64) {
	p.member(room.ID, userID, false)
	p.a.servers.tell(control{Kind: ctlLeft, Room: room.ID, User: userID})
}

// member records on this server that userID joined (in) or left room
// roomID, and tells them.
func (p *personal) member(roomID, userID int64, in bool) {
	p.mu.Lock()
	if set := p.members[roomID]; set != nil {
		if in {
			set[userID] = struct{}{}
		} else {
			delete(set, userID)
		}
	}
	p.mu.Unlock()
	p.changedHere(userID)
}

// changed schedules userID's list on every server.
func (p *personal) changed(userID int64) {
	p.changedHere(userID)
	p.a.servers.tell(control{Kind: ctlChanged, User: userID})
}

// changedHere schedules userID's list, if they have a stream open here:
// soon, and never sooner than listEvery after the last one.
func (p *personal) changedHere(userID int64) {
	if !p.a.hub.UserOnline(userID) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scheduleLocked(userID)
}

// roomChanged schedules, on every server, the lists of the people online
// in other rooms than room: what counted for them in room changed.
func (p *personal) roomChanged(room string) {
	p.roomChangedHere(room)
	p.a.servers.tell(control{Kind: ctlRoomChanged, Name: room})
}

func (p *personal) roomChangedHere(room string) {
	for _, u := range p.a.hub.Elsewhere(room) {
		p.changedHere(u)
	}
}

// scheduleLocked schedules the list of userID, who has a stream open.
func (p *personal) scheduleLocked(userID int64) {
	st := p.lists[userID]
	if st == nil {
		st = &listState{}
		p.lists[userID] = st
	}
	if st.scheduled || p.jobs.closed() {
		return
	}
	st.scheduled = true
	wait := max(listDelay, time.Until(st.sentAt.Add(listEvery)))
	time.AfterFunc(wait, func() { p.enqueue(personalJob{userID: userID}) })
}

// sendList works out userID's list, with what their open streams have
// been given counted as read, and sends it to every stream of theirs.
func (p *personal) sendList(userID int64) {
	p.mu.Lock()
	st := p.lists[userID]
	if st != nil {
		st.scheduled, st.sentAt = false, time.Now()
	}
	p.mu.Unlock()
	if !p.a.hub.UserOnline(userID) {
		p.mu.Lock()
		delete(p.lists, userID)
		p.mu.Unlock()
		return
	}
	f, err := p.listFrame(userID)
	if err != nil {
		p.a.log.Warn("personal: room list", "user", userID, "err", err)
		return
	}
	p.a.broker.PublishUser(userID, f)
}

// listFrame works out userID's room list, with what their open streams
// have been given counted as read, as a "rooms" event.
func (p *personal) listFrame(userID int64) (hub.Frame, error) {
	p.keepCursors(userID)
	list, err := p.a.store.RoomList(bgCtx, userID)
	if err != nil {
		return hub.Frame{}, err
	}
	html, err := renderBytes(bgCtx, views.RoomList(list, ""))
	if err != nil {
		return hub.Frame{}, err
	}
	return hub.Encode(0, "rooms", html), nil
}

// keepCursors keeps as read what userID's open streams have been given.
func (p *personal) keepCursors(userID int64) {
	for room, id := range p.a.hub.Cursors(userID) {
		p.keepRead(room, userID, id)
	}
}

// keepRead moves userID's read position in room up to id, unless it was
// written that far already.
func (p *personal) keepRead(name string, userID, id int64) {
	key := readKey{userID, name}
	p.mu.Lock()
	done := id <= p.kept[key]
	p.mu.Unlock()
	if id <= 0 || done {
		return
	}
	room, err := p.a.store.Room(bgCtx, name)
	if err != nil {
		return
	}
	if _, err := p.a.store.MarkRead(bgCtx, store.ReadMark{RoomID: room.ID, UserID: userID, ID: id}); err != nil {
		p.a.log.Warn("personal: read position", "room", name, "err", err)
		return
	}
	p.mu.Lock()
	p.kept[key] = max(p.kept[key], id)
	p.mu.Unlock()
}
