package ledger

import (
	"context"
	"errors"
	"testing"
	"time"
)

// batchMem is memStore with AppendBatch, counting batches and failing on
// demand.
type batchMem struct {
	memStore
	batches int
	fail    error
}

func (m *batchMem) AppendBatch(ctx context.Context, rs []Record) error {
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
		if len(m.recs) != 4*(i/4) {
			t.Fatalf("after append %d: %d rows written, want %d (a pending row holds the batch)", i, len(m.recs), 4*(i/4))
		}
		r.ID, r.Status, r.ActualNanos = id, StatusOK, 7
		if err := b.Update(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if m.batches != 2 || len(m.recs) != 8 {
		t.Fatalf("%d batches, %d rows before Flush; want 2 and 8", m.batches, len(m.recs))
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
	if _, err := b.Append(ctx, Record{Time: t0}); !errors.Is(err, boom) {
		t.Fatalf("append after a failed flush: %v, want the flush error", err)
	}
	if err := b.Flush(ctx); !errors.Is(err, boom) {
		t.Fatalf("Flush: %v, want the store's error", err)
	}
	m.fail = nil
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(m.recs) != 2 {
		t.Fatalf("%d rows written, want the 2 buffered", len(m.recs))
	}
	if _, err := b.Append(ctx, Record{Time: t0}); err != nil {
		t.Fatalf("append after recovery: %v", err)
	}
	if _, err := b.Append(ctx, Record{}); err == nil {
		t.Error("a record without time was accepted")
	}
}
