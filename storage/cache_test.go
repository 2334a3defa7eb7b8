package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
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

func TestCacheStoreInsertMany(t *testing.T) {
	ctx := context.Background()
	db, _ := openCacheDB(t)
	s := NewCacheStore(db)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	gpt, mini := cache.Scope{Model: "gpt-4o"}, cache.Scope{Model: "gpt-4o-mini", Tenant: "t"}
	old, _, err := s.Insert(ctx, cache.Entry{Key: "k0", Scope: gpt, Prompt: "old", CreatedAt: now}, "old answer")
	if err != nil {
		t.Fatal(err)
	}
	var entries []cache.Entry
	var responses []string
	for i := range 5 {
		sc := gpt
		if i%2 == 1 {
			sc = mini
		}
		entries = append(entries, cache.Entry{
			Key: fmt.Sprint("k", i), Scope: sc, Prompt: fmt.Sprint("prompt ", i), Embedder: "emb", Dim: 2,
			Vector: []float32{0.6, 0.8}, CreatedAt: now.Add(time.Duration(i) * time.Second), Hits: int64(i),
			Pinned: i == 4, Meta: cache.Meta{Model: sc.Model, PromptTokens: i, Cost: 7},
		})
		responses = append(responses, fmt.Sprint("answer ", i))
	}
	ids, err := s.InsertMany(ctx, entries, responses)
	if err != nil || len(ids) != 5 {
		t.Fatalf("insert many: %v %v", ids, err)
	}
	// k0 existed: it is replaced, as Insert would.
	if _, err := s.Response(ctx, old); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("replaced entry still there: %v", err)
	}
	for i, id := range ids {
		got, resp, ok, err := s.Get(ctx, entries[i].Key)
		if err != nil || !ok || got.ID != id || resp != responses[i] || got.Prompt != entries[i].Prompt ||
			got.Scope != entries[i].Scope || got.Hits != int64(i) || got.Pinned != (i == 4) ||
			!got.LastUsed.Equal(entries[i].CreatedAt) || got.Meta != entries[i].Meta || len(got.Vector) != 2 {
			t.Fatalf("entry %d: %+v %q %v %v", i, got, resp, ok, err)
		}
	}
	var scopes int
	_ = db.SQL().QueryRow(`SELECT COUNT(*) FROM cache_scopes`).Scan(&scopes)
	if scopes != 2 {
		t.Fatalf("%d scope rows, want 2", scopes)
	}

	// All or nothing: a bad entry anywhere stores none of the batch.
	bad := []cache.Entry{{Key: "new1", Scope: gpt, Prompt: "p", CreatedAt: now}, {Key: "new2", Dim: 3, Vector: []float32{1}}}
	if _, err := s.InsertMany(ctx, bad, []string{"a", "b"}); err == nil {
		t.Fatal("dim mismatch accepted")
	}
	if _, err := s.InsertMany(ctx, bad[:1], nil); err == nil {
		t.Fatal("missing responses accepted")
	}
	if _, _, ok, _ := s.Get(ctx, "new1"); ok {
		t.Fatal("a refused batch was partly stored")
	}
	// A failure inside the transaction (a closed context) rolls back.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.InsertMany(cctx, bad[:1], []string{"a"}); err == nil {
		t.Fatal("cancelled insert succeeded")
	}
	if _, _, ok, _ := s.Get(ctx, "new1"); ok {
		t.Fatal("a cancelled batch was stored")
	}
}
