package embed

import (
	"errors"
	"fmt"
	"strings"

	coreembed "github.com/pennyllm/penny/core/embed"
)

// Config is the [embed] section of penny.toml.
type Config struct {
	// Provider is "local" (the offline GloVe embedder, the default) or
	// "openai" (any OpenAI-compatible endpoint, Ollama included).
	Provider string `toml:"provider"`
	// BaseURL, Model, Dimensions and Dim configure the "openai" provider
	// (see OpenAIOptions).
	BaseURL    string `toml:"base_url"`
	Model      string `toml:"model"`
	Dimensions int    `toml:"dimensions"`
	Dim        int    `toml:"dim"`
	// APIKey for the "openai" provider; prefer the environment
	// (PENNY_EMBED_API_KEY, then OPENAI_API_KEY), which main resolves.
	APIKey string `toml:"api_key"`
	// CacheSize bounds the in-memory cache of embeddings by text.
	CacheSize int `toml:"cache_size"`
}

// DefaultConfig is the offline embedder.
func DefaultConfig() Config { return Config{Provider: "local", CacheSize: 4096} }

// Validate names the first bad field.
func (c Config) Validate() error {
	switch strings.ToLower(c.Provider) {
	case "", "local":
		if c.BaseURL != "" || c.Model != "" {
			return errors.New("embed: base_url and model apply only to provider \"openai\"")
		}
	case "openai":
		if c.Model != "" && c.Dim == 0 && c.Dimensions == 0 && knownDim(c.Model) == 0 {
			return fmt.Errorf("embed.dim: required for model %q (its vector size is not known)", c.Model)
		}
		if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
			return fmt.Errorf("embed.base_url: %q is not an http(s) URL", c.BaseURL)
		}
	default:
		return fmt.Errorf("embed.provider: %q is not \"local\" or \"openai\"", c.Provider)
	}
	if c.Dimensions < 0 || c.Dim < 0 {
		return errors.New("embed.dimensions and embed.dim must not be negative")
	}
	return nil
}

// New builds the configured embedder. For "openai" without a base URL or an
// API key it still builds; the first Embed call reports the failure.
func New(c Config) (coreembed.Embedder, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if strings.ToLower(c.Provider) == "openai" {
		return NewOpenAI(OpenAIOptions{BaseURL: c.BaseURL, APIKey: c.APIKey, Model: c.Model, Dimensions: c.Dimensions, Dim: c.Dim, CacheSize: c.CacheSize})
	}
	return NewLocal(LocalOptions{CacheSize: c.CacheSize})
}
