package cache

import "context"

// BatchLoader is an optional extension of Store for start-up: a store
// that reads entries in batches (storage.CacheStore reads several id ranges
// at once) implements it, and the cache then indexes each batch as it
// arrives instead of taking entries one by one through Load.
type BatchLoader interface {
	// LoadBatches calls fn with every entry (without response text), in
	// batches and in any order, from one goroutine at a time. fn may keep
	// the batch. An error from fn stops the load and is returned as is.
	LoadBatches(ctx context.Context, fn func([]Entry) error) error
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
// yet, and returns them. Indexing overlaps reading: a BatchLoader reads on
// goroutines of its own and hands batches to this one; a plain Store's Load
// runs on a second goroutine that batches its entries.
func (c *Cache) readStore(ctx context.Context, store Store) ([]*entry, error) {
	var loaded []*entry
	add := func(batch []Entry) {
		for i := range batch {
			loaded = append(loaded, c.add(batch[i]))
		}
	}
	if bl, ok := store.(BatchLoader); ok {
		err := bl.LoadBatches(ctx, func(batch []Entry) error {
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
