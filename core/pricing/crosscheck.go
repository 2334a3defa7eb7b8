package pricing

import (
	"sort"
	"strings"
)

// Kinds of Disagreement.
const (
	KindDiffers      = "differs"       // both sides have a value and they differ
	KindMissingThere = "missing_there" // the catalog has a value, the import has none
	KindMissingHere  = "missing_here"  // the import has a value, the catalog has none
	KindNotListed    = "not_listed"    // no imported entry of the same provider names the catalog model
)

// Disagreement is one difference between a catalog entry and an imported
// entry for the same model. Prices are PerMillion; token fields are tokens.
type Disagreement struct {
	ID         string `json:"id"`          // catalog id
	ImportedID string `json:"imported_id"` // the imported entry's id ("" for not_listed)
	Provider   string `json:"provider"`
	Field      string `json:"field"` // "input", "output", "cached_input", "cache_write", "batch_input", "batch_output", "prompt_limit", "max_output", or "model"
	Kind       string `json:"kind"`
	Embedded   int64  `json:"embedded"`
	Imported   int64  `json:"imported"`
}

// CanonicalProvider maps provider names of other price lists onto penny's:
// LiteLLM's "gemini" (the Gemini API) is penny's "google",
// "text-completion-openai" is OpenAI, "codestral" is Mistral. Cloud
// resellers keep their own name: Vertex AI, Bedrock and Azure bill the
// same models at their own prices (Vertex lists gemini-2.0-flash-001 at
// $0.15/$0.60 where the Gemini API charges $0.10/$0.40). Unknown names are
// returned lower-cased.
func CanonicalProvider(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	switch p {
	case "gemini", "google":
		return "google"
	case "text-completion-openai", "openai":
		return "openai"
	case "codestral", "mistral":
		return "mistral"
	}
	return p
}

// matchKey returns the catalog-comparable name of an imported id: the id
// itself, or the id without a "provider/" prefix when the prefix names the
// entry's own provider ("gemini/gemini-2.5-pro" from provider gemini →
// "gemini-2.5-pro"). A prefix naming a reseller ("azure/gpt-5",
// "openrouter/…") is kept, because a reseller's price is not the
// provider's list price.
func matchKey(m Model) string {
	id := strings.ToLower(m.ID)
	if prefix, rest, ok := strings.Cut(id, "/"); ok {
		if CanonicalProvider(prefix) == CanonicalProvider(m.Provider) {
			return rest
		}
	}
	return id
}

// resolve finds the catalog entry an imported model describes: same name
// (id or alias, after matchKey) and same canonical provider.
func (c *Catalog) resolve(m Model) (int, bool) {
	i, ok := c.index[matchKey(m)]
	if !ok || CanonicalProvider(c.models[i].Provider) != CanonicalProvider(m.Provider) {
		return 0, false
	}
	return i, true
}

// CrossCheck compares each catalog entry with every imported entry that
// resolves to it (by id or alias, same provider) and lists the
// differences, sorted by catalog id, imported id and field. Catalog entries
// no imported entry resolves to are reported as not_listed.
func CrossCheck(embedded *Catalog, imported []Model) []Disagreement {
	matched := make([][]Model, len(embedded.models))
	for _, m := range imported {
		if i, ok := embedded.resolve(m); ok {
			matched[i] = append(matched[i], m)
		}
	}
	var out []Disagreement
	for i, e := range embedded.models {
		if len(matched[i]) == 0 {
			out = append(out, Disagreement{ID: e.ID, Provider: e.Provider, Field: "model", Kind: KindNotListed})
			continue
		}
		for _, m := range matched[i] {
			out = append(out, compare(e, m)...)
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].ID != out[b].ID {
			return out[a].ID < out[b].ID
		}
		return out[a].ImportedID < out[b].ImportedID
	})
	return out
}

func compare(e, m Model) []Disagreement {
	fields := []struct {
		name string
		here int64
		imp  int64
	}{
		{"input", int64(e.Input), int64(m.Input)},
		{"output", int64(e.Output), int64(m.Output)},
		{"cached_input", int64(e.CachedInput), int64(m.CachedInput)},
		{"cache_write", int64(e.CacheWrite), int64(m.CacheWrite)},
		{"batch_input", int64(e.BatchInput), int64(m.BatchInput)},
		{"batch_output", int64(e.BatchOutput), int64(m.BatchOutput)},
		{"prompt_limit", int64(e.PromptLimit()), int64(m.PromptLimit())},
		{"max_output", int64(e.MaxOutput), int64(m.MaxOutput)},
	}
	var out []Disagreement
	for _, f := range fields {
		if f.here == f.imp {
			continue
		}
		kind := KindDiffers
		switch {
		case f.imp == 0:
			kind = KindMissingThere
		case f.here == 0:
			kind = KindMissingHere
		}
		out = append(out, Disagreement{
			ID: e.ID, ImportedID: m.ID, Provider: e.Provider,
			Field: f.name, Kind: kind, Embedded: f.here, Imported: f.imp,
		})
	}
	return out
}
