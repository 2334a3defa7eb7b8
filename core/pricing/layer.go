package pricing

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// A layer is a list of models stored as JSON in the catalog's own format
// ({"date": …, "models": [Model…]}), so that a LiteLLM import can be saved
// once (`penny prices import FILE`) and layered over the embedded catalog on
// every start without re-parsing LiteLLM's 1.5 MB map. Reading and writing
// the file is the caller's business; these functions only see streams.

// layerFile is the on-disk shape of a layer; it is the embedded catalog's
// shape plus an optional source.
type layerFile struct {
	Date   string  `json:"date"`
	Source string  `json:"source,omitempty"`
	Models []Model `json:"models"`
}

// WriteLayer writes models as a layer file, one model per line so that
// diffs between imports stay readable.
func WriteLayer(w io.Writer, date string, models []Model) error {
	if _, err := fmt.Fprintf(w, "{\n  \"date\": %s,\n  \"models\": [", mustJSON(date)); err != nil {
		return fmt.Errorf("write price layer: %w", err)
	}
	for i, m := range models {
		sep := ",\n    "
		if i == 0 {
			sep = "\n    "
		}
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("write price layer: model %q: %w", m.ID, err)
		}
		if _, err := io.WriteString(w, sep+string(b)); err != nil {
			return fmt.Errorf("write price layer: %w", err)
		}
	}
	if _, err := io.WriteString(w, "\n  ]\n}\n"); err != nil {
		return fmt.Errorf("write price layer: %w", err)
	}
	return nil
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// LoadLayer reads a layer written by WriteLayer (or any file in the
// embedded catalog's format) and validates every model.
func LoadLayer(r io.Reader) ([]Model, error) {
	var f layerFile
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("read price layer: %w", err)
	}
	var errs []error
	for i, m := range f.Models {
		if err := m.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("models[%d]: %w", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("read price layer: %w", err)
	}
	return f.Models, nil
}

// Validate checks what a catalog entry needs to be usable for projections.
func (m Model) Validate() error {
	var errs []error
	if strings.TrimSpace(m.ID) == "" {
		errs = append(errs, &FieldError{Field: "id", Msg: "is empty"})
	}
	for _, p := range []struct {
		name string
		v    PerMillion
	}{
		{"input", m.Input}, {"output", m.Output}, {"cached_input", m.CachedInput},
		{"cache_write", m.CacheWrite}, {"batch_input", m.BatchInput}, {"batch_output", m.BatchOutput},
	} {
		if p.v < 0 {
			errs = append(errs, &FieldError{Field: p.name, Msg: fmt.Sprintf("is negative (%d)", p.v)})
		}
	}
	if m.ContextWindow < 0 || m.MaxInput < 0 || m.MaxOutput < 0 {
		errs = append(errs, &FieldError{Field: "context_window", Msg: "token limits must not be negative"})
	}
	if len(errs) > 0 && m.ID != "" {
		return fmt.Errorf("%s: %w", m.ID, errors.Join(errs...))
	}
	return errors.Join(errs...)
}

// WithLayer returns a catalog with imported models layered on top. An
// imported model that resolves to a catalog entry (same id or alias, same
// provider; "gemini/gemini-2.5-pro" resolves to gemini-2.5-pro) replaces
// that entry's prices and limits but keeps its id, aliases and note when
// the import has none; other imported models are added under their own id.
// When several imported models resolve to one entry, the one whose name
// matches the entry's id exactly wins, then the later one in the slice.
func (c *Catalog) WithLayer(models []Model) (*Catalog, error) {
	merged := slices.Clone(c.models)
	rank := make([]int, len(merged)) // 0 = untouched, 1 = via alias/prefix, 2 = exact id
	var added []Model
	addedAt := map[string]int{} // lower-cased id -> position in added
	for _, m := range models {
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("price layer: %w", err)
		}
		i, ok := c.resolve(m)
		if !ok {
			if _, taken := c.index[strings.ToLower(m.ID)]; taken {
				// Same name, different provider (a reseller listing an
				// unprefixed id): the catalog entry keeps the name.
				continue
			}
			if j, dup := addedAt[strings.ToLower(m.ID)]; dup {
				added[j] = m
				continue
			}
			addedAt[strings.ToLower(m.ID)] = len(added)
			added = append(added, m)
			continue
		}
		r := 1
		if strings.EqualFold(m.ID, c.models[i].ID) {
			r = 2
		}
		if r < rank[i] {
			continue
		}
		rank[i] = r
		base := c.models[i]
		m.ID, m.Aliases, m.Provider = base.ID, base.Aliases, base.Provider
		if m.Note == "" {
			m.Note = base.Note
		}
		if m.ContextWindow == 0 {
			m.ContextWindow, m.MaxInput = base.ContextWindow, base.MaxInput
		}
		if m.MaxOutput == 0 {
			m.MaxOutput = base.MaxOutput
		}
		merged[i] = m
	}
	return build(c.date, append(merged, added...))
}
