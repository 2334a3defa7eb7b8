package cost

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/pricing"
)

// Scenario is a traffic scenario (the TOML format of ARCHITECTURE.md).
type Scenario struct {
	RequestsPerDay   int64     `toml:"requests_per_day" json:"requests_per_day"`
	PromptTokens     int64     `toml:"prompt_tokens" json:"prompt_tokens"`
	CompletionTokens int64     `toml:"completion_tokens" json:"completion_tokens"`
	BaselineModel    string    `toml:"baseline_model" json:"baseline_model"`
	CacheHitRate     float64   `toml:"cache_hit_rate" json:"cache_hit_rate"`
	CompressionRatio float64   `toml:"compression_ratio" json:"compression_ratio"`
	Mix              []MixItem `toml:"mix" json:"mix"`
}

// MixItem is one model's share of routed traffic.
type MixItem struct {
	Share float64 `toml:"share" json:"share"`
	Model string  `toml:"model" json:"model"`
}

// ParseScenario decodes and validates a scenario file. name is used in
// error messages.
func ParseScenario(name string, data []byte) (Scenario, error) {
	s := Scenario{CompressionRatio: 1}
	md, err := toml.Decode(string(data), &s)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return Scenario{}, fmt.Errorf("%s:%d: %s", name, pe.Position.Line, pe.Message)
		}
		return Scenario{}, fmt.Errorf("%s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return Scenario{}, fmt.Errorf("%s: unknown field %q", name, und[0].String())
	}
	if err := s.validate(); err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

func (s Scenario) validate() error {
	var errs []string
	if s.RequestsPerDay <= 0 {
		errs = append(errs, "requests_per_day must be positive")
	}
	if s.PromptTokens < 0 || s.CompletionTokens < 0 {
		errs = append(errs, "prompt_tokens and completion_tokens must not be negative")
	}
	if s.BaselineModel == "" {
		errs = append(errs, "baseline_model is required")
	}
	if s.CacheHitRate < 0 || s.CacheHitRate > 1 {
		errs = append(errs, fmt.Sprintf("cache_hit_rate must be within [0, 1], got %v", s.CacheHitRate))
	}
	if s.CompressionRatio <= 0 || s.CompressionRatio > 1 {
		errs = append(errs, fmt.Sprintf("compression_ratio must be within (0, 1], got %v", s.CompressionRatio))
	}
	if len(s.Mix) > 0 {
		sum := new(big.Rat)
		for i, m := range s.Mix {
			if m.Share < 0 || m.Share > 1 {
				errs = append(errs, fmt.Sprintf("mix[%d].share must be within [0, 1], got %v", i, m.Share))
			}
			if m.Model == "" {
				errs = append(errs, fmt.Sprintf("mix[%d].model is required", i))
			}
			sum.Add(sum, decimal(m.Share))
		}
		if sum.Cmp(big.NewRat(1, 1)) != 0 {
			errs = append(errs, fmt.Sprintf("mix shares must add up to 1, they add up to %s", sum.FloatString(6)))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// decimal converts a float read from a file to the exact decimal it was
// written as (0.4 → 2/5, not the nearest binary fraction), so that scenario
// arithmetic is exact.
func decimal(f float64) *big.Rat {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	if !ok {
		return new(big.Rat).SetFloat64(f)
	}
	return r
}

// Line is one row of a scenario projection.
type Line struct {
	Name          string  `json:"name"`
	USDPerDay     float64 `json:"usd_per_day"`
	USDPerMonth   float64 `json:"usd_per_month"`
	SavingsPct    float64 `json:"savings_pct"`
	NanosPerDay   int64   `json:"nanos_per_day"`
	NanosPerMonth int64   `json:"nanos_per_month"`
}

// Projection is a scenario's answer: baseline, each strategy alone, and all
// combined (cache, then routing, then compression).
type Projection struct {
	Scenario   Scenario `json:"scenario"`
	Baseline   Line     `json:"baseline"`
	Strategies []Line   `json:"strategies"`
	Combined   Line     `json:"combined"`
}

// Project computes the scenario with exact rational arithmetic; each figure
// is rounded to the nano-dollar once, at the end.
func Project(s Scenario, cat *pricing.Catalog) (Projection, error) {
	if err := s.validate(); err != nil {
		return Projection{}, err
	}
	base, ok := cat.Lookup(s.BaselineModel)
	if !ok {
		return Projection{}, fmt.Errorf("baseline_model %q is not in the price catalog", s.BaselineModel)
	}
	mix := make([]pricing.Model, len(s.Mix))
	for i, m := range s.Mix {
		mm, ok := cat.Lookup(m.Model)
		if !ok {
			return Projection{}, fmt.Errorf("mix[%d].model %q is not in the price catalog", i, m.Model)
		}
		mix[i] = mm
	}
	fullPrompt := new(big.Rat).SetInt64(s.PromptTokens)
	compressed := new(big.Rat).Mul(fullPrompt, decimal(s.CompressionRatio))
	completion := new(big.Rat).SetInt64(s.CompletionTokens)
	missShare := new(big.Rat).Sub(big.NewRat(1, 1), decimal(s.CacheHitRate))

	// perRequest prices one request with the routing mix (or the baseline
	// alone) at the given prompt length.
	perRequest := func(routed bool, prompt *big.Rat) *big.Rat {
		if !routed || len(mix) == 0 {
			return rateTokens(base, prompt, completion)
		}
		sum := new(big.Rat)
		for i, m := range mix {
			sum.Add(sum, new(big.Rat).Mul(decimal(s.Mix[i].Share), rateTokens(m, prompt, completion)))
		}
		return sum
	}
	perDay := func(perReq, share *big.Rat) *big.Rat {
		d := new(big.Rat).Mul(perReq, new(big.Rat).SetInt64(s.RequestsPerDay))
		return d.Mul(d, share)
	}
	one := big.NewRat(1, 1)
	baseDay := perDay(perRequest(false, fullPrompt), one)
	line := func(name string, day *big.Rat) Line {
		perDay := money.FromRat(day)
		perMonth := money.FromRat(new(big.Rat).Mul(day, big.NewRat(DaysPerMonth, 1)))
		l := Line{
			Name:          name,
			NanosPerDay:   int64(perDay),
			NanosPerMonth: int64(perMonth),
			USDPerDay:     perDay.USD(),
			USDPerMonth:   perMonth.USD(),
		}
		if baseDay.Sign() > 0 {
			saved := new(big.Rat).Sub(baseDay, day)
			pct, _ := saved.Mul(saved, big.NewRat(100, 1)).Quo(saved, baseDay).Float64()
			l.SavingsPct = pct
		}
		return l
	}
	p := Projection{Scenario: s, Baseline: line("baseline", baseDay)}
	p.Strategies = []Line{
		line("cache", perDay(perRequest(false, fullPrompt), missShare)),
		line("routing", perDay(perRequest(true, fullPrompt), one)),
		line("compression", perDay(perRequest(false, compressed), one)),
	}
	p.Combined = line("combined", perDay(perRequest(true, compressed), missShare))
	return p, nil
}

// rateTokens is the exact cost of one request with fractional token counts.
func rateTokens(m pricing.Model, prompt, completion *big.Rat) *big.Rat {
	in := new(big.Rat).Mul(prompt, big.NewRat(int64(m.Input), 1_000_000_000_000))
	out := new(big.Rat).Mul(completion, big.NewRat(int64(m.Output), 1_000_000_000_000))
	return in.Add(in, out)
}
