// Package ledger is penny's record of what every send really cost: projected
// and actual tokens and money side by side, so projection error is measured
// rather than assumed. It defines the Store that storage implements, the
// report behind `penny ledger report` and the OpenTelemetry-named export.
package ledger

import (
	"context"
	"time"

	"github.com/pennyllm/penny/core/money"
)

// Status says how a send ended.
type Status string

const (
	// StatusOK is a completed send: a model answered or the cache did.
	StatusOK Status = "ok"
	// StatusError is a model call that failed; nothing was charged.
	StatusError Status = "error"
	// StatusRefused is a send the budget refused before any call was made.
	StatusRefused Status = "refused"
	// StatusPending is a model call in flight: written before the call so
	// that a call is never made that the ledger could not record. A pending
	// record that stays pending belongs to a process that died mid-call.
	StatusPending Status = "pending"
)

// TagSummarize tags the record of a summarizer call made before a send
// (core/send): a model call of its own, with its own model, tokens and
// cost, that is not a request. Reports count it as a helper call.
const TagSummarize = "summarize"

// Record is one send, hit or miss. Money is integer nano-dollars and token
// counts are integers; floats appear only in rendered output.
type Record struct {
	ID   int64     `json:"id"`
	Time time.Time `json:"time"` // when the send started, UTC
	User string    `json:"user,omitempty"`
	Tag  string    `json:"tag,omitempty"` // free label, e.g. "replay", "cli", "tui"

	BaselineModel string `json:"baseline_model"`           // the model the user would have called
	Model         string `json:"model"`                    // the model penny routed to (the request model)
	ResponseModel string `json:"response_model,omitempty"` // the model the provider says answered
	Provider      string `json:"provider,omitempty"`       // configured provider name; empty on a cache hit
	Tier          string `json:"tier,omitempty"`           // route tier

	CacheOutcome string `json:"cache_outcome"` // exact_hit | semantic_hit | miss | bypass
	CacheEntryID int64  `json:"cache_entry_id,omitempty"`
	Scope        string `json:"scope,omitempty"` // fingerprint of the cache scope (model, system, parameters, tenant)

	ProjectedPromptTokens     int64 `json:"projected_prompt_tokens"`
	ProjectedCompletionTokens int64 `json:"projected_completion_tokens"`
	PromptTokens              int64 `json:"prompt_tokens"`
	CompletionTokens          int64 `json:"completion_tokens"`
	CachedPromptTokens        int64 `json:"cached_prompt_tokens"`
	UsageKnown                bool  `json:"usage_known"` // false when tokens were counted locally, not reported

	ProjectedNanos money.Nanos `json:"projected_nanos"` // the plan's optimized cost (assumed completion length)
	ActualNanos    money.Nanos `json:"actual_nanos"`    // priced from the usage actually reported
	BaselineNanos  money.Nanos `json:"baseline_nanos"`  // what the baseline model would have cost for the plan
	ReservedNanos  money.Nanos `json:"reserved_nanos"`  // the budget hold (maximum cost); 0 on hits and without budgets

	// Saved splits BaselineNanos − ActualNanos between the strategies (see
	// plan.Attribution; Discount is the provider's prompt-cache discount).
	// They add up exactly to the saving; failures and refusals save nothing.
	Saved Saved `json:"saved"`

	LatencyMS int64  `json:"latency_ms"`
	Simulated bool   `json:"simulated"`
	Status    Status `json:"status"`
	Error     string `json:"error,omitempty"`
}

// Sent reports whether a model was actually called successfully.
func (r Record) Sent() bool {
	return r.Status == StatusOK && !r.Hit()
}

// Hit reports whether the cache answered.
func (r Record) Hit() bool {
	return r.CacheOutcome == "exact_hit" || r.CacheOutcome == "semantic_hit"
}

// Saved is a record's saving by strategy, in nanos.
type Saved struct {
	Cache       money.Nanos `json:"cache_nanos"`
	Routing     money.Nanos `json:"routing_nanos"`
	Compression money.Nanos `json:"compression_nanos"`
	Discount    money.Nanos `json:"discount_nanos"` // provider-side prompt caching
}

// Total is the whole saving.
func (s Saved) Total() money.Nanos { return s.Cache + s.Routing + s.Compression + s.Discount }

// Filter selects records. Zero fields select everything.
type Filter struct {
	Since time.Time // inclusive
	Until time.Time // exclusive
	User  string
	Tag   string
	Model string // routed model
	Limit int    // most recent N when > 0 (still delivered oldest first)
}

// Match reports whether r passes the filter (Limit aside); stores may use it
// to check their query, and tests use it as the reference.
func (f Filter) Match(r Record) bool {
	switch {
	case !f.Since.IsZero() && r.Time.Before(f.Since):
		return false
	case !f.Until.IsZero() && !r.Time.Before(f.Until):
		return false
	case f.User != "" && r.User != f.User:
		return false
	case f.Tag != "" && r.Tag != f.Tag:
		return false
	case f.Model != "" && r.Model != f.Model:
		return false
	}
	return true
}

// Store persists records. Scan streams so reports and exports over a large
// ledger never hold it in memory; records arrive in time order (ties by ID).
type Store interface {
	Append(ctx context.Context, r Record) (int64, error)
	// Update replaces the record with r.ID (a pending call's outcome).
	Update(ctx context.Context, r Record) error
	Scan(ctx context.Context, f Filter, fn func(Record) error) error
}
