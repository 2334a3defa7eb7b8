package batch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mustEach[In, Out any](t *testing.T, ctx context.Context, cfg Config, fn func(context.Context, In) (Out, error)) *Batcher[In, Out] {
	t.Helper()
	b, err := NewEach(ctx, cfg, fn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b
}

func TestConfigValidateNamesFields(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	err := Config{MaxSize: 0, MaxWait: -time.Second, Concurrency: 0}.Validate()
	var fe FieldErrors
	if !errors.As(err, &fe) || len(fe) != 3 || fe[0].Field != "batch.max_size" || fe[1].Field != "batch.max_wait" ||
		fe[2].Field != "batch.concurrency" {
		t.Fatalf("got %v", err)
	}
}

func TestSizeTriggersDispatch(t *testing.T) {
	var sizes sync.Map
	b, err := New(context.Background(), Config{MaxSize: 4, MaxWait: time.Minute, Concurrency: 1},
		func(ctx context.Context, items []Item[int]) []Result[int] {
			sizes.Store(len(items), true)
			res := make([]Result[int], len(items))
			for i, it := range items {
				res[i].Value = it.Value * 10
			}
			return res
		})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			v, err := b.Do(context.Background(), i)
			if err != nil || v != i*10 {
				t.Errorf("item %d: %d %v", i, v, err)
			}
		})
	}
	wg.Wait() // would hang for a minute if only MaxWait dispatched
	if st := b.Stats(); st.Batches != 2 || st.Items != 8 {
		t.Fatalf("stats %+v", st)
	}
	if _, ok := sizes.Load(4); !ok {
		t.Fatal("no batch of 4")
	}
}

func TestMaxWaitTriggersPartialBatch(t *testing.T) {
	var batchLen atomic.Int64
	b, err := New(context.Background(), Config{MaxSize: 100, MaxWait: 200 * time.Millisecond, Concurrency: 1},
		func(ctx context.Context, items []Item[int]) []Result[int] {
			batchLen.Store(int64(len(items)))
			return make([]Result[int], len(items))
		})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	start := time.Now()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := b.Do(context.Background(), 1); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("dispatched after %s, before max wait", el)
	}
	if st := b.Stats(); st.Batches != 1 || batchLen.Load() != 3 {
		t.Errorf("want one batch of 3, got %+v (last batch %d)", st, batchLen.Load())
	}
}

func TestOneFailureDoesNotFailNeighbours(t *testing.T) {
	b := mustEach(t, context.Background(), Config{MaxSize: 10, MaxWait: 10 * time.Millisecond, Concurrency: 4},
		func(ctx context.Context, i int) (string, error) {
			switch i {
			case 3:
				return "", errors.New("rate limited")
			case 5:
				panic("provider bug")
			}
			return fmt.Sprint("ok", i), nil
		})
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			v, err := b.Do(context.Background(), i)
			switch i {
			case 3:
				if err == nil || err.Error() != "rate limited" {
					t.Errorf("item 3: %v", err)
				}
			case 5:
				if err == nil {
					t.Error("item 5: panic must become an error")
				}
			default:
				if err != nil || v != fmt.Sprint("ok", i) {
					t.Errorf("item %d: %q %v", i, v, err)
				}
			}
		})
	}
	wg.Wait()
	if st := b.Stats(); st.Failed != 2 || st.Items != 10 {
		t.Errorf("stats %+v", st)
	}
}

func TestConcurrencyCapOnItems(t *testing.T) {
	var inFlight, peak atomic.Int64
	b := mustEach(t, context.Background(), Config{MaxSize: 5, MaxWait: time.Millisecond, Concurrency: 3},
		func(ctx context.Context, i int) (int, error) {
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			inFlight.Add(-1)
			return i, nil
		})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() { _, _ = b.Do(context.Background(), i) })
	}
	wg.Wait()
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak items in flight %d, want exactly the cap 3", p)
	}
}

func TestConcurrencyCapOnBatches(t *testing.T) {
	var inFlight, peak atomic.Int64
	b, err := New(context.Background(), Config{MaxSize: 2, MaxWait: time.Millisecond, Concurrency: 2},
		func(ctx context.Context, items []Item[int]) []Result[int] {
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			inFlight.Add(-1)
			return make([]Result[int], len(items))
		})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() { _, _ = b.Do(context.Background(), i) })
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak batches in flight %d, want 2", p)
	}
}

func TestCancelBeforeDispatchDropsItem(t *testing.T) {
	var ran atomic.Int64
	b := mustEach(t, context.Background(), Config{MaxSize: 10, MaxWait: 50 * time.Millisecond, Concurrency: 1},
		func(ctx context.Context, i int) (int, error) { ran.Add(1); return i, nil })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := b.Do(ctx, 1); errc <- err }()
	for b.pendingCount() < 1 { // queued, batch still waiting
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	// A neighbour in the next batch still runs.
	if v, err := b.Do(context.Background(), 2); err != nil || v != 2 {
		t.Fatalf("neighbour: %d %v", v, err)
	}
	if ran.Load() != 1 {
		t.Errorf("the cancelled item ran: %d executions", ran.Load())
	}
	if st := b.Stats(); st.Cancelled != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestCancelWhileRunningReachesExecutor(t *testing.T) {
	saw := make(chan error, 1)
	b := mustEach(t, context.Background(), Config{MaxSize: 1, MaxWait: 0, Concurrency: 2},
		func(ctx context.Context, i int) (int, error) {
			if i == 0 {
				<-ctx.Done()
				saw <- ctx.Err()
				return 0, ctx.Err()
			}
			return i, nil
		})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.Do(ctx, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	select {
	case err := <-saw:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("executor never saw the caller's cancellation")
	}
}

func TestBatcherContextStopsEverything(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	b := mustEach(t, ctx, Config{MaxSize: 1, MaxWait: 0, Concurrency: 1},
		func(ctx context.Context, i int) (int, error) {
			close(started)
			<-ctx.Done()
			return 0, ctx.Err()
		})
	errc := make(chan error, 1)
	go func() { _, err := b.Do(context.Background(), 1); errc <- err }()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("in-flight item: %v", err)
	}
	if _, err := b.Do(context.Background(), 2); !errors.Is(err, ErrClosed) {
		t.Fatalf("after batcher ctx ended: %v", err)
	}
}

func TestCloseFlushesQueuedItems(t *testing.T) {
	b, err := NewEach(context.Background(), Config{MaxSize: 100, MaxWait: time.Minute, Concurrency: 2},
		func(ctx context.Context, i int) (int, error) { return i + 1, nil })
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := range 5 {
		wg.Go(func() {
			if v, err := b.Do(context.Background(), i); err == nil && v == i+1 {
				ok.Add(1)
			}
		})
	}
	for b.pendingCount() < 5 {
		time.Sleep(time.Millisecond)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if ok.Load() != 5 {
		t.Fatalf("%d of 5 queued items answered after Close", ok.Load())
	}
	if _, err := b.Do(context.Background(), 9); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after Close: %v", err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestCloseTimeoutCancelsInFlight(t *testing.T) {
	started := make(chan struct{})
	b, err := NewEach(context.Background(), Config{MaxSize: 1, MaxWait: 0, Concurrency: 1},
		func(ctx context.Context, i int) (int, error) {
			close(started)
			<-ctx.Done() // a hung call that honours its context
			return 0, ctx.Err()
		})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := b.Do(context.Background(), 1); errc <- err }()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v", err)
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("in-flight item after Close gave up: %v", err)
	}
}

func TestWrongResultCountFailsEveryItem(t *testing.T) {
	b, err := New(context.Background(), Config{MaxSize: 2, MaxWait: time.Minute, Concurrency: 1},
		func(ctx context.Context, items []Item[int]) []Result[int] { return make([]Result[int], 1) })
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			if _, err := b.Do(context.Background(), i); err == nil {
				t.Errorf("item %d: a short result slice must not pass as success", i)
			}
		})
	}
	wg.Wait()
}
