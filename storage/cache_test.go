package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/vindex"
)

func openCacheDB(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "penny.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestCacheStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, _ := openCacheDB(t)
	s := NewCacheStore(db)
	now := time.Date(2026, 3, 4, 5, 6, 7, 891, time.UTC)
	sc := cache.Scope{Model: "gpt-4o", System: "be brief", MaxTokens: 200, Tools: "[]", Format: "json_object", Tenant: "ann"}
	e := cache.Entry{
		Key: "k1", Scope: sc, Prompt: "hello", Embedder: "emb", Dim: 3, Vector: []float32{0.6, 0, 0.8},
		CreatedAt: now, LastUsed: now, Meta: cache.Meta{Model: "gpt-4o", PromptTokens: 5, CompletionTokens: 7, Cost: 1234},
	}
	id, replaced, err := s.Insert(ctx, e, "world")
	if err != nil || replaced != 0 || id == 0 {
		t.Fatalf("insert: %d %d %v", id, replaced, err)
	}
	got, resp, ok, err := s.Get(ctx, "k1")
	if err != nil || !ok || resp != "world" {
		t.Fatalf("get: %v %v %q", ok, err, resp)
	}
	e.ID = id
	// Vectors are stored int8-quantized: equal within half a step.
	for i := range e.Vector {
		if math.Abs(float64(got.Vector[i]-e.Vector[i])) > 0.005 {
			t.Fatalf("vector %v, want ≈ %v", got.Vector, e.Vector)
		}
	}
	got.Vector = e.Vector
	if fmt.Sprint(got) != fmt.Sprint(e) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, e)
	}
	if _, _, ok, _ := s.Get(ctx, "nope"); ok {
		t.Fatal("found absent key")
	}

	// Same key replaces; same scope is stored once.
	e.Prompt = "hello again"
	id2, replaced, err := s.Insert(ctx, e, "world 2")
	if err != nil || replaced != id || id2 == id {
		t.Fatalf("replace: %d %d %v", id2, replaced, err)
	}
	var scopes int
	_ = db.SQL().QueryRow(`SELECT COUNT(*) FROM cache_scopes`).Scan(&scopes)
	if scopes != 1 {
		t.Fatalf("%d scope rows", scopes)
	}

	if err := s.Touch(ctx, id2, now.Add(time.Hour), 3); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPinned(ctx, id2, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetVector(ctx, id2, "emb2", []float32{1, 0}); err != nil {
		t.Fatal(err)
	}
	var all []cache.Entry
	if err := s.Load(ctx, func(e cache.Entry) error { all = append(all, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Hits != 3 || !all[0].Pinned || !all[0].LastUsed.Equal(now.Add(time.Hour)) ||
		all[0].Embedder != "emb2" || all[0].Dim != 2 || len(all[0].Codes) != 2 || all[0].Vector != nil ||
		vindex.Dequantize(all[0].Codes, all[0].Scale)[0] != 1 {
		t.Fatalf("after updates: %+v", all)
	}
	if err := s.Touch(ctx, 999, now, 1); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("touch absent: %v", err)
	}
	if _, err := s.Response(ctx, 999); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("response absent: %v", err)
	}
	if err := s.Delete(ctx, id2, 12345); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := s.Get(ctx, "k1"); ok {
		t.Fatal("deleted entry found")
	}
	if _, _, err := s.Insert(ctx, cache.Entry{Key: "bad", Dim: 3, Vector: []float32{1}}, ""); err == nil {
		t.Fatal("dim mismatch accepted")
	}
}

func TestCacheStoreDeleteMany(t *testing.T) {
	ctx := context.Background()
	db, _ := openCacheDB(t)
	s := NewCacheStore(db)
	var ids []int64
	for i := range 1200 {
		id, _, err := s.Insert(ctx, cache.Entry{Key: fmt.Sprint(i), Scope: cache.Scope{Model: "m"}, Prompt: "p", CreatedAt: time.Unix(int64(i), 0)}, "r")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := s.Delete(ctx, ids[:1100]...); err != nil { // more than one parameter batch
		t.Fatal(err)
	}
	n := 0
	_ = s.Load(ctx, func(cache.Entry) error { n++; return nil })
	if n != 100 {
		t.Fatalf("%d left", n)
	}
	if err := s.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	n = 0
	_ = s.Load(ctx, func(cache.Entry) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d left after DeleteAll", n)
	}
}

// cacheWordEmbedder hashes words into buckets: enough to make paraphrases close.
type cacheWordEmbedder struct{ dim int }

func (w cacheWordEmbedder) ID() string { return "test-words-v1" }
func (w cacheWordEmbedder) Dim() int   { return w.dim }
func (w cacheWordEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, w.dim)
		for _, f := range strings.Fields(strings.ToLower(t)) {
			h := uint32(2166136261)
			for _, c := range []byte(f) {
				h = (h ^ uint32(c)) * 16777619
			}
			v[h%uint32(w.dim)]++
		}
		normalizeVec(v)
		out[i] = v
	}
	return out, nil
}

func normalizeVec(v []float32) {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		v[0], n = 1, 1
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
}

type cacheCosineJudge struct{}

func (cacheCosineJudge) Scale() string { return "cosine" }
func (cacheCosineJudge) Judge(q, c cache.Text) cache.Judgement {
	var s float64
	for i := range q.Vector {
		s += float64(q.Vector[i] * c.Vector[i])
	}
	return cache.Judgement{Score: s, Cosine: s}
}

// TestCachePersistsAcrossRestart runs the real cache over SQLite, closes
// the database, reopens it and checks entries, hits and pins survive.
func TestCachePersistsAcrossRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "penny.db")
	clock := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	now := func() time.Time { return clock }
	cfg := cache.DefaultConfig()
	cfg.Threshold = 0.8
	gpt := cache.Scope{Model: "gpt-4o"}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(cfg, NewCacheStore(db), cacheWordEmbedder{64}, cacheCosineJudge{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Load(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := c.Put(ctx, cache.Request{Prompt: "how do I rotate an API key", Scope: gpt}, "Go to settings.", cache.Meta{Cost: 500})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Put(ctx, cache.Request{Prompt: "what is a goroutine", Scope: gpt}, "A lightweight thread.", cache.Meta{})
	if _, err := c.Serve(ctx, cache.Request{Prompt: "how do I rotate an API key", Scope: gpt}); err != nil {
		t.Fatal(err)
	}
	if err := c.Pin(ctx, b, true); err != nil {
		t.Fatal(err)
	}
	c.Close()
	db.Close()

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clock = clock.Add(time.Hour)
	c, err = cache.New(cfg, NewCacheStore(db), cacheWordEmbedder{64}, cacheCosineJudge{}, now)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Start(ctx)
	// Exact works at once (from the store while loading, or from memory).
	r, err := c.Lookup(ctx, cache.Request{Prompt: "how do I rotate an API key", Scope: gpt})
	if err != nil || r.Outcome != cache.ExactHit || r.Response != "Go to settings." || r.EntryID != a {
		t.Fatalf("exact after restart: %+v %v", r, err)
	}
	if err := c.WaitLoaded(ctx); err != nil {
		t.Fatal(err)
	}
	r, _ = c.Lookup(ctx, cache.Request{Prompt: "how do I rotate an API key please", Scope: gpt})
	if r.Outcome != cache.SemanticHit || r.EntryID != a {
		t.Fatalf("semantic after restart: %+v", r)
	}
	es, _ := c.Entries(cache.SortHits, 0)
	if len(es) != 2 || es[0].ID != a || es[0].Hits != 1 || !es[1].Pinned || es[0].TTLLeft != 23*time.Hour {
		t.Fatalf("entries after restart: %+v", es)
	}
}

// seedCacheEntries writes n entries with random 100-d vectors in one
// transaction (the public Insert commits per entry, too slow to seed 100k).
func seedCacheEntries(tb testing.TB, db *DB, n, dim int) {
	tb.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	err := db.tx(ctx, func(tx *sql.Tx) error {
		scopeID, err := upsertScope(ctx, tx, cache.Scope{Model: "gpt-4o-mini"})
		if err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO cache_entries
			(key, scope_id, prompt, response, embedder, dim, vector, created_at, last_used, hits)
			VALUES (?, ?, ?, ?, 'test-words-v1', ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
		for i := range n {
			v := make([]float32, dim)
			for j := range v {
				v[j] = float32(r.NormFloat64())
			}
			normalizeVec(v)
			p := fmt.Sprintf("synthetic prompt number %d about subject %d", i, r.IntN(1000))
			if _, err := st.ExecContext(ctx, cache.ExactKey(cache.Request{Prompt: p}), scopeID, p,
				"a response of moderate length for entry "+fmt.Sprint(i), dim, encodeVector(v),
				base+int64(i), base+int64(i), i%7); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkCacheLoad100k measures start-up: reading 100,000 entries
// (100-d vectors) from a temp-dir SQLite file into a cache until semantic
// lookups work (exact scan; the HNSW graph then builds in the background).
func BenchmarkCacheLoad100k(b *testing.B) {
	ctx := context.Background()
	db, _ := openCacheDB(b)
	seedCacheEntries(b, db, 100_000, 100)
	cfg := cache.DefaultConfig()
	cfg.MaxEntries = 200_000
	b.ResetTimer()
	var cpu time.Duration
	for range b.N {
		cpu0 := processCPU()
		c, err := cache.New(cfg, NewCacheStore(db), cacheWordEmbedder{100}, cacheCosineJudge{}, time.Now)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Load(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += processCPU() - cpu0
		if st := c.Stats(); st.Entries != 100_000 {
			b.Fatalf("loaded %d", st.Entries)
		}
		c.Close() // stops the background graph build
		b.StartTimer()
	}
	// CPU time is reported next to wall time because the benchmark machine
	// is shared: wall time includes waiting for a core.
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// processCPU is the user+system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCacheStoreScan100k is the SQLite share of start-up: reading
// 100,000 entries without indexing them.
func BenchmarkCacheStoreScan100k(b *testing.B) {
	ctx := context.Background()
	db, _ := openCacheDB(b)
	seedCacheEntries(b, db, 100_000, 100)
	s := NewCacheStore(db)
	b.ResetTimer()
	for range b.N {
		n := 0
		if err := s.Load(ctx, func(cache.Entry) error { n++; return nil }); err != nil || n != 100_000 {
			b.Fatal(n, err)
		}
	}
}
