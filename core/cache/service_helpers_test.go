package cache

import (
	"context"
	"hash/fnv"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// bowEmbedder is a tiny deterministic embedder for tests: a bag of
// lower-cased words hashed into dim buckets, L2-normalized. Prompts sharing
// most words are close; the real embedder lives in providers/embed.
type bowEmbedder struct {
	id    string
	dim   int
	mu    sync.Mutex
	calls int
}

func (b *bowEmbedder) ID() string { return b.id }
func (b *bowEmbedder) Dim() int   { return b.dim }
func (b *bowEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, b.dim)
		for _, w := range strings.Fields(strings.ToLower(t)) {
			h := fnv.New32a()
			h.Write([]byte(strings.Trim(w, "?!.,")))
			v[h.Sum32()%uint32(b.dim)]++
		}
		var n float64
		for _, x := range v {
			n += float64(x * x)
		}
		if n == 0 {
			v[0], n = 1, 1
		}
		for j := range v {
			v[j] /= float32(math.Sqrt(n))
		}
		out[i] = v
	}
	return out, nil
}

// cosJudge scores with the plain cosine and rejects pairs whose digit
// tokens differ, standing in for the real Judge.
type cosJudge struct{}

func (cosJudge) Scale() string { return "cosine" }
func (cosJudge) Judge(q, c Text) Judgement {
	var s float64
	for i := range q.Vector {
		s += float64(q.Vector[i] * c.Vector[i])
	}
	j := Judgement{Score: s, Cosine: s}
	if a, b := digits(q.Prompt), digits(c.Prompt); a != b {
		j.Guard, j.Detail = "number", a+" ≠ "+b
	}
	return j
}

func digits(s string) string {
	var ds []string
	for _, f := range strings.Fields(s) {
		if strings.IndexFunc(f, func(r rune) bool { return r < '0' || r > '9' }) < 0 {
			ds = append(ds, f)
		}
	}
	sort.Strings(ds)
	return strings.Join(ds, ",")
}

// gatedStore is a MemoryStore whose Load waits for gate to close, to test
// lookups while the cache is still loading.
type gatedStore struct {
	*MemoryStore
	gate chan struct{}
}

func (g *gatedStore) Load(ctx context.Context, fn func(Entry) error) error {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.MemoryStore.Load(ctx, fn)
}

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }
func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}
func (f *fakeClock) Add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Threshold = 0.8
	return cfg
}

// newTestCache builds a loaded cache over store (a fresh memStore if nil).
func newTestCache(t testing.TB, cfg Config, store Store, clock *fakeClock) *Cache {
	t.Helper()
	if store == nil {
		store = NewMemoryStore()
	}
	if clock == nil {
		clock = newClock()
	}
	c, err := New(cfg, store, &bowEmbedder{id: "bow-v1", dim: 64}, cosJudge{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func scope(model string) Scope { return Scope{Model: model} }

func put(t testing.TB, c *Cache, prompt string, s Scope) int64 {
	t.Helper()
	id, err := c.Put(context.Background(), Request{Prompt: prompt, Scope: s}, "answer: "+prompt, Meta{Cost: 1000})
	if err != nil {
		t.Fatalf("put %q: %v", prompt, err)
	}
	return id
}

func lookup(t testing.TB, c *Cache, prompt string, s Scope) Result {
	t.Helper()
	r, err := c.Lookup(context.Background(), Request{Prompt: prompt, Scope: s})
	if err != nil {
		t.Fatalf("lookup %q: %v", prompt, err)
	}
	return r
}
