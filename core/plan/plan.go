// Package plan runs penny's pipeline — count, compress, cache lookup, route,
// cost — and returns the Plan value that every face of penny (TUI, CLI JSON,
// ledger) shows. Each stage returns its result and its explanation.
package plan

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"unicode/utf8"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/cost"
	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/route"
	"github.com/pennyllm/penny/core/tokens"
)

// Compressor is the compression stage.
type Compressor interface {
	Compress(ctx context.Context, text string, counter tokens.Counter) (compress.Result, error)
}

// Router is the routing stage.
type Router interface {
	Route(ctx context.Context, req route.Request) (route.Decision, error)
}

// Cache is the cache lookup stage. Lookup must not change the cache (no hit
// counts, no eviction): planning runs on every keystroke.
type Cache interface {
	Lookup(ctx context.Context, req cache.Request) (cache.Result, error)
}

// Input describes the prompt as the baseline model would see it.
type Input struct {
	Model          string `json:"model"` // the baseline model
	Tokens         int    `json:"tokens"`
	Tokenizer      string `json:"tokenizer"`
	Exact          bool   `json:"exact"`
	OverheadTokens int    `json:"overhead_tokens"` // chat framing added by the API around a single user message
	Bytes          int    `json:"bytes"`
}

// Cost compares the baseline with the optimized plan.
type Cost struct {
	BaselineModel           string   `json:"baseline_model"`
	OptimizedModel          string   `json:"optimized_model"` // "cache" on a hit
	BaselineUSD             float64  `json:"baseline_usd"`
	OptimizedUSD            float64  `json:"optimized_usd"`
	SavingsUSD              float64  `json:"savings_usd"`
	SavingsPct              float64  `json:"savings_pct"`
	BaselineNanos           int64    `json:"baseline_nanos"`
	OptimizedNanos          int64    `json:"optimized_nanos"`
	CompletionTokensAssumed int      `json:"completion_tokens_assumed"`
	OptimizedPromptTokens   int      `json:"optimized_prompt_tokens"` // compressed prompt, counted with the routed model's tokenizer
	RoutedPromptTokens      int      `json:"routed_prompt_tokens"`    // original prompt, counted with the routed model's tokenizer
	RequestsPerDay          int64    `json:"requests_per_day"`
	BaselinePerMonthUSD     float64  `json:"baseline_per_month_usd"`
	OptimizedPerMonthUSD    float64  `json:"optimized_per_month_usd"`
	Assumptions             []string `json:"assumptions"`
	// Attribution splits SavingsUSD between the strategies.
	Attribution Attribution `json:"attribution"`
}

// Attribution is a saving split by strategy, applied in the order of the
// scenario arithmetic — cache, then routing, then compression — each
// credited with the difference it makes on top of the ones before, so the
// parts add up exactly to baseline − optimized. With B the baseline model
// on the original prompt, R the routed model on the original prompt and O
// the routed model on the compressed prompt: a cache hit saves B; otherwise
// routing saves B − R and compression R − O. A strategy that made the
// request dearer (a pricier model, a summary that cost more than it saved)
// shows a negative share rather than being hidden.
type Attribution struct {
	CacheNanos       int64 `json:"cache_nanos"`
	RoutingNanos     int64 `json:"routing_nanos"`
	CompressionNanos int64 `json:"compression_nanos"`
}

// Attribute splits baseline − optimized as Attribution documents.
func Attribute(baseline, routedFull, optimized money.Nanos, hit bool) Attribution {
	if hit {
		return Attribution{CacheNanos: int64(baseline - optimized)}
	}
	return Attribution{RoutingNanos: int64(baseline - routedFull), CompressionNanos: int64(routedFull - optimized)}
}

// Plan is the answer to "what will this prompt cost, and what would the
// optimizations do to it?"
type Plan struct {
	Prompt      string          `json:"-"`
	Input       Input           `json:"input"`
	Compression compress.Result `json:"compression"`
	Route       route.Decision  `json:"route"`
	Cache       cache.Result    `json:"cache"`
	Cost        Cost            `json:"cost"`
}

// Options are the per-request settings of a plan.
type Options struct {
	Baseline         string      // model the user would call; required
	CompletionTokens int         // assumed completion length
	RequestsPerDay   int64       // for the monthly projection
	Scope            cache.Scope // Model is filled by the planner from the route
	Turns            int
	// Lossy switches the lossy compression passes on or off for this
	// prompt (the playground's toggle, `--lossy`); nil keeps the config's
	// choice. It needs the Planner's Lossy and Lossless compressors.
	Lossy *bool
}

// Planner wires the stages. Tokens, Catalog, Compressor, Cache and Router
// are required.
type Planner struct {
	Tokens     *tokens.Registry
	Catalog    *pricing.Catalog
	Compressor Compressor // as configured
	Cache      Cache
	Router     Router

	// Lossy and Lossless are the configured compressor with the lossy
	// passes switched on and off (compress.Config.WithLossy), used when
	// Options.Lossy asks; nil falls back to Compressor.
	Lossy    Compressor
	Lossless Compressor
	// SummarizeModel prices the summary a plan projects (see
	// compress.PendingSummary); "" prices it on the routed model.
	SummarizeModel string
}

// compressor is the compression stage for opt.
func (p *Planner) compressor(opt Options) Compressor {
	switch {
	case opt.Lossy == nil:
	case *opt.Lossy && p.Lossy != nil:
		return p.Lossy
	case !*opt.Lossy && p.Lossless != nil:
		return p.Lossless
	}
	return p.Compressor
}

// MaxPromptBytes bounds what the planner accepts; larger prompts are refused
// with ErrTooLarge instead of stalling the pipeline.
const MaxPromptBytes = 4 << 20

// Sentinel errors callers branch on.
var (
	ErrEmpty        = errors.New("empty prompt")
	ErrTooLarge     = errors.New("prompt too large")
	ErrBinary       = errors.New("prompt is not text")
	ErrUnknownModel = errors.New("unknown model")
)

// chatOverhead is the framing OpenAI's chat format adds around one user
// message: 3 tokens per message, 1 for the role "user", and 3 priming the
// reply (llm.PromptTokens counts the same way for whole conversations).
const chatOverhead = 7

// Plan computes the plan for one prompt.
func (p *Planner) Plan(ctx context.Context, prompt string, opt Options) (Plan, error) {
	if err := CheckPrompt(prompt); err != nil {
		return Plan{}, err
	}
	base, ok := p.Catalog.Lookup(opt.Baseline)
	if !ok {
		return Plan{}, fmt.Errorf("%w: %q is not in the price catalog (see `penny prices list`)", ErrUnknownModel, opt.Baseline)
	}
	baseCounter := p.Tokens.ForModel(base.ID)
	in := baseCounter.Count(prompt)
	pl := Plan{
		Prompt: prompt,
		Input: Input{
			Model: base.ID, Tokens: in.Tokens, Tokenizer: in.Tokenizer, Exact: in.Exact,
			OverheadTokens: chatOverhead, Bytes: len(prompt),
		},
	}

	comp, err := p.compressor(opt).Compress(ctx, prompt, baseCounter)
	if err != nil {
		return Plan{}, fmt.Errorf("compress: %w", err)
	}
	pl.Compression = comp

	dec, err := p.Router.Route(ctx, route.Request{
		Prompt: comp.Text, PromptTokens: comp.Tokens, OverheadTokens: chatOverhead, CompletionTokens: opt.CompletionTokens,
		Turns: opt.Turns, Baseline: base.ID,
	})
	if err != nil {
		return Plan{}, fmt.Errorf("route: %w", err)
	}
	pl.Route = dec
	routed, ok := p.Catalog.Lookup(dec.Model)
	if !ok {
		return Plan{}, fmt.Errorf("route: %w: router chose %q", ErrUnknownModel, dec.Model)
	}

	if comp.Summary != nil {
		if err := p.priceSummary(&pl.Compression, routed); err != nil {
			return Plan{}, err
		}
	}
	if err := p.lookup(ctx, &pl, base, routed, opt); err != nil {
		return Plan{}, err
	}
	return pl, nil
}

// Relookup returns what Plan would return now for pl's prompt and opt,
// given pl, a plan Plan made earlier for them, when only the cache may
// have changed since: everything before the lookup depends on the prompt,
// the options and the configuration alone, so it is kept, and the lookup
// and the cost projection, which depends on it, are made again. A replay
// uses it for a plan made ahead of its turn that went stale.
func (p *Planner) Relookup(ctx context.Context, pl Plan, opt Options) (Plan, error) {
	base, ok := p.Catalog.Lookup(pl.Input.Model)
	if !ok {
		return Plan{}, fmt.Errorf("%w: %q is not in the price catalog (see `penny prices list`)", ErrUnknownModel, pl.Input.Model)
	}
	routed, ok := p.Catalog.Lookup(pl.Route.Model)
	if !ok {
		return Plan{}, fmt.Errorf("route: %w: router chose %q", ErrUnknownModel, pl.Route.Model)
	}
	if err := p.lookup(ctx, &pl, base, routed, opt); err != nil {
		return Plan{}, err
	}
	return pl, nil
}

// lookup asks the cache about pl's prompt in the routed model's scope and
// projects the costs, which depend on its answer.
func (p *Planner) lookup(ctx context.Context, pl *Plan, base, routed pricing.Model, opt Options) error {
	scope := opt.Scope
	scope.Model = routed.ID
	res, err := p.Cache.Lookup(ctx, cache.Request{Prompt: pl.Prompt, Scope: scope})
	if err != nil {
		return fmt.Errorf("cache lookup: %w", err)
	}
	pl.Cache = res
	pl.Cost = p.project(base, routed, pl.Prompt, pl.Input.Tokens, pl.Compression, res, opt)
	return nil
}

// priceSummary prices the summarizer call a plan projects — the request
// it will send (instruction and region) counted with the summarizer's
// tokenizer, and the projected summary length as completion — so that
// the optimized cost includes what compression itself costs. No call is
// made: planning never spends.
func (p *Planner) priceSummary(comp *compress.Result, routed pricing.Model) error {
	sm := routed
	if p.SummarizeModel != "" {
		var ok bool
		if sm, ok = p.Catalog.Lookup(p.SummarizeModel); !ok {
			return fmt.Errorf("compress: %w: summarize_model %q is not in the price catalog", ErrUnknownModel, p.SummarizeModel)
		}
	}
	s := comp.Summary
	req := s.Request(sm.ID)
	in := llm.PromptTokens(p.Tokens.ForModel(sm.ID), req.Messages())
	c := cost.Request(sm, cost.Usage{PromptTokens: int64(in), CompletionTokens: int64(s.EstimatedTokens)})
	s.Model, s.PromptTokens, s.CostNanos = sm.ID, in, c
	comp.ExtraCostNanos += c
	comp.ExtraTokens += in + s.EstimatedTokens
	for i := range comp.Passes {
		if comp.Passes[i].Pending {
			comp.Passes[i].CostNanos += c
		}
	}
	return nil
}

func (p *Planner) project(base, routed pricing.Model, prompt string, promptTokens int, comp compress.Result, res cache.Result, opt Options) Cost {
	compressed := comp.Text
	completion := int64(opt.CompletionTokens)
	baseRat := cost.RequestRat(base, cost.Usage{PromptTokens: int64(promptTokens + chatOverhead), CompletionTokens: completion})
	routedCounter := p.Tokens.ForModel(routed.ID)
	compTokens := routedCounter.Count(compressed).Tokens
	optTokens := compTokens
	if s := comp.Summary; s != nil {
		// The send replaces the region with the summary: the projected
		// prompt has the estimate in place of the region.
		optTokens = max(0, compTokens-routedCounter.Count(s.Region).Tokens+s.EstimatedTokens)
	}
	// The original prompt under the routed model's tokenizer prices R, the
	// routing counterfactual; most often it is a count already made.
	var routedTokens int
	switch {
	case routed.ID == base.ID:
		routedTokens = promptTokens
	case compressed == prompt:
		routedTokens = compTokens
	default:
		routedTokens = routedCounter.Count(prompt).Tokens
	}
	routedFull := cost.Request(routed, cost.Usage{PromptTokens: int64(routedTokens + chatOverhead), CompletionTokens: completion})
	optRat := new(big.Rat)
	optModel := routed.ID
	hit := res.Outcome == cache.ExactHit || res.Outcome == cache.SemanticHit
	if hit {
		optModel = "cache"
	} else {
		optRat = cost.RequestRat(routed, cost.Usage{PromptTokens: int64(optTokens + chatOverhead), CompletionTokens: completion})
		// A summarizing compression pass calls a model of its own; that
		// cost is part of the optimized plan, not hidden in the savings.
		optRat.Add(optRat, comp.ExtraCostNanos.Rat())
	}
	b, o := money.FromRat(baseRat), money.FromRat(optRat)
	c := Cost{
		BaselineModel: base.ID, OptimizedModel: optModel,
		BaselineUSD: b.USD(), OptimizedUSD: o.USD(), SavingsUSD: (b - o).USD(),
		BaselineNanos: int64(b), OptimizedNanos: int64(o),
		CompletionTokensAssumed: opt.CompletionTokens, OptimizedPromptTokens: optTokens, RoutedPromptTokens: routedTokens,
		Attribution:          Attribute(b, routedFull, o, hit),
		RequestsPerDay:       opt.RequestsPerDay,
		BaselinePerMonthUSD:  cost.PerMonth(baseRat, opt.RequestsPerDay).USD(),
		OptimizedPerMonthUSD: cost.PerMonth(optRat, opt.RequestsPerDay).USD(),
		Assumptions: []string{
			fmt.Sprintf("completion length assumed: %d tokens (config: completion_tokens)", opt.CompletionTokens),
			fmt.Sprintf("chat framing: %d tokens per request", chatOverhead),
			fmt.Sprintf("month = %d days × %d requests/day", cost.DaysPerMonth, opt.RequestsPerDay),
		},
	}
	if s := comp.Summary; s != nil {
		c.Assumptions = append(c.Assumptions, fmt.Sprintf(
			"summary made at send by %s: about %d tokens for a %d-token run (%.0f%%, at least its %d protected units), costing %s",
			s.Model, s.EstimatedTokens, s.RegionTokens, 100*s.Ratio, len(s.Keep), s.CostNanos.String()))
	}
	if b > 0 {
		c.SavingsPct = 100 * float64(b-o) / float64(b)
	}
	return c
}

// CheckPrompt rejects input no stage should see: empty, over MaxPromptBytes,
// invalid UTF-8 or containing NUL bytes (binary files pasted or piped in).
func CheckPrompt(prompt string) error {
	switch {
	case len(prompt) > MaxPromptBytes:
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(prompt), MaxPromptBytes)
	case !utf8.ValidString(prompt):
		return fmt.Errorf("%w: invalid UTF-8", ErrBinary)
	}
	empty := true
	for _, r := range prompt {
		if r == 0 {
			return fmt.Errorf("%w: contains NUL bytes", ErrBinary)
		}
		if r != ' ' && r != '\n' && r != '\t' && r != '\r' {
			empty = false
		}
	}
	if empty {
		return ErrEmpty
	}
	return nil
}
