package budget

import (
	"context"
	"sync"
	"time"

	"github.com/pennyllm/penny/core/money"
)

// MemStore is a Store for one process that keeps nothing on disk: for tests,
// demos and replays that must not touch the real budget. A mutex makes its
// Reserve atomic; it offers no protection across processes.
type MemStore struct {
	mu     sync.Mutex
	nextID int64
	holds  map[int64]memHold
	spends []memSpend
}

type memHold struct {
	amount  money.Nanos
	expires time.Time
}

type memSpend struct {
	at     time.Time
	amount money.Nanos
}

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore { return &MemStore{holds: map[int64]memHold{}} }

var _ Store = (*MemStore)(nil)

func (m *MemStore) spend(w Window) Spend {
	var sp Spend
	for _, s := range m.spends {
		if !s.at.Before(w.DayStart) {
			sp.Day += s.amount
		}
		if !s.at.Before(w.MonthStart) {
			sp.Month += s.amount
		}
	}
	for _, h := range m.holds {
		if h.expires.After(w.Now) {
			sp.Reserved += h.amount
		}
	}
	return sp
}

// Reserve implements Store.
func (m *MemStore) Reserve(_ context.Context, w Window, amount money.Nanos, expires time.Time, check func(Spend) error) (Hold, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, h := range m.holds {
		if !h.expires.After(w.Now) {
			delete(m.holds, id)
		}
	}
	if err := check(m.spend(w)); err != nil {
		return Hold{}, err
	}
	m.nextID++
	m.holds[m.nextID] = memHold{amount: amount, expires: expires}
	return Hold{ID: m.nextID, Amount: amount, Created: w.Now, Expires: expires}, nil
}

// Settle implements Store.
func (m *MemStore) Settle(_ context.Context, id int64, actual money.Nanos, w Window) (before, after Spend, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	before = m.spend(w)
	delete(m.holds, id)
	if actual != 0 {
		m.spends = append(m.spends, memSpend{at: w.Now, amount: actual})
	}
	return before, m.spend(w), nil
}

// Release implements Store.
func (m *MemStore) Release(_ context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.holds, id)
	return nil
}

// Spend implements Store.
func (m *MemStore) Spend(_ context.Context, w Window) (Spend, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.spend(w), nil
}
