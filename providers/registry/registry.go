// Package registry maps each model to the provider that will serve it:
// the OpenAI-compatible endpoints that are configured (key present, or no
// key needed) and, offline, the simulator standing in for every model.
// The router asks Available so it only chooses models that can be called.
package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/tokens"
	"github.com/pennyllm/penny/providers/openai"
	"github.com/pennyllm/penny/providers/sim"
)

// Config is penny.toml [providers].
type Config struct {
	// Offline sends every request to the simulator even when keys are set.
	Offline   bool            `toml:"offline"`
	Endpoints []openai.Config `toml:"endpoint"` // [[providers.endpoint]], tried in this order
	Sim       sim.Config      `toml:"sim"`      // [providers.sim]
}

// Validate checks every endpoint (with defaults applied) and the simulator,
// naming the field as written in penny.toml.
func (c Config) Validate() error {
	seen := map[string]int{}
	for i, e := range c.Endpoints {
		if err := e.WithDefaults().Validate(); err != nil {
			return fmt.Errorf("providers.endpoint[%d]: %w", i, err)
		}
		if j, dup := seen[e.Name]; dup {
			return fmt.Errorf("providers.endpoint[%d]: name: %q already used by providers.endpoint[%d]", i, e.Name, j)
		}
		seen[e.Name] = i
	}
	if err := c.Sim.Validate(); err != nil {
		return fmt.Errorf("providers.%w", err)
	}
	return nil
}

// Environment variables read by New (besides each endpoint's api_key_env).
const (
	EnvOpenAIKey     = "OPENAI_API_KEY"
	EnvOpenAIBaseURL = "OPENAI_BASE_URL"
)

// LookupEnv reads the environment; main passes os.LookupEnv, tests a map.
type LookupEnv func(key string) (string, bool)

// Status describes one endpoint for `penny` status views. It never holds
// the key, only whether one was found and where it was looked for.
type Status struct {
	Name      string `json:"name"`
	BaseURL   string `json:"base_url"`
	KeyEnv    string `json:"key_env,omitempty"` // variable the key is read from
	HasKey    bool   `json:"has_key"`
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"` // why not available: "OPENROUTER_API_KEY is not set"
}

// Registry resolves models to providers. It is immutable after New and
// safe for concurrent use; it also implements llm.Provider by dispatching
// on Request.Model.
type Registry struct {
	catalog   *pricing.Catalog
	endpoints []endpoint // available ones, in config order
	status    []Status
	sim       *sim.Provider
	simulated bool
}

type endpoint struct {
	cfg openai.Config
	p   *openai.Provider
}

// New builds the registry. An "openai" endpoint exists even when the
// config lists none: it is available when OPENAI_API_KEY is set, and
// OPENAI_BASE_URL overrides its base URL. With no endpoint available, or
// cfg.Offline, the simulator serves every model. httpClient may be nil.
func New(cfg Config, cat *pricing.Catalog, toks *tokens.Registry, env LookupEnv, httpClient *http.Client) (*Registry, error) {
	if cat == nil || toks == nil {
		return nil, errors.New("registry: catalog and token registry are required")
	}
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	eps := slices.Clone(cfg.Endpoints)
	if !slices.ContainsFunc(eps, func(e openai.Config) bool { return e.Name == "openai" }) {
		eps = append(eps, openai.Config{Name: "openai"})
	}
	if u, ok := env(EnvOpenAIBaseURL); ok && strings.TrimSpace(u) != "" {
		for i := range eps {
			if eps[i].Name == "openai" {
				eps[i].BaseURL = strings.TrimSpace(u)
			}
		}
	}
	cfg.Endpoints = eps
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s, err := sim.New(cfg.Sim, toks)
	if err != nil {
		return nil, err
	}
	r := &Registry{catalog: cat, sim: s}
	for _, e := range eps {
		e = e.WithDefaults()
		st := Status{Name: e.Name, BaseURL: e.BaseURL, KeyEnv: e.APIKeyEnv}
		key := e.APIKey.Reveal()
		if e.APIKeyEnv != "" {
			if v, ok := env(e.APIKeyEnv); ok && strings.TrimSpace(v) != "" {
				key = strings.TrimSpace(v)
			}
		}
		st.HasKey = key != ""
		switch {
		case cfg.Offline:
			st.Reason = "offline mode (providers.offline = true)"
		case e.APIKeyEnv != "" && key == "":
			st.Reason = e.APIKeyEnv + " is not set"
		default:
			p, err := openai.New(e, key, toks, httpClient)
			if err != nil {
				return nil, fmt.Errorf("provider %s: %w", e.Name, err)
			}
			st.Available = true
			r.endpoints = append(r.endpoints, endpoint{cfg: e, p: p})
		}
		r.status = append(r.status, st)
	}
	r.simulated = len(r.endpoints) == 0
	return r, nil
}

// Simulated reports whether every call goes to the simulator (offline, or
// no endpoint has its key). The UI and CLI say so next to every answer.
func (r *Registry) Simulated() bool { return r.simulated }

// Status lists every endpoint, available or not, in config order.
func (r *Registry) Status() []Status { return slices.Clone(r.status) }

// chatMode reports whether a catalog entry is served by chat completions:
// embedding models and Responses-only models are not.
func chatMode(m pricing.Model) bool { return m.Mode == "" || m.Mode == "chat" }

func (r *Registry) find(model string) (endpoint, string, bool) {
	catProvider := ""
	if m, ok := r.catalog.Lookup(model); ok {
		if !chatMode(m) {
			return endpoint{}, "", false
		}
		catProvider = m.Provider
	}
	for _, e := range r.endpoints {
		if e.cfg.Serve(model, catProvider) {
			return e, e.cfg.WireModel(model, catProvider), true
		}
	}
	return endpoint{}, "", false
}

// Available reports whether a chat call to model can be made: always when
// simulated (except catalog entries that are not chat models, such as
// embeddings), otherwise when some available endpoint serves it.
func (r *Registry) Available(model string) bool {
	if strings.TrimSpace(model) == "" {
		return false
	}
	if r.simulated {
		m, ok := r.catalog.Lookup(model)
		return !ok || chatMode(m)
	}
	_, _, ok := r.find(model)
	return ok
}

// AvailableModels returns the catalog chat models Available accepts,
// sorted by id: what the router may choose from.
func (r *Registry) AvailableModels() []pricing.Model {
	var out []pricing.Model
	for _, m := range r.catalog.Models() {
		if r.Available(m.ID) {
			out = append(out, m)
		}
	}
	return out
}

// Resolve returns the provider that serves model. The returned provider
// sends the endpoint's wire id for the model (model_map, qualify_model_ids).
func (r *Registry) Resolve(model string) (llm.Provider, error) {
	if r.simulated {
		return r.sim, nil
	}
	e, wire, ok := r.find(model)
	if !ok {
		var names []string
		for _, e := range r.endpoints {
			names = append(names, e.cfg.Name)
		}
		return nil, fmt.Errorf("%w for model %q: no available endpoint (%s) serves it; add it to an endpoint's models or serves",
			llm.ErrNoProvider, model, strings.Join(names, ", "))
	}
	return bound{p: e.p, wire: wire}, nil
}

// Name is "registry"; responses carry the name of the provider that served them.
func (r *Registry) Name() string { return "registry" }

// Chat sends req to the provider that serves req.Model.
func (r *Registry) Chat(ctx context.Context, req llm.Request, onDelta func(string)) (llm.Response, error) {
	p, err := r.Resolve(req.Model)
	if err != nil {
		return llm.Response{}, err
	}
	return p.Chat(ctx, req, onDelta)
}

// bound is an endpoint with the wire id of one model.
type bound struct {
	p    *openai.Provider
	wire string
}

func (b bound) Name() string { return b.p.Name() }

func (b bound) Chat(ctx context.Context, req llm.Request, onDelta func(string)) (llm.Response, error) {
	req.Model = b.wire
	return b.p.Chat(ctx, req, onDelta)
}
