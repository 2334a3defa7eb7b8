package cache

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/vindex"
)

// batchStore is a MemoryStore read through BatchLoader the way
// storage.CacheStore is: a size hint first (here with an extra scope that
// no entry fills, as when entries are deleted during the load), vectors as
// Codes, and every batch overwritten once fn returns, so a cache that kept
// one would see garbage.
type batchStore struct {
	*MemoryStore
	hinted int // size-hint calls
}

func (b *batchStore) LoadBatches(ctx context.Context, sizes func([]ScopeSize), fn func([]Entry) error) error {
	var all []Entry
	if err := b.MemoryStore.Load(ctx, func(e Entry) error { all = append(all, e); return nil }); err != nil {
		return err
	}
	counts := map[Scope]int{{Model: "phantom"}: 3}
	for _, e := range all {
		counts[e.Scope]++
	}
	var hint []ScopeSize
	for s, n := range counts {
		hint = append(hint, ScopeSize{Scope: s, N: n})
	}
	b.hinted++
	sizes(hint)
	batch := make([]Entry, 0, 3)
	codes := make([]int8, 0, 3*64)
	flush := func() error {
		err := fn(batch)
		for i := range batch {
			batch[i] = Entry{ID: -1, Key: "garbage"}
		}
		clear(codes[:cap(codes)])
		batch, codes = batch[:0], codes[:0]
		return err
	}
	for _, e := range all {
		if e.Vector != nil {
			n := len(codes)
			codes = codes[:n+len(e.Vector)]
			e.Scale = vindex.Quantize(codes[n:], e.Vector)
			e.Codes, e.Vector = codes[n:n+len(e.Vector):n+len(e.Vector)], nil
		}
		if batch = append(batch, e); len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(batch) > 0 {
		return flush()
	}
	return nil
}

// TestBatchLoadMatchesPlainLoad loads the same entries through Load and
// through LoadBatches and checks that the caches agree on everything the
// load builds: entries, scopes, recency and age order (eviction and
// expiry), pins, and semantic lookups.
func TestBatchLoadMatchesPlainLoad(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	mem, mem2 := NewMemoryStore(), NewMemoryStore() // one per cache: both are written to below
	emb := &bowEmbedder{id: "bow-v1", dim: 64}
	scopes := []Scope{scope("gpt-4o"), scope("gpt-4o-mini"), {Model: "gpt-4o", System: "be brief"}}
	base := clock.Now()
	for i := range 40 {
		p := fmt.Sprintf("question %d about topic %d", i, i%7)
		vecs, _ := emb.Embed(ctx, []string{p})
		e := Entry{
			Key: ExactKey(Request{Prompt: p, Scope: scopes[i%3]}), Scope: scopes[i%3], Prompt: p,
			Embedder: emb.ID(), Dim: emb.Dim(), Vector: vecs[0],
			// Created in id order, used in another order.
			CreatedAt: base.Add(time.Duration(i) * time.Minute), LastUsed: base.Add(time.Duration((i*17)%40) * time.Hour),
			Hits: int64(i % 4), Pinned: i%9 == 0, Meta: Meta{Model: "m", Cost: 10},
		}
		switch i % 10 {
		case 3: // not embedded
			e.Embedder, e.Dim, e.Vector = "", 0, nil
		case 7: // never hit: LastUsed falls back to CreatedAt
			e.LastUsed = time.Time{}
		}
		for _, m := range []*MemoryStore{mem, mem2} {
			if _, _, err := m.Insert(ctx, e, "answer "+p); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := testConfig()
	cfg.TTL = Duration(30 * time.Hour)
	clock.Add(20 * time.Hour) // some entries are old enough to expire after the next step

	bs := &batchStore{MemoryStore: mem2}
	plain := newTestCache(t, cfg, mem, clock)
	batched := newTestCache(t, cfg, bs, clock)
	if bs.hinted != 1 {
		t.Fatalf("size hint asked %d times", bs.hinted)
	}
	same := func(when string) {
		t.Helper()
		p, b := plain.Stats(), batched.Stats()
		p.IndexHeap, b.IndexHeap = 0, 0 // capacities differ: the batched load sizes them exactly
		if !reflect.DeepEqual(p, b) {
			t.Fatalf("%s: stats differ:\nplain   %+v\nbatched %+v", when, p, b)
		}
		for _, by := range []SortBy{SortLRU, SortAge, SortRecent, SortHits} {
			p, _ := plain.Entries(by, 0)
			b, _ := batched.Entries(by, 0)
			if by == SortLRU { // pinned entries follow the LRU list in map order
				p, b = pinnedByID(p), pinnedByID(b)
			}
			if !reflect.DeepEqual(p, b) {
				t.Fatalf("%s: entries by %s differ:\nplain   %v\nbatched %v", when, by, ids(p), ids(b))
			}
		}
		for _, q := range []string{"question 12 about topic 5", "question about topic 3", "unrelated words entirely"} {
			for _, s := range scopes {
				p, b := lookup(t, plain, q, s), lookup(t, batched, q, s)
				if !reflect.DeepEqual(p, b) {
					t.Fatalf("%s: lookup %q differs:\nplain   %+v\nbatched %+v", when, q, p, b)
				}
			}
		}
	}
	same("after load")
	// The LRU list is in last-use order (least recent first), whatever
	// order the entries were read in.
	lru, _ := batched.Entries(SortLRU, 0)
	lru = lru[:slices.IndexFunc(lru, func(e EntryInfo) bool { return e.Pinned })]
	if !slices.IsSortedFunc(lru, func(a, b EntryInfo) int { return a.LastUsed.Compare(b.LastUsed) }) || len(lru) != 35 {
		t.Fatalf("LRU order after load: %v", ids(lru))
	}
	if st := batched.Stats(); st.Scopes != 3 || st.Entries != 40 {
		t.Fatalf("stats %+v: the hinted empty scope must not count", st)
	}
	// Eviction follows the LRU list and expiry the age list: both were
	// built by the load.
	cfg.MaxEntries = 30
	plain.cfg.MaxEntries, batched.cfg.MaxEntries = 30, 30
	clock.Add(15 * time.Hour)
	for _, c := range []*Cache{plain, batched} {
		put(t, c, "a new question entirely", scopes[0])
	}
	same("after eviction and expiry")
}

func ids(es []EntryInfo) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// pinnedByID orders the pinned tail of an LRU listing by id.
func pinnedByID(es []EntryInfo) []EntryInfo {
	i := slices.IndexFunc(es, func(e EntryInfo) bool { return e.Pinned })
	if i >= 0 {
		slices.SortFunc(es[i:], func(a, b EntryInfo) int { return int(a.ID - b.ID) })
	}
	return es
}
