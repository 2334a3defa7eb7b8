package storage_test

// Start-up benchmarks of the cache over SQLite. They live in the external
// test package because they seed through storagetest, which imports
// storage.

import (
	"context"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/storage"
	"github.com/pennyllm/penny/storage/storagetest"
)

// benchEmbedder is the embedder the seeded entries and the benchmark cache
// share: 100-d random unit vectors.
var benchEmbedder = storagetest.RandomEmbedder{EmbedderID: "test-random-v1", Dimension: 100}

// seeded100k is a temp-dir database holding 100,000 entries of one scope
// with 100-d vectors.
func seeded100k(b *testing.B) *storage.DB {
	b.Helper()
	db, err := storage.Open(context.Background(), b.TempDir()+"/penny.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	storagetest.SeedCache(b, db, storagetest.CacheSeed{N: 100_000, Scope: cache.Scope{Model: "gpt-4o-mini"}, Embedder: benchEmbedder, Seed: 1})
	return db
}

// serialStore is the cache store read as before the parallel reader: one
// database/sql scan, entries handed over one by one, without the size hint
// (it hides CacheStore's BatchLoader). It is the "before" of these
// benchmarks (on the current schema; see migration 0004 for the last one).
type serialStore struct{ *storage.CacheStore }

func (s serialStore) Load(ctx context.Context, fn func(cache.Entry) error) error {
	return storage.LoadSerialReference(ctx, s.CacheStore, fn)
}

// BenchmarkCacheLoad100k measures start-up: reading 100,000 entries
// (100-d vectors) from a temp-dir SQLite file into a cache until semantic
// lookups work (exact scan; the HNSW graph then builds in the background).
// "serial" is the reader before the parallel one, for a ratio in one run.
// "parallel/2KB-responses" is the same after every response grew to 2 KB,
// a model answer's usual size: responses live in a table of their own, so
// start-up must not slow down with them.
func BenchmarkCacheLoad100k(b *testing.B) {
	db := seeded100k(b)
	b.Run("serial", func(b *testing.B) { benchCacheLoad(b, serialStore{storage.NewCacheStore(db)}) })
	b.Run("parallel", func(b *testing.B) { benchCacheLoad(b, storage.NewCacheStore(db)) })
	if _, err := db.SQL().Exec(`UPDATE cache_responses SET response = substr(response || printf('%2000s', ''), 1, 2048)`); err != nil {
		b.Fatal(err)
	}
	b.Run("parallel/2KB-responses", func(b *testing.B) { benchCacheLoad(b, storage.NewCacheStore(db)) })
}

func benchCacheLoad(b *testing.B, store cache.Store) {
	ctx := context.Background()
	cfg := cache.DefaultConfig()
	cfg.MaxEntries = 200_000
	var cpu time.Duration
	for b.Loop() {
		cpu0 := storagetest.ProcessCPU()
		c, err := cache.New(cfg, store, benchEmbedder, storagetest.CosineJudge{}, time.Now)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Load(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += storagetest.ProcessCPU() - cpu0
		if st := c.Stats(); st.Entries != 100_000 || st.Stale != 0 {
			b.Fatalf("loaded %d, %d stale", st.Entries, st.Stale)
		}
		c.Close() // stops the background graph build
		b.StartTimer()
	}
	// CPU time is reported next to wall time because the benchmark machine
	// is shared: wall time includes waiting for a core.
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkCacheStoreScan100k is the SQLite share of start-up: reading
// 100,000 entries without indexing them, the way before the parallel
// reader ("serial"), and with one and two reading connections.
func BenchmarkCacheStoreScan100k(b *testing.B) {
	db := seeded100k(b)
	count := func(b *testing.B, load func(context.Context, func(cache.Entry) error) error) {
		var cpu time.Duration
		for b.Loop() {
			cpu0 := storagetest.ProcessCPU()
			n := 0
			if err := load(context.Background(), func(cache.Entry) error { n++; return nil }); err != nil || n != 100_000 {
				b.Fatal(n, err)
			}
			cpu += storagetest.ProcessCPU() - cpu0
		}
		b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	}
	b.Run("serial", func(b *testing.B) { count(b, serialStore{storage.NewCacheStore(db)}.Load) })
	b.Run("readers=1", func(b *testing.B) { count(b, storage.NewCacheStoreReaders(db, 1, 4096).Load) })
	b.Run("readers=2", func(b *testing.B) { count(b, storage.NewCacheStore(db).Load) })
}
