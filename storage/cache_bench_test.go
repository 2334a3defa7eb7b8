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

// BenchmarkCacheLoad100k measures start-up: reading 100,000 entries
// (100-d vectors) from a temp-dir SQLite file into a cache until semantic
// lookups work (exact scan; the HNSW graph then builds in the background).
func BenchmarkCacheLoad100k(b *testing.B) {
	ctx := context.Background()
	db := seeded100k(b)
	cfg := cache.DefaultConfig()
	cfg.MaxEntries = 200_000
	b.ResetTimer()
	var cpu time.Duration
	for range b.N {
		cpu0 := storagetest.ProcessCPU()
		c, err := cache.New(cfg, storage.NewCacheStore(db), benchEmbedder, storagetest.CosineJudge{}, time.Now)
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
// 100,000 entries without indexing them.
func BenchmarkCacheStoreScan100k(b *testing.B) {
	ctx := context.Background()
	s := storage.NewCacheStore(seeded100k(b))
	b.ResetTimer()
	for range b.N {
		n := 0
		if err := s.Load(ctx, func(cache.Entry) error { n++; return nil }); err != nil || n != 100_000 {
			b.Fatal(n, err)
		}
	}
}
