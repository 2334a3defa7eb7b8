package pricing

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// Conversion scales to PerMillion (micro-dollars per 1M tokens).
var (
	// scalePerToken converts USD per token: × 1e6 tokens × 1e6 µ$/USD.
	scalePerToken = big.NewRat(1_000_000_000_000, 1)
	// scalePerMillion converts USD per 1M tokens: × 1e6 µ$/USD.
	scalePerMillion = big.NewRat(1_000_000, 1)
)

var (
	errNotFinite = errors.New("not a finite number")
	errNegative  = errors.New("negative")
	errTooLarge  = errors.New("too large")
)

// fromFloat converts a float price on the given scale to PerMillion without
// float multiplication drift: the float is first printed as its shortest
// decimal representation (1.5e-07 prints as "1.5e-07", not as
// 1.4999999999999999e-07), and that decimal is scaled with exact rational
// arithmetic. exact is false when the value had more precision than one
// micro-dollar per 1M tokens and was rounded (half away from zero).
func fromFloat(f float64, scale *big.Rat) (p PerMillion, exact bool, err error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, errNotFinite
	}
	if f < 0 {
		return 0, false, fmt.Errorf("%w (%s)", errNegative, strconv.FormatFloat(f, 'g', -1, 64))
	}
	// The shortest representation has an exponent within ±324, so the
	// rational below stays small whatever the input was.
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	if !ok {
		return 0, false, fmt.Errorf("cannot parse %v", f)
	}
	r.Mul(r, scale)
	q, rem := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	exact = rem.Sign() == 0
	if !exact {
		// Round half away from zero (values are non-negative here).
		if new(big.Int).Lsh(rem, 1).Cmp(r.Denom()) >= 0 {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return 0, false, errTooLarge
	}
	return PerMillion(q.Int64()), exact, nil
}

// FromPerToken converts a LiteLLM-style price in USD per token
// (1.5e-07) to PerMillion (150000), exactly.
func FromPerToken(usdPerToken float64) (PerMillion, error) {
	p, _, err := fromFloat(usdPerToken, scalePerToken)
	return p, err
}

// FromDollarsPerMillion converts a price written as dollars per 1M tokens
// (2.5) to PerMillion (2500000), exactly. It fails on values with more
// precision than $0.000001 per 1M tokens rather than rounding them silently.
func FromDollarsPerMillion(usd float64) (PerMillion, error) {
	p, exact, err := fromFloat(usd, scalePerMillion)
	if err != nil {
		return 0, err
	}
	if !exact {
		return 0, fmt.Errorf("%s has more precision than $0.000001 per 1M tokens", strconv.FormatFloat(usd, 'g', -1, 64))
	}
	return p, nil
}
