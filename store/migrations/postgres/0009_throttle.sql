-- The throttles against guessing and flooding (handlers' limits), kept
-- here so that every server sharing the database counts the same. SQLite
-- has no twin: one process serves a SQLite file and counts in memory.

-- Attempts kept one row each (failed sign-ins for a handle): a key
-- reaching n rows younger than a window is refused until the oldest of
-- them is that old. A row is deleted once expires is past.
CREATE TABLE throttle_log (
	key     TEXT COLLATE "C" NOT NULL,
	at      TIMESTAMPTZ NOT NULL,
	expires TIMESTAMPTZ NOT NULL
);

CREATE INDEX throttle_log_key ON throttle_log (key, at);
CREATE INDEX throttle_log_expires ON throttle_log (expires);

-- Token buckets (failed sign-ins per address, registrations per address)
-- as a theoretical arrival time: each attempt moves tat one interval
-- past max(tat, now); an attempt is refused while tat is further ahead of
-- now than the burst allows. A bucket whose tat is past is full and is
-- deleted.
CREATE TABLE throttle_buckets (
	key TEXT COLLATE "C" PRIMARY KEY,
	tat TIMESTAMPTZ NOT NULL
);

CREATE INDEX throttle_buckets_tat ON throttle_buckets (tat);
