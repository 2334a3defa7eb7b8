package storage

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/budget"
	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/ledger"
	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/route"
	"github.com/pennyllm/penny/core/send"
	"github.com/pennyllm/penny/core/tokens"
)

// slowProvider answers with the full completion cap after a delay, so that
// concurrent sends overlap and every settle costs close to its hold.
type slowProvider struct{ calls atomic.Int64 }

func (p *slowProvider) Name() string { return "slow" }

func (p *slowProvider) Chat(ctx context.Context, req llm.Request, _ func(string)) (llm.Response, error) {
	p.calls.Add(1)
	select {
	case <-time.After(5 * time.Millisecond):
	case <-ctx.Done():
		return llm.Response{}, ctx.Err()
	}
	return llm.Response{Text: "ok", Model: req.Model, UsageKnown: true,
		Usage: llm.Usage{PromptTokens: 20, CompletionTokens: req.MaxTokens}}, nil
}

// TestSend100ConcurrentAgainstCapWithSQLite is issue 6's budget test end to
// end: 100 concurrent sends through send.Sender, budget holds in SQLite,
// every send in the ledger, and the cap never passed.
func TestSend100ConcurrentAgainstCapWithSQLite(t *testing.T) {
	ctx := context.Background()
	db := tempDB(t)
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	bs := NewBudgetStore(db)
	capUSD := 0.02
	svc, err := budget.New(budget.Config{DailyUSD: capUSD, ReservationTTL: time.Minute, AlertsPct: []int{50, 80, 100}}, bs, budget.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prov := &slowProvider{}
	ls := NewLedgerStore(db)
	s, err := send.New(send.DefaultConfig(), send.Deps{Catalog: cat, Tokens: tokens.NewRegistry(), Ledger: ls, Budget: svc,
		Providers: send.ProviderFunc(func(string) (llm.Provider, error) { return prov, nil })})
	if err != nil {
		t.Fatal(err)
	}
	pl := plan.Plan{
		Prompt:      "What is the capital of France?",
		Input:       plan.Input{Model: "gpt-4o", OverheadTokens: 6},
		Compression: compress.Result{Text: "What is the capital of France?"},
		Route:       route.Decision{Model: "gpt-4o-mini", Tier: "weak"},
		Cache:       cache.Result{Outcome: cache.Bypass, Reason: cache.ReasonDisabled},
		Cost:        plan.Cost{BaselineModel: "gpt-4o", CompletionTokensAssumed: 400, OptimizedPromptTokens: 7},
	}
	opt := send.Options{Scope: cache.Scope{MaxTokens: 1000}, Tag: "test"}
	var ok, refused atomic.Int64
	var alerts sync.Map
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			out, err := s.Send(ctx, pl, opt, nil)
			switch {
			case err == nil:
				ok.Add(1)
				for _, a := range out.Alerts {
					if _, dup := alerts.LoadOrStore(a.Pct, true); dup {
						t.Errorf("alert %d%% fired twice", a.Pct)
					}
				}
			case errors.Is(err, budget.ErrBudgetExceeded):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	sp, err := bs.Spend(ctx, svc.Window(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d sent, %d refused, spent %s of $%.2f", ok.Load(), refused.Load(), sp.Day, capUSD)
	if sp.Day > money.FromUSD(capUSD) || sp.Reserved != 0 {
		t.Fatalf("spent %s (reserved %s), cap $%.2f", sp.Day, sp.Reserved, capUSD)
	}
	if refused.Load() == 0 || ok.Load() == 0 || ok.Load() != prov.calls.Load() {
		t.Fatalf("%d ok, %d refused, %d provider calls: a refused send must make no call", ok.Load(), refused.Load(), prov.calls.Load())
	}
	rep, err := ledger.Summarize(ctx, ls, ledger.Filter{Tag: "test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Requests != 100 || rep.Totals.Calls != ok.Load() || rep.Totals.Refusals != refused.Load() || rep.Totals.Actual.Nanos != sp.Day {
		t.Fatalf("ledger totals %+v, budget spent %s", rep.Totals, sp.Day)
	}
	if _, fired := alerts.Load(50); !fired && sp.Day*2 >= money.FromUSD(capUSD) {
		t.Error("50% alert never fired")
	}
}
