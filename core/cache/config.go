package cache

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultThreshold is the default semantic threshold, on the calibrated
// judge's scale: the lowest threshold reaching precision 0.85 on the
// fitting data (see CalibratedThreshold and docs/cache-threshold.md).
const DefaultThreshold = CalibratedThreshold

// Config is the [cache] section of penny.toml.
type Config struct {
	// Enabled turns the cache off entirely (lookups answer Bypass/disabled).
	Enabled bool `toml:"enabled"`
	// TTL is how long an entry may be served after it was stored. 0 means
	// entries never expire. Pinned entries never expire.
	TTL Duration `toml:"ttl"`
	// MaxEntries bounds the cache; the least recently used unpinned entry
	// (last hit, or insert when never hit) is evicted first.
	MaxEntries int `toml:"max_entries"`
	// Threshold is the default semantic threshold on the Judge's scale.
	Threshold float64 `toml:"threshold"`
	// Overrides set the threshold for requests whose scope matches.
	Overrides []ThresholdOverride `toml:"threshold_override"`
	// TopK is how many neighbours a lookup reports for explanation.
	TopK int `toml:"top_k"`
	// IndexSwitchOver is the entry count (per scope) from which the vector
	// index answers with an HNSW graph instead of an exact scan.
	IndexSwitchOver int `toml:"index_switch_over"`
	// AllowNonzeroTemperature lets requests with temperature > 0 use the
	// cache. Off by default: a sampled answer is one draw among many, and
	// serving it again removes the variety the caller asked for.
	AllowNonzeroTemperature bool `toml:"allow_nonzero_temperature"`
	// MaxPromptBytes makes longer prompts ineligible: long prompts are
	// rarely repeated and their embeddings blur the details that matter.
	MaxPromptBytes int `toml:"max_prompt_bytes"`
}

// ThresholdOverride sets Threshold for requests matching every non-empty
// field. The first matching override wins.
type ThresholdOverride struct {
	Model     string  `toml:"model"`
	Tenant    string  `toml:"tenant"`
	Threshold float64 `toml:"threshold"`
}

// Duration is a time.Duration read from TOML as a string ("24h", "90m").
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// DefaultConfig is the configuration penny ships with.
func DefaultConfig() Config {
	return Config{
		Enabled:         true,
		TTL:             Duration(24 * time.Hour),
		MaxEntries:      100_000,
		Threshold:       DefaultThreshold,
		TopK:            3,
		IndexSwitchOver: 10_000,
		MaxPromptBytes:  32 << 10,
	}
}

// Validate reports every invalid field by its TOML name.
func (c Config) Validate() error {
	var errs []error
	if c.TTL < 0 {
		errs = append(errs, fmt.Errorf("cache.ttl: must be >= 0 (0 = never expire), got %s", time.Duration(c.TTL)))
	}
	if c.MaxEntries < 1 {
		errs = append(errs, fmt.Errorf("cache.max_entries: must be >= 1, got %d", c.MaxEntries))
	}
	if c.Threshold < -1 || c.Threshold > 1 {
		errs = append(errs, fmt.Errorf("cache.threshold: must be in [-1, 1], got %g", c.Threshold))
	}
	for i, o := range c.Overrides {
		if o.Model == "" && o.Tenant == "" {
			errs = append(errs, fmt.Errorf("cache.threshold_override[%d]: set model or tenant", i))
		}
		if o.Threshold < -1 || o.Threshold > 1 {
			errs = append(errs, fmt.Errorf("cache.threshold_override[%d].threshold: must be in [-1, 1], got %g", i, o.Threshold))
		}
	}
	if c.TopK < 1 || c.TopK > 50 {
		errs = append(errs, fmt.Errorf("cache.top_k: must be in [1, 50], got %d", c.TopK))
	}
	if c.IndexSwitchOver < 2 {
		errs = append(errs, fmt.Errorf("cache.index_switch_over: must be >= 2, got %d", c.IndexSwitchOver))
	}
	if c.MaxPromptBytes < 1 {
		errs = append(errs, fmt.Errorf("cache.max_prompt_bytes: must be >= 1, got %d", c.MaxPromptBytes))
	}
	return errors.Join(errs...)
}

// ThresholdFor is the threshold that applies to a scope.
func (c Config) ThresholdFor(s Scope) float64 {
	for _, o := range c.Overrides {
		if (o.Model == "" || o.Model == s.Model) && (o.Tenant == "" || o.Tenant == s.Tenant) {
			return o.Threshold
		}
	}
	return c.Threshold
}

// ConfigTOML is the commented [cache] section of the default penny.toml.
// TestConfigTOML decodes it and checks it equals DefaultConfig; the
// threshold is filled in from DefaultThreshold so the two cannot drift.
func ConfigTOML() string {
	return strings.Replace(configTOML, "{{threshold}}", strconv.FormatFloat(DefaultThreshold, 'g', -1, 64), 1)
}

const configTOML = `[cache]
# Serve repeated and near-repeated prompts from earlier answers.
enabled = true
# How long an entry may be served after it was stored ("0s" = never expires).
# A hit does not extend it. Pinned entries never expire.
ttl = "24h"
# At most this many entries. The least recently used unpinned entry (last hit,
# or insert when never hit) is evicted first; pinned entries are never evicted.
max_entries = 100000
# Semantic threshold, on the judge's scale (named next to every similarity),
# chosen from measured precision/recall (see docs/BENCHMARKS.md).
threshold = {{threshold}}
# Neighbours shown, each with its own reason, with every lookup.
top_k = 3
# Per scope: exact scan below this many entries, HNSW graph above (the graph
# starts building at half this size, in the background).
index_switch_over = 10000
# Reuse answers for requests with temperature > 0 (off: a sampled answer is
# one draw among many, and the caller asked for variety).
allow_nonzero_temperature = false
# Longer prompts bypass the cache (reason "ineligible").
max_prompt_bytes = 32768
# Thresholds per model and/or tenant; the first matching override wins.
# [[cache.threshold_override]]
# model = "gpt-4o"
# threshold = 0.95
`
