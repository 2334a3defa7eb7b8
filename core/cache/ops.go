package cache

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/pennyllm/penny/core/money"
)

// Serve is Lookup followed, on a hit, by RecordHit: use it when the cached
// answer is really returned to the user.
func (c *Cache) Serve(ctx context.Context, req Request) (Result, error) {
	res, err := c.Lookup(ctx, req)
	if err != nil || (res.Outcome != ExactHit && res.Outcome != SemanticHit) {
		return res, err
	}
	if err := c.RecordHit(ctx, res.EntryID); err != nil && !errors.Is(err, ErrNotFound) {
		// The response is in hand; failing to count the hit must not lose it.
		return res, fmt.Errorf("cache serve: %w", err)
	}
	return res, nil
}

// ServeHit serves the hit a plan found for req: when the planned entry is
// still stored and unexpired, it counts the hit and returns the plan's
// result without judging again (the judgement was made moments ago on the
// same request, and judging is the expensive part of a lookup). Otherwise
// — evicted, expired, replaced, or no hit planned — it is Serve.
func (c *Cache) ServeHit(ctx context.Context, req Request, planned Result) (Result, error) {
	if planned.EntryID != 0 && (planned.Outcome == ExactHit || planned.Outcome == SemanticHit) && c.Ready() {
		c.mu.RLock()
		e := c.entries[planned.EntryID]
		live := e != nil && !c.expired(e, c.now())
		c.mu.RUnlock()
		if live {
			err := c.RecordHit(ctx, planned.EntryID)
			if err == nil {
				return planned, nil
			}
			if !errors.Is(err, ErrNotFound) {
				return planned, fmt.Errorf("cache serve: %w", err)
			}
		}
	}
	return c.Serve(ctx, req)
}

// RecordHit counts a hit on entry id and makes it the most recently used.
// Call it when a plan's looked-up hit is actually sent, so the entry shown
// is the entry counted.
func (c *Cache) RecordHit(ctx context.Context, id int64) error {
	if err := c.WaitLoaded(ctx); err != nil {
		return err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	e := c.entries[id]
	if e == nil {
		return fmt.Errorf("record hit %d: %w", id, ErrNotFound)
	}
	c.recency.Lock()
	defer c.recency.Unlock()
	now := c.now()
	if err := c.store.Touch(ctx, id, now, e.hits+1); err != nil {
		return fmt.Errorf("record hit %d: %w", id, err)
	}
	e.hits++
	e.lastUsed = now
	if e.lruElem != nil {
		c.lru.MoveToFront(e.lruElem)
	}
	return nil
}

// Put stores response for req and returns the entry id. An entry with the
// same exact key is replaced. Afterwards expired entries are purged and
// the least recently used unpinned entries are evicted down to MaxEntries
// (pinned entries are never evicted, so they may keep the cache above it).
func (c *Cache) Put(ctx context.Context, req Request, response string, meta Meta) (int64, error) {
	if !c.cfg.Enabled {
		return 0, fmt.Errorf("%w: cache disabled", ErrNotCached)
	}
	if why := c.eligible(req); why != "" {
		return 0, fmt.Errorf("%w: %s", ErrNotCached, why)
	}
	if err := c.WaitLoaded(ctx); err != nil {
		return 0, err
	}
	vecs, err := c.emb.Embed(ctx, []string{req.Prompt})
	if err != nil {
		return 0, fmt.Errorf("cache put: embed prompt with %s: %w", c.emb.ID(), err)
	}
	if len(vecs) != 1 || len(vecs[0]) != c.emb.Dim() {
		return 0, fmt.Errorf("cache put: embedder %s returned %d vectors (dim %d), want 1 of dim %d",
			c.emb.ID(), len(vecs), dimOf(vecs), c.emb.Dim())
	}
	now := c.now()
	se := Entry{
		Key: ExactKey(req), Scope: req.Scope, Prompt: req.Prompt,
		Embedder: c.emb.ID(), Dim: c.emb.Dim(), Vector: vecs[0],
		CreatedAt: now, LastUsed: now, Meta: meta,
	}

	// Finding the new vector's graph neighbours, most of an insertion,
	// runs under the read lock beside lookups; the write lock is held
	// for the linking only. If the index changes in between, AddPending
	// searches again.
	var pend *pendingAdd
	c.mu.RLock()
	if sc := c.scopes[Fingerprint(req.Scope)]; sc != nil {
		if p, err := sc.index.Prepare(se.Vector); err == nil {
			pend = &pendingAdd{index: sc.index, p: p}
		}
	}
	c.mu.RUnlock()

	c.lockForFill()
	defer c.mu.Unlock()
	id, replaced, err := c.store.Insert(ctx, se, response)
	if err != nil {
		return 0, fmt.Errorf("cache put: %w", err)
	}
	if replaced != 0 {
		c.remove(replaced)
	}
	if old, ok := c.byKey[se.Key]; ok {
		c.remove(old) // the store replaced it under another id
	}
	se.ID = id
	c.scopes[c.add(se, pend).fp].gen++
	if err := c.shrinkLocked(ctx, now, id); err != nil {
		return id, fmt.Errorf("cache put: %w", err)
	}
	c.kickBuilderLocked()
	return id, nil
}

// shrinkLocked purges expired entries and evicts least recently used ones
// down to MaxEntries, never touching keep.
func (c *Cache) shrinkLocked(ctx context.Context, now time.Time, keep int64) error {
	var victims []int64
	chosen := map[int64]bool{}
	for el := c.byAge.Front(); el != nil; el = el.Next() {
		e := el.Value.(*entry)
		if !c.expired(e, now) {
			break // byAge is in creation order: the rest are younger
		}
		if e.id != keep {
			victims = append(victims, e.id)
			chosen[e.id] = true
		}
	}
	over := len(c.entries) - len(victims) - c.cfg.MaxEntries
	for el := c.lru.Back(); el != nil && over > 0; el = el.Prev() {
		e := el.Value.(*entry)
		if chosen[e.id] || e.id == keep {
			continue
		}
		victims = append(victims, e.id)
		over--
	}
	if len(victims) == 0 {
		return nil
	}
	if err := c.store.Delete(ctx, victims...); err != nil {
		return fmt.Errorf("evict %d entries: %w", len(victims), err)
	}
	for _, id := range victims {
		c.remove(id)
	}
	return nil
}

// Pin keeps an entry (pinned = true): it is never evicted and never expires.
// Unpinning puts it back in recency order by its last use.
func (c *Cache) Pin(ctx context.Context, id int64, pinned bool) error {
	if err := c.WaitLoaded(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[id]
	if e == nil {
		return fmt.Errorf("pin %d: %w", id, ErrNotFound)
	}
	if e.pinned == pinned {
		return nil
	}
	if err := c.store.SetPinned(ctx, id, pinned); err != nil {
		return fmt.Errorf("pin %d: %w", id, err)
	}
	e.pinned = pinned
	sc := c.scopes[e.fp] // pinned entries never expire: lookups may change
	sc.gen++
	sc.shape++
	if pinned {
		c.pinned++
		c.lru.Remove(e.lruElem)
		c.byAge.Remove(e.ageElem)
		e.lruElem, e.ageElem = nil, nil
		return nil
	}
	c.pinned--
	// Re-insert in order; a linear walk is fine for a user action.
	e.lruElem = nil
	for el := c.lru.Front(); el != nil; el = el.Next() {
		if !el.Value.(*entry).lastUsed.After(e.lastUsed) {
			e.lruElem = c.lru.InsertBefore(e, el)
			break
		}
	}
	if e.lruElem == nil {
		e.lruElem = c.lru.PushBack(e)
	}
	e.ageElem = nil
	for el := c.byAge.Back(); el != nil; el = el.Prev() {
		if !el.Value.(*entry).created.After(e.created) {
			e.ageElem = c.byAge.InsertAfter(e, el)
			break
		}
	}
	if e.ageElem == nil {
		e.ageElem = c.byAge.PushFront(e)
	}
	return nil
}

// Evict removes one entry.
func (c *Cache) Evict(ctx context.Context, id int64) error {
	if err := c.WaitLoaded(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[id] == nil {
		return fmt.Errorf("evict %d: %w", id, ErrNotFound)
	}
	if err := c.store.Delete(ctx, id); err != nil {
		return fmt.Errorf("evict %d: %w", id, err)
	}
	c.remove(id)
	c.kickBuilderLocked() // removal may have compacted an index
	return nil
}

// InvalidateAll removes every entry, pinned ones included, and returns how
// many there were.
func (c *Cache) InvalidateAll(ctx context.Context) (int, error) {
	if err := c.WaitLoaded(ctx); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.store.DeleteAll(ctx); err != nil {
		return 0, fmt.Errorf("invalidate cache: %w", err)
	}
	n := len(c.entries)
	c.reset()
	return n, nil
}

// Entries lists entries for the cache browser, ordered by sortBy; limit <= 0
// means all. Before the load finishes the list is empty (see Stats.Loaded).
// It lists every tenant's entries: over SSH use EntriesOf.
func (c *Cache) Entries(sortBy SortBy, limit int) ([]EntryInfo, error) {
	return c.entriesWhere(sortBy, limit, func(*entry) bool { return true })
}

// EntriesOf is Entries restricted to one tenant (Scope.Tenant), so an SSH
// session's browser never shows another user's prompts.
func (c *Cache) EntriesOf(tenant string, sortBy SortBy, limit int) ([]EntryInfo, error) {
	return c.entriesWhere(sortBy, limit, func(e *entry) bool { return e.scope.Tenant == tenant })
}

func (c *Cache) entriesWhere(sortBy SortBy, limit int, keep func(*entry) bool) ([]EntryInfo, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	c.recency.Lock() // the LRU order, hits and last use
	defer c.recency.Unlock()
	now := c.now()
	var list []*entry
	switch sortBy {
	case SortLRU:
		// Eviction order: unpinned from the LRU tail; pinned are never evicted.
		for el := c.lru.Back(); el != nil; el = el.Prev() {
			if e := el.Value.(*entry); keep(e) {
				list = append(list, e)
			}
		}
		for _, e := range c.entries {
			if e.pinned && keep(e) {
				list = append(list, e)
			}
		}
	case SortHits, SortAge, SortRecent:
		list = make([]*entry, 0, len(c.entries))
		for _, e := range c.entries {
			if keep(e) {
				list = append(list, e)
			}
		}
		sort.Slice(list, func(i, j int) bool {
			a, b := list[i], list[j]
			switch sortBy {
			case SortHits:
				if a.hits != b.hits {
					return a.hits > b.hits
				}
			case SortAge:
				if !a.created.Equal(b.created) {
					return a.created.Before(b.created)
				}
			case SortRecent:
				if !a.lastUsed.Equal(b.lastUsed) {
					return a.lastUsed.After(b.lastUsed)
				}
			}
			return a.id < b.id
		})
	default:
		return nil, fmt.Errorf("cache entries: unknown sort %q (want hits, age, recent or lru)", sortBy)
	}
	if limit > 0 && len(list) > limit {
		list = list[:limit]
	}
	out := make([]EntryInfo, len(list))
	for i, e := range list {
		out[i] = c.info(e, now)
	}
	return out, nil
}

func (c *Cache) info(e *entry, now time.Time) EntryInfo {
	return EntryInfo{
		ID: e.id, Prompt: e.prompt, Scope: e.scope, Embedder: e.embedder,
		CreatedAt: e.created, LastUsed: e.lastUsed, Hits: e.hits, Pinned: e.pinned,
		Expired: c.expired(e, now), TTLLeft: c.ttlLeft(e, now), Meta: e.meta,
		Saved: e.meta.Cost * money.Nanos(e.hits),
	}
}

// Response is an entry's cached response, for the browser's detail view.
func (c *Cache) Response(ctx context.Context, id int64) (string, error) {
	c.mu.RLock()
	ok := c.entries[id] != nil
	loaded := c.loaded
	c.mu.RUnlock()
	if loaded && !ok {
		return "", fmt.Errorf("response %d: %w", id, ErrNotFound)
	}
	s, err := c.store.Response(ctx, id)
	if err != nil {
		return "", fmt.Errorf("response %d: %w", id, err)
	}
	return s, nil
}

// Stats summarize the cache. It costs O(scopes + expired entries), so a
// status line may call it on every refresh.
func (c *Cache) Stats() Stats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	now := c.now()
	st := Stats{Entries: len(c.entries), Scopes: len(c.scopes), Loaded: c.loaded, Embedder: c.emb.ID(), Pinned: c.pinned}
	// byAge holds unpinned entries oldest first: the expired ones lead.
	for el := c.byAge.Front(); el != nil && c.expired(el.Value.(*entry), now); el = el.Next() {
		st.Expired++
	}
	built, total, hnsw, scan := 0, 0, 0, 0
	for _, sc := range c.scopes {
		st.Stale += sc.stale
		st.IndexHeap += sc.index.MemoryBytes()
		b, t := sc.index.Progress()
		if sc.index.NeedsBuild() {
			built += b
			total += t
		}
		switch sc.index.Mode() {
		case "hnsw":
			hnsw++
		case "scan":
			scan++
		}
	}
	switch {
	case !c.loaded:
		st.Index = "loading"
	case total > 0:
		st.Index = fmt.Sprintf("hnsw building %d%% (exact scan meanwhile)", 100*built/total)
	case hnsw > 0:
		st.Index = fmt.Sprintf("hnsw (%d scopes), scan (%d scopes)", hnsw, scan)
	default:
		st.Index = "scan"
	}
	return st
}

// WhatIf is the candidates of a request judged once, so a threshold slider
// can show which entries would hit at any threshold without new lookups.
type WhatIf struct {
	Scale      string     `json:"scale"`
	Threshold  float64    `json:"threshold"`  // the threshold asked about
	Configured float64    `json:"configured"` // the threshold in force
	Exact      int64      `json:"exact,omitempty"`
	Candidates []Neighbor `json:"candidates"` // best first; reasons at Threshold
	Hits       []Neighbor `json:"hits"`       // candidates that would be served at Threshold
	scored     []whatIfScore
}

type whatIfScore struct {
	score   float64
	blocked bool // expired or guarded: no threshold serves it
}

// At re-classifies the candidates at threshold t (for a slider).
func (w WhatIf) At(t float64) []Neighbor {
	var out []Neighbor
	for i, n := range w.Candidates {
		if i < len(w.scored) && !w.scored[i].blocked && w.scored[i].score >= t {
			n.Reason, n.Detail = "", "would hit"
			out = append(out, n)
		}
	}
	return out
}

// whatIfCandidates is how many neighbours a what-if judges.
const whatIfCandidates = 20

// WhatIf answers "which entries would hit at threshold t" for req: up to 20
// nearest entries of the request's scope, each judged, with its reason at t.
// Like Lookup it changes nothing.
func (c *Cache) WhatIf(ctx context.Context, req Request, t float64) (WhatIf, error) {
	w := WhatIf{Scale: c.judge.Scale(), Threshold: t, Configured: c.cfg.ThresholdFor(req.Scope),
		Candidates: []Neighbor{}, Hits: []Neighbor{}}
	if res, done := c.bypass(req); done {
		return w, fmt.Errorf("what-if: %s: %s", res.Reason, res.Detail)
	}
	if err := c.WaitLoaded(ctx); err != nil {
		return w, err
	}
	vecs, err := c.emb.Embed(ctx, []string{req.Prompt})
	if err != nil {
		return w, fmt.Errorf("what-if: embed prompt with %s: %w", c.emb.ID(), err)
	}
	if len(vecs) != 1 || len(vecs[0]) != c.emb.Dim() {
		return w, fmt.Errorf("what-if: embedder %s returned a bad vector", c.emb.ID())
	}
	q := Text{Prompt: req.Prompt, Vector: vecs[0]}
	now := c.now()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if id, ok := c.byKey[ExactKey(req)]; ok && !c.expired(c.entries[id], now) {
		w.Exact = id
	}
	sc := c.scopes[Fingerprint(req.Scope)]
	if sc == nil {
		return w, nil
	}
	cands := c.judgeScope(sc, c.judgeQuery(q), whatIfCandidates, now)
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].j.Score > cands[j].j.Score })
	for _, s := range cands {
		n := Neighbor{ID: s.e.id, Prompt: s.e.prompt, Similarity: s.j.Score}
		n.Reason, n.Detail = c.reasonFor(req, s, t, now, w.Scale)
		w.Candidates = append(w.Candidates, n)
		w.scored = append(w.scored, whatIfScore{score: s.j.Score, blocked: s.expired || s.j.Guard != ""})
		if n.Reason == "" {
			n.Detail = "would hit"
			w.Hits = append(w.Hits, n)
		}
	}
	return w, nil
}

// reembedBatch is how many prompts are embedded per call during Reembed.
const reembedBatch = 64

// Reembed embeds every entry not embedded by the current embedder, so it
// can serve semantic hits again, and returns how many were updated.
func (c *Cache) Reembed(ctx context.Context) (int, error) {
	if err := c.WaitLoaded(ctx); err != nil {
		return 0, err
	}
	type job struct {
		id     int64
		prompt string
	}
	c.mu.RLock()
	var jobs []job
	for _, e := range c.entries {
		if !c.current(e) {
			jobs = append(jobs, job{e.id, e.prompt})
		}
	}
	c.mu.RUnlock()
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].id < jobs[j].id })
	done := 0
	for start := 0; start < len(jobs); start += reembedBatch {
		batch := jobs[start:min(start+reembedBatch, len(jobs))]
		texts := make([]string, len(batch))
		for i, j := range batch {
			texts[i] = j.prompt
		}
		vecs, err := c.emb.Embed(ctx, texts)
		if err != nil {
			return done, fmt.Errorf("reembed: embed with %s: %w", c.emb.ID(), err)
		}
		if len(vecs) != len(batch) {
			return done, fmt.Errorf("reembed: embedder %s returned %d vectors for %d texts", c.emb.ID(), len(vecs), len(batch))
		}
		c.mu.Lock()
		for i, j := range batch {
			e := c.entries[j.id]
			if e == nil || c.current(e) || len(vecs[i]) != c.emb.Dim() {
				continue // evicted or re-put meanwhile
			}
			if err := c.store.SetVector(ctx, j.id, c.emb.ID(), vecs[i]); err != nil {
				c.mu.Unlock()
				return done, fmt.Errorf("reembed entry %d: %w", j.id, err)
			}
			sc := c.scopes[e.fp]
			if err := sc.index.Add(e.id, vecs[i]); err != nil {
				c.mu.Unlock()
				return done, fmt.Errorf("reembed entry %d: %w", j.id, err)
			}
			e.embedder = c.emb.ID()
			sc.stale--
			sc.gen++
			sc.shape++ // an old entry joins the index: not an addition Stamp can check
			done++
		}
		c.kickBuilderLocked()
		c.mu.Unlock()
	}
	return done, nil
}
