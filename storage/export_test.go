package storage

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/money"
)

// NewCacheStoreReaders is NewCacheStore reading with the given number of
// connections and id ranges of at least minRangeIDs ids, so tests can read
// small tables in parallel.
func NewCacheStoreReaders(db *DB, readers int, minRangeIDs int64) *CacheStore {
	s := NewCacheStore(db)
	s.loadReaders, s.loadMinRangeIDs = readers, minRangeIDs
	return s
}

// LoadSerialReference is Load as it was before the parallel reader: one
// database/sql query and Scan into reused typed destinations, decoding
// with code of its own (a join instead of the decoder's lookups). It is
// the oracle the fast Load is checked against, and the "before" of the
// start-up benchmark.
func LoadSerialReference(ctx context.Context, s *CacheStore, fn func(cache.Entry) error) error {
	scopes, err := s.loadScopes(ctx, "")
	if err != nil {
		return err
	}
	rows, err := s.db.sql.QueryContext(ctx, `SELECT e.id, e.key, e.scope_id, e.prompt, COALESCE(m.name, ''), COALESCE(m.dim, 0),
		e.vector, e.created_at, e.last_used, e.hits, e.pinned, e.meta
		FROM cache_entries e LEFT JOIN cache_embedders m ON m.id = e.embedder_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var e cache.Entry
	var scopeID, created, lastUsed int64
	var pinned int
	var blob, meta sql.RawBytes
	dest := []any{&e.ID, &e.Key, &scopeID, &e.Prompt, &e.Embedder, &e.Dim, &blob, &created, &lastUsed,
		&e.Hits, &pinned, &meta}
	for rows.Next() {
		e = cache.Entry{}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		sc, ok := scopes[scopeID]
		if !ok {
			return fmt.Errorf("entry %d: scope %d missing", e.ID, scopeID)
		}
		e.Scope, e.Pinned = sc, pinned != 0
		e.CreatedAt, e.LastUsed = time.Unix(0, created).UTC(), time.Unix(0, lastUsed).UTC()
		if len(meta) < 24 {
			return fmt.Errorf("entry %d: meta blob has %d bytes", e.ID, len(meta))
		}
		e.Meta = cache.Meta{
			PromptTokens:     int(int64(binary.BigEndian.Uint64(meta[0:]))),
			CompletionTokens: int(int64(binary.BigEndian.Uint64(meta[8:]))),
			Cost:             money.Nanos(int64(binary.BigEndian.Uint64(meta[16:]))),
			Model:            string(meta[24:]),
		}
		if len(blob) != 0 || e.Dim != 0 {
			if len(blob) != 4+e.Dim {
				return fmt.Errorf("entry %d: vector blob has %d bytes, want 4+%d", e.ID, len(blob), e.Dim)
			}
			e.Scale = math.Float32frombits(binary.LittleEndian.Uint32(blob))
			e.Codes = make([]int8, e.Dim)
			for i := range e.Codes {
				e.Codes[i] = int8(blob[4+i])
			}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}
