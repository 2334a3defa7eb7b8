package storagetest_test

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/history"
	"github.com/pennyllm/penny/storage"
	"github.com/pennyllm/penny/storage/storagetest"
)

func openDB(t *testing.T) *storage.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "penny.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestRandomEmbedderIsDeterministicUnitLength(t *testing.T) {
	e := storagetest.RandomEmbedder{EmbedderID: "x", Dimension: 64}
	v, err := e.Embed(context.Background(), []string{"a", "b", "a"})
	if err != nil {
		t.Fatal(err)
	}
	var n, ab float64
	for i := range v[0] {
		n += float64(v[0][i] * v[0][i])
		ab += float64(v[0][i] * v[1][i])
		if v[0][i] != v[2][i] {
			t.Fatal("same text, different vectors")
		}
	}
	if math.Abs(n-1) > 1e-5 || len(v[0]) != 64 {
		t.Fatalf("norm² %v, dim %d", n, len(v[0]))
	}
	if math.Abs(ab) > 0.6 { // 64-d random directions are nearly orthogonal
		t.Fatalf("cos(a, b) = %v", ab)
	}
}

// TestSeedCacheLoadsAsCurrent seeds entries with real-looking prompts and
// checks that a cache on an embedder with the same ID and Dim indexes all
// of them (none stale) and finds a seeded prompt semantically.
func TestSeedCacheLoadsAsCurrent(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	emb := storagetest.RandomEmbedder{EmbedderID: "test-random-v1", Dimension: 32}
	sc := cache.Scope{Model: "gpt-4o-mini"}
	now := time.Now().UTC()
	prompts := []string{"how do I rotate an API key", "what is a goroutine", "summarize this article"}
	ids := storagetest.SeedCache(t, db, storagetest.CacheSeed{N: 700, Scope: sc, Embedder: emb, Prompts: prompts, Now: now})
	if len(ids) != 700 {
		t.Fatalf("%d ids", len(ids))
	}
	cfg := cache.DefaultConfig()
	cfg.Threshold = 0.99
	c, err := cache.New(cfg, storage.NewCacheStore(db), emb, storagetest.CosineJudge{}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Entries != 700 || st.Stale != 0 || st.Scopes != 1 || st.Expired != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Prompts cycle with a variant suffix, so keys stay distinct.
	e, _, ok, err := storage.NewCacheStore(db).Get(ctx, cache.ExactKey(cache.Request{Prompt: prompts[1] + " (variant 2)", Scope: sc}))
	if err != nil || !ok || e.ID != ids[7] {
		t.Fatalf("variant entry: %+v %v %v", e, ok, err)
	}
	r, err := c.Lookup(ctx, cache.Request{Prompt: prompts[0], Scope: sc})
	if err != nil || r.Outcome != cache.ExactHit || r.EntryID != ids[0] {
		t.Fatalf("lookup: %+v %v", r, err)
	}
}

func TestSeedHistoryLabels(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	ids := storagetest.SeedHistory(t, db, storagetest.HistorySeed{N: 40, LabelEvery: 10, Prompts: []string{"p1", "p2"}})
	if len(ids) != 40 {
		t.Fatalf("%d ids", len(ids))
	}
	if n, err := db.CountHistory(ctx); err != nil || n != 40 {
		t.Fatalf("count %d %v", n, err)
	}
	labelled, err := db.ListHistory(ctx, history.Query{Labelled: true})
	if err != nil || len(labelled) != 4 {
		t.Fatalf("%d labelled, %v", len(labelled), err)
	}
	weak, strong := 0, 0
	for _, e := range labelled {
		switch e.Label {
		case history.WeakOK:
			weak++
		case history.StrongNeeded:
			strong++
		}
		if e.ActualNanos == nil || !strings.Contains(e.PlanJSON, `"route"`) {
			t.Fatalf("row %+v", e)
		}
	}
	if weak != 2 || strong != 2 {
		t.Fatalf("%d weak, %d strong", weak, strong)
	}
	all, _ := db.ListHistory(ctx, history.Query{Limit: 40})
	if !all[0].Time.After(all[39].Time) || all[39].Prompt != "p1" || all[38].Prompt != "p2" || all[37].Prompt != "p1 (variant 1)" {
		t.Fatalf("order/prompts: %v %v %q %q", all[0].Time, all[39].Time, all[39].Prompt, all[37].Prompt)
	}
}

// TestSeedCacheStoresExactlyN: repeated prompts and prompts that differ
// only in what the exact key normalizes still give N entries.
func TestSeedCacheStoresExactlyN(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	prompts := []string{"What is Go?", "what is go?", "What is Go?", "  What is Go?  "}
	ids := storagetest.SeedCache(t, db, storagetest.CacheSeed{N: 9, Embedder: storagetest.RandomEmbedder{EmbedderID: "r", Dimension: 8}, Prompts: prompts})
	n := 0
	if err := storage.NewCacheStore(db).Load(ctx, func(cache.Entry) error { n++; return nil }); err != nil || n != 9 || len(ids) != 9 {
		t.Fatalf("%d stored, %d ids, %v", n, len(ids), err)
	}
}
