package embed

import (
	"math/rand/v2"
	"testing"

	"github.com/pennyllm/penny/core/cache"
)

// The local embedder is the cache judge's fast word lexicon.
var _ cache.WordVectors = (*Local)(nil)

// oldCosine is table.cosine as it was (one int64 accumulator), the
// reference for dot and dot4.
func oldCosine(t *table, i, j int32) float64 {
	a := t.comps[int(i)*t.dim : int(i+1)*t.dim]
	b := t.comps[int(j)*t.dim : int(j+1)*t.dim]
	var s int64
	for k := range a {
		s += int64(int8(a[k])) * int64(int8(b[k]))
	}
	d := float64(t.norms[i]) * float64(t.norms[j])
	if d == 0 {
		return 0
	}
	return float64(s) * float64(t.scales[i]) * float64(t.scales[j]) / d
}

func TestWordSimBitIdentical(t *testing.T) {
	l, err := NewLocal(LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	n := int32(len(l.tab.words))
	for range 20000 {
		i, j := r.Int32N(n), r.Int32N(n)
		want := oldCosine(l.tab, i, j)
		if got := l.WordSim(l.tab.words[i], l.tab.words[j]); got != want && i != j {
			t.Fatalf("WordSim(%q, %q) = %.17g, want %.17g", l.tab.words[i], l.tab.words[j], got, want)
		}
		ij, ji := l.tab.cosines(i, j)
		if ij != want || ji != oldCosine(l.tab, j, i) {
			t.Fatalf("cosines(%d, %d) = %v %v", i, j, ij, ji)
		}
		js := []int32{j, r.Int32N(n), r.Int32N(n), r.Int32N(n)}
		p := l.tab.pack(nil, js)
		d := l.tab.dim
		s0, s1, s2, s3 := dotPacked(l.tab.comps[int(i)*d:int(i+1)*d], p[:d], p[d:2*d])
		for k, s := range []int32{s0, s1, s2, s3} {
			if s != l.tab.dot(i, js[k]) {
				t.Fatalf("dotPacked lane %d: %d, want %d", k, s, l.tab.dot(i, js[k]))
			}
		}
	}
}

// TestBestSims checks BestSims against WordSim pair by pair, with random
// needs on both sides and lengths that exercise dot4's padding.
func TestBestSims(t *testing.T) {
	l, err := NewLocal(LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	n := int32(len(l.tab.words))
	for trial := range 200 {
		a, b := make([]int32, r.IntN(9)), make([]int32, r.IntN(13))
		for i := range a {
			a[i] = r.Int32N(n)
		}
		for j := range b {
			b[j] = r.Int32N(n)
		}
		needA, needB := make([]bool, len(a)), make([]bool, len(b))
		for i := range needA {
			needA[i] = r.IntN(3) > 0
		}
		for j := range needB {
			needB[j] = r.IntN(3) > 0
		}
		bestA, bestB := make([]float64, len(a)), make([]float64, len(b))
		l.BestSims(a, b, needA, needB, bestA, bestB)
		for i := range a {
			want := 0.0
			if needA[i] {
				for j := range b {
					want = max(want, l.WordSim(l.tab.words[a[i]], l.tab.words[b[j]]))
				}
			}
			if bestA[i] != want {
				t.Fatalf("trial %d: bestA[%d] = %.17g, want %.17g", trial, i, bestA[i], want)
			}
		}
		for j := range b {
			want := 0.0
			if needB[j] {
				for i := range a {
					want = max(want, l.WordSim(l.tab.words[b[j]], l.tab.words[a[i]]))
				}
			}
			if bestB[j] != want {
				t.Fatalf("trial %d: bestB[%d] = %.17g, want %.17g", trial, j, bestB[j], want)
			}
		}
	}
	if _, ok := l.WordID("the"); !ok {
		t.Error("WordID(the) not found")
	}
	if _, ok := l.WordID("qqqzzzxx"); ok {
		t.Error("WordID found a nonsense word")
	}
}

func BenchmarkWordSim(b *testing.B) {
	l, err := NewLocal(LocalOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("old", func(b *testing.B) {
		for b.Loop() {
			oldCosine(l.tab, 100, 2000)
		}
	})
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			l.tab.cosine(100, 2000)
		}
	})
	p := l.tab.pack(nil, []int32{2000, 3000, 4000, 5000})
	row := l.tab.comps[100*l.tab.dim : 101*l.tab.dim]
	p1, p2 := p[:l.tab.dim], p[l.tab.dim:]
	b.Run("packed-per-pair", func(b *testing.B) {
		for b.Loop() {
			dotPacked(row, p1, p2)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/4, "ns/pair")
	})
}
