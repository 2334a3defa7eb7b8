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

// dot is the exact integer dot product of two words' int8 components.
// int32 cannot overflow: |c| ≤ 128 and dim ≤ 4096 give at most 2^26.
// Four accumulators and a re-sliced b (no bounds checks in the loop) make
// it about three times faster than the plain loop; the sum is exact, so
// the order does not matter.
func (t *table) dot(i, j int32) int32 {
	a := t.comps[int(i)*t.dim : int(i+1)*t.dim]
	b := t.comps[int(j)*t.dim : int(j+1)*t.dim]
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	k := 0
	for ; k+4 <= len(a); k += 4 {
		s0 += int32(int8(a[k])) * int32(int8(b[k]))
		s1 += int32(int8(a[k+1])) * int32(int8(b[k+1]))
		s2 += int32(int8(a[k+2])) * int32(int8(b[k+2]))
		s3 += int32(int8(a[k+3])) * int32(int8(b[k+3]))
	}
	for ; k < len(a); k++ {
		s0 += int32(int8(a[k])) * int32(int8(b[k]))
	}
	return s0 + s1 + s2 + s3
}

// pack appends to dst the vectors of words ids two to a 64-bit lane pair:
// pair k, dst[k·dim:(k+1)·dim], holds v0[c] + v1[c]·2³², v0 and v1 the
// components of ids[2k] and ids[2k+1] (zero when ids has odd length).
// Multiplying one int8 component by a packed word then yields both
// products at once, and the sums stay exact because each is below 2²⁶ in
// magnitude (dim ≤ 4096). dst is reused when large enough: BestSims runs
// for every candidate of every cache lookup, and a fresh buffer each time
// was the embedder's largest allocation.
func (t *table) pack(dst []int64, ids []int32) []int64 {
	n := (len(ids) + 1) / 2 * t.dim
	if cap(dst) < n {
		dst = make([]int64, n)
	}
	dst = dst[:n]
	for k := 0; 2*k < len(ids); k++ {
		p := dst[k*t.dim : (k+1)*t.dim]
		v0 := t.comps[int(ids[2*k])*t.dim : int(ids[2*k]+1)*t.dim][:len(p)]
		for c := range p {
			p[c] = int64(int8(v0[c]))
		}
		if 2*k+1 < len(ids) {
			v1 := t.comps[int(ids[2*k+1])*t.dim : int(ids[2*k+1]+1)*t.dim][:len(p)]
			for c := range p {
				p[c] += int64(int8(v1[c])) << 32
			}
		}
	}
	return dst
}

// dotPacked returns the dot products of row with the four vectors packed
// in p1 and p2 (see pack).
func dotPacked(row []byte, p1, p2 []int64) (s0, s1, s2, s3 int32) {
	p1, p2 = p1[:len(row)], p2[:len(row)]
	var acc1, acc2 int64
	for c, x := range row {
		v := int64(int8(x))
		acc1 += v * p1[c]
		acc2 += v * p2[c]
	}
	return unpack(acc1), unpackHi(acc1), unpack(acc2), unpackHi(acc2)
}

// unpack and unpackHi split a packed sum lo + hi·2³² (|lo|, |hi| < 2³¹)
// into its two signed halves.
func unpack(acc int64) int32 { return int32(uint32(acc)) }

func unpackHi(acc int64) int32 { return int32((acc - int64(int32(uint32(acc)))) >> 32) }

// cosinesFrom is cosines given the dot product s of i and j.
func (t *table) cosinesFrom(s int32, i, j int32) (ij, ji float64) {
	d := float64(t.norms[i]) * float64(t.norms[j])
	if d == 0 {
		return 0, 0
	}
	fs := float64(s)
	return fs * float64(t.scales[i]) * float64(t.scales[j]) / d, fs * float64(t.scales[j]) * float64(t.scales[i]) / d
}

// cosine of two word vectors.
func (t *table) cosine(i, j int32) float64 {
	ij, _ := t.cosines(i, j)
	return ij
}

// cosines returns cosine(i, j) and cosine(j, i) from one dot product. The
// two differ only in the order of the float multiplications, which is
// kept as cosine has always computed it, so either is bit-identical to a
// separate call.
func (t *table) cosines(i, j int32) (ij, ji float64) {
	return t.cosinesFrom(t.dot(i, j), i, j)
}

// sifWeight is a/(a+p(w)) with p estimated from the frequency rank.
func sifWeight(rank int, a float64) float64 {
	h := math.Log(gloveVocabSize) + 0.5772156649
	p := 1 / (float64(rank+1) * h)
	return a / (a + p)
}
