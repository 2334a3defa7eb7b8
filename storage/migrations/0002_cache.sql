-- Semantic cache (issue 3). Scopes are stored once and referenced, so a long
-- system prompt is not repeated in every entry and loading 100,000 entries
-- needs no per-row JSON decoding.
CREATE TABLE cache_scopes (
	id          INTEGER PRIMARY KEY,
	fingerprint TEXT    NOT NULL UNIQUE,    -- cache.Fingerprint(scope)
	model       TEXT    NOT NULL,
	system      TEXT    NOT NULL DEFAULT '',
	temperature REAL    NOT NULL DEFAULT 0,
	max_tokens  INTEGER NOT NULL DEFAULT 0,
	tools       TEXT    NOT NULL DEFAULT '',
	format      TEXT    NOT NULL DEFAULT '',
	tenant      TEXT    NOT NULL DEFAULT '',
	source      TEXT    NOT NULL DEFAULT ''  -- 'simulated' for the simulator's answers
);

-- AUTOINCREMENT: ids are never reused, so an id held by the UI or a plan
-- (Result.EntryID) can never come to name a different entry after eviction.
CREATE TABLE cache_entries (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	key         TEXT    NOT NULL UNIQUE,    -- cache.ExactKey(request), hex SHA-256
	scope_id    INTEGER NOT NULL REFERENCES cache_scopes(id),
	prompt      TEXT    NOT NULL,           -- as first asked, not normalized
	response    TEXT    NOT NULL,
	embedder    TEXT    NOT NULL DEFAULT '', -- embedder ID of vector; '' when none
	dim         INTEGER NOT NULL DEFAULT 0,
	vector      BLOB,                       -- float32 scale (LE) + dim int8 codes: v[i] = code[i]*scale, then L2-normalized
	created_at  INTEGER NOT NULL,           -- Unix nanoseconds, UTC
	last_used   INTEGER NOT NULL,           -- last hit (or created_at): the LRU order
	hits        INTEGER NOT NULL DEFAULT 0,
	pinned      INTEGER NOT NULL DEFAULT 0, -- 1: never evicted, never expires
	meta_model  TEXT    NOT NULL DEFAULT '', -- model that produced the response
	prompt_tokens     INTEGER NOT NULL DEFAULT 0,
	completion_tokens INTEGER NOT NULL DEFAULT 0,
	cost_nanos  INTEGER NOT NULL DEFAULT 0  -- what producing the response cost
);
CREATE INDEX cache_entries_scope ON cache_entries(scope_id);
