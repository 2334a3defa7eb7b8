package cache

import (
	"context"
	"time"

	"github.com/pennyllm/penny/core/vindex"
)

// Stamp records what a lookup's result depended on, so that the result
// can later be checked for staleness (Unchanged). A replay uses it to plan
// requests ahead of their turn on other goroutines and to keep only the
// plans that a lookup made in turn would have produced identically.
type Stamp struct {
	static bool // bypassed: the result depends on no entry
	ok     bool // recorded, and nothing changed between the lookup's two read locks
	fp     string
	sc     *scopeState // nil: the scope had no entries
	gen    uint64
	shape  uint64
	slots  int // index slots in use when the lookup ran
	key    string
	keyID  int64 // the entry under the exact key, if hasKey
	hasKey bool
	at     time.Time
	// The semantic part: how it searched (the index mode, how many
	// candidates the search returned and the lowest similarity among
	// them) and the query vector, to score the entries added since.
	semantic bool
	mode     string
	n        int
	kth      float32
	q        []float32
	ids      []int64      // the hits of a graph search, in order
	trace    vindex.Trace // what a graph search read
}

// LookupStamped is LookupOutcome together with a Stamp of what its result
// depends on; see Unchanged.
func (c *Cache) LookupStamped(ctx context.Context, req Request) (Result, Stamp, error) {
	var st Stamp
	res, err := c.lookup(ctx, req, false, &st)
	return res, st, err
}

// Unchanged reports whether res, the result that came with st from
// LookupStamped, is what LookupOutcome would return now (Outcome,
// EntryID, Similarity, Index; TTLLeft aside, which moves with the clock).
// It errs on the side of false, after which the lookup must be made again.
//
// It is true when the cache has not changed in the request's scope since,
// and also when the only changes are entries added to a scope searched by
// the exact scan, none of them under the request's exact key and none
// scoring at least the lowest of the candidates the scan returned: the
// scan then returns the same candidates, which are judged the same. After
// additions to a scope searched by the graph, the search must have followed
// no link the additions changed, or, made again, return the same hits. The served entry must not have expired
// meanwhile; entries that were not served can only have become less
// servable by expiring.
func (c *Cache) Unchanged(st Stamp, res Result) bool {
	if st.static {
		return true
	}
	if !st.ok {
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.loaded {
		return false
	}
	sc := c.scopes[st.fp]
	id, has := c.byKey[st.key]
	if sc != st.sc || has != st.hasKey || id != st.keyID {
		return false
	}
	hit := res.Outcome == ExactHit || res.Outcome == SemanticHit
	if hit && res.TTLLeft >= 0 && !c.now().Before(st.at.Add(res.TTLLeft)) {
		// The lookup ran at or after st.at, so the served entry expires
		// no earlier than st.at + TTLLeft.
		return false
	}
	switch {
	case res.Outcome == ExactHit:
		return true // the same entry is under the key and has not expired
	case sc == nil || sc.gen == st.gen:
		return true
	case !st.semantic || sc.shape != st.shape || st.mode != sc.index.Mode():
		// Something other than an addition, or the index switched from
		// the exact scan to the graph.
		return false
	case st.mode == "hnsw":
		// An addition changes a graph search only through the links it
		// rewires; when the search followed none of them it is the same
		// search (the index's trace tells), else it is made again. The
		// candidates' entries have not changed (only additions), so the
		// same hits in the same order are judged the same and decide the
		// same: the judging, most of a lookup, is not repeated.
		return sc.index.SearchUnchanged(&st.trace) || sameHits(sc.index, st.q, st.ids)
	}
	best, added := sc.index.MaxSimFrom(st.q, st.slots)
	if !added {
		return true // the additions are not in the index (another embedder's)
	}
	return st.n == candidatesPerLookup && best < st.kth
}

// record is the first half of a stamp, taken under the read lock of the
// exact-key check.
func (st *Stamp) record(c *Cache, fp, key string, now time.Time) {
	st.ok, st.fp, st.key, st.at = true, fp, key, now
	st.sc = c.scopes[fp]
	if st.sc != nil {
		st.gen, st.shape, st.slots = st.sc.gen, st.sc.shape, st.sc.index.Slots()
	}
	st.keyID, st.hasKey = c.byKey[key]
}

// recheck runs under the semantic part's read lock: the lock was released
// to embed the prompt, and a change in between spoils the stamp.
func (st *Stamp) recheck(c *Cache, q []float32) {
	sc := c.scopes[st.fp]
	id, has := c.byKey[st.key]
	if sc != st.sc || (sc != nil && sc.gen != st.gen) || has != st.hasKey || id != st.keyID {
		st.ok = false
	}
	st.q = q
}

// searched records the index search of the semantic part.
func (st *Stamp) searched(mode string, hits []vindex.Hit) {
	st.semantic, st.mode, st.n = true, mode, len(hits)
	if len(hits) > 0 {
		st.kth = hits[len(hits)-1].Similarity
	}
	if mode == "hnsw" {
		st.ids = make([]int64, len(hits))
		for i, h := range hits {
			st.ids[i] = h.ID
		}
	}
}

// sameHits reports whether searching ix for q returns exactly ids, in
// order (caller holds the read lock).
func sameHits(ix *vindex.Index, q []float32, ids []int64) bool {
	hits, err := ix.Search(q, candidatesPerLookup, 0)
	if err != nil || len(hits) != len(ids) {
		return false
	}
	for i, h := range hits {
		if h.ID != ids[i] {
			return false
		}
	}
	return true
}
