package ledger

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// batchMem is memStore with AppendBatch, counting batches, failing on
// demand, and holding a batch until release is closed (when set). Its
// fields are read under mu: batches are written in the background.
type batchMem struct {
	mu sync.Mutex
	memStore
	batches int
	fail    error
	release chan struct{}
}

func (m *batchMem) AppendBatch(ctx context.Context, rs []Record) error {
	if m.release != nil {
		<-m.release
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.batches++
	for _, r := range rs {
		if _, err := m.Append(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func (m *batchMem) rows() (rows, batches int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.recs), m.batches
}

func (m *batchMem) setFail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

// settle waits for b's background write, if one is in flight.
func settle(b *Buffered) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waitLocked()
}

// The sender's sequence (pending row, then its outcome) through a buffer
// ends as one row per send with the outcome, written in batches, in order.
func TestBufferedWritesOutcomesInBatches(t *testing.T) {
	ctx := context.Background()
	m := &batchMem{}
	b := NewBuffered(m, 4)
	for i := 0; i < 10; i++ {
		r := Record{Time: t0.Add(time.Duration(i) * time.Second), Model: "m", Status: StatusPending, PromptTokens: int64(i)}
		id, err := b.Append(ctx, r)
		if err != nil || id >= 0 {
			t.Fatalf("append %d: id %d, %v (want a provisional negative id)", i, id, err)
		}
		settle(b)
		if n, _ := m.rows(); n != 4*(i/4) {
			t.Fatalf("after append %d: %d rows written, want %d (a pending row holds the batch)", i, n, 4*(i/4))
		}
		r.ID, r.Status, r.ActualNanos = id, StatusOK, 7
		if err := b.Update(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	settle(b)
	if n, batches := m.rows(); batches != 2 || n != 8 {
		t.Fatalf("%d batches, %d rows before Flush; want 2 and 8", batches, n)
	}
	var seen []Record
	if err := b.Scan(ctx, Filter{}, func(r Record) error { seen = append(seen, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 10 {
		t.Fatalf("Scan saw %d records, want 10 (it flushes first)", len(seen))
	}
	for i, r := range seen {
		if r.PromptTokens != int64(i) || r.Status != StatusOK || r.ActualNanos != 7 {
			t.Errorf("row %d = %+v, want the outcome of send %d", i, r, i)
		}
	}
	if err := b.Update(ctx, Record{ID: -1}); err == nil {
		t.Error("Update of a written record succeeded")
	}
}

// A failed flush keeps the records, refuses new ones, and Flush reports
// it; once the store works again nothing is lost.
func TestBufferedFlushFailure(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("database is locked")
	m := &batchMem{fail: boom}
	b := NewBuffered(m, 2)
	for i := 0; i < 2; i++ {
		if _, err := b.Append(ctx, Record{Time: t0, Status: StatusOK}); err != nil {
			t.Fatalf("append %d: %v (its own record was buffered)", i, err)
		}
	}
	settle(b) // the background write has failed
	if _, err := b.Append(ctx, Record{Time: t0}); !errors.Is(err, boom) {
		t.Fatalf("append after a failed flush: %v, want the flush error", err)
	}
	if err := b.Flush(ctx); !errors.Is(err, boom) {
		t.Fatalf("Flush: %v, want the store's error", err)
	}
	m.setFail(nil)
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := m.rows(); n != 2 {
		t.Fatalf("%d rows written, want the 2 buffered", n)
	}
	if _, err := b.Append(ctx, Record{Time: t0}); err != nil {
		t.Fatalf("append after recovery: %v", err)
	}
	if _, err := b.Append(ctx, Record{}); err == nil {
		t.Error("a record without time was accepted")
	}
}

// A full batch is written in the background: Append returns while the
// database is busy, records go on buffering (no second write starts), a
// failed background write puts its batch back in front, and Flush writes
// everything, in order, once the store works.
func TestBufferedWritesInTheBackground(t *testing.T) {
	ctx := context.Background()
	m := &batchMem{release: make(chan struct{})}
	b := NewBuffered(m, 3)
	appendN := func(from, n int) {
		for i := from; i < from+n; i++ {
			if _, err := b.Append(ctx, Record{Time: t0, Status: StatusOK, PromptTokens: int64(i)}); err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
	}
	appendN(0, 7) // the first 3 are being written, held by the store
	if n, _ := m.rows(); n != 0 {
		t.Fatalf("%d rows written while the store holds the batch", n)
	}
	m.setFail(errors.New("disk I/O error"))
	close(m.release) // the held batch fails
	settle(b)
	if _, err := b.Append(ctx, Record{Time: t0}); err == nil {
		t.Fatal("append after a failed background write succeeded")
	}
	m.setFail(nil)
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	appendN(7, 2)
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var got []int64
	if err := m.Scan(ctx, Filter{}, func(r Record) error { got = append(got, r.PromptTokens); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 9 {
		t.Fatalf("rows %v, want 0…8", got)
	}
	for i, v := range got {
		if v != int64(i) {
			t.Fatalf("rows %v, want 0…8 in order", got)
		}
	}
}
