-- Editing, deleting and reactions.
--
-- edited_at is when the body was last replaced (NULL: never). A deleted
-- message keeps its row as a tombstone of kind 'deleted', with its body,
-- author and mentions erased, so pages, replays and ids stay consistent;
-- every query that counts or searches what people wrote asks for kind
-- 'text' and so leaves it out. The search triggers of 0003 take its text
-- out of the index in the same statement.
ALTER TABLE messages ADD COLUMN edited_at DATETIME;

-- The change log: one row per edit, delete or reaction change. Its id is
-- taken from the messages' AUTOINCREMENT sequence (Store.nextChangeID), so
-- messages and changes share one increasing order: a stream resuming from
-- N replays both above N. Each row is written in the transaction of the
-- change it records.
CREATE TABLE changes (
	id         INTEGER PRIMARY KEY,
	room_id    INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	kind       TEXT    NOT NULL, -- 'edit', 'delete' or 'react'
	created_at DATETIME NOT NULL
);

CREATE INDEX changes_room ON changes (room_id, id);

-- Reactions: one row per person, message and emoji; reacting again with
-- the same emoji removes the row.
CREATE TABLE reactions (
	message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	emoji      TEXT    NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (message_id, user_id, emoji)
) WITHOUT ROWID;

-- A deleted message's words must leave the index's pages too, not only
-- stop matching: secure-delete makes FTS5 remove them from its segments.
INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1);
