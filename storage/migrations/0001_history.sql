-- History of planned and sent prompts.
CREATE TABLE history (
	id          INTEGER PRIMARY KEY,
	created_at  TEXT    NOT NULL,           -- RFC 3339, UTC
	user_name   TEXT    NOT NULL DEFAULT '', -- local user or SSH key name
	prompt      TEXT    NOT NULL,
	model       TEXT    NOT NULL,           -- baseline model asked for
	routed      TEXT    NOT NULL DEFAULT '', -- model the plan routed to
	cache       TEXT    NOT NULL DEFAULT '', -- cache outcome
	plan_json   TEXT    NOT NULL,           -- the core.Plan summary as JSON
	projected_nanos INTEGER NOT NULL DEFAULT 0,
	actual_nanos    INTEGER,                -- NULL until sent
	label       TEXT    NOT NULL DEFAULT ''  -- router label: '', 'weak_ok', 'strong_needed'
);
CREATE INDEX history_created ON history(created_at);
