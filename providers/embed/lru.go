package embed

import (
	"container/list"
	"hash/maphash"
	"sync"
)

// lru caches embeddings by text. Keys are a per-instance seeded hash of the
// text; the text is kept too so that a hash collision is a miss, not a wrong
// vector. Vectors handed out are shared: callers must not modify them.
type lru struct {
	mu    sync.Mutex
	seed  maphash.Seed
	max   int
	order *list.List // front = most recently used
	items map[uint64]*list.Element
}

type lruEntry struct {
	key  uint64
	text string
	vec  []float32
}

func newLRU(max int) *lru {
	return &lru{seed: maphash.MakeSeed(), max: max, order: list.New(), items: make(map[uint64]*list.Element)}
}

func (c *lru) get(text string) ([]float32, bool) {
	k := maphash.String(c.seed, text)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[k]
	if !ok || e.Value.(*lruEntry).text != text {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry).vec, true
}

func (c *lru) put(text string, vec []float32) {
	k := maphash.String(c.seed, text)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		e.Value = &lruEntry{key: k, text: text, vec: vec}
		c.order.MoveToFront(e)
		return
	}
	c.items[k] = c.order.PushFront(&lruEntry{key: k, text: text, vec: vec})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*lruEntry).key)
	}
}

func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
