package common

import (
	"context"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/history"
	"github.com/pennyllm/penny/core/ledger"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/route"
	"github.com/pennyllm/penny/core/send"
)

// The interfaces below are what the UI needs from penny's core services,
// declared here on the consumer side and kept small. Every one of them is
// optional in Services: a nil service makes its view say "not available yet"
// in one line and disables its keys in the help footer.

// Planner computes a plan; *plan.Planner satisfies it.
type Planner interface {
	Plan(ctx context.Context, prompt string, opts plan.Options) (plan.Plan, error)
}

// Models lists the price catalog for the baseline picker; *pricing.Catalog
// satisfies it.
type Models interface {
	Models() []pricing.Model
}

// Sender executes a plan; *send.Sender satisfies it. onDelta receives
// streamed text from the sender's goroutine and must not block for long.
// Send returns when the answer is complete, failed, or ctx was cancelled. An
// error wrapping send.ErrNotRecorded comes with a valid Outcome.
type Sender interface {
	Send(ctx context.Context, pl plan.Plan, opt send.Options, onDelta func(string)) (send.Outcome, error)
}

// History lists past prompts and labels them: a history.Store plus the
// configured route tiers. Labels feed the router's learned signal.
type History interface {
	ListHistory(ctx context.Context, q history.Query) ([]history.Entry, error)
	SetLabel(ctx context.Context, id int64, l history.Label) error
	// Tiers names the configured route tiers, cheapest first: the tiers a
	// tier label may name (route.tiers can rename them).
	Tiers() []string
}

// RuleError points at the field of a rule that does not validate.
type RuleError struct {
	Index int    // row in the table
	Field string // "name", "match" (pattern or keywords), "weight", "tier"; "" for the whole rule
	Msg   string
}

// RulesPreview is the effect of a candidate rule set: the current prompt
// re-scored and the labelled sets re-evaluated.
type RulesPreview struct {
	Errors   []RuleError        // non-empty: the candidate is invalid and nothing else is filled
	Decision route.Decision     // the current prompt under the candidate rules
	Sets     []route.SetMetrics // labelled history first, then example files and embedded sets
	Changed  []history.Entry    // history items whose route would change
}

// Rules reads, previews and saves the routing rules (the [[route.rules]]
// of penny.toml). Preview validates the candidate set and, when valid,
// re-scores prompt and the labelled sets under it; Save writes the
// config file atomically.
type Rules interface {
	Rules(ctx context.Context) ([]route.RuleConfig, error)
	Preview(ctx context.Context, rules []route.RuleConfig, prompt string) (RulesPreview, error)
	Save(ctx context.Context, rules []route.RuleConfig) error
}

// CacheBrowser browses and edits the response cache; *cache.Cache
// satisfies it.
type CacheBrowser interface {
	Entries(sortBy cache.SortBy, limit int) ([]cache.EntryInfo, error)
	Response(ctx context.Context, id int64) (string, error)
	// WhatIf judges the request's nearest entries once; its At(t) answers
	// for any other threshold, so the slider needs no further lookups.
	WhatIf(ctx context.Context, req cache.Request, t float64) (cache.WhatIf, error)
	Evict(ctx context.Context, id int64) error
	Pin(ctx context.Context, id int64, pinned bool) error
}

// CacheEvaluator scores the cache on labelled pairs (penny eval cache); the
// cache view shows precision and recall from Report.Sweep at the slider's
// threshold. Optional even when CacheBrowser is set.
type CacheEvaluator interface {
	Evaluate(ctx context.Context) (cache.Report, error)
}

// Amount is a named sum of money.
type Amount struct {
	Name  string
	Nanos money.Nanos
}

// SavingsSummary is what the savings dashboard shows: the ledger report
// plus the savings attributed to each strategy (cache, routing,
// compression, provider discounts), which the ledger alone does not hold.
type SavingsSummary struct {
	Report     ledger.Report
	ByStrategy []Amount // empty when attribution is not available
}

// Savings summarizes the ledger.
type Savings interface {
	Summary(ctx context.Context) (SavingsSummary, error)
}

// Demo fills an empty database with a realistic day of traffic.
type Demo interface {
	Empty(ctx context.Context) (bool, error)
	Load(ctx context.Context) (requests int, err error)
}

// Services are the core services the UI talks to. Only Planner is needed for
// the playground panes; every other field may be nil.
type Services struct {
	Planner Planner
	Models  Models
	Sender  Sender
	History History
	Rules   Rules
	Cache   CacheBrowser
	Eval    CacheEvaluator
	Savings Savings
	Demo    Demo
}
