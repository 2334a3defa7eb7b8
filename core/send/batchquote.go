package send

import (
	"fmt"

	"github.com/pennyllm/penny/core/cost"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/pricing"
)

// BatchTurnaround is what providers' batch APIs promise (OpenAI and
// Anthropic: results within 24 hours).
const BatchTurnaround = "24h"

// BatchQuote prices a plan through the routed model's batch API: the same
// tokens at batch prices, in exchange for results within BatchTurnaround.
type BatchQuote struct {
	Model            string      `json:"model"`
	Available        bool        `json:"available"` // the catalog knows batch prices for the model
	Note             string      `json:"note,omitempty"`
	Turnaround       string      `json:"turnaround"`
	InteractiveUSD   float64     `json:"interactive_usd"`
	BatchUSD         float64     `json:"batch_usd"`
	SavingsUSD       float64     `json:"savings_usd"`
	SavingsPct       float64     `json:"savings_pct"`
	InteractiveNanos money.Nanos `json:"interactive_nanos"`
	BatchNanos       money.Nanos `json:"batch_nanos"`
}

// QuoteBatch prices pl's optimized request (compressed prompt with chat
// framing, assumed completion length, routed model) interactively and via
// the batch API. A cache hit costs nothing either way.
func QuoteBatch(pl plan.Plan, cat *pricing.Catalog) (BatchQuote, error) {
	q := BatchQuote{Model: pl.Route.Model, Turnaround: BatchTurnaround}
	if hit(pl.Cache.Outcome) {
		q.Note = "answered from the cache: nothing to send"
		return q, nil
	}
	m, ok := cat.Lookup(pl.Route.Model)
	if !ok {
		return q, fmt.Errorf("batch quote: %w: %q", plan.ErrUnknownModel, pl.Route.Model)
	}
	u := cost.Usage{PromptTokens: int64(pl.Cost.OptimizedPromptTokens + pl.Input.OverheadTokens),
		CompletionTokens: int64(pl.Cost.CompletionTokensAssumed)}
	q.InteractiveNanos = cost.Request(m, u)
	q.BatchNanos = q.InteractiveNanos
	if m.BatchInput > 0 && m.BatchOutput > 0 {
		q.Available = true
		u.Batch = true
		q.BatchNanos = cost.Request(m, u)
	} else {
		q.Note = fmt.Sprintf("no batch API price known for %s", m.ID)
	}
	q.InteractiveUSD, q.BatchUSD = q.InteractiveNanos.USD(), q.BatchNanos.USD()
	q.SavingsUSD = (q.InteractiveNanos - q.BatchNanos).USD()
	if q.InteractiveNanos > 0 {
		q.SavingsPct = 100 * float64(q.InteractiveNanos-q.BatchNanos) / float64(q.InteractiveNanos)
	}
	return q, nil
}
