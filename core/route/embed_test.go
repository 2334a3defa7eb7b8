package route

import (
	"context"
	"hash/fnv"
	"math"
)

// trigramEmbedder is a deterministic stand-in for the local GloVe embedder:
// lower-cased words and character trigrams hashed into dim buckets with a
// sign bit (the hashing trick), then L2-normalized. It captures topical
// overlap (shared words and word pieces), which is what the k-NN vote needs.
type trigramEmbedder struct{ dim int }

func (e trigramEmbedder) ID() string { return "test-trigram-hash" }
func (e trigramEmbedder) Dim() int   { return e.dim }

func (e trigramEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = e.one(t)
	}
	return out, nil
}

func (e trigramEmbedder) one(text string) []float32 {
	v := make([]float32, e.dim)
	add := func(s string, w float32) {
		h := fnv.New64a()
		h.Write([]byte(s))
		x := h.Sum64()
		sign := float32(1)
		if x>>63 == 1 {
			sign = -1
		}
		v[x%uint64(e.dim)] += sign * w
	}
	word := make([]byte, 0, 32)
	flush := func() {
		if len(word) == 0 {
			return
		}
		add("w:"+string(word), 1)
		padded := "^" + string(word) + "$"
		for j := 0; j+3 <= len(padded); j++ {
			add(padded[j:j+3], 0.3)
		}
		word = word[:0]
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if isWordByte(c) {
			word = append(word, lower(c))
		} else {
			flush()
		}
	}
	flush()
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n > 0 {
		inv := float32(1 / math.Sqrt(n))
		for j := range v {
			v[j] *= inv
		}
	}
	return v
}
