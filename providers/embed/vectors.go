package embed

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// gloveData is glove50k.i8, produced by ./internal/gen (see NOTICE).
//
//go:embed glove50k.i8
var gloveData []byte

const gloveMagic = "PNYGLV01"

// gloveVocabSize is the size of GloVe 6B's full vocabulary. The SIF weights
// need each word's corpus probability; GloVe does not ship counts, but its
// vocabulary is sorted by descending frequency, so a Zipf estimate from the
// rank, p(r) = 1/(r·H_N) with H_N the N-th harmonic number, stands in.
const gloveVocabSize = 400000

// table is the parsed vector file. The int8 components alias the embedded
// bytes, so parsing costs one map and two small slices.
type table struct {
	dim    int
	index  map[string]int32
	words  []string
	scales []float32
	norms  []float32 // L2 norm of each dequantized vector
	comps  []byte    // words×dim int8 components
}

func parseTable(data []byte) (*table, error) {
	if len(data) < len(gloveMagic)+8 || string(data[:len(gloveMagic)]) != gloveMagic {
		return nil, errors.New("word vectors: bad magic")
	}
	p := len(gloveMagic)
	n := int(binary.LittleEndian.Uint32(data[p:]))
	dim := int(binary.LittleEndian.Uint32(data[p+4:]))
	p += 8
	if n <= 0 || dim <= 0 || dim > 4096 {
		return nil, fmt.Errorf("word vectors: bad header (%d words, %d dims)", n, dim)
	}
	t := &table{dim: dim, index: make(map[string]int32, n), words: make([]string, n)}
	for i := 0; i < n; i++ {
		if p >= len(data) {
			return nil, errors.New("word vectors: truncated vocabulary")
		}
		l := int(data[p])
		p++
		if p+l > len(data) {
			return nil, errors.New("word vectors: truncated vocabulary")
		}
		w := string(data[p : p+l])
		p += l
		t.words[i] = w
		t.index[w] = int32(i)
	}
	if len(data)-p != n*4+n*dim {
		return nil, fmt.Errorf("word vectors: %d bytes after the vocabulary, want %d", len(data)-p, n*4+n*dim)
	}
	t.scales = make([]float32, n)
	for i := range t.scales {
		t.scales[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[p+4*i:]))
	}
	p += 4 * n
	t.comps = data[p:]
	t.norms = make([]float32, n)
	for i := 0; i < n; i++ {
		var s int64
		for _, c := range t.comps[i*dim : (i+1)*dim] {
			s += int64(int8(c)) * int64(int8(c))
		}
		t.norms[i] = float32(math.Sqrt(float64(s))) * t.scales[i]
	}
	return t, nil
}

// addScaled adds w × vector(i) to dst.
func (t *table) addScaled(dst []float64, i int32, w float64) {
	s := w * float64(t.scales[i])
	for j, c := range t.comps[int(i)*t.dim : int(i+1)*t.dim] {
		dst[j] += s * float64(int8(c))
	}
}

// cosine of two word vectors.
func (t *table) cosine(i, j int32) float64 {
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

// sifWeight is a/(a+p(w)) with p estimated from the frequency rank.
func sifWeight(rank int, a float64) float64 {
	h := math.Log(gloveVocabSize) + 0.5772156649
	p := 1 / (float64(rank+1) * h)
	return a / (a + p)
}
