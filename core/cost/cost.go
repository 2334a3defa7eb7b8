// Package cost turns token counts and catalog prices into money: the cost of
// one request, and projections per day and per 30-day month.
package cost

import (
	"math"
	"math/big"
	"math/bits"

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
	if pico, ok := RequestPico(m, u); ok {
		return new(big.Rat).SetFrac64(pico, pricing.PicoPerDollar)
	}
	in, out, cached := prices(m, u)
	uncached := u.PromptTokens - u.CachedPromptTokens
	sum := in.CostRat(uncached)
	sum.Add(sum, cached.CostRat(u.CachedPromptTokens))
	sum.Add(sum, out.CostRat(u.CompletionTokens))
	return sum
}

// prices are the per-million prices a request is charged at.
func prices(m pricing.Model, u Usage) (in, out, cached pricing.PerMillion) {
	in, out, cached = m.Input, m.Output, m.CachedInput
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
	return in, out, cached
}

// RequestPico is RequestRat in pico-dollars (1e-12 USD), exactly, and false
// when a product or the sum does not fit an int64 — then only RequestRat
// is exact. Every realistic request fits (2⁶³ pico-dollars is $9.2
// million), so the cost path needs no big.Rat, which allocated more than
// anything else when pricing a short request.
func RequestPico(m pricing.Model, u Usage) (int64, bool) {
	in, out, cached := prices(m, u)
	uncached, ok := pricing.AddPico(u.PromptTokens, -u.CachedPromptTokens)
	if !ok || u.CachedPromptTokens == math.MinInt64 {
		return 0, false
	}
	a, ok1 := pricing.MulPico(uncached, in)
	b, ok2 := pricing.MulPico(u.CachedPromptTokens, cached)
	c, ok3 := pricing.MulPico(u.CompletionTokens, out)
	if !ok1 || !ok2 || !ok3 {
		return 0, false
	}
	sum, ok1 := pricing.AddPico(a, b)
	sum, ok2 = pricing.AddPico(sum, c)
	if !ok1 || !ok2 {
		return 0, false
	}
	return sum, true
}

// Request is RequestRat rounded to the nearest nano-dollar.
func Request(m pricing.Model, u Usage) money.Nanos {
	if pico, ok := RequestPico(m, u); ok {
		return pricing.PicoNanos(pico)
	}
	return money.FromRat(RequestRat(m, u))
}

// PerDay scales a per-request cost to requests per day, rounding once.
func PerDay(perRequest *big.Rat, requestsPerDay int64) money.Nanos {
	if n, ok := perDayInt(perRequest, requestsPerDay); ok {
		return n
	}
	return money.FromRat(new(big.Rat).Mul(perRequest, new(big.Rat).SetInt64(requestsPerDay)))
}

// perDayInt is PerDay in 128-bit integer arithmetic for the common case
// of a per-request cost whose numerator and denominator fit an int64:
// round(num × requests × 1e9 / den) half away from zero, which is what
// money.FromRat computes (rounding a fraction does not depend on reducing
// it). false when an intermediate or the result does not fit.
func perDayInt(r *big.Rat, requests int64) (money.Nanos, bool) {
	num, den := r.Num(), r.Denom()
	if !num.IsInt64() || !den.IsUint64() {
		return 0, false
	}
	n, ok := mulInt64(num.Int64(), requests)
	if !ok {
		return 0, false
	}
	neg := n < 0
	un := uint64(n)
	if neg {
		un = -un
	}
	d := den.Uint64() // > 0: a big.Rat's denominator is positive
	hi, lo := bits.Mul64(un, uint64(money.PerDollar))
	if hi >= d {
		return 0, false // the quotient needs more than 64 bits
	}
	q, rem := bits.Div64(hi, lo, d)
	if q > math.MaxInt64 {
		return 0, false
	}
	// 2·rem ≥ d without overflow: rem < d.
	if rem >= d-rem {
		q++
	}
	if q > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -money.Nanos(q), true
	}
	return money.Nanos(q), true
}

// mulInt64 is a × b, false when it does not fit an int64 (MinInt64 too).
func mulInt64(a, b int64) (int64, bool) {
	neg := (a < 0) != (b < 0)
	ua, ub := uint64(a), uint64(b)
	if a < 0 {
		ua = -ua
	}
	if b < 0 {
		ub = -ub
	}
	hi, lo := bits.Mul64(ua, ub)
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(lo), true
	}
	return int64(lo), true
}

// PerMonth scales a per-request cost to a 30-day month, rounding once.
func PerMonth(perRequest *big.Rat, requestsPerDay int64) money.Nanos {
	return PerDay(perRequest, requestsPerDay*DaysPerMonth)
}
