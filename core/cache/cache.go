// Package cache decides whether a prompt can be answered from earlier
// responses — exactly or semantically — and always says why or why not.
package cache

import "time"

// Outcome of a lookup.
type Outcome string

const (
	ExactHit    Outcome = "exact_hit"
	SemanticHit Outcome = "semantic_hit"
	Miss        Outcome = "miss"
	Bypass      Outcome = "bypass" // the cache was not consulted (disabled or ineligible)
)

// Reason is a code from the miss taxonomy (see ARCHITECTURE.md). Hits carry
// an empty reason; every miss and every neighbour carries one.
type Reason string

const (
	ReasonDisabled        Reason = "disabled"
	ReasonIneligible      Reason = "ineligible"
	ReasonScopeMismatch   Reason = "scope_mismatch"
	ReasonExpired         Reason = "expired"
	ReasonEmbedderChanged Reason = "embedder_changed"
	ReasonBelowThreshold  Reason = "below_threshold"
	ReasonGuardRejected   Reason = "guard_rejected"
	ReasonEmpty           Reason = "empty"
	// ReasonLoading: the entries are still being read from the store at
	// start; exact lookups already work (they ask the store directly),
	// semantic ones wait for the load. Added by issue 3 (extends the
	// taxonomy in ARCHITECTURE.md).
	ReasonLoading Reason = "loading"
)

// Scope is everything besides the prompt that changes the answer. Entries are
// only ever served inside an identical scope.
type Scope struct {
	Model       string  `json:"model"`                // the model (or tier) that would answer
	System      string  `json:"system,omitempty"`     // system prompt
	Temperature float64 `json:"temperature"`          // sampling temperature
	MaxTokens   int     `json:"max_tokens,omitempty"` // completion cap
	Tools       string  `json:"tools,omitempty"`      // canonical JSON of tool definitions
	Format      string  `json:"format,omitempty"`     // response format ("json_object", schema hash…)
	Tenant      string  `json:"tenant,omitempty"`     // user or team the entry belongs to
	// Source is "simulated" when penny's simulator answers instead of a
	// model: its canned answers must never be served as a real model's
	// once a provider is configured, nor real answers to a simulation.
	Source string `json:"source,omitempty"`
}

// Request is a lookup.
type Request struct {
	Prompt string `json:"prompt"`
	Scope  Scope  `json:"scope"`
}

// Neighbor is a nearby entry shown to explain a lookup.
type Neighbor struct {
	ID         int64   `json:"id"`
	Prompt     string  `json:"prompt"`
	Similarity float64 `json:"similarity"`
	Reason     Reason  `json:"reason"`           // why this entry was not (or was) served; empty for the served entry
	Detail     string  `json:"detail,omitempty"` // e.g. "guard number: 3 ≠ 30", "scope: model differs"
}

// Result is a lookup's answer and its explanation.
type Result struct {
	Outcome    Outcome       `json:"outcome"`
	Reason     Reason        `json:"reason,omitempty"`
	Detail     string        `json:"detail,omitempty"`
	Scale      string        `json:"scale"`      // what Similarity measures, e.g. "cosine"
	Similarity float64       `json:"similarity"` // best similarity found (0 when none)
	Threshold  float64       `json:"threshold"`
	Neighbors  []Neighbor    `json:"neighbors"`
	EntryID    int64         `json:"entry_id,omitempty"`    // the served entry on a hit
	Response   string        `json:"response,omitempty"`    // the cached response on a hit
	TTLLeft    time.Duration `json:"ttl_left_ns,omitempty"` // negative: the entry never expires (pinned, or ttl = 0)
	Embedder   string        `json:"embedder,omitempty"`    // embedder ID used for the semantic lookup
	Index      string        `json:"index,omitempty"`       // how the index answered: "scan", "hnsw", "loading"…
}
