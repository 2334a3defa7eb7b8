package embed

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
)

// BenchmarkShortPath is the local embedder's work per short replay
// request: embedding an unseen 10–30 word prompt (cache disabled), and the
// cache judge's BestSims between two such prompts' known words.
func BenchmarkShortPath(b *testing.B) {
	l, err := NewLocal(LocalOptions{CacheSize: -1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	in := []string{"Can you summarize the refund policy for orders over $200 in two sentences, please?"}
	b.Run("embed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Embed(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	ids := func(text string) []int32 {
		var out []int32
		for _, w := range Tokenize(text) {
			if id, ok := l.WordID(w); ok {
				out = append(out, id)
			}
		}
		return out
	}
	a := ids("how do i get a refund for an order i placed last week over two hundred dollars")
	c := ids("can you summarize the refund policy for orders over 200 dollars in two sentences")
	needA, needB := make([]bool, len(a)), make([]bool, len(c))
	for i := range needA {
		needA[i] = i%2 == 0
	}
	for j := range needB {
		needB[j] = j%3 == 0
	}
	bestA, bestB := make([]float64, len(a)), make([]float64, len(c))
	b.Run("bestsims", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l.BestSims(a, c, needA, needB, bestA, bestB)
		}
	})
}

// embedRef is embed as it was, with heap accumulators: the stack buffers
// must give bit-identical vectors.
func embedRef(l *Local, text string) []float32 {
	dim := l.tab.dim
	g := make([]float64, dim)
	lex := make([]float64, l.opts.LexDims)
	for _, tok := range Tokenize(text) {
		w := l.Weight(tok)
		if r, ok := l.tab.index[tok]; ok {
			l.tab.addScaled(g, r, w)
		}
		if len(lex) > 0 {
			addTrigrams(lex, tok, w)
		}
	}
	v := make([]float32, dim+len(lex))
	normInto(v[:dim], g, l.gw)
	normInto(v[dim:], lex, l.lw)
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s > 0 {
		inv := float32(1 / math.Sqrt(s))
		for i := range v {
			v[i] *= inv
		}
	}
	return v
}

func TestEmbedMatchesReference(t *testing.T) {
	texts := []string{"", "How do I reset my password?", "Zyxxq qqq 42!", "can't won't don't",
		strings.Repeat("Summarize the quarterly report and list the three largest risks. ", 20)}
	for _, lexDims := range []int{0, -1, 64, 128, 256, 300, 1000} {
		l, err := NewLocal(LocalOptions{LexDims: lexDims, CacheSize: -1})
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range texts {
			got, want := l.embed(text), embedRef(l, text)
			if len(got) != len(want) {
				t.Fatalf("LexDims %d %q: %d dims, want %d", lexDims, text, len(got), len(want))
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("LexDims %d %q: dim %d = %v, want %v", lexDims, text, i, got[i], want[i])
				}
			}
		}
		if want := fmt.Sprintf("local-glove50k-sif%g-c3x%d-w%02d-v1", l.opts.SIFA, l.opts.LexDims, int(math.Round(l.opts.LexWeight*100))); l.ID() != want {
			t.Errorf("ID %q, want %q", l.ID(), want)
		}
	}
}
