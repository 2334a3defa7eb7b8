package cache

import (
	"context"
	"testing"
	"time"
)

// TestFillLetsLookupsIn: a fill waiting for the write lock does not hold
// up lookups that start meanwhile (sync.RWMutex's Lock would: it stops new
// readers while it waits). A lookup in flight is stood in for by holding
// the read lock; a second lookup must finish while it is still held and
// the fill still waits, and the fill must finish once it is released.
func TestFillLetsLookupsIn(t *testing.T) {
	c := newTestCache(t, testConfig(), nil, nil)
	c.fillPatience = time.Minute
	ctx := context.Background()
	if _, err := c.Put(ctx, Request{Prompt: "what is the capital of france", Scope: gpt}, "Paris", Meta{}); err != nil {
		t.Fatal(err)
	}

	c.mu.RLock() // a lookup in flight
	filled := make(chan error, 1)
	go func() {
		_, err := c.Put(ctx, Request{Prompt: "how tall is the eiffel tower", Scope: gpt}, "330 m", Meta{})
		filled <- err
	}()
	// Let the fill reach the lock (it cannot get past it).
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-filled:
		t.Fatalf("the fill finished while a lookup held the read lock: %v", err)
	default:
	}

	looked := make(chan error, 1)
	go func() {
		res, err := c.Lookup(ctx, Request{Prompt: "what is the capital of france", Scope: gpt})
		if err == nil && res.Outcome != ExactHit {
			t.Errorf("lookup: %s, want an exact hit", res.Outcome)
		}
		looked <- err
	}()
	err, ok := within(looked)
	c.mu.RUnlock()
	if !ok {
		t.Fatal("a lookup waited behind the fill waiting for the write lock")
	}
	if err != nil {
		t.Fatal(err)
	}
	if err, ok := within(filled); !ok {
		t.Fatal("the fill did not finish after the lookups ended")
	} else if err != nil {
		t.Fatal(err)
	}
}

// within is what ch delivers within 10 s; false when nothing came.
func within(ch <-chan error) (error, bool) {
	select {
	case err := <-ch:
		return err, true
	case <-time.After(10 * time.Second):
		return nil, false
	}
}

// TestFillIsNotStarved: lookups that overlap without a gap cannot keep a
// fill out for longer than its patience; then it queues for the lock
// like any writer and gets it. The lookups are stood in for by a read lock
// that is always taken again before it is let go (TryRLock succeeds until
// a writer queues), so a fill that only tried would never get in.
func TestFillIsNotStarved(t *testing.T) {
	c := newTestCache(t, testConfig(), nil, nil)
	c.fillPatience = 5 * time.Millisecond
	stop := make(chan struct{})
	held := make(chan struct{})
	readers := make(chan int, 1)
	go func() {
		handovers := 0
		c.mu.RLock()
		close(held)
		for {
			select {
			case <-stop:
				c.mu.RUnlock()
				readers <- handovers
				return
			default:
			}
			if c.mu.TryRLock() {
				c.mu.RUnlock() // the earlier lookup ends after the next began
				handovers++
				time.Sleep(20 * time.Microsecond)
				continue
			}
			// A writer queued: new lookups wait for it, the last one ends.
			c.mu.RUnlock()
			c.mu.RLock()
		}
	}()
	<-held

	done := make(chan error, 1)
	go func() {
		_, err := c.Put(context.Background(), Request{Prompt: "a prompt filled under load", Scope: gpt}, "r", Meta{})
		done <- err
	}()
	if err, ok := within(done); !ok {
		t.Error("the fill was starved by overlapping lookups")
	} else if err != nil {
		t.Error(err)
	}
	close(stop)
	if n := <-readers; n == 0 {
		t.Error("the lookups never overlapped: the test proves nothing")
	}
}
