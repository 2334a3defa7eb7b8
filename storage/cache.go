package storage

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/vindex"
)

// CacheStore keeps semantic-cache entries in SQLite. It implements
// cache.Store.
type CacheStore struct {
	db *DB
}

var _ cache.Store = (*CacheStore)(nil)

// NewCacheStore returns the cache store of db.
func NewCacheStore(db *DB) *CacheStore { return &CacheStore{db: db} }

const entryColumns = `e.id, e.key, e.scope_id, e.prompt, e.embedder, e.dim, e.vector, e.created_at, e.last_used,
	e.hits, e.pinned, e.meta_model, e.prompt_tokens, e.completion_tokens, e.cost_nanos`

const scopeColumns = `id, model, system, temperature, max_tokens, tools, format, tenant, source`

// entryRow holds the scan destinations of one entry row; Load reuses one
// for every row (a fresh destination slice per row was 24 MB of garbage
// per 100,000 entries).
type entryRow struct {
	e                 cache.Entry
	scopeID           int64
	blob              sql.RawBytes
	created, lastUsed int64
	pinned            int
	cost              int64
	dest              []any
	quantized         bool // hand vectors over as Codes/Scale (Load), not Vector
}

func newEntryRow(extra ...any) *entryRow {
	r := &entryRow{}
	r.dest = append([]any{&r.e.ID, &r.e.Key, &r.scopeID, &r.e.Prompt, &r.e.Embedder, &r.e.Dim, &r.blob,
		&r.created, &r.lastUsed, &r.e.Hits, &r.pinned, &r.e.Meta.Model, &r.e.Meta.PromptTokens,
		&r.e.Meta.CompletionTokens, &r.cost}, extra...)
	return r
}

// scan reads one row of entryColumns (plus the extra destinations given to
// newEntryRow). The vector is scanned as sql.RawBytes and decoded in place.
func (r *entryRow) scan(rows *sql.Rows, scopes map[int64]cache.Scope) (cache.Entry, error) {
	r.e = cache.Entry{}
	if err := rows.Scan(r.dest...); err != nil {
		return cache.Entry{}, err
	}
	e := r.e
	created, lastUsed, pinned, cost := r.created, r.lastUsed, r.pinned, r.cost
	sc, ok := scopes[r.scopeID]
	if !ok {
		return e, fmt.Errorf("entry %d: scope %d missing", e.ID, r.scopeID)
	}
	e.Scope = sc
	var err error
	e.CreatedAt = time.Unix(0, created).UTC()
	e.LastUsed = time.Unix(0, lastUsed).UTC()
	e.Pinned = pinned != 0
	e.Meta.Cost = money.Nanos(cost)
	if r.quantized {
		e.Codes, e.Scale, err = decodeCodes(r.blob, e.Dim)
	} else {
		e.Vector, err = decodeVector(r.blob, e.Dim)
	}
	if err != nil {
		return e, fmt.Errorf("entry %d: %w", e.ID, err)
	}
	return e, nil
}

func (s *CacheStore) loadScopes(ctx context.Context, where string, args ...any) (map[int64]cache.Scope, error) {
	rows, err := s.db.sql.QueryContext(ctx, `SELECT `+scopeColumns+` FROM cache_scopes`+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]cache.Scope{}
	for rows.Next() {
		var id int64
		var sc cache.Scope
		if err := rows.Scan(&id, &sc.Model, &sc.System, &sc.Temperature, &sc.MaxTokens, &sc.Tools, &sc.Format, &sc.Tenant, &sc.Source); err != nil {
			return nil, err
		}
		out[id] = sc
	}
	return out, rows.Err()
}

// Load calls fn for every entry (without response text). Scopes are read
// first (they are few) so entry rows carry only an id.
func (s *CacheStore) Load(ctx context.Context, fn func(cache.Entry) error) error {
	scopes, err := s.loadScopes(ctx, "")
	if err != nil {
		return wrapErr("load cache scopes", err)
	}
	rows, err := s.db.sql.QueryContext(ctx, `SELECT `+entryColumns+` FROM cache_entries e`)
	if err != nil {
		return wrapErr("load cache entries", err)
	}
	defer rows.Close()
	row := newEntryRow()
	row.quantized = true // the cache indexes codes as stored
	for rows.Next() {
		e, err := row.scan(rows, scopes)
		if err != nil {
			return wrapErr("load cache entries", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return wrapErr("load cache entries", rows.Err())
}

// Get finds an entry by exact key, with its response.
func (s *CacheStore) Get(ctx context.Context, key string) (cache.Entry, string, bool, error) {
	scopes, err := s.loadScopes(ctx, ` WHERE id = (SELECT scope_id FROM cache_entries WHERE key = ?)`, key)
	if err != nil {
		return cache.Entry{}, "", false, wrapErr("get cache entry", err)
	}
	if len(scopes) == 0 {
		return cache.Entry{}, "", false, nil
	}
	// sql.RawBytes needs Rows (not Row), hence Query for a single row.
	rows, err := s.db.sql.QueryContext(ctx, `SELECT `+entryColumns+`, e.response FROM cache_entries e WHERE e.key = ?`, key)
	if err != nil {
		return cache.Entry{}, "", false, wrapErr("get cache entry", err)
	}
	defer rows.Close()
	if !rows.Next() { // deleted between the two reads
		return cache.Entry{}, "", false, wrapErr("get cache entry", rows.Err())
	}
	var resp string
	e, err := newEntryRow(&resp).scan(rows, scopes)
	if err != nil {
		return cache.Entry{}, "", false, wrapErr("get cache entry", err)
	}
	return e, resp, true, nil
}

// Response reads one entry's response.
func (s *CacheStore) Response(ctx context.Context, id int64) (string, error) {
	var r string
	err := s.db.sql.QueryRowContext(ctx, `SELECT response FROM cache_entries WHERE id = ?`, id).Scan(&r)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("cache entry %d: %w", id, cache.ErrNotFound)
	}
	return r, wrapErr(fmt.Sprintf("read cache response %d", id), err)
}

// Insert stores e, replacing an entry with the same key.
func (s *CacheStore) Insert(ctx context.Context, e cache.Entry, response string) (id, replaced int64, err error) {
	if len(e.Vector) != e.Dim {
		return 0, 0, fmt.Errorf("insert cache entry: vector has %d components, dim says %d", len(e.Vector), e.Dim)
	}
	err = s.db.tx(ctx, func(tx *sql.Tx) error {
		id, replaced, err = insertEntry(ctx, tx, map[string]int64{}, e, response)
		return err
	})
	if err != nil {
		return 0, 0, wrapErr("insert cache entry", err)
	}
	return id, replaced, nil
}

// InsertMany stores entries[i] with responses[i] in one transaction, each
// replacing an entry with the same key as Insert does, and returns their
// ids. It is for bulk writes (imports, seeding a benchmark database):
// Insert commits once per entry, which for 100,000 entries is minutes
// instead of seconds. Either every entry is stored or none is; a later
// entry with the key of an earlier one replaces it (the earlier id is then
// gone).
func (s *CacheStore) InsertMany(ctx context.Context, entries []cache.Entry, responses []string) ([]int64, error) {
	if len(responses) != len(entries) {
		return nil, fmt.Errorf("insert %d cache entries: %d responses", len(entries), len(responses))
	}
	for i, e := range entries {
		if len(e.Vector) != e.Dim {
			return nil, fmt.Errorf("insert cache entries: entry %d (key %q): vector has %d components, dim says %d", i, e.Key, len(e.Vector), e.Dim)
		}
	}
	ids := make([]int64, len(entries))
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		// Scope ids are remembered for the transaction: entries usually
		// share a few scopes, and each upsert is two statements.
		scopeIDs := map[string]int64{}
		for i, e := range entries {
			id, _, err := insertEntry(ctx, tx, scopeIDs, e, responses[i])
			if err != nil {
				return fmt.Errorf("entry %d (key %q): %w", i, e.Key, err)
			}
			ids[i] = id
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr(fmt.Sprintf("insert %d cache entries", len(entries)), err)
	}
	return ids, nil
}

// insertEntry writes one entry inside tx, replacing one with the same key.
// scopeIDs memoizes scope fingerprints → ids within tx.
func insertEntry(ctx context.Context, tx *sql.Tx, scopeIDs map[string]int64, e cache.Entry, response string) (id, replaced int64, err error) {
	fp := cache.Fingerprint(e.Scope)
	scopeID, ok := scopeIDs[fp]
	if !ok {
		if scopeID, err = upsertScope(ctx, tx, e.Scope); err != nil {
			return 0, 0, err
		}
		scopeIDs[fp] = scopeID
	}
	err = tx.QueryRowContext(ctx, `SELECT id FROM cache_entries WHERE key = ?`, e.Key).Scan(&replaced)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, 0, err
	}
	if replaced != 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM cache_entries WHERE id = ?`, replaced); err != nil {
			return 0, 0, err
		}
	}
	pinned := 0
	if e.Pinned {
		pinned = 1
	}
	lastUsed := e.LastUsed
	if lastUsed.IsZero() {
		lastUsed = e.CreatedAt
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO cache_entries
		(key, scope_id, prompt, response, embedder, dim, vector, created_at, last_used, hits, pinned,
		 meta_model, prompt_tokens, completion_tokens, cost_nanos)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Key, scopeID, e.Prompt, response, e.Embedder, e.Dim, encodeVector(e.Vector),
		e.CreatedAt.UnixNano(), lastUsed.UnixNano(), e.Hits, pinned,
		e.Meta.Model, e.Meta.PromptTokens, e.Meta.CompletionTokens, int64(e.Meta.Cost))
	if err != nil {
		return 0, 0, err
	}
	id, err = res.LastInsertId()
	return id, replaced, err
}

func upsertScope(ctx context.Context, tx *sql.Tx, sc cache.Scope) (int64, error) {
	fp := cache.Fingerprint(sc)
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO cache_scopes
		(fingerprint, model, system, temperature, max_tokens, tools, format, tenant, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		fp, sc.Model, sc.System, sc.Temperature, sc.MaxTokens, sc.Tools, sc.Format, sc.Tenant, sc.Source); err != nil {
		return 0, err
	}
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM cache_scopes WHERE fingerprint = ?`, fp).Scan(&id)
	return id, err
}

// Touch records a hit.
func (s *CacheStore) Touch(ctx context.Context, id int64, lastUsed time.Time, hits int64) error {
	return s.update(ctx, "touch", id, `UPDATE cache_entries SET last_used = ?, hits = ? WHERE id = ?`, lastUsed.UnixNano(), hits, id)
}

// SetPinned pins or unpins an entry.
func (s *CacheStore) SetPinned(ctx context.Context, id int64, pinned bool) error {
	p := 0
	if pinned {
		p = 1
	}
	return s.update(ctx, "pin", id, `UPDATE cache_entries SET pinned = ? WHERE id = ?`, p, id)
}

// SetVector replaces an entry's embedding.
func (s *CacheStore) SetVector(ctx context.Context, id int64, embedder string, vec []float32) error {
	return s.update(ctx, "set vector of", id, `UPDATE cache_entries SET embedder = ?, dim = ?, vector = ? WHERE id = ?`,
		embedder, len(vec), encodeVector(vec), id)
}

func (s *CacheStore) update(ctx context.Context, op string, id int64, q string, args ...any) error {
	res, err := s.db.sql.ExecContext(ctx, q, args...)
	if err != nil {
		return wrapErr(fmt.Sprintf("%s cache entry %d", op, id), err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("%s cache entry %d: %w", op, id, cache.ErrNotFound)
	}
	return nil
}

// Delete removes entries; absent ids are ignored.
func (s *CacheStore) Delete(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	// Batches stay under SQLite's bound-parameter limit.
	const batch = 500
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(ids); start += batch {
			part := ids[start:min(start+batch, len(ids))]
			args := make([]any, len(part))
			for i, id := range part {
				args[i] = id
			}
			q := `DELETE FROM cache_entries WHERE id IN (?` + strings.Repeat(",?", len(part)-1) + `)`
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr(fmt.Sprintf("delete %d cache entries", len(ids)), err)
}

// DeleteAll removes every entry and scope.
func (s *CacheStore) DeleteAll(ctx context.Context) error {
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM cache_entries`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM cache_scopes`)
		return err
	})
	return wrapErr("delete all cache entries", err)
}

// Vectors are stored the way the index holds them: a float32 scale
// (little-endian) followed by dim int8 codes (see vindex.Quantize), 104
// bytes for 100-d instead of 400. The in-memory index is int8 anyway, so
// nothing a lookup sees is lost, and start-up reads a quarter of the pages.
func encodeVector(v []float32) []byte {
	if v == nil {
		return nil
	}
	b := make([]byte, 4+len(v))
	codes := make([]int8, len(v))
	binary.LittleEndian.PutUint32(b, math.Float32bits(vindex.Quantize(codes, v)))
	for i, c := range codes {
		b[4+i] = byte(c)
	}
	return b
}

func decodeVector(b []byte, dim int) ([]float32, error) {
	codes, scale, err := decodeCodes(b, dim)
	if err != nil || codes == nil {
		return nil, err
	}
	return vindex.Dequantize(codes, scale), nil
}

func decodeCodes(b []byte, dim int) ([]int8, float32, error) {
	if len(b) == 0 && dim == 0 {
		return nil, 0, nil
	}
	if len(b) != 4+dim {
		return nil, 0, fmt.Errorf("vector blob has %d bytes, want 4+%d", len(b), dim)
	}
	codes := make([]int8, dim)
	for i := range codes {
		codes[i] = int8(b[4+i])
	}
	return codes, math.Float32frombits(binary.LittleEndian.Uint32(b)), nil
}
