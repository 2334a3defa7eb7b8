package cost

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/pricing"
)

// requestRatRef is RequestRat as it was before the int64 path: three
// big.Rat products summed. The fast paths must agree with it exactly.
func requestRatRef(m pricing.Model, u Usage) *big.Rat {
	in, out, cached := prices(m, u)
	uncached := u.PromptTokens - u.CachedPromptTokens
	sum := in.CostRat(uncached)
	sum.Add(sum, cached.CostRat(u.CachedPromptTokens))
	sum.Add(sum, out.CostRat(u.CompletionTokens))
	return sum
}

func perDayRef(r *big.Rat, n int64) money.Nanos {
	return money.FromRat(new(big.Rat).Mul(r, new(big.Rat).SetInt64(n)))
}

// tokenCounts mixes realistic counts with the edges of int64 arithmetic.
func tokenCounts(rng *rand.Rand) []int64 {
	xs := []int64{0, 1, -1, 2, 499, 500, 501, 999, 1000, 1001, 1 << 31, 1<<31 - 1,
		math.MaxInt64, math.MinInt64, math.MaxInt64 / 2, math.MinInt64 / 2, math.MaxInt64/1_000_000 + 1,
		math.MaxInt64 / 1_000_000, 9_223_372_036_854, 9_223_372_036_855}
	for range 60 {
		xs = append(xs, rng.Int64N(200_000), rng.Int64N(10_000_000), rng.Int64()>>uint(rng.IntN(63)), -rng.Int64N(1_000_000))
	}
	return xs
}

// TestFastCostMatchesRat checks Request, RequestRat, PerDay and
// PerMillion.Cost against the big.Rat definitions for every catalog model
// (batch and not, with and without cached tokens) over random and edge
// token counts, including ones whose products overflow int64 (where the
// fast path must step aside) — to the nano.
func TestFastCostMatchesRat(t *testing.T) {
	cat := catalog(t)
	rng := rand.New(rand.NewPCG(8, 1))
	counts := tokenCounts(rng)
	models := cat.Models()
	// Extreme prices as well: the catalog's largest is far below these.
	models = append(models,
		pricing.Model{ID: "max", Input: math.MaxInt64, Output: math.MaxInt64, CachedInput: math.MaxInt64 - 1},
		pricing.Model{ID: "neg", Input: -7, Output: math.MinInt64, BatchInput: 3, BatchOutput: 5},
		pricing.Model{ID: "odd", Input: 1, Output: 999_999_999_999, CachedInput: 333, BatchInput: 1, BatchOutput: 7})
	requests := []int64{1, 30, 100_000, 3_000_000, 1 << 40, math.MaxInt64, -5}
	checked, fast := 0, 0
	for _, m := range models {
		for i := 0; i < 400; i++ {
			u := Usage{PromptTokens: counts[rng.IntN(len(counts))], CompletionTokens: counts[rng.IntN(len(counts))],
				Batch: i%3 == 0}
			if i%2 == 0 {
				u.CachedPromptTokens = counts[rng.IntN(len(counts))]
			}
			ref := requestRatRef(m, u)
			if got := RequestRat(m, u); got.Cmp(ref) != 0 {
				t.Fatalf("%s %+v: RequestRat %v, want %v", m.ID, u, got, ref)
			}
			if got, want := Request(m, u), money.FromRat(ref); got != want {
				t.Fatalf("%s %+v: Request %d, want %d", m.ID, u, got, want)
			}
			if _, ok := RequestPico(m, u); ok {
				fast++
			}
			n := requests[rng.IntN(len(requests))]
			if got, want := PerDay(ref, n), perDayRef(ref, n); got != want && fitsNanos(ref, n) {
				t.Fatalf("%s %+v ×%d: PerDay %d, want %d", m.ID, u, n, got, want)
			}
			x := u.PromptTokens
			if got, want := m.Input.Cost(x), money.FromRat(m.Input.CostRat(x)); got != want {
				t.Fatalf("%s: Cost(%d) = %d, want %d", m.ID, x, got, want)
			}
			checked++
		}
	}
	// Both paths must have been exercised for the test to mean anything.
	if fast == 0 || fast == checked {
		t.Fatalf("fast path taken %d of %d times; want some of each", fast, checked)
	}
}

// fitsNanos reports whether r×n dollars fit int64 nanos: beyond that
// money.FromRat's result is undefined (big.Int.Int64), and no caller
// depends on it.
func fitsNanos(r *big.Rat, n int64) bool {
	v := new(big.Rat).Mul(r, new(big.Rat).SetInt64(n))
	v.Mul(v, new(big.Rat).SetInt64(int64(money.PerDollar)))
	q := new(big.Int).Quo(v.Num(), v.Denom())
	return q.IsInt64() && q.Int64() > math.MinInt64+1 && q.Int64() < math.MaxInt64-1
}

// TestPicoNanosRounding pins the half-away-from-zero rule at the edges.
func TestPicoNanosRounding(t *testing.T) {
	for _, c := range []struct {
		pico int64
		want money.Nanos
	}{{0, 0}, {499, 0}, {500, 1}, {1499, 1}, {1500, 2}, {-499, 0}, {-500, -1}, {-1500, -2},
		{math.MaxInt64, math.MaxInt64/1000 + 1}, {math.MinInt64, math.MinInt64/1000 - 1}} {
		if got := pricing.PicoNanos(c.pico); got != c.want {
			t.Errorf("PicoNanos(%d) = %d, want %d", c.pico, got, c.want)
		}
		if got := money.FromRat(new(big.Rat).SetFrac64(c.pico, pricing.PicoPerDollar)); got != c.want {
			t.Errorf("FromRat(%d/1e12) = %d, want %d", c.pico, got, c.want)
		}
	}
}

// BenchmarkRequestShort prices a short request (36 prompt tokens, 500
// completion) the way planning does — the exact rational, rounded, and a
// month of it — with the big.Rat reference ("rat") and the int64 paths
// ("int"); "nanos" is Request alone, as sending prices.
func BenchmarkRequestShort(b *testing.B) {
	cat, err := pricing.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	m, _ := cat.Lookup("gpt-4o")
	u := Usage{PromptTokens: 36, CompletionTokens: 500}
	b.Run("rat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := requestRatRef(m, u)
			_ = fromRatRef(r)
			_ = fromRatRef(new(big.Rat).Mul(r, new(big.Rat).SetInt64(30*3000)))
		}
	})
	b.Run("int", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := RequestRat(m, u)
			_ = money.FromRat(r)
			_ = PerMonth(r, 3000)
		}
	})
	b.Run("nanos", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Request(m, u)
		}
	})
}

// fromRatRef is money.FromRat as it was before its 128-bit path.
func fromRatRef(usd *big.Rat) money.Nanos {
	n := new(big.Rat).Mul(usd, new(big.Rat).SetInt64(int64(money.PerDollar)))
	num, den := n.Num(), n.Denom()
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	r2 := new(big.Int).Abs(r)
	r2.Lsh(r2, 1)
	if r2.Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return money.Nanos(q.Int64())
}

// TestFromRatMatchesReference checks money.FromRat's integer path against
// the big.Int definition on random fractions (half-way cases, every sign,
// numerators and denominators up to 64 bits, results near int64's edge)
// wherever the reference's result is defined (it fits an int64).
func TestFromRatMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	vals := []int64{0, 1, -1, 2, 3, 5, 1_000_000_000, 999_999_999, 500_000_000_000, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	dens := []int64{1, 2, 3, 7, 1000, 2_000_000_000, 1_000_000_000_000, math.MaxInt64, math.MaxInt64 - 1}
	check := func(r *big.Rat) {
		want := fromRatRef(r)
		if !fitsNanos(r, 1) {
			return
		}
		if got := money.FromRat(r); got != want {
			t.Fatalf("FromRat(%v) = %d, want %d", r, got, want)
		}
	}
	for _, a := range vals {
		for _, b := range dens {
			check(new(big.Rat).SetFrac64(a, b))
		}
	}
	for range 200_000 {
		a := rng.Int64() >> uint(rng.IntN(64))
		if rng.IntN(2) == 0 {
			a = -a
		}
		b := max(1, rng.Int64()>>uint(rng.IntN(64)))
		check(new(big.Rat).SetFrac64(a, b))
		// Exact half-nanos: (2k+1)/(2·1e9) dollars.
		k := rng.Int64N(1 << 40)
		check(new(big.Rat).SetFrac64(2*k+1, 2_000_000_000))
		check(new(big.Rat).SetFrac64(-(2*k + 1), 2_000_000_000))
	}
	// Beyond 64 bits the big.Int path still answers.
	huge := new(big.Rat).SetFrac(new(big.Int).Lsh(big.NewInt(3), 70), big.NewInt(1<<62))
	if got, want := money.FromRat(huge), fromRatRef(huge); got != want {
		t.Fatalf("FromRat(%v) = %d, want %d", huge, got, want)
	}
}
