package cache

import "context"

// ScopeSize is how many stored entries hold one scope.
type ScopeSize struct {
	Scope Scope
	N     int
}

// BatchLoader is an optional extension of Store for start-up: a store
// that reads entries in batches (storage.CacheStore reads several id ranges
// at once) implements it, and the cache then indexes each batch as it
// arrives instead of taking entries one by one through Load.
type BatchLoader interface {
	// LoadBatches first calls sizes, once, with how many entries each scope
	// holds (a hint: the cache sizes its maps and vector indexes from it,
	// and copes with more or fewer), then fn with every entry (without
	// response text), in batches and in any order, from one goroutine at a
	// time. The batch, and the Codes and Vector slices in it, are only
	// valid until fn returns: the store reuses them for later batches (the
	// cache copies vectors into its index). An error from fn stops the load
	// and is returned as is.
	LoadBatches(ctx context.Context, sizes func([]ScopeSize), fn func([]Entry) error) error
}

// beginLoadLocked starts a load attempt unless one is running or one has
// succeeded (caller holds the write lock). An attempt ends by closing
// loadDone with loaded or loadErr set; a retry gets a fresh loadDone.
func (c *Cache) beginLoadLocked() bool {
	if c.loaded || (c.started && c.loadErr == nil) {
		return false
	}
	if c.started {
		c.loadDone = make(chan struct{})
	}
	c.started, c.loadErr = true, nil
	return true
}

// readStore adds every stored entry to c, a fresh cache nothing else sees
// yet, and returns them. The entries are not on the recency lists yet: load
// puts them there in order once all are read. Indexing overlaps reading: a
// BatchLoader reads on goroutines of its own and hands batches to this one;
// a plain Store's Load runs on a second goroutine that batches its entries.
func (c *Cache) readStore(ctx context.Context, store Store) ([]*entry, error) {
	var loaded []*entry
	// Entries arrive in runs of one scope (a store reads them in id order,
	// and a user's entries mostly share a scope), so the fingerprint of
	// the previous entry is reused when the scope is the same: comparing
	// strings that share memory is a pointer check, hashing a long system
	// prompt per entry is not.
	var lastScope Scope
	lastFP := ""
	add := func(batch []Entry) {
		for i := range batch {
			se := &batch[i]
			if lastFP == "" || se.Scope != lastScope {
				lastScope, lastFP = se.Scope, c.fingerprint(se.Scope)
			}
			loaded = append(loaded, c.insert(se, lastFP, nil))
		}
	}
	if bl, ok := store.(BatchLoader); ok {
		err := bl.LoadBatches(ctx, func(sizes []ScopeSize) {
			loaded = c.grow(sizes)
		}, func(batch []Entry) error {
			add(batch)
			return nil
		})
		return loaded, err
	}
	batches := make(chan []Entry, 4)
	var err error
	go func() {
		defer close(batches)
		batch := make([]Entry, 0, loadBatch)
		err = store.Load(ctx, func(e Entry) error {
			batch = append(batch, e)
			if len(batch) == loadBatch {
				batches <- batch
				batch = make([]Entry, 0, loadBatch)
			}
			return nil
		})
		if len(batch) > 0 {
			batches <- batch
		}
	}()
	for batch := range batches {
		add(batch)
	}
	return loaded, err
}

// grow sizes the maps and per-scope indexes of c, a fresh cache, for the
// entries a store is about to load, and returns a slice with room for
// them. Growing a map or an index array as entries arrive rehashes or
// copies it a dozen times; at 100,000 entries that was a third of the
// indexing time.
func (c *Cache) grow(sizes []ScopeSize) []*entry {
	total := 0
	for _, s := range sizes {
		if s.N <= 0 {
			continue
		}
		total += s.N
		fp := c.fingerprint(s.Scope)
		sc := c.scopes[fp]
		if sc == nil {
			sc = c.newScope(s.Scope)
			c.scopes[fp] = sc
		}
		// Entries of another embedder are counted too but never indexed;
		// their room is used once Reembed indexes them.
		sc.index.Grow(s.N)
	}
	c.entries = make(map[int64]*entry, total)
	c.byKey = make(map[string]int64, total)
	return make([]*entry, 0, total)
}
