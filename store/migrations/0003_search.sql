-- Full-text search over what users wrote (notices are not searchable).
-- messages_fts is an external-content FTS5 table: it stores only the index,
-- and reads the text (for snippets) from messages by id. The triggers keep
-- it in step with messages inside the same transaction as every insert,
-- edit and delete, so search never shows text a message no longer has.
-- unicode61 with remove_diacritics 2 folds case and accents: "cafe" finds
-- "Café".
CREATE VIRTUAL TABLE messages_fts USING fts5(
	body,
	content = 'messages',
	content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.kind = 'text' BEGIN
	INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.kind = 'text' BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;

-- The index entry of a row is removed with exactly the text it was made
-- from, then made again from the new text.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, kind ON messages BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, body)
		SELECT 'delete', old.id, old.body WHERE old.kind = 'text';
	INSERT INTO messages_fts (rowid, body)
		SELECT new.id, new.body WHERE new.kind = 'text';
END;

-- The messages stored before this migration.
INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages WHERE kind = 'text';
