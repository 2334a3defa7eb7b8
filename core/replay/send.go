package replay

import (
	"context"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/send"
)

// Sender is what *send.Sender provides.
type Sender interface {
	Send(ctx context.Context, pl plan.Plan, opt send.Options, onDelta func(string)) (send.Outcome, error)
}

// TagReplay is the ledger tag replayed requests are written under, so the
// Savings dashboard can tell them from live traffic.
const TagReplay = "replay"

// SendExecutor executes replayed requests with core/send: a cache hit is
// served from the cache, a miss calls the routed model (main gives the
// Sender the simulated provider, so a replay spends nothing), fills the
// cache and writes the ledger under Tag (TagReplay when empty), naming the
// recorded user.
type SendExecutor struct {
	Sender Sender
	Tag    string
	// Ledger, when set, is the write-behind ledger the Sender records to
	// (a ledger.Buffered): Flush flushes it, and Run calls Flush at the end.
	Ledger Flusher
}

// Flusher is an Executor (or a store behind one) that buffers writes: Run
// calls Flush once when the traffic is done, also after a cancellation, so
// what was replayed is recorded; a failed flush fails the run.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Flush implements Flusher.
func (e SendExecutor) Flush(ctx context.Context) error {
	if e.Ledger == nil {
		return nil
	}
	return e.Ledger.Flush(ctx)
}

// Execute implements Executor. A send whose answer is valid but whose
// bookkeeping failed (send.ErrNotRecorded) is reported as a failure: its
// savings would be missing from the ledger the dashboard reads.
func (e SendExecutor) Execute(ctx context.Context, c Call) (Result, error) {
	tag := e.Tag
	if tag == "" {
		tag = TagReplay
	}
	out, err := e.Sender.Send(ctx, c.Plan, send.Options{Scope: c.Options.Scope, User: c.Request.User, Tag: tag}, nil)
	if err != nil {
		return Result{}, err
	}
	hit := out.Cache.Outcome == cache.ExactHit || out.Cache.Outcome == cache.SemanticHit
	model := out.Route.Model
	if hit {
		model = "cache"
	}
	return Result{Model: model, FromCache: hit, Actual: out.Cost.ActualNanos}, nil
}
