-- Who is online where, when several servers share the database: one row
-- per server, room and person with a stream there (or whose last stream
-- closed less than the leave grace ago). Each server refreshes seen_at of
-- its rows on a heartbeat; the rows of a server that stopped are
-- forgotten by the others (handlers/presence_shared.go).
--
-- UNLOGGED: the rows say what is true now and are cheap to rebuild; a
-- heartbeat writes no WAL, and after a crash of PostgreSQL (which
-- empties the table) every server writes its rows again at its next
-- heartbeat.
CREATE UNLOGGED TABLE presence (
	server_id TEXT   NOT NULL,
	room      TEXT COLLATE "C" NOT NULL,
	user_id   BIGINT NOT NULL,
	handle    TEXT   NOT NULL,
	seen_at   TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (server_id, room, user_id)
);

CREATE INDEX presence_room_user ON presence (room, user_id);
