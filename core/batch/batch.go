// Package batch groups concurrent requests into batches (by size or after a
// maximum wait), runs them under a concurrency cap, and hands every caller
// its own result: one item's failure never fails its neighbours.
package batch

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Config is the [batch] section of penny.toml.
type Config struct {
	// Enabled routes concurrent sends through the batcher.
	Enabled bool `toml:"enabled"`
	// MaxSize dispatches a batch as soon as it holds this many items.
	MaxSize int `toml:"max_size"`
	// MaxWait dispatches a non-empty batch this long after its first item
	// arrived, full or not. Zero dispatches whatever is queued at once.
	MaxWait time.Duration `toml:"max_wait"`
	// Concurrency caps work in flight: items for a per-item executor
	// (NewEach), batches for a whole-batch executor (New).
	Concurrency int `toml:"concurrency"`
}

// DefaultConfig batches up to 16 items, waits at most 20 ms and keeps at
// most 8 calls in flight.
func DefaultConfig() Config {
	return Config{MaxSize: 16, MaxWait: 20 * time.Millisecond, Concurrency: 8}
}

// FieldError names the config field a problem is in ("batch.max_size").
type FieldError struct{ Field, Msg string }

func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// FieldErrors is every problem Validate found.
type FieldErrors []FieldError

func (es FieldErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Validate checks every field and returns FieldErrors (nil when valid).
func (c Config) Validate() error {
	var errs FieldErrors
	if c.MaxSize < 1 || c.MaxSize > 10_000 {
		errs = append(errs, FieldError{"batch.max_size", fmt.Sprintf("must be between 1 and 10000, got %d", c.MaxSize)})
	}
	if c.MaxWait < 0 || c.MaxWait > time.Minute {
		errs = append(errs, FieldError{"batch.max_wait", fmt.Sprintf("must be between 0s and 1m, got %s", c.MaxWait)})
	}
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		errs = append(errs, FieldError{"batch.concurrency", fmt.Sprintf("must be between 1 and 1024, got %d", c.Concurrency)})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// ErrClosed is returned by Do after Close has been called or the batcher's
// context has ended.
var ErrClosed = errors.New("batcher closed")

// Item is one queued request with its caller's context. Ctx is cancelled
// when the caller gives up or the batcher is shut down.
type Item[In any] struct {
	Ctx   context.Context
	Value In
}

// Result is one item's outcome.
type Result[Out any] struct {
	Value Out
	Err   error
}

// Func executes one batch (e.g. one upload to a provider's batch API) and
// returns exactly one Result per item, in order.
type Func[In, Out any] func(ctx context.Context, items []Item[In]) []Result[Out]

// Stats are running counters, for progress displays and benchmarks.
type Stats struct {
	Batches   int64 // dispatched
	Items     int64 // dispatched
	Cancelled int64 // dropped before dispatch because their context ended
	Failed    int64 // returned an error from the executor
}

type pending[In, Out any] struct {
	ctx  context.Context
	in   In
	done chan Result[Out] // buffered 1: the executor never blocks on a caller that left
}

// Batcher collects items and runs them in batches. Safe for concurrent use.
type Batcher[In, Out any] struct {
	cfg  Config
	exec Func[In, Out]
	sem  chan struct{} // batch slots; nil means unlimited (NewEach caps items instead)

	ctx    context.Context // cancelled when the batcher's parent ends or Close gives up
	cancel context.CancelFunc

	in      chan *pending[In, Out]
	mu      sync.RWMutex // guards closed against senders
	closed  bool
	senders sync.WaitGroup // Do calls between the closed check and the send
	flights sync.WaitGroup // dispatched batches
	loopEnd chan struct{}
	once    sync.Once

	statsMu sync.Mutex
	stats   Stats
	queued  int // items in the batch being collected
}

// New starts a batcher whose executor handles a whole batch. Config.
// Concurrency caps batches in flight. The batcher stops when ctx ends
// (pending items fail with ErrClosed, in-flight ones see their context
// cancelled) or when Close is called.
func New[In, Out any](ctx context.Context, cfg Config, fn Func[In, Out]) (*Batcher[In, Out], error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("batch config: %w", err)
	}
	return start(ctx, cfg, fn, make(chan struct{}, cfg.Concurrency)), nil
}

// NewEach starts a batcher that runs each item on its own with fn, at most
// Config.Concurrency items in flight across all batches. This is the shape
// for chat APIs, which take one conversation per call: batching then
// coalesces bursts and caps the calls a provider sees at once.
func NewEach[In, Out any](ctx context.Context, cfg Config, fn func(ctx context.Context, in In) (Out, error)) (*Batcher[In, Out], error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("batch config: %w", err)
	}
	items := make(chan struct{}, cfg.Concurrency)
	return start(ctx, cfg, Each(items, fn), nil), nil
}

// Each adapts a per-item function to a Func. Items of a batch run
// concurrently, each holding one slot of sem (a shared cap; nil = no cap);
// a panic in one item becomes that item's error.
func Each[In, Out any](sem chan struct{}, fn func(ctx context.Context, in In) (Out, error)) Func[In, Out] {
	return func(ctx context.Context, items []Item[In]) []Result[Out] {
		res := make([]Result[Out], len(items))
		var wg sync.WaitGroup
		for i, it := range items {
			if sem != nil {
				select {
				case sem <- struct{}{}:
				case <-it.Ctx.Done():
					res[i].Err = it.Ctx.Err()
					continue
				}
			}
			wg.Go(func() {
				defer func() {
					if sem != nil {
						<-sem
					}
					if p := recover(); p != nil {
						res[i].Err = fmt.Errorf("batch item panicked: %v\n%s", p, debug.Stack())
					}
				}()
				res[i].Value, res[i].Err = fn(it.Ctx, it.Value)
			})
		}
		wg.Wait()
		return res
	}
}

func start[In, Out any](parent context.Context, cfg Config, fn Func[In, Out], sem chan struct{}) *Batcher[In, Out] {
	ctx, cancel := context.WithCancel(parent)
	b := &Batcher[In, Out]{
		cfg: cfg, exec: fn, sem: sem, ctx: ctx, cancel: cancel,
		in: make(chan *pending[In, Out]), loopEnd: make(chan struct{}),
	}
	go b.loop()
	return b
}

// Do queues one item and waits for its result. It returns the caller's
// context error if ctx ends first (the item is dropped if not yet
// dispatched, or its context is cancelled if it is running), and ErrClosed
// once the batcher is shutting down.
func (b *Batcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	var zero Out
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return zero, ErrClosed
	}
	b.senders.Add(1)
	b.mu.RUnlock()
	p := &pending[In, Out]{ctx: ctx, in: in, done: make(chan Result[Out], 1)}
	select {
	case b.in <- p:
		b.senders.Done()
	case <-ctx.Done():
		b.senders.Done()
		return zero, ctx.Err()
	case <-b.ctx.Done():
		b.senders.Done()
		return zero, ErrClosed
	}
	select {
	case r := <-p.done:
		return r.Value, r.Err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// loop owns the current batch; it is the only goroutine that reads b.in.
func (b *Batcher[In, Out]) loop() {
	defer close(b.loopEnd)
	var (
		batch []*pending[In, Out]
		timer *time.Timer
		fire  <-chan time.Time
	)
	flush := func() {
		if timer != nil {
			timer.Stop()
			timer, fire = nil, nil
		}
		if len(batch) > 0 {
			b.setQueued(0)
			b.dispatch(batch)
			batch = nil
		}
	}
	for {
		select {
		case p, ok := <-b.in:
			if !ok { // Close: everything queued is in batch now
				flush()
				return
			}
			batch = append(batch, p)
			b.setQueued(len(batch))
			switch {
			case len(batch) >= b.cfg.MaxSize:
				flush()
			case b.cfg.MaxWait <= 0:
				// No waiting: take whatever else is already queued, then go.
				b.drainReady(&batch)
				flush()
			case timer == nil:
				timer = time.NewTimer(b.cfg.MaxWait)
				fire = timer.C
			}
		case <-fire:
			timer, fire = nil, nil
			flush()
		case <-b.ctx.Done():
			for _, p := range batch {
				p.done <- Result[Out]{Err: ErrClosed}
			}
			batch = nil
			if timer != nil {
				timer.Stop()
			}
			// Nobody reads b.in from here on; blocked senders see b.ctx.Done
			// and return ErrClosed themselves.
			return
		}
	}
}

func (b *Batcher[In, Out]) drainReady(batch *[]*pending[In, Out]) {
	for len(*batch) < b.cfg.MaxSize {
		select {
		case p, ok := <-b.in:
			if !ok {
				return
			}
			*batch = append(*batch, p)
		default:
			return
		}
	}
}

// dispatch drops items whose callers already left, waits for a batch slot
// (back-pressure: the loop stops collecting while the cap is reached) and
// runs the executor in its own goroutine.
func (b *Batcher[In, Out]) dispatch(batch []*pending[In, Out]) {
	live := batch[:0]
	var cancelled int64
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.done <- Result[Out]{Err: err}
			cancelled++
			continue
		}
		live = append(live, p)
	}
	b.count(func(s *Stats) { s.Cancelled += cancelled })
	if len(live) == 0 {
		return
	}
	if b.sem != nil {
		select {
		case b.sem <- struct{}{}:
		case <-b.ctx.Done():
			for _, p := range live {
				p.done <- Result[Out]{Err: ErrClosed}
			}
			return
		}
	}
	items := make([]Item[In], len(live))
	stops := make([]func() bool, len(live))
	cancels := make([]context.CancelFunc, len(live))
	for i, p := range live {
		// Each item's context ends with its caller or with the batcher.
		ictx, cancel := context.WithCancel(p.ctx)
		stops[i] = context.AfterFunc(b.ctx, cancel)
		cancels[i] = cancel
		items[i] = Item[In]{Ctx: ictx, Value: p.in}
	}
	b.count(func(s *Stats) { s.Batches++; s.Items += int64(len(live)) })
	b.flights.Go(func() {
		defer func() {
			for i := range live {
				stops[i]()
				cancels[i]()
			}
			if b.sem != nil {
				<-b.sem
			}
		}()
		res := b.run(items)
		var failed int64
		for i, p := range live {
			r := Result[Out]{Err: fmt.Errorf("batch executor returned %d results for %d items", len(res), len(items))}
			if i < len(res) && len(res) == len(items) {
				r = res[i]
			}
			if r.Err != nil {
				failed++
			}
			p.done <- r
		}
		b.count(func(s *Stats) { s.Failed += failed })
	})
}

// run calls the executor, turning a panic into an error for every item of
// this batch (a whole-batch executor has no finer unit to blame).
func (b *Batcher[In, Out]) run(items []Item[In]) (res []Result[Out]) {
	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("batch executor panicked: %v\n%s", p, debug.Stack())
			res = make([]Result[Out], len(items))
			for i := range res {
				res[i].Err = err
			}
		}
	}()
	return b.exec(b.ctx, items)
}

func (b *Batcher[In, Out]) setQueued(n int) {
	b.statsMu.Lock()
	b.queued = n
	b.statsMu.Unlock()
}

func (b *Batcher[In, Out]) count(f func(*Stats)) {
	b.statsMu.Lock()
	f(&b.stats)
	b.statsMu.Unlock()
}

// Stats returns the running counters.
func (b *Batcher[In, Out]) Stats() Stats {
	b.statsMu.Lock()
	defer b.statsMu.Unlock()
	return b.stats
}

// Close stops accepting items, dispatches everything already queued and
// waits for in-flight batches. If ctx ends first, in-flight items see their
// contexts cancelled, Close still waits for the executors to return (they
// must honour their context) and returns ctx's error. Close is idempotent.
func (b *Batcher[In, Out]) Close(ctx context.Context) error {
	b.once.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		go func() {
			// Senders that passed the closed check finish their hand-off
			// (the loop keeps reading), then the loop drains and flushes.
			b.senders.Wait()
			close(b.in)
		}()
	})
	done := make(chan struct{})
	go func() {
		<-b.loopEnd
		b.flights.Wait()
		close(done)
	}()
	select {
	case <-done:
		b.cancel()
		return nil
	case <-ctx.Done():
		b.cancel()
		<-done
		return fmt.Errorf("batcher close: %w", ctx.Err())
	}
}
