package cache

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a Store that keeps entries in memory only: for `penny
// eval cache` (a fresh cache per pair), offline replays without a database,
// and tests. storage.CacheStore is the persistent one.
type MemoryStore struct {
	mu    sync.Mutex
	next  int64
	rows  map[int64]Entry
	resp  map[int64]string
	byKey map[string]int64
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{rows: map[int64]Entry{}, resp: map[int64]string{}, byKey: map[string]int64{}}
}

// Load calls fn for every entry in id order.
func (m *MemoryStore) Load(ctx context.Context, fn func(Entry) error) error {
	m.mu.Lock()
	rows := make([]Entry, 0, len(m.rows))
	for _, e := range m.rows {
		rows = append(rows, e)
	}
	m.mu.Unlock()
	slices.SortFunc(rows, func(a, b Entry) int { return int(a.ID - b.ID) })
	for _, e := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Get finds an entry by exact key.
func (m *MemoryStore) Get(_ context.Context, key string) (Entry, string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.byKey[key]
	if !ok {
		return Entry{}, "", false, nil
	}
	return m.rows[id], m.resp[id], true, nil
}

// Response reads one entry's response.
func (m *MemoryStore) Response(_ context.Context, id int64) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.resp[id]
	if !ok {
		return "", fmt.Errorf("entry %d: %w", id, ErrNotFound)
	}
	return r, nil
}

// Insert stores e, replacing an entry with the same key. Vectors are copied.
func (m *MemoryStore) Insert(_ context.Context, e Entry, response string) (int64, int64, error) {
	if len(e.Vector) != e.Dim {
		return 0, 0, fmt.Errorf("insert entry: vector has %d components, dim says %d", len(e.Vector), e.Dim)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	replaced := m.byKey[e.Key]
	if replaced != 0 {
		delete(m.rows, replaced)
		delete(m.resp, replaced)
	}
	m.next++
	e.ID = m.next
	e.Vector = slices.Clone(e.Vector)
	m.rows[e.ID] = e
	m.resp[e.ID] = response
	m.byKey[e.Key] = e.ID
	return e.ID, replaced, nil
}

func (m *MemoryStore) update(id int64, f func(*Entry)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.rows[id]
	if !ok {
		return fmt.Errorf("entry %d: %w", id, ErrNotFound)
	}
	f(&e)
	m.rows[id] = e
	return nil
}

// Touch records a hit.
func (m *MemoryStore) Touch(_ context.Context, id int64, at time.Time, hits int64) error {
	return m.update(id, func(e *Entry) { e.LastUsed, e.Hits = at, hits })
}

// SetPinned pins or unpins an entry.
func (m *MemoryStore) SetPinned(_ context.Context, id int64, pinned bool) error {
	return m.update(id, func(e *Entry) { e.Pinned = pinned })
}

// SetVector replaces an entry's embedding.
func (m *MemoryStore) SetVector(_ context.Context, id int64, embedder string, v []float32) error {
	return m.update(id, func(e *Entry) { e.Embedder, e.Dim, e.Vector = embedder, len(v), slices.Clone(v) })
}

// Delete removes entries; absent ids are ignored.
func (m *MemoryStore) Delete(_ context.Context, ids ...int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		if e, ok := m.rows[id]; ok {
			delete(m.byKey, e.Key)
			delete(m.rows, id)
			delete(m.resp, id)
		}
	}
	return nil
}

// DeleteAll removes every entry.
func (m *MemoryStore) DeleteAll(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.rows)
	clear(m.resp)
	clear(m.byKey)
	return nil
}
