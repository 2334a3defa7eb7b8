// Package storagetest fills a penny database with realistic volumes of
// cache entries and history rows for tests and benchmarks, the way
// net/http/httptest serves HTTP for tests. It writes through storage's own
// APIs (CacheStore.InsertMany, DB.AddHistory), so the rows are exactly
// what the program would have written.
package storagetest

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/embed"
	"github.com/pennyllm/penny/core/history"
	"github.com/pennyllm/penny/storage"
)

// RandomEmbedder is an embedder whose vectors are pseudo-random unit
// vectors derived from the text (the same text always gets the same
// vector). It stands in for a real embedder when only the volume of
// vectors matters: seed entries with RandomEmbedder{ID: real.ID(), Dim:
// real.Dim()} and a cache built on the real embedder indexes them as
// current. Random vectors have no cluster structure, which is the hard case
// for a nearest-neighbour graph.
type RandomEmbedder struct {
	EmbedderID string
	Dimension  int
}

var _ embed.Embedder = RandomEmbedder{}

// ID implements embed.Embedder.
func (r RandomEmbedder) ID() string { return r.EmbedderID }

// Dim implements embed.Embedder.
func (r RandomEmbedder) Dim() int { return r.Dimension }

// Embed implements embed.Embedder.
func (r RandomEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		h := fnv.New64a()
		h.Write([]byte(t))
		rng := rand.New(rand.NewPCG(h.Sum64(), uint64(r.Dimension)))
		v := make([]float32, r.Dimension)
		var n float64
		for j := range v {
			x := rng.NormFloat64()
			v[j] = float32(x)
			n += x * x
		}
		if n == 0 { // not reachable with a normal distribution, but a zero vector is invalid
			v[0], n = 1, 1
		}
		inv := float32(1 / math.Sqrt(n))
		for j := range v {
			v[j] *= inv
		}
		out[i] = v
	}
	return out, nil
}

// CacheSeed describes the entries SeedCache writes.
type CacheSeed struct {
	// N is how many entries to write.
	N int
	// Scope is the scope of every entry. Its Model is also recorded as the
	// answering model.
	Scope cache.Scope
	// Embedder embeds the prompts; its ID and Dim are stored with each
	// vector. Use the embedder of the cache that will load the entries, or
	// a RandomEmbedder with its ID and Dim.
	Embedder embed.Embedder
	// Prompts are cycled through; after the first pass each prompt gets a
	// " (variant k)" suffix, and a prompt whose exact-match key was already
	// used (a repeat, or one differing only in what the key normalizes)
	// gets " (entry i)", so exactly N entries are stored. Empty means
	// synthetic prompts ("synthetic prompt number i about subject s").
	Prompts []string
	// Now is when the newest entry was created; entries are spread Every
	// apart before it (with a TTL of a day and Every = 1s, the most recent
	// 86,400 are fresh). Zero means 2026-01-01 UTC.
	Now time.Time
	// Every is the time between consecutive entries; 0 means one second.
	Every time.Duration
	// Seed makes the synthetic parts (subjects, hits) reproducible.
	Seed uint64
}

// embedBatch is how many prompts SeedCache embeds per Embed call.
const embedBatch = 512

// SeedCache writes s.N entries into db's cache store in one transaction and
// returns their ids. Responses are short synthetic answers; hits vary so
// sorting by hits is meaningful.
func SeedCache(tb testing.TB, db *storage.DB, s CacheSeed) []int64 {
	tb.Helper()
	ids, err := seedCache(context.Background(), db, s)
	if err != nil {
		tb.Fatalf("storagetest: seed cache: %v", err)
	}
	return ids
}

func seedCache(ctx context.Context, db *storage.DB, s CacheSeed) ([]int64, error) {
	if s.Embedder == nil {
		return nil, fmt.Errorf("no embedder")
	}
	if s.N < 0 {
		return nil, fmt.Errorf("negative entry count %d", s.N)
	}
	now := s.Now
	if now.IsZero() {
		now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	every := s.Every
	if every <= 0 {
		every = time.Second
	}
	rng := rand.New(rand.NewPCG(s.Seed, 0x5eed))
	keys := make(map[string]bool, s.N)
	entries := make([]cache.Entry, s.N)
	responses := make([]string, s.N)
	for start := 0; start < s.N; start += embedBatch {
		end := min(start+embedBatch, s.N)
		prompts := make([]string, end-start)
		for i := range prompts {
			p := seedPrompt(s.Prompts, start+i, rng)
			if keys[cache.ExactKey(cache.Request{Prompt: p, Scope: s.Scope})] {
				p = fmt.Sprintf("%s (entry %d)", p, start+i)
			}
			keys[cache.ExactKey(cache.Request{Prompt: p, Scope: s.Scope})] = true
			prompts[i] = p
		}
		vecs, err := s.Embedder.Embed(ctx, prompts)
		if err != nil {
			return nil, fmt.Errorf("embed prompts %d..%d: %w", start, end-1, err)
		}
		if len(vecs) != len(prompts) {
			return nil, fmt.Errorf("embedder %s returned %d vectors for %d prompts", s.Embedder.ID(), len(vecs), len(prompts))
		}
		for i, p := range prompts {
			n := start + i
			created := now.Add(-time.Duration(s.N-1-n) * every)
			entries[n] = cache.Entry{
				Key: cache.ExactKey(cache.Request{Prompt: p, Scope: s.Scope}), Scope: s.Scope, Prompt: p,
				Embedder: s.Embedder.ID(), Dim: len(vecs[i]), Vector: vecs[i],
				CreatedAt: created, LastUsed: created, Hits: int64(rng.IntN(8)),
				Meta: cache.Meta{Model: s.Scope.Model, PromptTokens: len(p) / 4, CompletionTokens: 120, Cost: 50_000},
			}
			responses[n] = fmt.Sprintf("A response of moderate length for entry %d, as a model would have answered it.", n)
		}
	}
	return storage.NewCacheStore(db).InsertMany(ctx, entries, responses)
}

func seedPrompt(prompts []string, i int, rng *rand.Rand) string {
	if len(prompts) == 0 {
		return fmt.Sprintf("synthetic prompt number %d about subject %d", i, rng.IntN(1000))
	}
	p := prompts[i%len(prompts)]
	if k := i / len(prompts); k > 0 {
		p = fmt.Sprintf("%s (variant %d)", p, k)
	}
	return p
}

// HistorySeed describes the rows SeedHistory writes.
type HistorySeed struct {
	// N is how many rows to write.
	N int
	// Prompts are cycled through; empty means synthetic prompts.
	Prompts []string
	// LabelEvery labels every LabelEvery-th row (alternating "cheap model
	// was enough" and "needed the strong model"); 0 labels none. Labelled
	// rows feed the router's learned signal, which embeds each of them at
	// start-up, so this is a cost knob, not decoration.
	LabelEvery int
	// Now is the newest row's time; rows are a minute apart before it. Zero
	// means 2026-01-01 UTC.
	Now time.Time
	// Baseline and Routed are the models recorded; empty means "gpt-4o" and
	// "gpt-4o-mini".
	Baseline, Routed string
}

// SeedHistory writes s.N history rows through DB.AddHistory, each with a
// plan summary of realistic size and an actual cost, and returns their ids.
func SeedHistory(tb testing.TB, db *storage.DB, s HistorySeed) []int64 {
	tb.Helper()
	ids, err := seedHistory(context.Background(), db, s)
	if err != nil {
		tb.Fatalf("storagetest: seed history: %v", err)
	}
	return ids
}

func seedHistory(ctx context.Context, db *storage.DB, s HistorySeed) ([]int64, error) {
	now := s.Now
	if now.IsZero() {
		now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	baseline, routed := s.Baseline, s.Routed
	if baseline == "" {
		baseline = "gpt-4o"
	}
	if routed == "" {
		routed = "gpt-4o-mini"
	}
	rng := rand.New(rand.NewPCG(uint64(s.N), 0x415))
	outcomes := []string{string(cache.Miss), string(cache.Miss), string(cache.Miss), string(cache.ExactHit), string(cache.SemanticHit)}
	ids := make([]int64, 0, s.N)
	for i := range s.N {
		prompt := seedPrompt(s.Prompts, i, rng)
		projected := int64(200_000 + rng.IntN(2_000_000))
		actual := projected * int64(80+rng.IntN(40)) / 100
		outcome := outcomes[i%len(outcomes)]
		summary, err := json.Marshal(map[string]any{
			"route":     map[string]any{"model": routed, "tier": "weak", "score": rng.Float64()},
			"cache":     outcome,
			"cost":      map[string]any{"baseline_model": baseline, "baseline_nanos": projected * 3, "optimized_nanos": projected},
			"ledger_id": i + 1,
		})
		if err != nil {
			return ids, err
		}
		var label history.Label
		if s.LabelEvery > 0 && i%s.LabelEvery == 0 {
			label = history.WeakOK
			if (i/s.LabelEvery)%2 == 1 {
				label = history.StrongNeeded
			}
		}
		id, err := db.AddHistory(ctx, history.Entry{
			Time: now.Add(-time.Duration(s.N-1-i) * time.Minute), User: "bench", Prompt: prompt,
			Model: baseline, Routed: routed, Cache: outcome, PlanJSON: string(summary),
			ProjectedNanos: projected, ActualNanos: &actual, Label: label,
		})
		if err != nil {
			return ids, fmt.Errorf("row %d: %w", i, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// CosineJudge scores a pair by the cosine of its vectors alone and runs no
// guards: enough to exercise the cache over a real store.
type CosineJudge struct{}

// Scale implements cache.Judge.
func (CosineJudge) Scale() string { return "cosine" }

// Judge implements cache.Judge.
func (CosineJudge) Judge(q, c cache.Text) cache.Judgement {
	var s float64
	for i := range q.Vector {
		s += float64(q.Vector[i] * c.Vector[i])
	}
	return cache.Judgement{Score: s, Cosine: s}
}
