-- The cost ledger: one row per send (hit, call, failure or budget refusal).
-- Money is integer nano-dollars; times are Unix nanoseconds (UTC) so range
-- queries compare integers.
CREATE TABLE ledger (
	id              INTEGER PRIMARY KEY,
	at_unix_ns      INTEGER NOT NULL,
	user_name       TEXT    NOT NULL DEFAULT '',
	tag             TEXT    NOT NULL DEFAULT '',
	baseline_model  TEXT    NOT NULL DEFAULT '',
	model           TEXT    NOT NULL DEFAULT '',  -- routed (request) model
	response_model  TEXT    NOT NULL DEFAULT '',
	provider        TEXT    NOT NULL DEFAULT '',
	tier            TEXT    NOT NULL DEFAULT '',
	cache_outcome   TEXT    NOT NULL DEFAULT '',
	cache_entry_id  INTEGER NOT NULL DEFAULT 0,
	scope           TEXT    NOT NULL DEFAULT '',
	projected_prompt_tokens     INTEGER NOT NULL DEFAULT 0,
	projected_completion_tokens INTEGER NOT NULL DEFAULT 0,
	prompt_tokens               INTEGER NOT NULL DEFAULT 0,
	completion_tokens           INTEGER NOT NULL DEFAULT 0,
	cached_prompt_tokens        INTEGER NOT NULL DEFAULT 0,
	usage_known     INTEGER NOT NULL DEFAULT 0,
	projected_nanos INTEGER NOT NULL DEFAULT 0,
	actual_nanos    INTEGER NOT NULL DEFAULT 0,
	baseline_nanos  INTEGER NOT NULL DEFAULT 0,
	reserved_nanos  INTEGER NOT NULL DEFAULT 0,
	latency_ms      INTEGER NOT NULL DEFAULT 0,
	simulated       INTEGER NOT NULL DEFAULT 0,
	status          TEXT    NOT NULL DEFAULT 'ok',
	error           TEXT    NOT NULL DEFAULT '',
	-- the saving (baseline - actual) split by strategy; see ledger.Saved
	saved_cache_nanos       INTEGER NOT NULL DEFAULT 0,
	saved_routing_nanos     INTEGER NOT NULL DEFAULT 0,
	saved_compression_nanos INTEGER NOT NULL DEFAULT 0,
	saved_discount_nanos    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ledger_at ON ledger(at_unix_ns, id);

-- Settled spend, the truth budgets are checked against. Kept apart from the
-- ledger so that budget accounting does not depend on ledger writes.
CREATE TABLE budget_spend (
	id         INTEGER PRIMARY KEY,
	at_unix_ns INTEGER NOT NULL,
	nanos      INTEGER NOT NULL
);
CREATE INDEX budget_spend_at ON budget_spend(at_unix_ns);

-- Holds of calls in flight. A crashed process cannot settle or release its
-- holds, so each expires and is swept by the next reservation.
CREATE TABLE budget_reservations (
	id              INTEGER PRIMARY KEY,
	created_unix_ns INTEGER NOT NULL,
	expires_unix_ns INTEGER NOT NULL,
	nanos           INTEGER NOT NULL
);
CREATE INDEX budget_reservations_expires ON budget_reservations(expires_unix_ns);
