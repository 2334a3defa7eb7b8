// Package pricing is penny's model catalog: prices per million tokens,
// context windows, capabilities and provider for every model it can project.
// The catalog is a dated snapshot embedded in the binary, optionally merged
// with user overrides and imported LiteLLM price maps.
package pricing

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strings"

	"github.com/pennyllm/penny/core/money"
)

// PerMillion is a price in micro-dollars per one million tokens, which is the
// same number as "dollars per 1M tokens" times 1e6. Every published price
// (down to $0.000001 per 1M tokens) is an exact integer on this scale.
type PerMillion int64

// Dollars returns the price in dollars per 1M tokens, for display.
func (p PerMillion) Dollars() float64 { return float64(p) / 1e6 }

// String prints the price as dollars per 1M tokens with at least two and at
// most six decimals ("$2.50", "$0.075", "$0.000001"), computed from the
// integer so no float rounding shows.
func (p PerMillion) String() string {
	neg := p < 0
	if neg {
		p = -p
	}
	whole, frac := int64(p)/1_000_000, int64(p)%1_000_000
	digits := strings.TrimRight(fmt.Sprintf("%06d", frac), "0")
	for len(digits) < 2 {
		digits += "0"
	}
	s := fmt.Sprintf("$%d.%s", whole, digits)
	if neg {
		return "-" + s
	}
	return s
}

// IsChat reports whether the model answers prompts (chat or responses
// mode), as opposed to an embedding model, which a router or a baseline
// picker must not offer.
func (m Model) IsChat() bool { return m.Mode == "" || m.Mode == "chat" || m.Mode == "responses" }

// PromptLimit is the most prompt tokens the model accepts.
func (m Model) PromptLimit() int {
	if m.MaxInput > 0 {
		return m.MaxInput
	}
	return m.ContextWindow
}

// Cost is the exact cost of n tokens at this price, rounded to the nearest
// nano-dollar.
func (p PerMillion) Cost(tokens int64) money.Nanos {
	// tokens * p micro-dollars / 1e6 tokens = tokens*p/1e6 µ$ = tokens*p/1e3 n$.
	if pico, ok := MulPico(tokens, p); ok {
		return PicoNanos(pico)
	}
	return money.FromRat(p.CostRat(tokens))
}

// PicoPerDollar is the denominator of a pico-dollar amount: tokens × a
// PerMillion price is a cost in pico-dollars (1e-12 USD), exactly.
const PicoPerDollar = 1_000_000_000_000

// MulPico is tokens × p, the exact cost in pico-dollars, and false when
// the product does not fit an int64 (callers then fall back to big.Rat).
// It exists because planning and sending price several requests each and
// big.Rat arithmetic allocated more than the rest of the cost path.
func MulPico(tokens int64, p PerMillion) (int64, bool) {
	return mul64(tokens, int64(p))
}

// AddPico is a + b, false on int64 overflow.
func AddPico(a, b int64) (int64, bool) {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
		return 0, false
	}
	return s, true
}

// PicoNanos rounds a pico-dollar amount to the nearest nano-dollar, half
// away from zero: the value money.FromRat gives for pico/1e12 dollars
// (FromRat's quotient and remainder scale with the fraction's common
// factor, so comparing 2|r| with the denominator is |r| ≥ 500 here).
func PicoNanos(pico int64) money.Nanos {
	q, r := pico/1000, pico%1000 // Go truncates; r has pico's sign
	switch {
	case r >= 500:
		q++
	case r <= -500:
		q--
	}
	return money.Nanos(q)
}

// mul64 is a × b, false when the product does not fit an int64 (math.MinInt64
// is refused too, which keeps negation safe for callers).
func mul64(a, b int64) (int64, bool) {
	neg := (a < 0) != (b < 0)
	hi, lo := bits.Mul64(absU(a), absU(b))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(lo), true
	}
	return int64(lo), true
}

func absU(x int64) uint64 {
	if x < 0 {
		return -uint64(x)
	}
	return uint64(x)
}

// CostRat is the exact cost in dollars of n tokens, for sums that must be
// rounded only once.
func (p PerMillion) CostRat(tokens int64) *big.Rat {
	num := new(big.Int).Mul(big.NewInt(tokens), big.NewInt(int64(p)))
	return new(big.Rat).SetFrac(num, big.NewInt(1_000_000_000_000))
}

// Model is one catalog entry.
type Model struct {
	ID       string   `json:"id"`
	Provider string   `json:"provider"` // openai, anthropic, google, groq, …
	Aliases  []string `json:"aliases,omitempty"`

	Input       PerMillion `json:"input"`                  // prompt tokens
	Output      PerMillion `json:"output"`                 // completion tokens
	CachedInput PerMillion `json:"cached_input,omitempty"` // prompt tokens read from the provider's prompt cache; 0 = no discount known
	CacheWrite  PerMillion `json:"cache_write,omitempty"`  // prompt tokens written to the provider's prompt cache; 0 = same as Input
	BatchInput  PerMillion `json:"batch_input,omitempty"`  // batch API prompt price; 0 = no batch API known
	BatchOutput PerMillion `json:"batch_output,omitempty"` // batch API completion price

	ContextWindow int `json:"context_window"`      // prompt + completion tokens
	MaxInput      int `json:"max_input,omitempty"` // prompt limit when it is below ContextWindow (gpt-5: 272K of 400K); 0 = ContextWindow
	MaxOutput     int `json:"max_output,omitempty"`

	// Mode is what the model is for: "" or "chat" for chat/completion
	// models, "embedding" for embedding models (output price 0), "responses"
	// for models only served by OpenAI's Responses API.
	Mode string `json:"mode,omitempty"`

	Vision   bool `json:"vision,omitempty"`
	Tools    bool `json:"tools,omitempty"`
	JSONMode bool `json:"json_mode,omitempty"`

	Checked string `json:"checked"`          // date (YYYY-MM-DD) the price was last checked
	Source  string `json:"source,omitempty"` // "embedded", "config", "litellm:<file>"
	Note    string `json:"note,omitempty"`   // e.g. "≤200K prompt tokens"
}
