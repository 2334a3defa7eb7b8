package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

var gpt = scope("gpt-4o")

func TestExactHitAndNormalization(t *testing.T) {
	c := newTestCache(t, testConfig(), nil, nil)
	id := put(t, c, "What is the capital of France?", gpt)
	r := lookup(t, c, "  What is the   capital of France?\r\n", gpt)
	if r.Outcome != ExactHit || r.EntryID != id || r.Response != "answer: What is the capital of France?" {
		t.Fatalf("want exact hit on %d, got %+v", id, r)
	}
	if r.TTLLeft != 24*time.Hour {
		t.Fatalf("ttl left %s", r.TTLLeft)
	}
	// Case is kept in the exact key: this is at best a semantic hit.
	r = lookup(t, c, "what is the capital of france?", gpt)
	if r.Outcome != SemanticHit || r.EntryID != id {
		t.Fatalf("case-folded prompt: want semantic hit, got %s %s %s", r.Outcome, r.Reason, r.Detail)
	}
}

func TestBelowThresholdExplains(t *testing.T) {
	c := newTestCache(t, testConfig(), nil, nil)
	put(t, c, "how do I reverse a linked list in go", gpt)
	r := lookup(t, c, "how do I sort a slice of structs in go by name", gpt)
	if r.Outcome != Miss || r.Reason != ReasonBelowThreshold {
		t.Fatalf("want below_threshold miss, got %s %s", r.Outcome, r.Reason)
	}
	if r.Similarity <= 0 || r.Similarity >= 0.8 || r.Threshold != 0.8 || r.Scale != "cosine" {
		t.Fatalf("similarity %.3f threshold %.3f scale %q", r.Similarity, r.Threshold, r.Scale)
	}
	if !strings.Contains(r.Detail, "below the threshold 0.800 by") {
		t.Fatalf("detail %q lacks the gap", r.Detail)
	}
	if len(r.Neighbors) != 1 || r.Neighbors[0].Reason != ReasonBelowThreshold || !strings.Contains(r.Neighbors[0].Detail, "gap") {
		t.Fatalf("neighbors %+v", r.Neighbors)
	}
}

func TestGuardRejected(t *testing.T) {
	c := newTestCache(t, testConfig(), nil, nil)
	put(t, c, "refund policy for orders older than 30 days", gpt)
	r := lookup(t, c, "refund policy for orders older than 3 days", gpt)
	if r.Outcome != Miss || r.Reason != ReasonGuardRejected || !strings.Contains(r.Detail, "guard number: 3 ≠ 30") {
		t.Fatalf("want guard_rejected naming the numbers, got %s %s %q", r.Outcome, r.Reason, r.Detail)
	}
}

func TestLRUEvictsLeastRecentlyHitNotOldest(t *testing.T) {
	cfg := testConfig()
	cfg.MaxEntries = 3
	clk := newClock()
	c := newTestCache(t, cfg, nil, clk)
	a := put(t, c, "alpha question one", gpt)
	clk.Add(time.Minute)
	b := put(t, c, "bravo question two", gpt)
	clk.Add(time.Minute)
	cc := put(t, c, "charlie question three", gpt)
	clk.Add(time.Minute)
	// The oldest insert (a) is the most recently hit.
	if r, err := c.Serve(context.Background(), Request{Prompt: "alpha question one", Scope: gpt}); err != nil || r.EntryID != a {
		t.Fatalf("serve a: %+v %v", r, err)
	}
	clk.Add(time.Minute)
	put(t, c, "delta question four", gpt)
	ids := map[int64]bool{}
	es, _ := c.Entries(SortHits, 0)
	for _, e := range es {
		ids[e.ID] = true
	}
	if !ids[a] || ids[b] || !ids[cc] || len(es) != 3 {
		t.Fatalf("after eviction have %v; want a and c kept, b (least recently used) evicted", ids)
	}
	if es[0].ID != a || es[0].Hits != 1 || es[0].Saved != 1000 {
		t.Fatalf("hits sort: %+v", es[0])
	}
}

func TestLookupDoesNotMutate(t *testing.T) {
	cfg := testConfig()
	cfg.MaxEntries = 2
	clk := newClock()
	c := newTestCache(t, cfg, nil, clk)
	a := put(t, c, "alpha question one", gpt)
	clk.Add(time.Minute)
	put(t, c, "bravo question two", gpt)
	clk.Add(time.Minute)
	for range 5 {
		if r := lookup(t, c, "alpha question one", gpt); r.Outcome != ExactHit {
			t.Fatal("lookup missed")
		}
	}
	es, _ := c.Entries(SortHits, 0)
	for _, e := range es {
		if e.Hits != 0 {
			t.Fatalf("lookup counted a hit: %+v", e)
		}
	}
	// a was only looked up, never served: it is still the LRU victim.
	put(t, c, "charlie question three", gpt)
	if _, err := c.Response(context.Background(), a); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a should have been evicted, got %v", err)
	}
}

func TestTTLExpiry(t *testing.T) {
	clk := newClock()
	c := newTestCache(t, testConfig(), nil, clk)
	put(t, c, "what is the boiling point of water", gpt)
	clk.Add(23 * time.Hour)
	if r := lookup(t, c, "what is the boiling point of water", gpt); r.Outcome != ExactHit || r.TTLLeft != time.Hour {
		t.Fatalf("before expiry: %+v", r)
	}
	clk.Add(2 * time.Hour)
	r := lookup(t, c, "what is the boiling point of water", gpt)
	if r.Outcome != Miss || r.Reason != ReasonExpired || !strings.Contains(r.Detail, "expired 1h0m0s ago") {
		t.Fatalf("after expiry: %s %s %q", r.Outcome, r.Reason, r.Detail)
	}
	// A near paraphrase sees the expired neighbour with its own reason.
	r = lookup(t, c, "what is the boiling point of water exactly", gpt)
	if r.Reason != ReasonExpired || len(r.Neighbors) == 0 || r.Neighbors[0].Reason != ReasonExpired {
		t.Fatalf("paraphrase after expiry: %s %+v", r.Reason, r.Neighbors)
	}
	// The next write purges it.
	put(t, c, "something else entirely", gpt)
	if st := c.Stats(); st.Entries != 1 || st.Expired != 0 {
		t.Fatalf("stats after purge: %+v", st)
	}
}

func TestPinNeverEvictedNorExpired(t *testing.T) {
	cfg := testConfig()
	cfg.MaxEntries = 2
	clk := newClock()
	c := newTestCache(t, cfg, nil, clk)
	ctx := context.Background()
	p := put(t, c, "pinned question", gpt)
	if err := c.Pin(ctx, p, true); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		clk.Add(time.Minute)
		put(t, c, fmt.Sprintf("filler question %c", 'a'+i), gpt)
	}
	clk.Add(48 * time.Hour)
	r := lookup(t, c, "pinned question", gpt)
	if r.Outcome != ExactHit || r.TTLLeft >= 0 {
		t.Fatalf("pinned entry: %+v", r)
	}
	if st := c.Stats(); st.Pinned != 1 || st.Entries != 2 || st.Expired != 1 {
		t.Fatalf("stats with pin: %+v", st)
	}
	if err := c.Pin(ctx, p, false); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Pinned != 0 || st.Expired != 2 {
		t.Fatalf("stats after unpin: %+v", st)
	}
	if r := lookup(t, c, "pinned question", gpt); r.Reason != ReasonExpired {
		t.Fatalf("unpinned old entry should be expired, got %s", r.Reason)
	}
	if err := c.Pin(ctx, 9999, true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pin unknown: %v", err)
	}
}

func TestScopeMismatchNamesComponent(t *testing.T) {
	c := newTestCache(t, testConfig(), nil, nil)
	put(t, c, "summarize the french revolution", gpt)
	r := lookup(t, c, "summarize the french revolution", scope("gpt-4o-mini"))
	if r.Outcome != Miss || r.Reason != ReasonScopeMismatch || !strings.Contains(r.Detail, "model differs: gpt-4o-mini vs gpt-4o") {
		t.Fatalf("model: %s %q", r.Reason, r.Detail)
	}
	if len(r.Neighbors) != 1 || r.Neighbors[0].Reason != ReasonScopeMismatch {
		t.Fatalf("neighbors %+v", r.Neighbors)
	}
	sys := gpt
	sys.System = "You are a pirate."
	if r := lookup(t, c, "summarize the french revolution", sys); r.Reason != ReasonScopeMismatch || !strings.Contains(r.Detail, "system prompt differs") {
		t.Fatalf("system: %s %q", r.Reason, r.Detail)
	}
	// Another tenant's entries are never shown.
	other := gpt
	other.Tenant = "bob"
	if r := lookup(t, c, "summarize the french revolution", other); r.Reason != ReasonEmpty || len(r.Neighbors) != 0 {
		t.Fatalf("tenant isolation: %s %+v", r.Reason, r.Neighbors)
	}
	if es, _ := c.EntriesOf("bob", SortHits, 0); len(es) != 0 {
		t.Fatalf("bob sees %+v", es)
	}
	put(t, c, "bob's own question", other)
	if es, _ := c.EntriesOf("bob", SortLRU, 0); len(es) != 1 || es[0].Scope.Tenant != "bob" {
		t.Fatalf("bob's entries: %+v", es)
	}
	if es, _ := c.Entries(SortLRU, 0); len(es) != 2 {
		t.Fatalf("all entries: %+v", es)
	}
}

func TestEmptyAndBypass(t *testing.T) {
	c := newTestCache(t, testConfig(), nil, nil)
	if r := lookup(t, c, "hello there", gpt); r.Outcome != Miss || r.Reason != ReasonEmpty {
		t.Fatalf("empty: %+v", r)
	}
	hot := gpt
	hot.Temperature = 0.7
	r := lookup(t, c, "hello there", hot)
	if r.Outcome != Bypass || r.Reason != ReasonIneligible || !strings.Contains(r.Detail, "temperature 0.7") {
		t.Fatalf("temperature: %+v", r)
	}
	if _, err := c.Put(context.Background(), Request{Prompt: "x", Scope: hot}, "y", Meta{}); !errors.Is(err, ErrNotCached) {
		t.Fatalf("put hot: %v", err)
	}
	if r := lookup(t, c, "bad\x00text", gpt); r.Reason != ReasonIneligible {
		t.Fatalf("nul: %+v", r)
	}
	if r := lookup(t, c, strings.Repeat("a", 40<<10), gpt); r.Reason != ReasonIneligible {
		t.Fatalf("long: %+v", r)
	}
	cfg := testConfig()
	cfg.Enabled = false
	d := newTestCache(t, cfg, nil, nil)
	if r := lookup(t, d, "hello", gpt); r.Outcome != Bypass || r.Reason != ReasonDisabled {
		t.Fatalf("disabled: %+v", r)
	}
	cfg = testConfig()
	cfg.AllowNonzeroTemperature = true
	w := newTestCache(t, cfg, nil, nil)
	put(t, w, "hello there", hot)
	if r := lookup(t, w, "hello there", hot); r.Outcome != ExactHit {
		t.Fatalf("allowed temperature: %+v", r)
	}
}

func TestEmbedderChangedAndReembed(t *testing.T) {
	store := NewMemoryStore()
	clk := newClock()
	old, err := New(testConfig(), store, &bowEmbedder{id: "old-v1", dim: 32}, cosJudge{}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	put(t, old, "how do I reset my password", gpt)
	old.Close()

	c := newTestCache(t, testConfig(), store, clk)
	if r := lookup(t, c, "how do I reset my password", gpt); r.Outcome != ExactHit {
		t.Fatalf("exact hits survive an embedder change: %+v", r)
	}
	r := lookup(t, c, "how do I reset my password please", gpt)
	if r.Outcome != Miss || r.Reason != ReasonEmbedderChanged || !strings.Contains(r.Detail, "reembed") {
		t.Fatalf("want embedder_changed, got %s %q", r.Reason, r.Detail)
	}
	if st := c.Stats(); st.Stale != 1 {
		t.Fatalf("stale %d", st.Stale)
	}
	n, err := c.Reembed(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("reembed: %d %v", n, err)
	}
	if r := lookup(t, c, "how do I reset my password please", gpt); r.Outcome != SemanticHit {
		t.Fatalf("after reembed: %s %s", r.Outcome, r.Reason)
	}
	if store.rows[1].Embedder != "bow-v1" || store.rows[1].Dim != 64 {
		t.Fatalf("store not updated: %+v", store.rows[1])
	}
}

func TestLoadingExactWorks(t *testing.T) {
	mem := NewMemoryStore()
	seed := newTestCache(t, testConfig(), mem, nil)
	put(t, seed, "what time zone is tokyo in", gpt)
	store := &gatedStore{MemoryStore: mem, gate: make(chan struct{})}
	c, err := New(testConfig(), store, &bowEmbedder{id: "bow-v1", dim: 64}, cosJudge{}, newClock().Now)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Start(context.Background())
	if c.Ready() {
		t.Fatal("ready before load")
	}
	if r := lookup(t, c, "what time zone is tokyo in", gpt); r.Outcome != ExactHit || r.Index != "loading" || r.Response == "" {
		t.Fatalf("exact during load: %+v", r)
	}
	if r := lookup(t, c, "what time zone is tokyo in today", gpt); r.Outcome != Miss || r.Reason != ReasonLoading {
		t.Fatalf("semantic during load: %+v", r)
	}
	close(store.gate)
	if err := c.WaitLoaded(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := lookup(t, c, "what time zone is tokyo in today", gpt); r.Outcome != SemanticHit {
		t.Fatalf("semantic after load: %+v", r)
	}
}

func TestNotStarted(t *testing.T) {
	c, err := New(testConfig(), NewMemoryStore(), &bowEmbedder{id: "e", dim: 8}, cosJudge{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(context.Background(), Request{Prompt: "x", Scope: gpt}, "y", Meta{}); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("want ErrNotStarted, got %v", err)
	}
}

func TestWhatIf(t *testing.T) {
	c := newTestCache(t, testConfig(), nil, nil)
	put(t, c, "how to bake sourdough bread at home", gpt)
	put(t, c, "how to bake rye bread at home", gpt)
	put(t, c, "best hiking trails in colorado", gpt)
	w, err := c.WhatIf(context.Background(), Request{Prompt: "how to bake sourdough bread", Scope: gpt}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Candidates) != 3 || w.Candidates[0].Prompt != "how to bake sourdough bread at home" {
		t.Fatalf("candidates %+v", w.Candidates)
	}
	if len(w.Hits) != 2 || len(w.At(0.5)) != 2 {
		t.Fatalf("at 0.5 want 2 hits, got %d/%d", len(w.Hits), len(w.At(0.5)))
	}
	top := w.Candidates[0].Similarity
	if got := w.At(top + 0.001); len(got) != 0 {
		t.Fatalf("above the best score nothing hits, got %+v", got)
	}
	if got := w.At(top); len(got) != 1 {
		t.Fatalf("at the best score one hits, got %+v", got)
	}
}

func TestInvalidateAndEvict(t *testing.T) {
	c := newTestCache(t, testConfig(), nil, nil)
	a := put(t, c, "one question", gpt)
	put(t, c, "two question", gpt)
	if err := c.Evict(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if err := c.Evict(context.Background(), a); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second evict: %v", err)
	}
	if r := lookup(t, c, "one question", gpt); r.Outcome == ExactHit {
		t.Fatal("evicted entry served")
	}
	n, err := c.InvalidateAll(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("invalidate: %d %v", n, err)
	}
	if r := lookup(t, c, "two question", gpt); r.Reason != ReasonEmpty {
		t.Fatalf("after invalidate: %+v", r)
	}
}

func TestReplaceSameKey(t *testing.T) {
	c := newTestCache(t, testConfig(), nil, nil)
	a := put(t, c, "same prompt", gpt)
	b, err := c.Put(context.Background(), Request{Prompt: "same  prompt", Scope: gpt}, "newer answer", Meta{})
	if err != nil || b == a {
		t.Fatalf("replace: %d %v", b, err)
	}
	r := lookup(t, c, "same prompt", gpt)
	if r.EntryID != b || r.Response != "newer answer" || c.Stats().Entries != 1 {
		t.Fatalf("after replace: %+v", r)
	}
}

func TestEntriesSorts(t *testing.T) {
	clk := newClock()
	c := newTestCache(t, testConfig(), nil, clk)
	a := put(t, c, "first prompt", gpt)
	clk.Add(time.Minute)
	b := put(t, c, "second prompt", gpt)
	clk.Add(time.Minute)
	if err := c.RecordHit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	check := func(s SortBy, want ...int64) {
		t.Helper()
		es, err := c.Entries(s, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range want {
			if es[i].ID != id {
				t.Fatalf("%s: position %d is %d, want %d", s, i, es[i].ID, id)
			}
		}
	}
	check(SortHits, a, b)
	check(SortAge, a, b)
	check(SortRecent, a, b)
	check(SortLRU, b, a)
	if es, _ := c.Entries(SortAge, 1); len(es) != 1 {
		t.Fatal("limit ignored")
	}
	if _, err := c.Entries("size", 0); err == nil {
		t.Fatal("unknown sort accepted")
	}
}

// TestHNSWSwitchOver fills one scope past the switch-over so lookups run on
// the graph (built in the background), and checks they still find entries.
func TestHNSWSwitchOver(t *testing.T) {
	cfg := testConfig()
	cfg.IndexSwitchOver = 100
	c := newTestCache(t, cfg, nil, nil)
	for i := range 300 {
		put(t, c, fmt.Sprintf("question number %d about topic t%d and subject s%d", i, i, i*7), gpt)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasPrefix(c.Stats().Index, "hnsw (") {
		if time.Now().After(deadline) {
			t.Fatalf("graph not built: %s", c.Stats().Index)
		}
		time.Sleep(5 * time.Millisecond)
	}
	r := lookup(t, c, "question number 123 about topic t123 and subject s861 please", gpt)
	if r.Index != "hnsw" || r.Outcome != SemanticHit || !strings.Contains(r.Neighbors[0].Prompt, "t123 ") {
		t.Fatalf("graph lookup: %s %s %+v", r.Index, r.Outcome, r.Neighbors)
	}
}

// TestConcurrentAccess is meant for -race: lookups, serves, puts, pins and
// evictions from several goroutines.
func TestConcurrentAccess(t *testing.T) {
	cfg := testConfig()
	cfg.MaxEntries = 50
	cfg.IndexSwitchOver = 20
	c := newTestCache(t, cfg, nil, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				p := fmt.Sprintf("prompt %d from worker %d", i%30, g)
				req := Request{Prompt: p, Scope: gpt}
				switch i % 4 {
				case 0:
					if _, err := c.Put(ctx, req, "r", Meta{}); err != nil {
						t.Error(err)
					}
				case 1:
					if _, err := c.Lookup(ctx, req); err != nil {
						t.Error(err)
					}
				case 2:
					if _, err := c.Serve(ctx, req); err != nil {
						t.Error(err)
					}
				case 3:
					es, _ := c.Entries(SortLRU, 1)
					if len(es) > 0 {
						_ = c.Pin(ctx, es[0].ID, i%8 == 3)
						_ = c.Evict(ctx, es[0].ID)
					}
					_ = c.Stats()
					_, _ = c.WhatIf(ctx, req, 0.5)
				}
			}
		}()
	}
	wg.Wait()
	if st := c.Stats(); st.Entries > 50 {
		t.Fatalf("over capacity: %+v", st)
	}
}

func TestCacheLookupForEval(t *testing.T) {
	look := CacheLookup(DefaultConfig(), &bowEmbedder{id: "bow", dim: 64}, cosJudge{})
	ctx := context.Background()
	raw, hit, err := look(ctx, "refund within 30 days", "refund within 3 days")
	if err != nil || hit || raw <= 0 {
		t.Fatalf("guarded pair: raw %.3f hit %v err %v", raw, hit, err)
	}
	raw, hit, err = look(ctx, "how to bake bread", "how to bake bread at home")
	if err != nil || !hit || raw <= 0.5 || raw >= 1 {
		t.Fatalf("paraphrase: raw %.3f hit %v err %v", raw, hit, err)
	}
	raw, hit, _ = look(ctx, "same  text", "same text")
	if !hit || raw != 1 {
		t.Fatalf("exact: raw %.3f hit %v", raw, hit)
	}
	raw, hit, _ = look(ctx, "alpha beta", "gamma delta")
	if !hit || raw > 0.5 {
		t.Fatalf("unrelated pair hits at threshold -1 with a low raw score: raw %.3f hit %v", raw, hit)
	}
}

// ServeHit trusts the plan's judgement while the planned entry is live,
// counting the hit; once it has expired it is Serve again and says why.
func TestServeHitTrustsALivePlan(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := newTestCache(t, testConfig(), nil, clk)
	id := put(t, c, "what is the boiling point of water", gpt)
	req := Request{Prompt: "what is the boiling point of water at sea level", Scope: gpt}
	planned := lookup(t, c, req.Prompt, gpt)
	if planned.Outcome != SemanticHit || planned.EntryID != id {
		t.Fatalf("planned %+v", planned)
	}
	// A different planned score proves the result is the plan's, not a
	// second judgement.
	planned.Similarity = 0.999
	got, err := c.ServeHit(ctx, req, planned)
	if err != nil || got.Similarity != 0.999 || got.EntryID != id {
		t.Fatalf("ServeHit = %+v, %v", got, err)
	}
	if e, _ := c.Entries(SortHits, 1); len(e) != 1 || e[0].Hits != 1 {
		t.Fatalf("hit not counted: %+v", e)
	}
	clk.Add(25 * time.Hour)
	got, err = c.ServeHit(ctx, req, planned)
	if err != nil || got.Outcome != Miss || got.Reason != ReasonExpired {
		t.Fatalf("after expiry: %+v, %v", got, err)
	}
}

// TestLookupOutcomeMatchesLookup: over random prompts in several scopes,
// interleaved with fills, the outcome-only lookup gives Lookup's outcome,
// entry, similarity and (outside the cross-scope explanation) reason, with
// the cosine judge and with the calibrated one, in scan and in HNSW mode.
func TestLookupOutcomeMatchesLookup(t *testing.T) {
	calibrated, err := NewJudge(JudgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		judge      Judge
		thr        float64
		switchOver int
	}{{"cosine-scan", cosJudge{}, 0.8, 10_000}, {"calibrated-scan", calibrated, 0.5, 10_000}, {"calibrated-hnsw", calibrated, 0.5, 40}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Threshold, cfg.IndexSwitchOver, cfg.MaxEntries = tc.thr, tc.switchOver, 300
			c, err := New(cfg, NewMemoryStore(), &bowEmbedder{id: "bow-v1", dim: 64}, tc.judge, newClock().Now)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			if err := c.Load(ctx); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			scopes := []Scope{scope("a"), scope("b"), {Model: "a", System: "be brief"}}
			hits := 0
			gen := supportPrompts{rng: rng}
			for i := 0; i < 1500; i++ {
				prompt := gen.next()
				req := Request{Prompt: prompt, Scope: scopes[rng.IntN(len(scopes))]}
				full, err := c.Lookup(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				fast, err := c.LookupOutcome(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if fast.Outcome != full.Outcome || fast.EntryID != full.EntryID || fast.Similarity != full.Similarity ||
					fast.Response != full.Response || fast.Index != full.Index {
					t.Fatalf("%q: outcome-only %+v, full %+v", req.Prompt, fast, full)
				}
				if full.Reason != ReasonScopeMismatch && fast.Reason != full.Reason {
					t.Fatalf("%q: reason %q, full lookup %q", req.Prompt, fast.Reason, full.Reason)
				}
				if len(fast.Neighbors) != 0 {
					t.Fatalf("%q: outcome-only lookup listed %d neighbours", req.Prompt, len(fast.Neighbors))
				}
				if full.Outcome == Miss {
					if _, err := c.Put(ctx, req, "answer", Meta{}); err != nil {
						t.Fatal(err)
					}
				} else {
					hits++
				}
			}
			if hits < 100 {
				t.Fatalf("only %d hits: the test does not exercise the hit path", hits)
			}
		})
	}
}

// evictingStore removes an entry from the cache just as a lookup reads its
// response, the moment a concurrent eviction or replacement can strike.
type evictingStore struct {
	Store
	c      *Cache
	evicts int // how many reads still evict
}

func (s *evictingStore) Response(ctx context.Context, id int64) (string, error) {
	if s.evicts > 0 {
		s.evicts--
		if err := s.c.Evict(ctx, id); err != nil {
			return "", err
		}
	}
	return s.Store.Response(ctx, id)
}

// TestLookupAfterConcurrentEviction: an entry removed between a lookup's
// choice and its response read makes the lookup answer from what the cache
// holds now, not fail with "not found".
func TestLookupAfterConcurrentEviction(t *testing.T) {
	store := &evictingStore{Store: NewMemoryStore()}
	c := newTestCache(t, testConfig(), store, nil)
	store.c = c
	a := put(t, c, "how do I reset my router password", gpt)
	b := put(t, c, "how do I reset my router password please", gpt)

	store.evicts = 1 // the exact hit on a goes; the same prompt finds b
	r := lookup(t, c, "how do I reset my router password", gpt)
	if r.Outcome != SemanticHit || r.EntryID != b || r.Response != "answer: how do I reset my router password please" {
		t.Fatalf("after evicting the exact hit %d: %s %d %q", a, r.Outcome, r.EntryID, r.Response)
	}
	store.evicts = 1 // b goes too: nothing is left to serve
	r = lookup(t, c, "how do I reset my router password", gpt)
	if r.Outcome != Miss || r.EntryID != 0 {
		t.Fatalf("after evicting both: %s %d", r.Outcome, r.EntryID)
	}

	// An entry evicted on every attempt ends in the error, not a loop.
	// The variants differ only in punctuation, which the test embedder
	// drops: each is a perfect semantic match for the next attempt.
	for i := range lookupAttempts + 1 {
		put(t, c, "how do I reset my router password"+strings.Repeat("?", i), gpt)
	}
	store.evicts = lookupAttempts
	if _, err := c.Lookup(context.Background(), Request{Prompt: "how do I reset my router password", Scope: gpt}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("evicted on every attempt: %v", err)
	}
	if st := c.Stats(); st.Entries != 1 {
		t.Fatalf("%d lookups evicted %d entries, want %d", lookupAttempts, lookupAttempts+1-st.Entries, lookupAttempts)
	}
}
