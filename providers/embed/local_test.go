package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
)

func cos(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestLocalBasics(t *testing.T) {
	e, err := NewLocal(LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Dim() != 100+128 {
		t.Errorf("dim %d", e.Dim())
	}
	if !strings.Contains(e.ID(), "v1") || !strings.HasPrefix(e.ID(), "local-glove50k") {
		t.Errorf("id %q lacks name or version", e.ID())
	}
	other, _ := NewLocal(LocalOptions{LexDims: 64})
	if other.ID() == e.ID() || other.Dim() == e.Dim() {
		t.Error("different options share an ID or dimension")
	}
	texts := []string{"How do I reverse a list in Python?", "How can I reverse a Python list?", "Best pizza in Naples", "zxqv qqqj", ""}
	v, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range v[:4] {
		if len(x) != e.Dim() {
			t.Fatalf("vector %d has %d dims", i, len(x))
		}
		if n := cos(x, x); math.Abs(n-1) > 1e-5 {
			t.Errorf("vector %d (%q) norm² %v", i, texts[i], n)
		}
	}
	if n := cos(v[4], v[4]); n != 0 {
		t.Errorf("empty text norm² %v, want 0", n)
	}
	if p, u := cos(v[0], v[1]), cos(v[0], v[2]); p < 0.8 || u > 0.4 || p <= u {
		t.Errorf("paraphrase cosine %.3f, unrelated %.3f", p, u)
	}
	// Identical text, identical vector; case and punctuation do not matter.
	w, _ := e.Embed(context.Background(), []string{"how do i reverse a list in python"})
	if c := cos(v[0], w[0]); math.Abs(c-1) > 1e-5 {
		t.Errorf("normalized variant cosine %v", c)
	}
}

func TestLocalOptionsValidation(t *testing.T) {
	for _, o := range []LocalOptions{{LexWeight: 1}, {LexWeight: -0.5}, {SIFA: -1}, {LexDims: 5000}} {
		if _, err := NewLocal(o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	g, err := NewLocal(LocalOptions{LexDims: -1})
	if err != nil || g.Dim() != 100 {
		t.Fatalf("GloVe-only: dim %d, %v", g.Dim(), err)
	}
	v, _ := g.Embed(context.Background(), []string{"the cat sat on the mat"})
	if n := cos(v[0], v[0]); math.Abs(n-1) > 1e-5 {
		t.Errorf("GloVe-only norm² %v", n)
	}
}

func TestLocalLexicon(t *testing.T) {
	e, _ := NewLocal(LocalOptions{})
	if w := e.Weight("the"); w > 0.05 {
		t.Errorf("weight(the) = %v: function words must weigh little", w)
	}
	if w := e.Weight("python"); w < 0.9 {
		t.Errorf("weight(python) = %v", w)
	}
	if e.Weight("a") > 0.2 || e.Weight("a") >= e.Weight("what") || e.Weight("qqqzzzx") != 1 {
		t.Errorf("single letters %v, unknown words %v", e.Weight("a"), e.Weight("qqqzzzx"))
	}
	if s := e.WordSim("big", "big"); s != 1 {
		t.Errorf("WordSim(x,x) = %v", s)
	}
	if s, u := e.WordSim("big", "large"), e.WordSim("big", "banana"); s <= u {
		t.Errorf("big~large %v ≤ big~banana %v", s, u)
	}
	if s := e.WordSim("big", "qqqzzzx"); s != 0 {
		t.Errorf("unknown word similarity %v", s)
	}
}

func TestLocalCache(t *testing.T) {
	e, _ := NewLocal(LocalOptions{CacheSize: 2})
	ctx := context.Background()
	a, _ := e.Embed(ctx, []string{"alpha"})
	b, _ := e.Embed(ctx, []string{"alpha"})
	if &a[0][0] != &b[0][0] {
		t.Error("identical text embedded twice instead of served from the cache")
	}
	e.Embed(ctx, []string{"beta"})
	e.Embed(ctx, []string{"alpha"}) // alpha is now most recent
	e.Embed(ctx, []string{"gamma"}) // evicts beta, the least recently used
	if e.cache.len() != 2 {
		t.Fatalf("cache holds %d", e.cache.len())
	}
	if _, ok := e.cache.get("beta"); ok {
		t.Error("least recently used entry kept")
	}
	if _, ok := e.cache.get("alpha"); !ok {
		t.Error("recently used entry evicted")
	}
	off, _ := NewLocal(LocalOptions{CacheSize: -1})
	if off.cache != nil {
		t.Error("negative CacheSize did not disable the cache")
	}
}

func TestLocalConcurrent(t *testing.T) {
	e, _ := NewLocal(LocalOptions{CacheSize: 8})
	ctx := context.Background()
	want, _ := e.Embed(ctx, []string{"prompt 3"})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				v, err := e.Embed(ctx, []string{fmt.Sprintf("prompt %d", i%12)})
				if err != nil {
					t.Error(err)
					return
				}
				if i%12 == 3 && cos(v[0], want[0]) < 0.99999 {
					t.Error("concurrent embed returned a different vector")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestLocalContext(t *testing.T) {
	e, _ := NewLocal(LocalOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Embed(ctx, []string{"x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestParseTableRejectsCorruptData(t *testing.T) {
	good := gloveData
	for name, data := range map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("NOTMAGIC"), good[8:]...),
		"truncated": good[:len(good)-1],
		"header":    append(append([]byte{}, good[:8]...), 0, 0, 0, 0, 100, 0, 0, 0),
	} {
		if _, err := parseTable(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	tab, err := parseTable(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.words) != 50000 || tab.dim != 100 || tab.words[0] != "the" {
		t.Errorf("table: %d words, dim %d, first %q", len(tab.words), tab.dim, tab.words[0])
	}
}

func TestTokenize(t *testing.T) {
	got := strings.Join(Tokenize("Don't STOP—can't won't, it's 3.5 GB!"), " ")
	if got != "do not stop can not will not it s 3 5 gb" {
		t.Errorf("tokens %q", got)
	}
}

func BenchmarkNewLocal(b *testing.B) {
	for b.Loop() {
		if _, err := NewLocal(LocalOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmbedPrompt is the cost of embedding one prompt the cache has
// not seen (cache disabled), for a short question and a ~200-word prompt.
func BenchmarkEmbedPrompt(b *testing.B) {
	e, _ := NewLocal(LocalOptions{CacheSize: -1})
	long := strings.Repeat("Summarize the quarterly report and list the three largest risks the board should discuss next week. ", 12)
	for _, c := range []struct{ name, text string }{{"short", "How do I reverse a list in Python?"}, {"200words", long}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			in := []string{c.text}
			for b.Loop() {
				if _, err := e.Embed(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEmbedCached is the cost when the text was embedded before.
func BenchmarkEmbedCached(b *testing.B) {
	e, _ := NewLocal(LocalOptions{})
	ctx := context.Background()
	in := []string{"How do I reverse a list in Python?"}
	e.Embed(ctx, in)
	for b.Loop() {
		e.Embed(ctx, in)
	}
}
