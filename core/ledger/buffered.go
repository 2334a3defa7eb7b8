package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// BatchStore is a Store that also writes many records in one go (one
// transaction), all or none.
type BatchStore interface {
	Store
	AppendBatch(ctx context.Context, rs []Record) error
}

// Buffered is a write-behind Store for sends that spend nothing: a replay
// through the simulated provider records thousands of sends a second, and
// one transaction per row (two per call: the pending row, then its outcome)
// was a tenth of its time. Records are kept in memory and written with
// AppendBatch once size of them are complete; a pending record that is
// updated before it is written is written once, with its outcome.
//
// It gives up the rule real sends live by — the pending row is on disk
// before the call, so a paid call is never missing from the books — which is
// why only spending-free sends may use it. IDs it returns are provisional
// (negative) and valid only for Update on the same Buffered; the rows get
// the store's ids when written. Full batches are written in the
// background, one at a time and in order, so the sender does not wait for
// the database. Flush must be called at the end; a record whose Append or
// Update returned nil is written by the next successful flush. Safe for
// concurrent use.
type Buffered struct {
	store BatchStore
	size  int

	mu      sync.Mutex
	buf     []Record      // append order; IDs are provisional
	at      map[int64]int // provisional id → index in buf
	pending int           // records in buf with StatusPending
	next    int64
	err     error         // the last write's failure: Append refuses until a flush succeeds
	writing chan struct{} // closed when the background write in flight ends; nil when none
}

// NewBuffered buffers up to size complete records (at least 1) before
// writing them to store.
func NewBuffered(store BatchStore, size int) *Buffered {
	return &Buffered{store: store, size: max(1, size), at: map[int64]int{}}
}

var _ Store = (*Buffered)(nil)

// Append implements Store: r is buffered under a provisional id. While the
// last flush has failed, nothing is buffered and that error is returned.
func (b *Buffered) Append(ctx context.Context, r Record) (int64, error) {
	if r.Time.IsZero() {
		return 0, errors.New("ledger append: record has no time")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, fmt.Errorf("ledger append: earlier records are not written yet: %w", b.err)
	}
	b.next--
	r.ID = b.next
	b.at[r.ID] = len(b.buf)
	b.buf = append(b.buf, r)
	if r.Status == StatusPending {
		b.pending++
	}
	b.maybeFlushLocked(ctx)
	return r.ID, nil
}

// Update implements Store for records still in the buffer (the outcome of
// a pending record); records already written cannot be updated.
func (b *Buffered) Update(ctx context.Context, r Record) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, ok := b.at[r.ID]
	if !ok {
		return fmt.Errorf("ledger update: no buffered record %d", r.ID)
	}
	if b.buf[i].Status == StatusPending {
		b.pending--
	}
	if r.Status == StatusPending {
		b.pending++
	}
	b.buf[i] = r
	b.maybeFlushLocked(ctx)
	return nil
}

// maybeFlushLocked hands the buffer to a background write once size
// records are complete and no write is in flight (else the buffer grows
// until that one ends). A failure is kept for Flush and refuses later
// Appends; the batch goes back to the head of the buffer for the next
// attempt, so nothing is lost and the order holds.
func (b *Buffered) maybeFlushLocked(ctx context.Context) {
	if b.pending > 0 || len(b.buf) < b.size || b.writing != nil || b.err != nil {
		return
	}
	batch := b.buf
	b.buf = make([]Record, 0, b.size)
	clear(b.at)
	done := make(chan struct{})
	b.writing = done
	// Detached: a cancelled sender still gets its records written.
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer close(done)
		err := b.store.AppendBatch(ctx, batch)
		b.mu.Lock()
		defer b.mu.Unlock()
		b.writing = nil
		if err != nil {
			b.err = err
			b.buf = append(batch, b.buf...)
			for i, r := range b.buf {
				b.at[r.ID] = i
			}
		}
	}()
}

// waitLocked waits for the background write in flight, if any (caller
// holds mu; it is released while waiting).
func (b *Buffered) waitLocked() {
	for b.writing != nil {
		w := b.writing
		b.mu.Unlock()
		<-w
		b.mu.Lock()
	}
}

func (b *Buffered) flushLocked(ctx context.Context) error {
	b.waitLocked()
	if len(b.buf) == 0 {
		return nil
	}
	if err := b.store.AppendBatch(ctx, b.buf); err != nil {
		return err
	}
	b.buf = b.buf[:0]
	clear(b.at)
	b.pending = 0
	return nil
}

// Flush writes every buffered record, pending ones as they stand, after
// the background write in flight.
func (b *Buffered) Flush(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = b.flushLocked(ctx)
	if b.err != nil {
		return fmt.Errorf("ledger: %d records not written: %w", len(b.buf), b.err)
	}
	return nil
}

// Scan implements Store: it flushes first, so every record appended so far
// is seen.
func (b *Buffered) Scan(ctx context.Context, f Filter, fn func(Record) error) error {
	if err := b.Flush(ctx); err != nil {
		return err
	}
	return b.store.Scan(ctx, f, fn)
}
