package pricing

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

//go:embed catalog.json
var embeddedCatalog []byte

// snapshot is the embedded catalog file's shape.
type snapshot struct {
	Date   string  `json:"date"`
	Models []Model `json:"models"`
}

// Catalog resolves model names (ids, aliases, provider-prefixed ids) to
// entries. A Catalog is immutable once built; With returns a new one.
type Catalog struct {
	date   string
	models []Model        // sorted by ID
	index  map[string]int // lower-cased id or alias -> position in models
}

// Embedded returns the catalog compiled into the binary.
func Embedded() (*Catalog, error) {
	var s snapshot
	if err := json.Unmarshal(embeddedCatalog, &s); err != nil {
		return nil, fmt.Errorf("embedded price catalog: %w", err)
	}
	for i := range s.Models {
		if s.Models[i].Source == "" {
			s.Models[i].Source = "embedded"
		}
	}
	return build(s.Date, s.Models)
}

func build(date string, models []Model) (*Catalog, error) {
	c := &Catalog{date: date, models: slices.Clone(models), index: map[string]int{}}
	slices.SortFunc(c.models, func(a, b Model) int { return strings.Compare(a.ID, b.ID) })
	for i, m := range c.models {
		if m.ID == "" {
			return nil, fmt.Errorf("price catalog: entry %d has no id", i)
		}
		for _, name := range append([]string{m.ID}, m.Aliases...) {
			key := strings.ToLower(name)
			if j, dup := c.index[key]; dup && j != i {
				return nil, fmt.Errorf("price catalog: %q names both %s and %s", name, c.models[j].ID, m.ID)
			}
			c.index[key] = i
		}
	}
	return c, nil
}

// Date is the snapshot date of the embedded prices.
func (c *Catalog) Date() string { return c.date }

// Models returns every entry, sorted by id.
func (c *Catalog) Models() []Model { return slices.Clone(c.models) }

// ChatModels returns the entries that answer prompts (IsChat), sorted by
// id: the list for model pickers and routing tiers.
func (c *Catalog) ChatModels() []Model {
	var out []Model
	for _, m := range c.models {
		if m.IsChat() {
			out = append(out, m)
		}
	}
	return out
}

// Lookup resolves an id or alias, case-insensitively. A provider prefix
// ("openai/gpt-4o", "groq/llama-3.3-70b-versatile") is accepted too.
func (c *Catalog) Lookup(name string) (Model, bool) {
	key := strings.ToLower(strings.TrimSpace(name))
	if i, ok := c.index[key]; ok {
		return c.models[i], true
	}
	if _, rest, ok := strings.Cut(key, "/"); ok {
		if i, ok := c.index[rest]; ok {
			return c.models[i], true
		}
	}
	return Model{}, false
}

// With returns a catalog where each given model replaces the entry of the
// same id (or is added). Aliases of a replaced entry are kept unless the
// override lists its own.
func (c *Catalog) With(overrides ...Model) (*Catalog, error) {
	models := slices.Clone(c.models)
	for _, o := range overrides {
		if i, ok := c.index[strings.ToLower(o.ID)]; ok {
			if len(o.Aliases) == 0 {
				o.Aliases = models[i].Aliases
			}
			o.ID = models[i].ID
			models[i] = o
			continue
		}
		models = append(models, o)
	}
	return build(c.date, models)
}
