package serve

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/send"
)

type costSender struct {
	mu    sync.Mutex
	calls int
	cost  money.Nanos
	err   error
}

func (c *costSender) Send(context.Context, plan.Plan, send.Options, func(string)) (send.Outcome, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	var out send.Outcome
	out.Cost.ActualNanos = c.cost
	return out, c.err
}

func req(projected int64) plan.Plan {
	return plan.Plan{Prompt: "hi", Cost: plan.Cost{OptimizedNanos: projected}}
}

func TestLimitSenderRate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	inner := &costSender{}
	s := LimitSender(inner, Limits{SendsPerMinute: 2})
	s.(*limited).now = func() time.Time { return now }
	ctx := context.Background()
	for i := range 2 {
		if _, err := s.Send(ctx, req(1), send.Options{}, nil); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		now = now.Add(10 * time.Second)
	}
	_, err := s.Send(ctx, req(1), send.Options{}, nil)
	if !errors.Is(err, ErrSendRate) || !strings.Contains(err.Error(), "2 sends per minute; try again in 40s") || inner.calls != 2 {
		t.Fatalf("third send in a minute: %v (inner calls %d)", err, inner.calls)
	}
	now = now.Add(41 * time.Second) // the first send has left the window
	if _, err := s.Send(ctx, req(1), send.Options{}, nil); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestLimitSenderBudget(t *testing.T) {
	inner := &costSender{cost: 400}
	s := LimitSender(inner, Limits{Budget: 1000})
	ctx := context.Background()
	for i := range 2 {
		if _, err := s.Send(ctx, req(300), send.Options{}, nil); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	// Spent 800; a send projected at 300 would pass 1000 and is refused
	// before anything is sent, one projected at 200 still fits.
	if _, err := s.Send(ctx, req(300), send.Options{}, nil); !isBudget(err) || inner.calls != 2 {
		t.Fatalf("over budget: %v (calls %d)", err, inner.calls)
	}
	if _, err := s.Send(ctx, req(200), send.Options{}, nil); err != nil {
		t.Fatalf("within budget: %v", err)
	}
	// A failed send that cost nothing does not count.
	inner.err, inner.cost = errors.New("boom"), 0
	if _, err := s.Send(ctx, req(0), send.Options{}, nil); err == nil {
		t.Fatal("inner error lost")
	}
}

func TestLimitSenderConcurrentHolds(t *testing.T) {
	// Sends in flight hold their projection, so concurrent sends cannot
	// together pass the budget.
	block := make(chan struct{})
	inner := &blockingSender{block: block}
	s := LimitSender(inner, Limits{Budget: 1000})
	errs := make(chan error, 3)
	for range 3 {
		go func() { _, err := s.Send(context.Background(), req(400), send.Options{}, nil); errs <- err }()
	}
	refused := 0
	var first error
	for range 1 {
		first = <-errs // the refused one returns at once
	}
	if isBudget(first) {
		refused++
	}
	close(block)
	for range 2 {
		if err := <-errs; isBudget(err) {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d sends refused, want 1 of 3×400 against 1000", refused)
	}
}

type blockingSender struct{ block chan struct{} }

func (b *blockingSender) Send(_ context.Context, pl plan.Plan, _ send.Options, _ func(string)) (send.Outcome, error) {
	<-b.block
	var out send.Outcome
	out.Cost.ActualNanos = money.Nanos(pl.Cost.OptimizedNanos)
	return out, nil
}

func isBudget(err error) bool { return errors.Is(err, ErrSessionBudget) }

func TestLimitSenderNil(t *testing.T) {
	if LimitSender(nil, Limits{SendsPerMinute: 1}) != nil {
		t.Error("a nil sender must stay nil so the UI shows sending as unavailable")
	}
}
