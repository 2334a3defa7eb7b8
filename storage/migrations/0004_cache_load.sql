-- Cache start-up (issue 3, item 7) reads every entry, and with modernc's
-- SQLite every column of every row is a driver call (two mutex round trips,
-- and a Go allocation for text), so the columns read at start are fewer:
--   * the embedder ID and dimension, the same for nearly every entry, are
--     stored once in cache_embedders and referenced by an integer;
--   * the response metadata (model, tokens, cost), shown only by the
--     browser, is one blob instead of four columns;
--   * responses, read only on a hit, move to a table of their own, so the
--     scan reads entry rows only, not every response's pages.
-- Measured on 100,000 entries: see storage/cache_bench_test.go.

CREATE TABLE cache_embedders (
	id   INTEGER PRIMARY KEY,
	name TEXT    NOT NULL,           -- embedder ID (embed.Embedder.ID)
	dim  INTEGER NOT NULL,           -- vector length
	UNIQUE (name, dim)
);
INSERT INTO cache_embedders (name, dim)
	SELECT DISTINCT embedder, dim FROM cache_entries WHERE embedder <> '' OR dim <> 0 ORDER BY embedder, dim;

-- Rebuild cache_entries: SQLite cannot drop a UNIQUE column's siblings in
-- place. The old table is renamed (its automatic key index with it), copied
-- and dropped; ids are kept.
DROP INDEX cache_entries_scope;
ALTER TABLE cache_entries RENAME TO cache_entries_v3;

CREATE TABLE cache_entries (
	id          INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused (see 0002)
	key         TEXT    NOT NULL UNIQUE,    -- cache.ExactKey(request), hex SHA-256
	scope_id    INTEGER NOT NULL REFERENCES cache_scopes(id),
	prompt      TEXT    NOT NULL,           -- as first asked, not normalized
	embedder_id INTEGER REFERENCES cache_embedders(id), -- NULL: not embedded
	vector      BLOB,                       -- float32 scale (LE) + dim int8 codes: v[i] = code[i]*scale, then L2-normalized
	created_at  INTEGER NOT NULL,           -- Unix nanoseconds, UTC
	last_used   INTEGER NOT NULL,           -- last hit (or created_at): the LRU order
	hits        INTEGER NOT NULL DEFAULT 0,
	pinned      INTEGER NOT NULL DEFAULT 0, -- 1: never evicted, never expires
	-- What producing the response cost: prompt tokens, completion tokens and
	-- cost in nanodollars as 8-byte big-endian integers, then the model name
	-- (UTF-8).
	meta        BLOB    NOT NULL
);
INSERT INTO cache_entries (id, key, scope_id, prompt, embedder_id, vector, created_at, last_used, hits, pinned, meta)
	SELECT e.id, e.key, e.scope_id, e.prompt, m.id, e.vector, e.created_at, e.last_used, e.hits, e.pinned,
		CAST(unhex(printf('%016x%016x%016x', e.prompt_tokens, e.completion_tokens, e.cost_nanos)) || e.meta_model AS BLOB)
	FROM cache_entries_v3 e LEFT JOIN cache_embedders m ON m.name = e.embedder AND m.dim = e.dim;
-- Carry the AUTOINCREMENT high-water mark over: ids of evicted entries above
-- the largest kept one must not be handed out again.
DELETE FROM sqlite_sequence WHERE name = 'cache_entries';
INSERT INTO sqlite_sequence (name, seq) SELECT 'cache_entries', seq FROM sqlite_sequence WHERE name = 'cache_entries_v3';
CREATE INDEX cache_entries_scope ON cache_entries(scope_id);

CREATE TABLE cache_responses (
	entry_id INTEGER PRIMARY KEY REFERENCES cache_entries(id) ON DELETE CASCADE,
	response TEXT    NOT NULL
);
INSERT INTO cache_responses (entry_id, response) SELECT id, response FROM cache_entries_v3;

DROP TABLE cache_entries_v3;
