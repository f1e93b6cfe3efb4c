-- Accounts. handle_key is the handle folded to lower case; its UNIQUE index
-- makes "Ann" and "ann" the same handle, enforced by the database itself.
CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	handle        TEXT    NOT NULL,
	handle_key    TEXT    NOT NULL UNIQUE,
	password_hash TEXT    NOT NULL,
	created_at    DATETIME NOT NULL
);

CREATE TABLE rooms (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at DATETIME NOT NULL
);

INSERT INTO rooms (name, created_at) VALUES ('general', strftime('%Y-%m-%d %H:%M:%f', 'now'));

-- AUTOINCREMENT: an id is never reused, not even after the newest row is
-- deleted, so ids keep increasing across restarts.
-- kind is 'text' for what a user wrote; 'join', 'leave', 'back' and 'rename'
-- are system notices about user_id. author is the handle when the row was
-- stored, so a message renders the same on the page, live and on replay.
CREATE TABLE messages (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	room_id    INTEGER NOT NULL REFERENCES rooms (id),
	user_id    INTEGER REFERENCES users (id),
	kind       TEXT    NOT NULL DEFAULT 'text',
	author     TEXT    NOT NULL,
	body       TEXT    NOT NULL,
	created_at DATETIME NOT NULL
);

CREATE INDEX messages_room_id ON messages (room_id, id);
CREATE INDEX messages_room_user_kind ON messages (room_id, user_id, kind);

-- scs sessions (github.com/alexedwards/scs/sqlite3store).
CREATE TABLE sessions (
	token  TEXT PRIMARY KEY,
	data   BLOB NOT NULL,
	expiry REAL NOT NULL
);

CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- One row per signed-in session: the server's own record of who is signed in
-- with which session token. A session without a row here is signed out, so a
-- deleted row can never be brought back by a late write of the session data,
-- and "sign out everywhere" finds every token of a user.
CREATE TABLE logins (
	token      TEXT    PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at DATETIME NOT NULL,
	seen_at    DATETIME NOT NULL
);

CREATE INDEX logins_user_id ON logins (user_id);
