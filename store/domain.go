package store

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of what users may enter.
const (
	HandleMinLen   = 2
	HandleMaxLen   = 32
	PasswordMinLen = 8    // bytes
	PasswordMaxLen = 256  // bytes
	BodyMaxLen     = 4000 // Unicode code points, after trimming
	RoomNameMaxLen = 32
	ClientIDMaxLen = 64 // ASCII characters
)

// GeneralRoom is the room that always exists.
const GeneralRoom = "general"

// FieldError says which field of an input is wrong and how to fix it. Its
// message is written for the person who typed the value.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// User is a Parley account.
type User struct {
	ID        int64
	Handle    string
	CreatedAt time.Time
}

// Credentials are what a person types to register or sign in.
type Credentials struct {
	Handle   string
	Password string
}

// Validate checks the handle and password against Parley's rules.
func (c Credentials) Validate() error {
	if err := ValidateHandle(c.Handle); err != nil {
		return err
	}
	return ValidatePassword(c.Password)
}

// ValidateHandle checks a handle: 2–32 ASCII letters, digits, '_', '-', '.'.
func ValidateHandle(h string) error {
	if h == "" {
		return &FieldError{"handle", "Choose a handle."}
	}
	for i := 0; i < len(h); i++ {
		if !isHandleByte(h[i]) {
			return &FieldError{"handle", "A handle may use only letters a–z and A–Z, digits, '_', '-' and '.'."}
		}
	}
	if len(h) < HandleMinLen || len(h) > HandleMaxLen {
		return &FieldError{"handle", fmt.Sprintf("A handle is %d to %d characters long.", HandleMinLen, HandleMaxLen)}
	}
	return nil
}

func isHandleByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '-' || c == '.'
}

// HandleKey folds a handle to the form that must be unique: handles are the
// same without regard to case.
func HandleKey(h string) string { return strings.ToLower(h) }

// ValidatePassword checks a password's length: 8–256 bytes.
func ValidatePassword(p string) error {
	if len(p) < PasswordMinLen {
		return &FieldError{"password", fmt.Sprintf("A password has at least %d characters.", PasswordMinLen)}
	}
	if len(p) > PasswordMaxLen {
		return &FieldError{"password", fmt.Sprintf("A password has at most %d bytes.", PasswordMaxLen)}
	}
	return nil
}

// Message kinds. Everything but KindText is a system notice about a user,
// shown without an author.
const (
	KindText   = "text"
	KindJoin   = "join"
	KindLeave  = "leave"
	KindBack   = "back"
	KindRename = "rename"
	// KindDeleted is what a message its author deleted leaves behind: a
	// tombstone without body or author.
	KindDeleted = "deleted"
)

// Message is one entry of a room: what a user wrote, or a system notice.
type Message struct {
	ID        int64
	Room      string
	UserID    int64 // the author, or the subject of a notice
	Kind      string
	Author    string // the author's handle when the message was stored
	Body      string
	CreatedAt time.Time
	// Mentions are the handles, folded to lower case, of the people the
	// body mentions: accounts that could read the room when it was sent.
	Mentions []string
	// MentionIDs are their account ids, when the message is being stored.
	MentionIDs []int64
	// ClientID, when set, names the form the message was sent from: a
	// second message with the same ClientID by the same user in the same
	// room is never stored. See ValidateClientID.
	ClientID string
	// EditedAt is when the body was last replaced, zero if never.
	EditedAt time.Time
	// Reactions are the emoji people reacted with, in the order of the
	// first reaction with each.
	Reactions []Reaction
	// ChangeID is set on a message handed to AfterCommit or replayed
	// because it changed (edited, deleted, reacted to): the id of the
	// change, from the same sequence as message ids. It is 0 for a new
	// message.
	ChangeID int64
}

// Reaction is one emoji on a message and who reacted with it.
type Reaction struct {
	Emoji   string
	Handles []string // in the order they reacted
}

// System reports whether m is a notice rather than something a user wrote
// (or a tombstone of it).
func (m Message) System() bool { return m.Kind != KindText && m.Kind != KindDeleted }

// Deleted reports whether m was deleted by its author.
func (m Message) Deleted() bool { return m.Kind == KindDeleted }

// Edited reports whether m's body was replaced after it was sent.
func (m Message) Edited() bool { return !m.EditedAt.IsZero() && !m.Deleted() }

// EventID is the id of the stream event that carries m: the change's id
// for a change, else the message's.
func (m Message) EventID() int64 {
	if m.ChangeID != 0 {
		return m.ChangeID
	}
	return m.ID
}

// NormalizeBody trims the surrounding white space of a message body.
func NormalizeBody(body string) string { return strings.TrimSpace(body) }

// ValidateBody checks a normalised body: valid UTF-8, 1–4000 code points.
func ValidateBody(body string) error {
	if !utf8.ValidString(body) {
		return &FieldError{"body", "The message is not valid UTF-8 text."}
	}
	if body == "" {
		return &FieldError{"body", "Write something before sending."}
	}
	if n := utf8.RuneCountInString(body); n > BodyMaxLen {
		return &FieldError{"body", fmt.Sprintf("A message has at most %d characters; this one has %d.", BodyMaxLen, n)}
	}
	return nil
}

// ValidateClientID checks the client id of a message form: 1–64 ASCII
// letters, digits, '_' and '-'.
func ValidateClientID(id string) error {
	if id == "" || len(id) > ClientIDMaxLen {
		return &FieldError{"client_id", "This form has expired. Reload the page and send your message again."}
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return &FieldError{"client_id", "This form was changed. Reload the page and send your message again."}
		}
	}
	return nil
}

// Room is a chat room.
type Room struct {
	ID   int64
	Name string
	Kind string // KindPublic, KindPrivate or KindDirect
}

// The kinds of room.
const (
	KindPublic  = "public"  // every signed-in user may read it and post
	KindPrivate = "private" // its members only
	KindDirect  = "direct"  // exactly its two people
)

// ValidateRoomName checks a room name: 1–32 of a-z, 0-9 and '-'.
func ValidateRoomName(name string) error {
	if name == "" || len(name) > RoomNameMaxLen {
		return &FieldError{"name", fmt.Sprintf("A room name is 1 to %d characters long.", RoomNameMaxLen)}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return &FieldError{"name", "A room name may use only a–z, digits and '-'."}
		}
	}
	return nil
}
