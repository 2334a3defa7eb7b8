// Package embed holds penny's embedders: the offline default built from
// GloVe word vectors and character n-grams, and an OpenAI-compatible client.
package embed

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	coreembed "github.com/pennyllm/penny/core/embed"
)

// LocalOptions tunes the offline embedder. Zero values take the defaults.
type LocalOptions struct {
	// LexDims is the number of extra dimensions holding hashed character
	// trigrams (default 128; negative for none, GloVe only). They let texts that share rare words, names or
	// misspellings — which GloVe lacks or blurs — land near each other.
	LexDims int
	// LexWeight is the lexical part's share of the cosine (default 0.35):
	// cos(u,v) = (1-LexWeight)·cos_glove + LexWeight·cos_trigram.
	LexWeight float64
	// SIFA is SIF's smoothing constant a in a/(a+p(w)) (default 1e-3, the
	// value Arora et al. recommend).
	SIFA float64
	// CacheSize bounds the per-instance cache of embeddings by text
	// (default 4096 texts; negative disables it).
	CacheSize int
}

func (o LocalOptions) withDefaults() LocalOptions {
	if o.LexDims == 0 {
		o.LexDims = 128
	}
	if o.LexWeight == 0 {
		o.LexWeight = 0.35
	}
	if o.SIFA == 0 {
		o.SIFA = 1e-3
	}
	if o.CacheSize == 0 {
		o.CacheSize = 4096
	}
	return o
}

// Local is the offline embedder: a SIF-weighted average of GloVe 6B 100-d
// word vectors (50,000 most frequent words, int8), concatenated with
// character trigrams hashed into LexDims dimensions. Both halves are
// L2-normalized before weighting, so the cosine of two embeddings is exactly
// the weighted mean of the two halves' cosines. Safe for concurrent use.
type Local struct {
	opts   LocalOptions
	tab    *table
	weight []float32 // SIF weight per vocabulary rank
	cache  *lru
	gw, lw float64 // sqrt of each half's share
	// letterWeight is the weight of single-letter words (see Weight).
	letterWeight float64
	id           string // ID(), fixed by opts
}

var _ coreembed.Embedder = (*Local)(nil)

// NewLocal parses the embedded word vectors (about 10 ms) and returns an
// embedder with its own cache.
func NewLocal(opts LocalOptions) (*Local, error) {
	opts = opts.withDefaults()
	if opts.LexDims > 4096 {
		return nil, fmt.Errorf("local embedder: LexDims %d above 4096", opts.LexDims)
	}
	if opts.LexWeight <= 0 || opts.LexWeight >= 1 {
		return nil, fmt.Errorf("local embedder: LexWeight %g outside (0,1)", opts.LexWeight)
	}
	if opts.LexDims < 0 {
		opts.LexDims, opts.LexWeight = 0, 0
	}
	if opts.SIFA <= 0 {
		return nil, fmt.Errorf("local embedder: SIFA %g must be positive", opts.SIFA)
	}
	tab, err := parseTable(gloveData)
	if err != nil {
		return nil, fmt.Errorf("local embedder: %w", err)
	}
	l := &Local{opts: opts, tab: tab, weight: make([]float32, len(tab.words))}
	for r := range l.weight {
		l.weight[r] = float32(sifWeight(r, opts.SIFA))
	}
	if opts.CacheSize > 0 {
		l.cache = newLRU(opts.CacheSize)
	}
	l.letterWeight = sifWeight(10, opts.SIFA)
	l.gw = math.Sqrt(1 - opts.LexWeight)
	l.lw = math.Sqrt(opts.LexWeight)
	l.id = l.makeID()
	return l, nil
}

// ID names the model, its options and the format version; any change that
// alters vectors must change it.
func (l *Local) ID() string { return l.id }

// makeID formats ID once per embedder (the cache asks for it per lookup).
func (l *Local) makeID() string {
	return fmt.Sprintf("local-glove50k-sif%g-c3x%d-w%02d-v1", l.opts.SIFA, l.opts.LexDims, int(math.Round(l.opts.LexWeight*100)))
}

// Dim is 100 GloVe dimensions plus LexDims.
func (l *Local) Dim() int { return l.tab.dim + l.opts.LexDims }

// Embed returns one L2-normalized vector per text. Texts with no known word
// and no characters embed as the zero vector (cosine 0 with everything).
func (l *Local) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("local embed: %w", err)
			}
		}
		if l.cache != nil {
			if v, ok := l.cache.get(t); ok {
				out[i] = v
				continue
			}
		}
		v := l.embed(t)
		if l.cache != nil {
			l.cache.put(t, v)
		}
		out[i] = v
	}
	return out, nil
}

func (l *Local) embed(text string) []float32 {
	toks := Tokenize(text)
	dim := l.tab.dim
	// The accumulators live on the stack for the default sizes (100 GloVe
	// dimensions, 128 lexical ones): only the result is allocated.
	var gbuf [128]float64
	var lbuf [256]float64
	g, lex := gbuf[:0], lbuf[:0]
	if dim <= len(gbuf) {
		g = gbuf[:dim]
	} else {
		g = make([]float64, dim)
	}
	if l.opts.LexDims <= len(lbuf) {
		lex = lbuf[:l.opts.LexDims]
	} else {
		lex = make([]float64, l.opts.LexDims)
	}
	for _, tok := range toks {
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
	// Renormalize: one half may be empty (no known words).
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

func normInto(dst []float32, src []float64, share float64) {
	var s float64
	for _, x := range src {
		s += x * x
	}
	if s == 0 {
		return
	}
	k := share / math.Sqrt(s)
	for i, x := range src {
		dst[i] = float32(x * k)
	}
}

// addTrigrams hashes the character trigrams of "<tok>" into dst with a
// signed hash, so collisions cancel in expectation instead of adding up.
func addTrigrams(dst []float64, tok string, w float64) {
	r := []rune("<" + tok + ">")
	var buf [12]byte
	for i := 0; i+3 <= len(r); i++ {
		x := fnv64a(utf8.AppendRune(utf8.AppendRune(utf8.AppendRune(buf[:0], r[i]), r[i+1]), r[i+2]))
		sign := 1.0
		if x>>63 == 1 {
			sign = -1
		}
		dst[(x&(1<<62-1))%uint64(len(dst))] += sign * w
	}
}

// fnv64a is FNV-1a, inlined to avoid allocating a hash.Hash per trigram;
// its output is part of the vector format (changing it changes ID()).
func fnv64a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// Weight is the SIF weight of a word, a/(a+p(w)) in (0,1]: near 0 for
// function words, near 1 for rare ones; 1 for words outside the vocabulary
// (rare by construction: the vocabulary is the 50,000 most frequent). The
// npm package drops single-letter words ("a", "i", the "s" of "'s"), which
// are among the most frequent of all, so they weigh like a top-10 word.
func (l *Local) Weight(word string) float64 {
	if r, ok := l.tab.index[word]; ok {
		return float64(l.weight[r])
	}
	if utf8.RuneCountInString(word) == 1 {
		return l.letterWeight
	}
	return 1
}

// WordSim is the cosine of two words' GloVe vectors, 1 for identical words
// and 0 when either is unknown.
func (l *Local) WordSim(a, b string) float64 {
	if a == b {
		return 1
	}
	i, ok := l.tab.index[a]
	j, ok2 := l.tab.index[b]
	if !ok || !ok2 {
		return 0
	}
	return l.tab.cosine(i, j)
}

// WordID is the word's vocabulary rank; false when it has no vector. With
// BestSims it lets the cache's judge compare words by id (it implements
// cache.WordVectors).
func (l *Local) WordID(word string) (int32, bool) {
	i, ok := l.tab.index[word]
	return i, ok
}

// BestSims implements cache.WordVectors: for every i with needA[i],
// bestA[i] becomes the largest of itself and WordSim(a[i], b[j]) over all
// j; for every j with needB[j], bestB[j] the largest of itself and
// WordSim(b[j], a[i]) over all i. Pairs where neither side needs it are
// skipped, so a word present on both sides (not needing a match) is never
// compared with itself. Each pair costs one exact integer dot product
// (packed two columns to a 64-bit word, see dotPacked); the values are
// bit-identical to WordSim's.
func (l *Local) BestSims(a, b []int32, needA, needB []bool, bestA, bestB []float64) {
	t := l.tab
	if len(a) == 0 || len(b) == 0 {
		return
	}
	if len(b) > len(a) {
		// The definition is symmetric; pack the smaller side, which costs
		// a pass over its vectors, and stream the larger.
		a, b, needA, needB, bestA, bestB = b, a, needB, needA, bestB, bestA
	}
	anyB := slices.Contains(needB, true)
	pb := packPool.Get().(*[]int64)
	packed := t.pack(*pb, b)
	dim := t.dim
	pairs := len(packed) / dim
	var sums [4]int32
	for i, ai := range a {
		if !needA[i] && !anyB {
			continue
		}
		row := t.comps[int(ai)*t.dim : int(ai+1)*t.dim]
		for q := 0; q < len(b); q += 4 {
			hi := min(q+4, len(b))
			need := needA[i]
			for j := q; j < hi && !need; j++ {
				need = needB[j]
			}
			if !need {
				continue
			}
			p1 := packed[q/2*dim : (q/2+1)*dim]
			p2 := p1 // a lone last pair is computed twice; cheaper than a branch per component
			if q/2+1 < pairs {
				p2 = packed[(q/2+1)*dim : (q/2+2)*dim]
			}
			sums[0], sums[1], sums[2], sums[3] = dotPacked(row, p1, p2)
			for j := q; j < hi; j++ {
				if !needA[i] && !needB[j] {
					continue
				}
				ab, ba := t.cosinesFrom(sums[j-q], ai, b[j])
				if needA[i] && ab > bestA[i] {
					bestA[i] = ab
				}
				if needB[j] && ba > bestB[j] {
					bestB[j] = ba
				}
			}
		}
	}
	*pb = packed
	packPool.Put(pb)
}

// packPool recycles BestSims's packed vectors (a few KB per call).
var packPool = sync.Pool{New: func() any { return new([]int64) }}

// Tokenize lowercases text, expands the "n't" contraction to "not" and
// splits it into runs of letters and digits — the only shapes the embedded
// vocabulary holds.
func Tokenize(text string) []string {
	text = strings.ToLower(text)
	if strings.Contains(text, "n't") || strings.Contains(text, "n’t") {
		for _, ap := range []string{"'", "’"} {
			text = strings.ReplaceAll(text, "can"+ap+"t", "can not")
			text = strings.ReplaceAll(text, "won"+ap+"t", "will not")
			text = strings.ReplaceAll(text, "n"+ap+"t", " not")
		}
	}
	return strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}
