package cache

import (
	"context"
	"errors"
	"time"

	"github.com/pennyllm/penny/core/money"
)

// Meta is what the caller knows about a stored response.
type Meta struct {
	Model            string      `json:"model,omitempty"`             // model that produced the response
	PromptTokens     int         `json:"prompt_tokens,omitempty"`     // as reported by the provider
	CompletionTokens int         `json:"completion_tokens,omitempty"` // as reported by the provider
	Cost             money.Nanos `json:"cost_nanos,omitempty"`        // what producing it cost: each hit saves about this much
}

// Entry is a stored prompt and its response, as persisted. Response text is
// not part of it: responses are only read when served.
type Entry struct {
	ID       int64
	Key      string // ExactKey of the request
	Scope    Scope
	Prompt   string    // the prompt as first asked (not normalized)
	Embedder string    // embedder ID that produced Vector; "" when not embedded
	Dim      int       // len(Vector)
	Vector   []float32 // L2-normalized; nil when not embedded
	// Codes and Scale are Vector in vindex.Quantize form. A store that
	// persists vectors quantized may fill these instead of Vector on Load,
	// sparing a float round trip per entry at start-up. Dim applies.
	Codes     []int8
	Scale     float32
	CreatedAt time.Time
	LastUsed  time.Time // last hit, or CreatedAt if never hit: the LRU order
	Hits      int64
	Pinned    bool
	Meta      Meta
}

// Store persists entries. storage.CacheStore implements it over SQLite; a
// shared backend (PostgreSQL, Redis) would implement the same methods.
// Implementations must be safe for concurrent use.
type Store interface {
	// Load calls fn for every entry, without response text, in any order.
	Load(ctx context.Context, fn func(Entry) error) error
	// Get finds an entry by exact key, with its response. It lets exact
	// lookups work before Load has finished.
	Get(ctx context.Context, key string) (e Entry, response string, ok bool, err error)
	// Response reads one entry's response text.
	Response(ctx context.Context, id int64) (string, error)
	// Insert stores e (ID ignored) and returns its id. An entry with the
	// same Key is replaced; replaced reports its id (0 when none).
	Insert(ctx context.Context, e Entry, response string) (id, replaced int64, err error)
	// Touch records a hit: hits count and last use.
	Touch(ctx context.Context, id int64, lastUsed time.Time, hits int64) error
	// SetPinned pins or unpins an entry.
	SetPinned(ctx context.Context, id int64, pinned bool) error
	// Delete removes entries; absent ids are ignored.
	Delete(ctx context.Context, ids ...int64) error
	// DeleteAll removes every entry.
	DeleteAll(ctx context.Context) error
	// SetVector replaces an entry's embedding (after an embedder change).
	SetVector(ctx context.Context, id int64, embedder string, vec []float32) error
}

// ErrNotFound is returned for an entry id the cache does not hold.
var ErrNotFound = errors.New("cache entry not found")

// SortBy orders Entries for the TUI's browser.
type SortBy string

const (
	SortHits   SortBy = "hits"   // most hits first
	SortAge    SortBy = "age"    // oldest first (next to expire)
	SortRecent SortBy = "recent" // most recently used first
	SortLRU    SortBy = "lru"    // next to be evicted first
)

// EntryInfo is an entry as the TUI's cache browser shows it.
type EntryInfo struct {
	ID        int64         `json:"id"`
	Prompt    string        `json:"prompt"`
	Scope     Scope         `json:"scope"`
	Embedder  string        `json:"embedder"`
	CreatedAt time.Time     `json:"created_at"`
	LastUsed  time.Time     `json:"last_used"`
	Hits      int64         `json:"hits"`
	Pinned    bool          `json:"pinned"`
	Expired   bool          `json:"expired"`
	TTLLeft   time.Duration `json:"ttl_left_ns"` // 0 when expired; -1 when it never expires (pinned or ttl = 0)
	Meta      Meta          `json:"meta"`
	Saved     money.Nanos   `json:"saved_nanos"` // Hits × Meta.Cost
}

// Stats summarize the cache for a status line.
type Stats struct {
	Entries   int    `json:"entries"`
	Pinned    int    `json:"pinned"`
	Expired   int    `json:"expired"` // still stored, purged on the next write
	Stale     int    `json:"stale"`   // embedded by another embedder (or not at all): exact-only until Reembed
	Scopes    int    `json:"scopes"`
	Loaded    bool   `json:"loaded"`
	Index     string `json:"index"`       // "loading", "scan", "hnsw", "hnsw building 40%"
	Embedder  string `json:"embedder"`    // current embedder ID
	IndexHeap int    `json:"index_bytes"` // vector index memory
}
