package openai

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Secret holds an API key. Its String, GoString and MarshalText forms are
// redacted so that printing or re-encoding a Config never shows the key.
type Secret string

func (s Secret) String() string   { return s.mask() }
func (s Secret) GoString() string { return s.mask() }

// MarshalText redacts: penny never writes a key back into a file.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.mask()), nil }

// UnmarshalText accepts the key as written (config file).
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }

func (s Secret) mask() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// Reveal returns the key itself. Only the HTTP client calls it.
func (s Secret) Reveal() string { return string(s) }

// Config is one named OpenAI-compatible endpoint (penny.toml
// [[providers.endpoint]]). Zero durations and counts take the defaults below.
type Config struct {
	Name    string `toml:"name"`     // shown in errors and the ledger: "openai", "ollama", "openrouter"
	BaseURL string `toml:"base_url"` // e.g. https://api.openai.com/v1, http://localhost:11434/v1
	// APIKeyEnv names the environment variable holding the key
	// (OPENROUTER_API_KEY). Empty means the endpoint needs no key (local
	// servers), except for "openai", which defaults to OPENAI_API_KEY.
	APIKeyEnv string `toml:"api_key_env"`
	// APIKey is a key written directly in the config file. Prefer APIKeyEnv.
	APIKey Secret `toml:"api_key"`

	// Which penny models this endpoint serves. A model matches when it is a
	// key of ModelMap, matches one of Models ("gpt-4o", "llama*", "*"), or its
	// catalog provider is listed in Serves. With all three empty, Serves
	// defaults to [Name] (an endpoint named "openai" serves the catalog's
	// OpenAI models).
	Models   []string          `toml:"models"`
	Serves   []string          `toml:"serves"`
	ModelMap map[string]string `toml:"model_map"` // penny model id -> id sent on the wire
	// QualifyModelIDs sends "<catalog provider>/<id>" (OpenRouter's naming)
	// for models not in ModelMap.
	QualifyModelIDs bool `toml:"qualify_model_ids"`
	// DisableStreamUsage stops sending stream_options.include_usage, for old
	// servers that reject the field; usage is then counted locally.
	DisableStreamUsage bool `toml:"disable_stream_usage"`

	Timeout       time.Duration `toml:"timeout"`         // whole call without streaming; until the first chunk when streaming
	IdleTimeout   time.Duration `toml:"idle_timeout"`    // longest silence between stream chunks
	MaxAttempts   int           `toml:"max_attempts"`    // 1 = no retries
	BackoffBase   time.Duration `toml:"backoff_base"`    // first retry delay before jitter
	BackoffMax    time.Duration `toml:"backoff_max"`     // cap of the exponential delay
	MaxRetryAfter time.Duration `toml:"max_retry_after"` // longer Retry-After: give up instead of waiting
}

// Defaults applied by WithDefaults.
const (
	DefaultTimeout       = 60 * time.Second
	DefaultIdleTimeout   = 30 * time.Second
	DefaultMaxAttempts   = 3
	DefaultBackoffBase   = 500 * time.Millisecond
	DefaultBackoffMax    = 8 * time.Second
	DefaultMaxRetryAfter = 30 * time.Second
	DefaultOpenAIBaseURL = "https://api.openai.com/v1"
	DefaultOpenAIKeyEnv  = "OPENAI_API_KEY"
)

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	if c.Name == "openai" {
		if c.BaseURL == "" {
			c.BaseURL = DefaultOpenAIBaseURL
		}
		if c.APIKeyEnv == "" {
			c.APIKeyEnv = DefaultOpenAIKeyEnv
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BackoffBase == 0 {
		c.BackoffBase = DefaultBackoffBase
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.MaxRetryAfter == 0 {
		c.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if len(c.Models) == 0 && len(c.Serves) == 0 && len(c.ModelMap) == 0 {
		c.Serves = []string{c.Name}
	}
	return c
}

var (
	nameRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)
	envVarRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate checks the config and names the offending field (as written in
// penny.toml) in its error. It never echoes APIKey.
func (c Config) Validate() error {
	field := func(f, format string, a ...any) error {
		return fmt.Errorf("endpoint %q: %s: %s", c.Name, f, fmt.Sprintf(format, a...))
	}
	if !nameRe.MatchString(c.Name) {
		return fmt.Errorf("endpoint: name: %q must be lower-case letters, digits, '.', '_' or '-'", c.Name)
	}
	if c.Name == "sim" {
		return field("name", `"sim" is reserved for the simulated provider`)
	}
	if c.BaseURL == "" {
		return field("base_url", "required (e.g. http://localhost:11434/v1)")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return field("base_url", "%q is not an http(s) URL", c.BaseURL)
	}
	if u.User != nil {
		return field("base_url", "must not carry credentials; use api_key_env")
	}
	if c.APIKeyEnv != "" && !envVarRe.MatchString(c.APIKeyEnv) {
		// Never echo the value: a common mistake is pasting the key here.
		return field("api_key_env", "not an environment variable name; write the variable's name (e.g. OPENROUTER_API_KEY), not the key")
	}
	for _, m := range c.Models {
		if strings.TrimSpace(m) == "" {
			return field("models", "empty pattern")
		}
		if i := strings.Index(m, "*"); i >= 0 && i != len(m)-1 {
			return field("models", "%q: '*' is allowed only at the end", m)
		}
	}
	for k, v := range c.ModelMap {
		if strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			return field("model_map", "empty model id in %q = %q", k, v)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"timeout", c.Timeout}, {"idle_timeout", c.IdleTimeout}, {"backoff_base", c.BackoffBase},
		{"backoff_max", c.BackoffMax}, {"max_retry_after", c.MaxRetryAfter},
	} {
		if d.v < 0 {
			return field(d.name, "must not be negative (%s)", d.v)
		}
	}
	if c.MaxAttempts < 0 || c.MaxAttempts > 10 {
		return field("max_attempts", "%d is outside 0..10", c.MaxAttempts)
	}
	return nil
}

// Serve reports whether this endpoint serves model, given the model's
// catalog provider ("" when the model is not in the catalog).
func (c Config) Serve(model, catalogProvider string) bool {
	m := strings.ToLower(model)
	for k := range c.ModelMap {
		if strings.EqualFold(k, model) {
			return true
		}
	}
	for _, p := range c.Models {
		p = strings.ToLower(p)
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(m, prefix) {
				return true
			}
		} else if p == m {
			return true
		}
	}
	if catalogProvider != "" {
		for _, s := range c.Serves {
			if strings.EqualFold(s, catalogProvider) {
				return true
			}
		}
	}
	return false
}

// WireModel is the model id sent to this endpoint for a penny model.
func (c Config) WireModel(model, catalogProvider string) string {
	for k, v := range c.ModelMap {
		if strings.EqualFold(k, model) {
			return v
		}
	}
	if c.QualifyModelIDs && catalogProvider != "" && !strings.Contains(model, "/") {
		return catalogProvider + "/" + model
	}
	return model
}
