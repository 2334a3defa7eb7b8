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
	"unsafe"

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

// entryColumns are what Load reads per entry; responses live in
// cache_responses and are read on a hit (see migration 0004 for why the
// layout is what it is).
const entryColumns = `e.id, e.key, e.scope_id, e.prompt, e.embedder_id, e.vector, e.created_at, e.last_used,
	e.hits, e.pinned, e.meta`

const scopeColumns = `id, model, system, temperature, max_tokens, tools, format, tenant, source`

// embedderRef is a row of cache_embedders.
type embedderRef struct {
	name string
	dim  int
}

// entryDecoder turns a row of entryColumns, as the driver returns it, into
// an Entry. Vector codes are carved from a shared slab (one allocation per
// slabRows vectors instead of one per entry); a scope is looked up once
// per run of entries sharing it, and the embedder name, an integer
// reference, and runs of the same model name share one string each, so the
// loaded cache holds one copy instead of 100,000.
type entryDecoder struct {
	scopes    map[int64]cache.Scope
	embedders map[int64]embedderRef
	slab      []int8
	free      chan *entryBatch // recycled batches; nil when the consumer keeps them
	slabRows  int              // vectors per slab; 0 means one (Get)

	// The previous row's scope and model: consecutive entries mostly share them.
	haveScope bool
	scopeID   int64
	scope     cache.Scope
	model     string
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

// nullInt accepts NULL as 0.
func (c *columns) nullInt(i int) int64 {
	if c.v[i] == nil {
		return 0
	}
	return c.int(i)
}

func (c *columns) text(i int) string {
	x, ok := c.v[i].(string)
	if !ok {
		c.fail(i, "text")
	}
	return x
}

// blob accepts NULL as nil.
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

// metaHeader is the fixed part of the meta blob: prompt tokens, completion
// tokens and cost as big-endian int64s; the model name follows.
const metaHeader = 24

func encodeMeta(m cache.Meta) []byte {
	b := make([]byte, metaHeader, metaHeader+len(m.Model))
	binary.BigEndian.PutUint64(b[0:], uint64(m.PromptTokens))
	binary.BigEndian.PutUint64(b[8:], uint64(m.CompletionTokens))
	binary.BigEndian.PutUint64(b[16:], uint64(m.Cost))
	return append(b, m.Model...)
}

// decodeMeta reads a meta blob; the model name is the previous row's
// string when equal (comparing does not allocate).
func (d *entryDecoder) decodeMeta(b []byte) (cache.Meta, error) {
	if len(b) < metaHeader {
		return cache.Meta{}, fmt.Errorf("meta blob has %d bytes, want at least %d", len(b), metaHeader)
	}
	if string(b[metaHeader:]) != d.model {
		d.model = string(b[metaHeader:])
	}
	return cache.Meta{
		PromptTokens:     int(int64(binary.BigEndian.Uint64(b[0:]))),
		CompletionTokens: int(int64(binary.BigEndian.Uint64(b[8:]))),
		Cost:             money.Nanos(int64(binary.BigEndian.Uint64(b[16:]))),
		Model:            d.model,
	}, nil
}

// decode fills e from one row of entryColumns. quantized hands the vector
// over as Codes and Scale (as the cache indexes it), otherwise as Vector.
func (d *entryDecoder) decode(v []driver.Value, e *cache.Entry, quantized bool) error {
	c := columns{v: v}
	*e = cache.Entry{
		ID: c.int(0), Key: c.text(1), Prompt: c.text(3),
		CreatedAt: time.Unix(0, c.int(6)).UTC(), LastUsed: time.Unix(0, c.int(7)).UTC(),
		Hits: c.int(8), Pinned: c.int(9) != 0,
	}
	scopeID, embedderID, blob, meta := c.int(2), c.nullInt(4), c.blob(5), c.blob(10)
	if c.err != nil {
		return fmt.Errorf("entry %d: %w", e.ID, c.err)
	}
	if !d.haveScope || scopeID != d.scopeID {
		sc, ok := d.scopes[scopeID]
		if !ok {
			return fmt.Errorf("entry %d: scope %d missing", e.ID, scopeID)
		}
		d.haveScope, d.scopeID, d.scope = true, scopeID, sc
	}
	e.Scope = d.scope
	var err error
	if e.Meta, err = d.decodeMeta(meta); err != nil {
		return fmt.Errorf("entry %d: %w", e.ID, err)
	}
	if embedderID == 0 {
		if len(blob) != 0 {
			return fmt.Errorf("entry %d: vector blob of %d bytes without an embedder", e.ID, len(blob))
		}
		return nil // not embedded
	}
	emb, ok := d.embedders[embedderID]
	if !ok {
		return fmt.Errorf("entry %d: embedder %d missing", e.ID, embedderID)
	}
	e.Embedder, e.Dim = emb.name, emb.dim
	if len(blob) == 0 && e.Dim == 0 {
		return nil // an embedder that produced no vector
	}
	if len(blob) != 4+e.Dim {
		return fmt.Errorf("entry %d: vector blob has %d bytes, want 4+%d (embedder %s, dim %d)", e.ID, len(blob), e.Dim, e.Embedder, e.Dim)
	}
	if len(d.slab)+e.Dim > cap(d.slab) {
		// Full (or a batch's first vector): the codes already handed out
		// keep the old slab.
		d.slab = make([]int8, 0, max(1, d.slabRows)*e.Dim)
	}
	n := len(d.slab)
	codes := d.slab[n : n+e.Dim : n+e.Dim]
	d.slab = d.slab[:n+e.Dim]
	if e.Dim > 0 {
		copy(codes, unsafe.Slice((*int8)(unsafe.Pointer(&blob[4])), e.Dim)) // int8 and byte share a layout
	}
	scale := math.Float32frombits(binary.LittleEndian.Uint32(blob))
	if quantized {
		e.Codes, e.Scale = codes, scale
	} else {
		e.Vector = vindex.Dequantize(codes, scale)
	}
	return nil
}

func (s *CacheStore) loadEmbedders(ctx context.Context) (map[int64]embedderRef, error) {
	rows, err := s.db.sql.QueryContext(ctx, `SELECT id, name, dim FROM cache_embedders`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]embedderRef{}
	for rows.Next() {
		var id int64
		var r embedderRef
		if err := rows.Scan(&id, &r.name, &r.dim); err != nil {
			return nil, err
		}
		out[id] = r
	}
	return out, rows.Err()
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

// loadBoundsQuery counts the entries and bounds their ids. Each part is a
// query of its own because SQLite answers a lone COUNT(*), MIN(id) or
// MAX(id) from the b-tree without visiting rows, but scans the table for
// MIN(id), MAX(id) together (10 ms at 100,000 entries).
const loadBoundsQuery = `SELECT (SELECT COUNT(*) FROM cache_entries), (SELECT MIN(id) FROM cache_entries), (SELECT MAX(id) FROM cache_entries)`

// loadScopeSizesQuery counts entries per scope: a pass over the scope_id
// index (6 ms at 100,000 entries), so it runs only when there is more than
// one scope.
const loadScopeSizesQuery = `SELECT scope_id, COUNT(*) FROM cache_entries GROUP BY scope_id`

// Load calls fn for every entry (without response text), from one
// goroutine at a time, in no particular order. fn may keep the entries.
func (s *CacheStore) Load(ctx context.Context, fn func(cache.Entry) error) error {
	return s.loadBatches(ctx, nil, func(batch []cache.Entry) error {
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}, false)
}

// LoadBatches implements cache.BatchLoader: it calls sizes with the number
// of entries of each scope, then fn with batches of entries (without
// response text), from one goroutine at a time, while the next batches are
// being read. A batch and its vectors are reused once fn returns.
func (s *CacheStore) LoadBatches(ctx context.Context, sizes func([]cache.ScopeSize), fn func([]cache.Entry) error) error {
	return s.loadBatches(ctx, sizes, fn, true)
}

// entryBatch is a batch of entries and the slab their vector codes are
// carved from; both are recycled when the consumer does not keep them.
type entryBatch struct {
	entries []cache.Entry
	codes   []int8
}

func (s *CacheStore) loadBatches(ctx context.Context, sizes func([]cache.ScopeSize), fn func([]cache.Entry) error, recycle bool) error {
	scopes, err := s.loadScopes(ctx, "")
	if err != nil {
		return wrapErr("load cache scopes", err)
	}
	embedders, err := s.loadEmbedders(ctx)
	if err != nil {
		return wrapErr("load cache embedders", err)
	}
	var total int
	var lo, hi sql.NullInt64
	if err := s.db.sql.QueryRowContext(ctx, loadBoundsQuery).Scan(&total, &lo, &hi); err != nil {
		return wrapErr("load cache entries", err)
	}
	counts, err := s.scopeSizes(ctx, scopes, total)
	if err != nil {
		return wrapErr("load cache entries", err)
	}
	if sizes != nil {
		sizes(counts)
	}
	if !lo.Valid {
		return nil // empty
	}
	ranges := splitIDRange(lo.Int64, hi.Int64, s.loadReaders*loadRangesPerReader, s.loadMinRangeIDs)
	readers := min(s.loadReaders, len(ranges))

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64 // index of the next range to read
	batches := make(chan *entryBatch, 2*readers)
	var free chan *entryBatch
	if recycle {
		// Room for every batch that can exist at once: the queued ones,
		// one being filled per reader and the one fn holds.
		free = make(chan *entryBatch, 3*readers+1)
	}
	errs := make([]error, readers)
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() {
			if errs[i] = s.readRanges(rctx, scopes, embedders, ranges, &next, batches, free); errs[i] != nil {
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
		if fnErr = fn(b.entries); fnErr != nil {
			cancel()
		}
		if free != nil {
			free <- b // never blocks: free has room for every batch
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

// scopeSizes is how many of the total entries each scope holds.
func (s *CacheStore) scopeSizes(ctx context.Context, scopes map[int64]cache.Scope, total int) ([]cache.ScopeSize, error) {
	if total == 0 {
		return nil, nil
	}
	if len(scopes) == 1 {
		for _, sc := range scopes {
			return []cache.ScopeSize{{Scope: sc, N: total}}, nil
		}
	}
	rows, err := s.db.sql.QueryContext(ctx, loadScopeSizesQuery)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []cache.ScopeSize
	for rows.Next() {
		var scopeID int64
		var n int
		if err := rows.Scan(&scopeID, &n); err != nil {
			return nil, err
		}
		// A scope missing here fails the load when its first entry is
		// decoded, with the entry's id.
		if sc, ok := scopes[scopeID]; ok {
			out = append(out, cache.ScopeSize{Scope: sc, N: n})
		}
	}
	return out, rows.Err()
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
// connection of its own until every range is taken. Batches come from
// free when it holds one (nil: always new ones).
func (s *CacheStore) readRanges(ctx context.Context, scopes map[int64]cache.Scope, embedders map[int64]embedderRef, ranges [][2]int64, next *atomic.Int64, out chan<- *entryBatch, free chan *entryBatch) error {
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
		d := entryDecoder{scopes: scopes, embedders: embedders, free: free, slabRows: loadBatchRows}
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

// newBatch returns an empty batch, a recycled one when there is one.
func (d *entryDecoder) newBatch() *entryBatch {
	select {
	case b := <-d.free: // a nil channel never receives
		b.entries, b.codes = b.entries[:0], b.codes[:0]
		return b
	default:
		return &entryBatch{entries: make([]cache.Entry, 0, loadBatchRows)}
	}
}

// readRange sends the entries with ids in r to out in batches.
func (d *entryDecoder) readRange(ctx context.Context, q driver.StmtQueryContext, r [2]int64, out chan<- *entryBatch) error {
	rows, err := q.QueryContext(ctx, []driver.NamedValue{{Ordinal: 1, Value: r[0]}, {Ordinal: 2, Value: r[1]}})
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]driver.Value, len(rows.Columns()))
	b := d.newBatch()
	d.slab = b.codes
	send := func() error {
		b.codes = d.slab // the slab may have been replaced by a larger one
		// The driver does not watch ctx once a query runs: check it per batch.
		if err := ctx.Err(); err != nil {
			return err
		}
		select {
		case out <- b:
			b = d.newBatch()
			d.slab = b.codes
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
		b.entries = append(b.entries, cache.Entry{})
		if err := d.decode(vals, &b.entries[len(b.entries)-1], true); err != nil {
			return err
		}
		if len(b.entries) == loadBatchRows {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if len(b.entries) == 0 {
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
	embedders, err := s.loadEmbedders(ctx)
	if err != nil {
		return cache.Entry{}, "", false, wrapErr("get cache entry", err)
	}
	rows, err := s.db.sql.QueryContext(ctx, `SELECT `+entryColumns+`, r.response
		FROM cache_entries e JOIN cache_responses r ON r.entry_id = e.id WHERE e.key = ?`, key)
	if err != nil {
		return cache.Entry{}, "", false, wrapErr("get cache entry", err)
	}
	defer rows.Close()
	if !rows.Next() { // deleted between the reads
		return cache.Entry{}, "", false, wrapErr("get cache entry", rows.Err())
	}
	// Scanning into *any keeps the driver's values, so Get decodes rows
	// exactly as Load does.
	cols, _ := rows.Columns()
	vals := make([]driver.Value, len(cols))
	dest := make([]any, len(vals))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := rows.Scan(dest...); err != nil {
		return cache.Entry{}, "", false, wrapErr("get cache entry", err)
	}
	var e cache.Entry
	d := entryDecoder{scopes: scopes, embedders: embedders}
	last := len(vals) - 1
	if err := d.decode(vals[:last], &e, false); err != nil {
		return cache.Entry{}, "", false, wrapErr("get cache entry", err)
	}
	resp, ok := vals[last].(string)
	if !ok {
		return cache.Entry{}, "", false, fmt.Errorf("get cache entry %d: response is %T, want text", e.ID, vals[last])
	}
	return e, resp, true, nil
}

// Response reads one entry's response.
func (s *CacheStore) Response(ctx context.Context, id int64) (string, error) {
	var r string
	err := s.db.sql.QueryRowContext(ctx, `SELECT response FROM cache_responses WHERE entry_id = ?`, id).Scan(&r)
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
		id, replaced, err = insertEntry(ctx, tx, newInsertMemo(), e, response)
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
		// Scope and embedder ids are remembered for the transaction:
		// entries usually share a few, and each upsert is two statements.
		memo := newInsertMemo()
		for i, e := range entries {
			id, _, err := insertEntry(ctx, tx, memo, e, responses[i])
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

// insertMemo remembers scope fingerprints and embedders → ids within one
// transaction.
type insertMemo struct {
	scopes    map[string]int64
	embedders map[embedderRef]int64
}

func newInsertMemo() insertMemo {
	return insertMemo{scopes: map[string]int64{}, embedders: map[embedderRef]int64{}}
}

// insertEntry writes one entry and its response inside tx, replacing one
// with the same key.
func insertEntry(ctx context.Context, tx *sql.Tx, memo insertMemo, e cache.Entry, response string) (id, replaced int64, err error) {
	fp := cache.Fingerprint(e.Scope)
	scopeID, ok := memo.scopes[fp]
	if !ok {
		if scopeID, err = upsertScope(ctx, tx, e.Scope); err != nil {
			return 0, 0, err
		}
		memo.scopes[fp] = scopeID
	}
	embedderID, err := memo.embedder(ctx, tx, e.Embedder, e.Dim)
	if err != nil {
		return 0, 0, err
	}
	err = tx.QueryRowContext(ctx, `SELECT id FROM cache_entries WHERE key = ?`, e.Key).Scan(&replaced)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, 0, err
	}
	if replaced != 0 {
		if err := deleteEntries(ctx, tx, []int64{replaced}); err != nil {
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
		(key, scope_id, prompt, embedder_id, vector, created_at, last_used, hits, pinned, meta)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Key, scopeID, e.Prompt, embedderID, encodeVector(e.Vector),
		e.CreatedAt.UnixNano(), lastUsed.UnixNano(), e.Hits, pinned, encodeMeta(e.Meta))
	if err != nil {
		return 0, 0, err
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, 0, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO cache_responses (entry_id, response) VALUES (?, ?)`, id, response)
	return id, replaced, err
}

// embedder returns the cache_embedders id of (name, dim), adding the row
// if needed; NULL (nil) for an entry without an embedding.
func (m insertMemo) embedder(ctx context.Context, tx *sql.Tx, name string, dim int) (any, error) {
	if name == "" && dim == 0 {
		return nil, nil
	}
	ref := embedderRef{name: name, dim: dim}
	if id, ok := m.embedders[ref]; ok {
		return id, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO cache_embedders (name, dim) VALUES (?, ?)`, name, dim); err != nil {
		return nil, err
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM cache_embedders WHERE name = ? AND dim = ?`, name, dim).Scan(&id); err != nil {
		return nil, err
	}
	m.embedders[ref] = id
	return id, nil
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
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		embedderID, err := newInsertMemo().embedder(ctx, tx, embedder, len(vec))
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE cache_entries SET embedder_id = ?, vector = ? WHERE id = ?`,
			embedderID, encodeVector(vec), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return cache.ErrNotFound
		}
		return nil
	})
	if errors.Is(err, cache.ErrNotFound) {
		return fmt.Errorf("set vector of cache entry %d: %w", id, err)
	}
	return wrapErr(fmt.Sprintf("set vector of cache entry %d", id), err)
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
	err := s.db.tx(ctx, func(tx *sql.Tx) error { return deleteEntries(ctx, tx, ids) })
	return wrapErr(fmt.Sprintf("delete %d cache entries", len(ids)), err)
}

// deleteEntries removes entries and their responses inside tx. Responses
// are deleted explicitly rather than left to ON DELETE CASCADE, which only
// acts on connections with foreign keys enabled.
func deleteEntries(ctx context.Context, tx *sql.Tx, ids []int64) error {
	// Batches stay under SQLite's bound-parameter limit.
	const batch = 500
	for start := 0; start < len(ids); start += batch {
		part := ids[start:min(start+batch, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		in := `(?` + strings.Repeat(",?", len(part)-1) + `)`
		if _, err := tx.ExecContext(ctx, `DELETE FROM cache_responses WHERE entry_id IN `+in, args...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM cache_entries WHERE id IN `+in, args...); err != nil {
			return err
		}
	}
	return nil
}

// DeleteAll removes every entry, scope and embedder.
func (s *CacheStore) DeleteAll(ctx context.Context) error {
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"cache_responses", "cache_entries", "cache_scopes", "cache_embedders"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
				return err
			}
		}
		return nil
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
