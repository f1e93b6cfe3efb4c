-- Full-text search over what users wrote (notices are not searchable).
-- messages_fts is an external-content FTS5 table: it stores only the index,
-- and reads the text (for snippets) from messages by id. Triggers keep it
-- in step with messages inside the same transaction as every insert, edit
-- and delete, so search never shows text a message no longer has.
-- unicode61 with remove_diacritics 2 folds case and accents: "cafe" finds
-- "Café". columnsize=0: results are ranked by id, not by bm25(), so the
-- index keeps no per-message token counts (a write less per message).
CREATE VIRTUAL TABLE messages_fts USING fts5(
	body,
	content = 'messages',
	content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2',
	columnsize = 0
);

-- A new message is indexed at the end of the transaction that stores it,
-- with the others of that transaction, in one statement (Store.indexPending,
-- run by the writer before every commit). FTS5 writes its pending terms to
-- disk at every statement that touches it inside a transaction, so one
-- statement per message would cost a new index segment per message, and
-- several times the work. Until then its id waits here.
CREATE TABLE messages_fts_pending (id INTEGER PRIMARY KEY);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.kind = 'text' BEGIN
	INSERT INTO messages_fts_pending (id) VALUES (new.id);
END;

-- The index entry of a row is removed with exactly the text it was made
-- from (a message still pending has none yet), then, on an edit, made
-- again from the new text.
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.kind = 'text' BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, body)
		SELECT 'delete', old.id, old.body
		WHERE NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE id = old.id);
	DELETE FROM messages_fts_pending WHERE id = old.id;
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, kind ON messages BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, body)
		SELECT 'delete', old.id, old.body
		WHERE old.kind = 'text' AND NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE id = old.id);
	DELETE FROM messages_fts_pending WHERE id = old.id;
	INSERT INTO messages_fts (rowid, body)
		SELECT new.id, new.body WHERE new.kind = 'text';
END;

-- The messages stored before this migration.
INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages WHERE kind = 'text';
