package embed

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	coreembed "github.com/pennyllm/penny/core/embed"
)

// OpenAIOptions configure an OpenAI-compatible embeddings endpoint: OpenAI
// itself, or Ollama (BaseURL "http://localhost:11434/v1", Model
// "nomic-embed-text") and other servers speaking the same wire format.
type OpenAIOptions struct {
	BaseURL string // default https://api.openai.com/v1
	APIKey  string // never logged or stored; redacted from errors
	Model   string // default text-embedding-3-small
	// Dimensions asks text-embedding-3 models for shorter vectors; 0 keeps
	// the model's native size. Other models must leave it 0.
	Dimensions int
	// Dim is the vector length to expect when the model is not one penny
	// knows (see knownDim); responses of another length are errors.
	Dim        int
	BatchSize  int          // texts per request (default 256)
	CacheSize  int          // per-instance cache of embeddings by text (default 4096; negative disables)
	HTTPClient *http.Client // optional, e.g. with a timeout
}

// knownDim is the native size of common embedding models, 0 if unknown.
func knownDim(model string) int {
	switch strings.TrimSuffix(model, ":latest") {
	case "text-embedding-3-small", "text-embedding-ada-002":
		return 1536
	case "text-embedding-3-large":
		return 3072
	case "nomic-embed-text":
		return 768
	case "mxbai-embed-large":
		return 1024
	case "all-minilm":
		return 384
	}
	return 0
}

// OpenAI embeds through an OpenAI-compatible HTTP API. Safe for concurrent
// use.
type OpenAI struct {
	client *openai.Client
	opts   OpenAIOptions
	dim    int
	cache  *lru
}

var _ coreembed.Embedder = (*OpenAI)(nil)

// NewOpenAI validates the options; it makes no request.
func NewOpenAI(opts OpenAIOptions) (*OpenAI, error) {
	if opts.Model == "" {
		opts.Model = string(openai.SmallEmbedding3)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 4096
	}
	dim := opts.Dimensions
	if dim == 0 {
		dim = opts.Dim
	}
	if dim == 0 {
		dim = knownDim(opts.Model)
	}
	if dim <= 0 {
		return nil, fmt.Errorf("openai embedder: unknown dimension for model %q: set Dim", opts.Model)
	}
	cfg := openai.DefaultConfig(opts.APIKey)
	if opts.BaseURL != "" {
		cfg.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	}
	if opts.HTTPClient != nil {
		cfg.HTTPClient = opts.HTTPClient
	}
	e := &OpenAI{client: openai.NewClientWithConfig(cfg), opts: opts, dim: dim}
	if opts.CacheSize > 0 {
		e.cache = newLRU(opts.CacheSize)
	}
	return e, nil
}

// ID is "openai:<model>" plus the requested dimension when shortened; the
// provider's model name is its version. The base URL is not part of it:
// the same model behind another URL gives the same vectors.
func (e *OpenAI) ID() string {
	if e.opts.Dimensions > 0 {
		return fmt.Sprintf("openai:%s@%d", e.opts.Model, e.opts.Dimensions)
	}
	return "openai:" + e.opts.Model
}

// Dim is the vector length.
func (e *OpenAI) Dim() int { return e.dim }

// Embed sends uncached texts in batches and returns L2-normalized vectors.
func (e *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	var todo []int
	for i, t := range texts {
		if e.cache != nil {
			if v, ok := e.cache.get(t); ok {
				out[i] = v
				continue
			}
		}
		todo = append(todo, i)
	}
	for start := 0; start < len(todo); start += e.opts.BatchSize {
		batch := todo[start:min(start+e.opts.BatchSize, len(todo))]
		input := make([]string, len(batch))
		for j, i := range batch {
			input[j] = texts[i]
			if input[j] == "" {
				input[j] = " " // the API rejects empty strings
			}
		}
		resp, err := e.client.CreateEmbeddings(ctx, openai.EmbeddingRequest{Input: input, Model: openai.EmbeddingModel(e.opts.Model), Dimensions: e.opts.Dimensions})
		if err != nil {
			return nil, fmt.Errorf("openai embed (%s, %d texts): %w", e.opts.Model, len(input), e.redact(err))
		}
		if len(resp.Data) != len(batch) {
			return nil, fmt.Errorf("openai embed: %d vectors for %d texts", len(resp.Data), len(batch))
		}
		for _, d := range resp.Data {
			if d.Index < 0 || d.Index >= len(batch) || out[batch[d.Index]] != nil {
				return nil, fmt.Errorf("openai embed: bad or repeated index %d", d.Index)
			}
			if len(d.Embedding) != e.dim {
				return nil, fmt.Errorf("openai embed: model %s returned %d dimensions, want %d", e.opts.Model, len(d.Embedding), e.dim)
			}
			v := normalize(d.Embedding)
			i := batch[d.Index]
			out[i] = v
			if e.cache != nil {
				e.cache.put(texts[i], v)
			}
		}
	}
	return out, nil
}

// redact removes the API key from an error's text, should a server echo it.
func (e *OpenAI) redact(err error) error {
	if e.opts.APIKey == "" || !strings.Contains(err.Error(), e.opts.APIKey) {
		return err
	}
	return redactedError{msg: strings.ReplaceAll(err.Error(), e.opts.APIKey, "[redacted]"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (r redactedError) Error() string { return r.msg }
func (r redactedError) Unwrap() error { return r.err }

// normalize returns v scaled to unit length (a copy; the zero vector stays
// zero). OpenAI's vectors are normalized already; Ollama's are not.
func normalize(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if s == 0 {
		return out
	}
	k := 1 / math.Sqrt(s)
	for i, x := range v {
		out[i] = float32(float64(x) * k)
	}
	return out
}
