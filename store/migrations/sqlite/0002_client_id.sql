-- Sending twice stores once. client_id is the value of the message form's
-- hidden field, chosen afresh for every form the server renders; NULL for
-- notices and for posts that carry none. The partial UNIQUE index makes the
-- database itself refuse a second message with the same client_id by the
-- same user in the same room, so no two retries of one form can both be
-- stored. Existing messages keep their rows and get NULL.
ALTER TABLE messages ADD COLUMN client_id TEXT;

CREATE UNIQUE INDEX messages_client_id ON messages (user_id, room_id, client_id)
	WHERE client_id IS NOT NULL;
