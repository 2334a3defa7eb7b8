// Package money is penny's integer representation of US dollars. Costs stay
// integer nano-dollars from the price catalog to the printout, so sums and
// projections are exact and never drift by float rounding.
package money

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strings"
)

// Nanos is an amount of US dollars in nano-dollars (1e-9 USD).
// int64 holds about ±9.2 billion dollars, far beyond any projection penny makes.
type Nanos int64

// PerDollar is the number of Nanos in one US dollar.
const PerDollar Nanos = 1_000_000_000

// FromUSD converts a dollar amount, rounding to the nearest nano-dollar.
// It is meant for user input (budgets, overrides), never for arithmetic.
func FromUSD(usd float64) Nanos {
	return Nanos(math.Round(usd * float64(PerDollar)))
}

// FromRat rounds an exact rational dollar amount to the nearest nano-dollar
// (half away from zero).
func FromRat(usd *big.Rat) Nanos {
	// Every cost penny computes has a numerator and denominator of 64 bits
	// or less: round num×1e9/den in 128-bit integers, the same quotient and
	// remainder test as below, without the big.Int allocations that made
	// this the largest allocator of planning.
	if num, den := usd.Num(), usd.Denom(); num.IsInt64() && den.IsUint64() {
		x, d := num.Int64(), den.Uint64()
		ux := uint64(x)
		if x < 0 {
			ux = -ux
		}
		hi, lo := bits.Mul64(ux, uint64(PerDollar))
		if hi < d { // else the quotient needs more than 64 bits
			q, r := bits.Div64(hi, lo, d)
			if q <= math.MaxInt64 {
				if r >= d-r { // 2r ≥ d without overflow
					q++
				}
				if q <= math.MaxInt64 {
					if x < 0 {
						return -Nanos(q)
					}
					return Nanos(q)
				}
			}
		}
	}
	n := new(big.Rat).Mul(usd, new(big.Rat).SetInt64(int64(PerDollar)))
	num, den := n.Num(), n.Denom()
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	// Round half away from zero: compare 2|r| with den.
	r2 := new(big.Int).Abs(r)
	r2.Lsh(r2, 1)
	if r2.Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return Nanos(q.Int64())
}

// USD is the amount as float dollars, for JSON output and display only.
func (n Nanos) USD() float64 { return float64(n) / float64(PerDollar) }

// Rat is the exact amount in dollars.
func (n Nanos) Rat() *big.Rat { return new(big.Rat).SetFrac64(int64(n), int64(PerDollar)) }

// String prints dollars with enough decimals to be meaningful: cents for
// amounts of a dollar or more, up to six significant decimals below that.
func (n Nanos) String() string {
	neg := n < 0
	if neg {
		n = -n
	}
	var s string
	switch {
	case n >= PerDollar:
		s = "$" + groupThousands(fmt.Sprintf("%.2f", n.USD()))
	case n == 0:
		s = "$0"
	default:
		s = "$" + strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.6f", n.USD()), "0"), ".")
		if s == "$0" {
			s = "<$0.000001"
		}
	}
	if neg {
		return "-" + s
	}
	return s
}

func groupThousands(s string) string {
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}
