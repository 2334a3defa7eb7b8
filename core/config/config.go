// Package config is penny's configuration schema: the penny.toml file, its
// embedded commented default, PENNY_* environment overrides and validation
// whose errors name the file, the line and the field. Reading and writing
// files is the caller's job; this package only parses bytes.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/pennyllm/penny/core/batch"
	"github.com/pennyllm/penny/core/budget"
	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/route"
	"github.com/pennyllm/penny/core/send"
)

// DefaultFile is the commented default written on first run.
//
//go:embed penny.toml
var DefaultFile []byte

// Config is the whole configuration. Each section's type lives in the core
// package it configures; the providers' section is decoded by main through
// a Section.
type Config struct {
	BaselineModel    string `toml:"baseline_model"`
	CompletionTokens int    `toml:"completion_tokens"`
	RequestsPerDay   int64  `toml:"requests_per_day"`
	User             string `toml:"user"`

	Cache    cache.Config    `toml:"cache"`
	Route    route.Config    `toml:"route"`
	Compress compress.Config `toml:"compress"`
	Serve    Serve           `toml:"serve"`

	Budget budget.Config      `toml:"budget"`
	Batch  batch.Config       `toml:"batch"`
	Send   send.Config        `toml:"send"`
	Prices []pricing.Override `toml:"prices"`
}

// sections lists the core sections with their validators.
func (c *Config) sections() []Section {
	secs := []Section{
		{Key: "cache", Validate: c.Cache.Validate},
		{Key: "route", Validate: c.Route.Validate},
		{Key: "compress", Validate: c.Compress.Validate},
		{Key: "serve", Validate: c.Serve.validate},
		{Key: "budget", Validate: c.Budget.Validate},
		{Key: "batch", Validate: c.Batch.Validate},
		{Key: "send", Validate: c.Send.Validate},
	}
	for i, o := range c.Prices {
		secs = append(secs, Section{Key: fmt.Sprintf("prices[%d]", i), Validate: o.Validate})
	}
	return secs
}

// FieldError is a validation error located in the file.
type FieldError struct {
	File  string
	Line  int // 0 when unknown (the field is not in the file: a default or an env override)
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
}

// Errors is every validation problem found, in file order.
type Errors []*FieldError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// external reports whether a top-level table's schema lives outside core
// (providers/registry, providers/embed). Without a registered Section such
// a table is skipped rather than reported as unknown, so core can read the
// whole file; main registers them and they are validated then.
func external(key string) bool { return key == "providers" || key == "embed" }

// Section is a top-level table of penny.toml whose schema lives outside
// core (the providers' settings): Parse decodes it into Value and runs
// Validate, so its errors are located like every other field's.
type Section struct {
	Key      string       // top-level table name, e.g. "providers"
	Value    any          // pointer to the section's struct, pre-filled with defaults
	Validate func() error // errors should start with the field path ("providers.endpoint[1]: name: …")
}

// Parse decodes a penny.toml over the defaults, applies environment
// overrides (PENNY_*) and validates. name is used in error messages.
func Parse(name string, data []byte, env map[string]string, ext ...Section) (Config, error) {
	c := defaults()
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return Config{}, &FieldError{File: name, Line: pe.Position.Line, Field: pe.LastKey, Msg: pe.Message}
		}
		return Config{}, &FieldError{File: name, Field: "(file)", Msg: err.Error()}
	}
	loc := newLocator(data)
	var errs Errors
	unknown := slices.DeleteFunc(md.Undecoded(), func(k toml.Key) bool {
		return len(k) > 0 && external(k[0]) && !isExt(k, ext)
	})
	if len(ext) > 0 {
		// The sections are decoded from a second pass over the document:
		// the first one reported their keys as unknown.
		var all map[string]toml.Primitive
		md2, err := toml.Decode(string(data), &all)
		if err != nil {
			return Config{}, &FieldError{File: name, Field: "(file)", Msg: err.Error()}
		}
		unknown = slices.DeleteFunc(unknown, func(k toml.Key) bool { return isExt(k, ext) })
		for _, sec := range ext {
			if prim, ok := all[sec.Key]; ok {
				if err := md2.PrimitiveDecode(prim, sec.Value); err != nil {
					errs = append(errs, &FieldError{File: name, Line: loc.lineOf(sec.Key), Field: sec.Key, Msg: err.Error()})
				}
			}
		}
		for _, k := range md2.Undecoded() {
			if isExt(k, ext) {
				unknown = append(unknown, k)
			}
		}
	}
	for _, k := range unknown {
		errs = append(errs, &FieldError{File: name, Line: loc.line(k), Field: k.String(), Msg: "unknown field"})
	}
	if err := applyEnv(&c, env); err != nil {
		errs = append(errs, &FieldError{File: "environment", Field: err.field, Msg: err.msg})
	}
	for _, fe := range c.validate() {
		fe.File, fe.Line = name, loc.lineOf(fe.Field)
		errs = append(errs, fe)
	}
	for _, sec := range append(c.sections(), ext...) {
		if sec.Validate == nil {
			continue
		}
		err := sec.Validate()
		if err == nil {
			continue
		}
		// Validators may report several problems, one per line.
		for _, line := range strings.Split(err.Error(), "\n") {
			field, msg := splitFieldPath(line, sec.Key)
			errs = append(errs, &FieldError{File: name, Line: loc.lineOf(field), Field: field, Msg: msg})
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return Config{}, errs
	}
	return c, nil
}

func isExt(k toml.Key, ext []Section) bool {
	for _, s := range ext {
		if len(k) > 0 && k[0] == s.Key {
			return true
		}
	}
	return false
}

// splitFieldPath takes "endpoint[1]: name: already used" (or with the
// section prefix already present) apart into the field path and the
// message. Validators outside this package report fields that way.
func splitFieldPath(msg, section string) (string, string) {
	path, rest, ok := strings.Cut(msg, ": ")
	if !ok || strings.ContainsAny(path, " \t\"") {
		return section, msg
	}
	if path != section && !strings.HasPrefix(path, section+".") && !strings.HasPrefix(path, section+"[") {
		path = section + "." + path
	}
	// A second level ("endpoint[1]: name: …") narrows the field further.
	if sub, rest2, ok := strings.Cut(rest, ": "); ok && !strings.ContainsAny(sub, " \t\"") {
		return path + "." + sub, rest2
	}
	return path, rest
}

// defaults are the values used for fields the file leaves out; they match
// the commented default file.
func defaults() Config {
	return Config{
		BaselineModel:    "gpt-4o",
		CompletionTokens: 400,
		RequestsPerDay:   10_000,
		Cache:            cache.DefaultConfig(),
		Route:            route.DefaultConfig(),
		Compress:         compress.DefaultConfig(),
		Serve:            defaultServe(),
		Budget:           budget.DefaultConfig(),
		Batch:            batch.DefaultConfig(),
		Send:             send.DefaultConfig(),
	}
}

func (c *Config) validate() Errors {
	var errs Errors
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(c.BaselineModel) == "" {
		bad("baseline_model", "must name a model from the price catalog")
	}
	if c.CompletionTokens < 1 || c.CompletionTokens > 1_000_000 {
		bad("completion_tokens", "must be between 1 and 1000000, got %d", c.CompletionTokens)
	}
	if c.RequestsPerDay < 0 || c.RequestsPerDay > 1_000_000_000 {
		bad("requests_per_day", "must be between 0 and 1000000000, got %d", c.RequestsPerDay)
	}
	return errs
}

type envErr struct{ field, msg string }

// applyEnv applies PENNY_* overrides. Only scalar settings have variables;
// their names are the field path upper-cased with dots as underscores.
func applyEnv(c *Config, env map[string]string) *envErr {
	if v, ok := env["PENNY_BASELINE_MODEL"]; ok {
		c.BaselineModel = v
	}
	if v, ok := env["PENNY_COMPLETION_TOKENS"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return &envErr{"PENNY_COMPLETION_TOKENS", "not an integer: " + strconv.Quote(v)}
		}
		c.CompletionTokens = n
	}
	if v, ok := env["PENNY_REQUESTS_PER_DAY"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return &envErr{"PENNY_REQUESTS_PER_DAY", "not an integer: " + strconv.Quote(v)}
		}
		c.RequestsPerDay = n
	}
	if v, ok := env["PENNY_USER"]; ok {
		c.User = v
	}
	for name, dst := range map[string]*float64{
		"PENNY_DAILY_BUDGET_USD":   &c.Budget.DailyUSD,
		"PENNY_MONTHLY_BUDGET_USD": &c.Budget.MonthlyUSD,
		"PENNY_REQUEST_BUDGET_USD": &c.Budget.RequestUSD,
	} {
		if v, ok := env[name]; ok {
			f, err := strconv.ParseFloat(strings.TrimPrefix(strings.TrimSpace(v), "$"), 64)
			if err != nil {
				return &envErr{name, "not a dollar amount: " + strconv.Quote(v)}
			}
			*dst = f
		}
	}
	return nil
}
