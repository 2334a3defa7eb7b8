// Package cost turns token counts and catalog prices into money: the cost of
// one request, and projections per day and per 30-day month.
package cost

import (
	"math/big"

	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/pricing"
)

// DaysPerMonth is the month penny projects over.
const DaysPerMonth = 30

// Usage is the token shape of one request.
type Usage struct {
	PromptTokens       int64 // all prompt tokens, cached ones included
	CachedPromptTokens int64 // of which read from the provider's prompt cache
	CompletionTokens   int64
	Batch              bool // sent through the provider's batch API
}

// RequestRat is the exact dollar cost of one request with model m.
// Cached prompt tokens are charged at the cached-input price when the
// catalog knows one; batch requests at the batch prices when known.
func RequestRat(m pricing.Model, u Usage) *big.Rat {
	in, out, cached := m.Input, m.Output, m.CachedInput
	// Batch prices apply only when the catalog knows both; a half-known
	// batch price would make completion tokens free.
	if u.Batch && m.BatchInput > 0 && m.BatchOutput > 0 {
		in, out = m.BatchInput, m.BatchOutput
		if cached > 0 && cached > in {
			cached = in
		}
	}
	if cached == 0 {
		cached = in
	}
	uncached := u.PromptTokens - u.CachedPromptTokens
	sum := in.CostRat(uncached)
	sum.Add(sum, cached.CostRat(u.CachedPromptTokens))
	sum.Add(sum, out.CostRat(u.CompletionTokens))
	return sum
}

// Request is RequestRat rounded to the nearest nano-dollar.
func Request(m pricing.Model, u Usage) money.Nanos {
	return money.FromRat(RequestRat(m, u))
}

// PerDay scales a per-request cost to requests per day, rounding once.
func PerDay(perRequest *big.Rat, requestsPerDay int64) money.Nanos {
	return money.FromRat(new(big.Rat).Mul(perRequest, new(big.Rat).SetInt64(requestsPerDay)))
}

// PerMonth scales a per-request cost to a 30-day month, rounding once.
func PerMonth(perRequest *big.Rat, requestsPerDay int64) money.Nanos {
	return PerDay(perRequest, requestsPerDay*DaysPerMonth)
}
