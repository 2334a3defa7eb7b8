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

// memStore is an in-memory Store for core tests; storage/cache_test.go
// tests the SQLite one against the same expectations.
type memStore struct {
	mu       sync.Mutex
	next     int64
	rows     map[int64]Entry
	resp     map[int64]string
	loadGate chan struct{} // when set, Load waits for it to close
}

func newMemStore() *memStore {
	return &memStore{rows: map[int64]Entry{}, resp: map[int64]string{}}
}

func (m *memStore) Load(ctx context.Context, fn func(Entry) error) error {
	if m.loadGate != nil {
		select {
		case <-m.loadGate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	rows := make([]Entry, 0, len(m.rows))
	for _, e := range m.rows {
		rows = append(rows, e)
	}
	m.mu.Unlock()
	for _, e := range rows {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) Get(_ context.Context, key string) (Entry, string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, e := range m.rows {
		if e.Key == key {
			return e, m.resp[id], true, nil
		}
	}
	return Entry{}, "", false, nil
}

func (m *memStore) Response(_ context.Context, id int64) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.resp[id]
	if !ok {
		return "", ErrNotFound
	}
	return r, nil
}

func (m *memStore) Insert(_ context.Context, e Entry, response string) (int64, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var replaced int64
	for id, old := range m.rows {
		if old.Key == e.Key {
			replaced = id
			delete(m.rows, id)
			delete(m.resp, id)
		}
	}
	m.next++
	e.ID = m.next
	m.rows[e.ID] = e
	m.resp[e.ID] = response
	return e.ID, replaced, nil
}

func (m *memStore) Touch(_ context.Context, id int64, at time.Time, hits int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.rows[id]
	e.LastUsed, e.Hits = at, hits
	m.rows[id] = e
	return nil
}

func (m *memStore) SetPinned(_ context.Context, id int64, p bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.rows[id]
	e.Pinned = p
	m.rows[id] = e
	return nil
}

func (m *memStore) Delete(_ context.Context, ids ...int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		delete(m.rows, id)
		delete(m.resp, id)
	}
	return nil
}

func (m *memStore) DeleteAll(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows = map[int64]Entry{}
	m.resp = map[int64]string{}
	return nil
}

func (m *memStore) SetVector(_ context.Context, id int64, emb string, v []float32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.rows[id]
	if !ok {
		return ErrNotFound
	}
	e.Embedder, e.Dim, e.Vector = emb, len(v), v
	m.rows[id] = e
	return nil
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
		store = newMemStore()
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
