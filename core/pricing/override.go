package pricing

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// FieldError is a validation error naming the field at fault, so that the
// config loader can point at the file and line of that field.
type FieldError struct {
	Field string // TOML/JSON key: "input", "cached_input", …
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Override is one `[[prices]]` entry of penny.toml: a user's own price for
// a catalog model (a negotiated discount, a price change penny does not know
// yet) or a model the catalog lacks. Prices are dollars per 1M tokens as
// written on providers' price pages; a field left out keeps the catalog's
// value. They become PerMillion through their decimal representation, so
// 0.075 is exactly 75000 micro-dollars.
type Override struct {
	ID            string   `toml:"id" json:"id"`
	Provider      string   `toml:"provider,omitempty" json:"provider,omitempty"`
	Aliases       []string `toml:"aliases,omitempty" json:"aliases,omitempty"`
	Input         *float64 `toml:"input,omitempty" json:"input,omitempty"`
	Output        *float64 `toml:"output,omitempty" json:"output,omitempty"`
	CachedInput   *float64 `toml:"cached_input,omitempty" json:"cached_input,omitempty"`
	CacheWrite    *float64 `toml:"cache_write,omitempty" json:"cache_write,omitempty"`
	BatchInput    *float64 `toml:"batch_input,omitempty" json:"batch_input,omitempty"`
	BatchOutput   *float64 `toml:"batch_output,omitempty" json:"batch_output,omitempty"`
	ContextWindow *int     `toml:"context_window,omitempty" json:"context_window,omitempty"`
	MaxOutput     *int     `toml:"max_output,omitempty" json:"max_output,omitempty"`
	Note          string   `toml:"note,omitempty" json:"note,omitempty"`
}

// maxDollarsPerMillion bounds override prices; the dearest public model
// costs a few hundred dollars per 1M tokens, so anything above is a typo
// (per-token price pasted as per-million, or the reverse).
const maxDollarsPerMillion = 10_000

func (o Override) prices() []struct {
	name string
	v    *float64
	dst  func(*Model) *PerMillion
} {
	return []struct {
		name string
		v    *float64
		dst  func(*Model) *PerMillion
	}{
		{"input", o.Input, func(m *Model) *PerMillion { return &m.Input }},
		{"output", o.Output, func(m *Model) *PerMillion { return &m.Output }},
		{"cached_input", o.CachedInput, func(m *Model) *PerMillion { return &m.CachedInput }},
		{"cache_write", o.CacheWrite, func(m *Model) *PerMillion { return &m.CacheWrite }},
		{"batch_input", o.BatchInput, func(m *Model) *PerMillion { return &m.BatchInput }},
		{"batch_output", o.BatchOutput, func(m *Model) *PerMillion { return &m.BatchOutput }},
	}
}

// Validate checks the entry on its own; every error is a *FieldError
// (joined with errors.Join when there are several).
func (o Override) Validate() error {
	var errs []error
	if strings.TrimSpace(o.ID) == "" {
		errs = append(errs, &FieldError{Field: "id", Msg: "is required"})
	}
	for _, p := range o.prices() {
		if p.v == nil {
			continue
		}
		v := *p.v
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			errs = append(errs, &FieldError{Field: p.name, Msg: "must be a finite number of dollars per 1M tokens"})
		case v < 0:
			errs = append(errs, &FieldError{Field: p.name, Msg: fmt.Sprintf("must not be negative (got %g)", v)})
		case v > maxDollarsPerMillion:
			errs = append(errs, &FieldError{Field: p.name, Msg: fmt.Sprintf("%g dollars per 1M tokens is implausible (limit %d); prices are per 1M tokens, not per token or per 1K", v, maxDollarsPerMillion)})
		default:
			if _, err := FromDollarsPerMillion(v); err != nil {
				errs = append(errs, &FieldError{Field: p.name, Msg: err.Error()})
			}
		}
	}
	if o.ContextWindow != nil && *o.ContextWindow <= 0 {
		errs = append(errs, &FieldError{Field: "context_window", Msg: fmt.Sprintf("must be positive (got %d)", *o.ContextWindow)})
	}
	if o.MaxOutput != nil && *o.MaxOutput <= 0 {
		errs = append(errs, &FieldError{Field: "max_output", Msg: fmt.Sprintf("must be positive (got %d)", *o.MaxOutput)})
	}
	return errors.Join(errs...)
}

// ValidateNew checks an override for a model the catalog does not have:
// besides Validate, it needs a provider and both main prices.
func (o Override) ValidateNew() error {
	errs := []error{o.Validate()}
	if strings.TrimSpace(o.Provider) == "" {
		errs = append(errs, &FieldError{Field: "provider", Msg: "is required for a model the catalog does not have"})
	}
	if o.Input == nil {
		errs = append(errs, &FieldError{Field: "input", Msg: "is required for a model the catalog does not have"})
	}
	if o.Output == nil {
		errs = append(errs, &FieldError{Field: "output", Msg: "is required for a model the catalog does not have"})
	}
	return errors.Join(errs...)
}

// Model applies the override to base (the catalog entry, or the zero Model
// for a new one). Call Validate first: a price that does not convert is
// left at base's value. checked is the date stamped on the result.
func (o Override) Model(base Model, checked string) Model {
	m := base
	m.ID = o.ID
	if base.ID != "" {
		m.ID = base.ID
	}
	if o.Provider != "" {
		m.Provider = o.Provider
	}
	if len(o.Aliases) > 0 {
		m.Aliases = o.Aliases
	}
	for _, p := range o.prices() {
		if p.v == nil {
			continue
		}
		if v, err := FromDollarsPerMillion(*p.v); err == nil {
			*p.dst(&m) = v
		}
	}
	if o.ContextWindow != nil {
		m.ContextWindow = *o.ContextWindow
	}
	if o.MaxOutput != nil {
		m.MaxOutput = *o.MaxOutput
	}
	if o.Note != "" {
		m.Note = o.Note
	}
	m.Checked = checked
	m.Source = "config"
	return m
}

// WithOverrides applies config overrides to the catalog: each entry
// patches the catalog model it names (id or alias) or adds a new model.
// Errors name the entry as prices[i] and the field; the returned error wraps
// *FieldError values for the config loader to locate.
func (c *Catalog) WithOverrides(overrides []Override, checked string) (*Catalog, error) {
	var models []Model
	var errs []error
	for i, o := range overrides {
		base, known := c.Lookup(o.ID)
		var err error
		if known {
			err = o.Validate()
		} else {
			err = o.ValidateNew()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("prices[%d] (%s): %w", i, o.ID, err))
			continue
		}
		models = append(models, o.Model(base, checked))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out, err := c.With(models...)
	if err != nil {
		return nil, fmt.Errorf("price overrides: %w", err)
	}
	return out, nil
}
