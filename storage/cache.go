package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/vindex"
)

// CacheStore keeps semantic-cache entries in SQLite. It implements
// cache.Store and cache.BatchLoader.
type CacheStore struct {
	db *DB
	// loadReaders and loadMinRangeIDs are the package constants of the
	// same names; tests lower them to read tiny tables in parallel.
	loadReaders     int
	loadMinRangeIDs int64
}

var (
	_ cache.Store       = (*CacheStore)(nil)
	_ cache.BatchLoader = (*CacheStore)(nil)
)

// NewCacheStore returns the cache store of db.
func NewCacheStore(db *DB) *CacheStore {
	return &CacheStore{db: db, loadReaders: loadReaders, loadMinRangeIDs: loadMinRangeIDs}
}

const entryColumns = `e.id, e.key, e.scope_id, e.prompt, e.embedder, e.dim, e.vector, e.created_at, e.last_used,
	e.hits, e.pinned, e.meta_model, e.prompt_tokens, e.completion_tokens, e.cost_nanos`

const scopeColumns = `id, model, system, temperature, max_tokens, tools, format, tenant, source`

// entryDecoder turns a row of entryColumns, as the driver returns it, into
// an Entry. Vector codes are carved from a shared slab (one allocation per
// loadBatchRows vectors instead of one per entry), and runs of the same
// embedder or model name share one string, so the loaded cache holds one
// copy instead of 100,000.
type entryDecoder struct {
	scopes          map[int64]cache.Scope
	slab            []int8
	embedder, model string
}

// columns reads driver values by position, keeping the first type error.
type columns struct {
	v   []driver.Value
	err error
}

func (c *columns) int(i int) int64 {
	x, ok := c.v[i].(int64)
	if !ok {
		c.fail(i, "integer")
	}
	return x
}

func (c *columns) text(i int) string {
	x, ok := c.v[i].(string)
	if !ok {
		c.fail(i, "text")
	}
	return x
}

// blob accepts NULL (no vector) as nil.
func (c *columns) blob(i int) []byte {
	x, ok := c.v[i].([]byte)
	if !ok && c.v[i] != nil {
		c.fail(i, "blob")
	}
	return x
}

func (c *columns) fail(i int, want string) {
	if c.err == nil {
		c.err = fmt.Errorf("column %d is %T, want %s", i, c.v[i], want)
	}
}

// intern returns the previous string when s equals it.
func intern(last *string, s string) string {
	if s == *last {
		return *last
	}
	*last = s
	return s
}

// decode fills e from one row of entryColumns. quantized hands the vector
// over as Codes and Scale (as the cache indexes it), otherwise as Vector.
func (d *entryDecoder) decode(v []driver.Value, e *cache.Entry, quantized bool) error {
	c := columns{v: v}
	*e = cache.Entry{
		ID: c.int(0), Key: c.text(1), Prompt: c.text(3), Embedder: intern(&d.embedder, c.text(4)), Dim: int(c.int(5)),
		CreatedAt: time.Unix(0, c.int(7)).UTC(), LastUsed: time.Unix(0, c.int(8)).UTC(),
		Hits: c.int(9), Pinned: c.int(10) != 0,
		Meta: cache.Meta{Model: intern(&d.model, c.text(11)), PromptTokens: int(c.int(12)),
			CompletionTokens: int(c.int(13)), Cost: money.Nanos(c.int(14))},
	}
	scopeID, blob := c.int(2), c.blob(6)
	if c.err != nil {
		return fmt.Errorf("entry %d: %w", e.ID, c.err)
	}
	sc, ok := d.scopes[scopeID]
	if !ok {
		return fmt.Errorf("entry %d: scope %d missing", e.ID, scopeID)
	}
	e.Scope = sc
	if len(blob) == 0 && e.Dim == 0 {
		return nil // not embedded
	}
	if len(blob) != 4+e.Dim {
		return fmt.Errorf("entry %d: vector blob has %d bytes, want 4+%d", e.ID, len(blob), e.Dim)
	}
	if len(d.slab)+e.Dim > cap(d.slab) {
		d.slab = make([]int8, 0, max(loadBatchRows*e.Dim, e.Dim))
	}
	n := len(d.slab)
	codes := d.slab[n : n+e.Dim : n+e.Dim]
	d.slab = d.slab[:n+e.Dim]
	for i := range codes {
		codes[i] = int8(blob[4+i])
	}
	scale := math.Float32frombits(binary.LittleEndian.Uint32(blob))
	if quantized {
		e.Codes, e.Scale = codes, scale
	} else {
		e.Vector = vindex.Dequantize(codes, scale)
	}
	return nil
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

// Start-up reading. The scan is CPU-bound — modernc's SQLite is Go, and
// every column of every row is a driver call — so Load splits the id range
// over loadReaders connections that read side by side (WAL lets readers run
// concurrently), decodes rows straight from the driver (database/sql's Scan
// converted each column by reflection: a sixth of the scan), and hands rows
// over in batches.
const (
	// loadReaders is how many connections read at once. Two: penny's
	// target is a laptop or a small VM, and the cache's indexer needs a core
	// of its own while the rows arrive.
	loadReaders = 2
	// loadRangesPerReader splits the id range finer than one range per
	// reader: ranges go to whichever reader is free, so ids that are dense
	// in one part of the range (old entries evicted, recent ones kept)
	// still spread over the readers.
	loadRangesPerReader = 8
	// loadMinRangeIDs is the smallest id range worth its own query; a
	// small table is read by one reader in one query.
	loadMinRangeIDs = 4096
	// loadBatchRows is how many entries a reader hands over at a time.
	loadBatchRows = 256
)

const loadQuery = `SELECT ` + entryColumns + ` FROM cache_entries e WHERE e.id >= ? AND e.id <= ?`

// Load calls fn for every entry (without response text), from one
// goroutine at a time, in no particular order.
func (s *CacheStore) Load(ctx context.Context, fn func(cache.Entry) error) error {
	return s.LoadBatches(ctx, func(batch []cache.Entry) error {
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// LoadBatches implements cache.BatchLoader: it calls fn with batches of
// entries (without response text), from one goroutine at a time, while
// the next batches are being read. fn may keep the batch.
func (s *CacheStore) LoadBatches(ctx context.Context, fn func([]cache.Entry) error) error {
	scopes, err := s.loadScopes(ctx, "")
	if err != nil {
		return wrapErr("load cache scopes", err)
	}
	var lo, hi sql.NullInt64
	if err := s.db.sql.QueryRowContext(ctx, `SELECT MIN(id), MAX(id) FROM cache_entries`).Scan(&lo, &hi); err != nil {
		return wrapErr("load cache entries", err)
	}
	if !lo.Valid {
		return nil // empty
	}
	ranges := splitIDRange(lo.Int64, hi.Int64, s.loadReaders*loadRangesPerReader, s.loadMinRangeIDs)
	readers := min(s.loadReaders, len(ranges))

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64 // index of the next range to read
	batches := make(chan []cache.Entry, 2*readers)
	errs := make([]error, readers)
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() {
			if errs[i] = s.readRanges(rctx, scopes, ranges, &next, batches); errs[i] != nil {
				cancel() // the other readers stop too
			}
		})
	}
	go func() {
		wg.Wait()
		close(batches)
	}()
	var fnErr error
	for b := range batches {
		if fnErr != nil {
			continue // drain: readers stop at their next batch
		}
		if fnErr = fn(b); fnErr != nil {
			cancel()
		}
	}
	switch {
	case fnErr != nil:
		return fnErr
	case ctx.Err() != nil:
		return wrapErr("load cache entries", ctx.Err())
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return wrapErr("load cache entries", err)
		}
	}
	return wrapErr("load cache entries", errors.Join(errs...))
}

// splitIDRange cuts [lo, hi] into at most n contiguous ranges of at least
// minIDs ids each (always at least one range).
func splitIDRange(lo, hi int64, n int, minIDs int64) [][2]int64 {
	span := uint64(hi-lo) + 1 // ids are positive, so this cannot overflow
	n = int(min(uint64(n), max(1, span/uint64(max(1, minIDs)))))
	out := make([][2]int64, 0, n)
	start := lo
	for i := range n {
		end := hi
		if i < n-1 {
			end = lo + int64(span*uint64(i+1)/uint64(n)) - 1
		}
		out = append(out, [2]int64{start, end})
		start = end + 1
	}
	return out
}

// readRanges reads id ranges, taking the next unread one from next, on a
// connection of its own until every range is taken.
func (s *CacheStore) readRanges(ctx context.Context, scopes map[int64]cache.Scope, ranges [][2]int64, next *atomic.Int64, out chan<- []cache.Entry) error {
	conn, err := s.db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		prep, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T cannot prepare with a context", dc)
		}
		st, err := prep.PrepareContext(ctx, loadQuery)
		if err != nil {
			return err
		}
		defer st.Close()
		q, ok := st.(driver.StmtQueryContext)
		if !ok {
			return fmt.Errorf("sqlite driver statement %T cannot query with a context", st)
		}
		d := entryDecoder{scopes: scopes}
		for {
			i := int(next.Add(1) - 1)
			if i >= len(ranges) {
				return nil
			}
			if err := d.readRange(ctx, q, ranges[i], out); err != nil {
				return fmt.Errorf("ids %d..%d: %w", ranges[i][0], ranges[i][1], err)
			}
		}
	})
}

// readRange sends the entries with ids in r to out in batches.
func (d *entryDecoder) readRange(ctx context.Context, q driver.StmtQueryContext, r [2]int64, out chan<- []cache.Entry) error {
	rows, err := q.QueryContext(ctx, []driver.NamedValue{{Ordinal: 1, Value: r[0]}, {Ordinal: 2, Value: r[1]}})
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]driver.Value, len(rows.Columns()))
	batch := make([]cache.Entry, 0, loadBatchRows)
	send := func() error {
		// The driver does not watch ctx once a query runs: check it per batch.
		if err := ctx.Err(); err != nil {
			return err
		}
		select {
		case out <- batch:
			batch = make([]cache.Entry, 0, loadBatchRows)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		if err := rows.Next(vals); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		batch = append(batch, cache.Entry{})
		if err := d.decode(vals, &batch[len(batch)-1], true); err != nil {
			return err
		}
		if len(batch) == loadBatchRows {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if len(batch) == 0 {
		return nil
	}
	return send()
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
	rows, err := s.db.sql.QueryContext(ctx, `SELECT `+entryColumns+`, e.response FROM cache_entries e WHERE e.key = ?`, key)
	if err != nil {
		return cache.Entry{}, "", false, wrapErr("get cache entry", err)
	}
	defer rows.Close()
	if !rows.Next() { // deleted between the two reads
		return cache.Entry{}, "", false, wrapErr("get cache entry", rows.Err())
	}
	// Scanning into *any keeps the driver's values, so Get decodes rows
	// exactly as Load does.
	vals := make([]driver.Value, 16)
	dest := make([]any, len(vals))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := rows.Scan(dest...); err != nil {
		return cache.Entry{}, "", false, wrapErr("get cache entry", err)
	}
	var e cache.Entry
	d := entryDecoder{scopes: scopes}
	if err := d.decode(vals[:15], &e, false); err != nil {
		return cache.Entry{}, "", false, wrapErr("get cache entry", err)
	}
	resp, ok := vals[15].(string)
	if !ok {
		return cache.Entry{}, "", false, fmt.Errorf("get cache entry %d: response is %T, want text", e.ID, vals[15])
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
