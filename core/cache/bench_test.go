package cache

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
)

// seededStore is a memStore holding n entries with clustered random 100-d
// vectors and short prompts, written directly (Insert would be O(n) each).
func seededStore(n int) (*MemoryStore, [][]float32) {
	r := rand.New(rand.NewPCG(7, 8))
	centres := make([][]float32, 200)
	for i := range centres {
		// Unnormalized N(0,1) centres (norm ≈ 10) with noise 0.35 per
		// component (norm ≈ 3.5): topics, as in core/vindex's benchmarks.
		// Unit-norm centres would drown in the noise and give uniform data.
		centres[i] = make([]float32, 100)
		for j := range centres[i] {
			centres[i][j] = float32(r.NormFloat64())
		}
	}
	s := NewMemoryStore()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var vecs [][]float32
	for i := range n + 1000 {
		v := randVec(r, 100, centres[r.IntN(len(centres))], 0.35)
		if i >= n {
			vecs = append(vecs, v) // held-out queries
			continue
		}
		p := fmt.Sprintf("synthetic prompt %d about subject %d", i, r.IntN(1000))
		s.next++
		s.rows[s.next] = Entry{ID: s.next, Key: ExactKey(Request{Prompt: p, Scope: gpt}), Scope: gpt, Prompt: p,
			Embedder: "vec-100", Dim: 100, Vector: v, CreatedAt: base.Add(time.Duration(i)), LastUsed: base.Add(time.Duration(i))}
		s.resp[s.next] = "r"
		s.byKey[s.rows[s.next].Key] = s.next
	}
	return s, vecs
}

func randVec(r *rand.Rand, dim int, centre []float32, noise float64) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		x := r.NormFloat64()
		if centre != nil {
			x = float64(centre[i]) + noise*x
		}
		v[i] = float32(x)
		n += x * x
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}

// queueEmbedder returns preset vectors, so a benchmark can ask with
// held-out vectors without a real embedder.
type queueEmbedder struct{ next []float32 }

func (q *queueEmbedder) ID() string { return "vec-100" }
func (q *queueEmbedder) Dim() int   { return 100 }
func (q *queueEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = q.next
	}
	return out, nil
}

// BenchmarkCacheMemory100k loads 100,000 entries (100-d, short prompts)
// into a cache and reports heap bytes per entry: the entry bookkeeping,
// maps, recency lists and the int8 vectors (HNSW links come on top, see
// core/vindex's indexB/entry).
func BenchmarkCacheMemory100k(b *testing.B) {
	store, _ := seededStore(100_000)
	cfg := testConfig()
	cfg.MaxEntries = 200_000
	cfg.IndexSwitchOver = 1 << 30 // scan only: measure the entries, not the graph
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c, err := New(cfg, store, &queueEmbedder{}, cosJudge{}, newClock().Now)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Load(context.Background()); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/100_000, "heapB/entry")
		runtime.KeepAlive(c)
		c.Close()
	}
}

// BenchmarkCacheLookup100k measures a full semantic Lookup (index search,
// judging 8 candidates with the test judge, explanation) at 100,000 entries
// in one scope once the HNSW graph is built. Building the graph takes tens
// of seconds; run it by name with -benchtime=1x.
func BenchmarkCacheLookup100k(b *testing.B) {
	store, qs := seededStore(100_000)
	cfg := testConfig()
	cfg.MaxEntries = 200_000
	emb := &queueEmbedder{}
	c, err := New(cfg, store, emb, cosJudge{}, newClock().Now)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for c.Stats().Index != "hnsw (1 scopes), scan (0 scopes)" {
		time.Sleep(50 * time.Millisecond)
	}
	b.Logf("graph built in %s after load", time.Since(start))
	for range b.N {
		lat := make([]time.Duration, len(qs))
		for i, q := range qs {
			emb.next = q
			t0 := time.Now()
			r, err := c.Lookup(context.Background(), Request{Prompt: "held-out query", Scope: gpt})
			lat[i] = time.Since(t0)
			if err != nil || r.Index != "hnsw" {
				b.Fatal(err, r.Index)
			}
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}
