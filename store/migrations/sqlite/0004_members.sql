-- Rooms come in three kinds: 'public' (every signed-in user may read it and
-- post; posting makes them a member), 'private' (its members only) and
-- 'direct' (exactly its two people, or one for a person writing to
-- themself). A direct room is named "dm.A.B" from the two user ids, A ≤ B:
-- never a valid public name, and the same whoever renames.
ALTER TABLE rooms ADD COLUMN kind TEXT NOT NULL DEFAULT 'public';

-- Who belongs to which room, and how far they have read it: read_id is
-- the newest message of the room they have seen.
CREATE TABLE members (
	room_id   INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	joined_at DATETIME NOT NULL,
	read_id   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;

CREATE INDEX members_user ON members (user_id, room_id);

-- Every account is a member of general from its registration on, having
-- read what was there.
CREATE TRIGGER users_join_general AFTER INSERT ON users BEGIN
	INSERT INTO members (room_id, user_id, joined_at, read_id)
	SELECT r.id, new.id, new.created_at,
		(SELECT coalesce(max(m.id), 0) FROM messages m WHERE m.room_id = r.id)
	FROM rooms r WHERE r.name = 'general';
END;

-- Writing in a room makes the writer a member (of a public room; in the
-- others only members may write), having read up to what they wrote. A
-- member's own messages never count as unread, so a member's read
-- position need not follow what they write: no write but the first.
CREATE TRIGGER messages_make_member AFTER INSERT ON messages
WHEN new.kind = 'text' AND new.user_id IS NOT NULL BEGIN
	INSERT OR IGNORE INTO members (room_id, user_id, joined_at, read_id)
	VALUES (new.room_id, new.user_id, new.created_at, new.id);
END;

-- The accounts there are now: members of general and of every room they
-- wrote in, with all of it read.
INSERT INTO members (room_id, user_id, joined_at, read_id)
SELECT r.id, u.id, u.created_at, (SELECT coalesce(max(m.id), 0) FROM messages m WHERE m.room_id = r.id)
FROM users u, rooms r WHERE r.name = 'general';

INSERT OR IGNORE INTO members (room_id, user_id, joined_at, read_id)
SELECT m.room_id, m.user_id, min(m.created_at),
	(SELECT coalesce(max(x.id), 0) FROM messages x WHERE x.room_id = m.room_id)
FROM messages m WHERE m.user_id IS NOT NULL AND m.kind = 'text'
GROUP BY m.room_id, m.user_id;

-- Mentions: the handles (folded to lower case, space-separated) a message
-- mentions, kept with it so it renders the same everywhere; and one row
-- per mentioned person, for their counts and their list of mentions.
ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '';

CREATE TABLE mentions (
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	room_id    INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	PRIMARY KEY (user_id, message_id)
) WITHOUT ROWID;

CREATE INDEX mentions_room ON mentions (user_id, room_id, message_id);
