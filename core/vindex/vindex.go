// Package vindex is penny's in-memory vector index for the semantic cache:
// an exact brute-force scan over int8-quantized vectors while an index is
// small, and an HNSW graph (Malkov & Yashunin 2016) above a size threshold.
//
// Vectors are expected to be L2-normalized, so the similarity is the cosine
// (dot product). Each vector is stored as int8 codes with one float32 scale
// (4x smaller than float32); the query stays float32 (asymmetric scoring), so
// the only error is the rounding of the stored side, well under 0.01 cosine.
//
// An Index is not safe for concurrent mutation: the owner serializes Add,
// Remove, Compact and BuildStep with a write lock, and may run Search (which
// never mutates shared state) concurrently under a read lock.
package vindex

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// Options tune an Index. The zero value gets the defaults from Defaults.
type Options struct {
	// SwitchOver is the live size from which Search uses the HNSW graph
	// instead of the exact scan. The graph starts being built at half this
	// size so that it is ready when the index crosses it.
	SwitchOver int
	// M is the number of graph links per node on upper layers (2M on layer 0).
	M int
	// EfConstruction is the candidate list size while inserting.
	EfConstruction int
	// EfSearch is the candidate list size while searching (Search's ef
	// argument overrides it per call). Zero (or negative) leaves it to the
	// index, which grows it with the graph's size (see autoEf).
	EfSearch int
	// Seed makes level assignment reproducible.
	Seed uint64
}

// Defaults are measured on clustered 100-d vectors (BenchmarkIndex*): with
// M=16 and efConstruction=100, efSearch=256 reaches recall@1 1.000 at 100k
// and 0.995 at 1M at a p99 inside the 1 ms / 5 ms budgets. EfSearch 0 lets
// the index size it to the graph (autoEf): 192 up to 100k nodes, where 256
// finds no more than it within 0.0005, rising to 256 at 300k.
func Defaults() Options {
	return Options{SwitchOver: 10000, M: 16, EfConstruction: 100, EfSearch: 0, Seed: 1}
}

func (o Options) withDefaults() Options {
	d := Defaults()
	if o.SwitchOver <= 0 {
		o.SwitchOver = d.SwitchOver
	}
	if o.M <= 1 {
		o.M = d.M
	}
	if o.EfConstruction <= 0 {
		o.EfConstruction = d.EfConstruction
	}
	if o.EfSearch < 0 {
		o.EfSearch = 0
	}
	if o.Seed == 0 {
		o.Seed = d.Seed
	}
	return o
}

// Hit is one search result.
type Hit struct {
	ID         int64
	Similarity float32 // cosine of the query with the stored (quantized) vector
}

// Errors callers branch on.
var (
	ErrDim       = errors.New("vector dimension mismatch")
	ErrDuplicate = errors.New("id already in index")
)

// Index holds vectors by caller id.
type Index struct {
	dim  int
	opt  Options
	rng  *rand.Rand
	mult float64 // level multiplier 1/ln(M)

	// flat storage, one slot per added vector (slots of removed vectors stay
	// until Compact, as graph tombstones).
	codes   []int8    // slot*dim ...
	scales  []float32 // per slot
	ids     []int64   // per slot
	deleted []bool    // per slot
	slotOf  map[int64]uint32
	live    int

	// graph; built covers slots [0, built).
	graphOn bool
	built   int
	levels  []uint8
	links0  []uint32 // slot*maxM0 ...
	count0  []uint8
	upper   map[uint32][][]uint32 // level-1 indexed links for nodes above layer 0
	entry   uint32
	maxLvl  int

	// What SearchUnchanged checks a Trace against: ver counts graph
	// changes; linkAt[s] is the ver at which slot s's links (any level)
	// last changed, topAt the ver at which the entry point or top level
	// did, dropAt the ver of the last removal or graph reset.
	ver           uint64
	linkAt        []uint64
	topAt, dropAt uint64

	scratch sync.Pool // *scratch
}

// New makes an empty index for vectors of length dim.
func New(dim int, opt Options) *Index {
	opt = opt.withDefaults()
	ix := &Index{
		dim:    dim,
		opt:    opt,
		rng:    rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15)),
		mult:   1 / math.Log(float64(opt.M)),
		slotOf: make(map[int64]uint32),
		upper:  make(map[uint32][][]uint32),
	}
	return ix
}

// Dim is the vector length.
func (ix *Index) Dim() int { return ix.dim }

// Len is the number of live vectors.
func (ix *Index) Len() int { return ix.live }

// Has reports whether id is in the index.
func (ix *Index) Has(id int64) bool { _, ok := ix.slotOf[id]; return ok }

// Mode names how Search currently works: "empty", "scan" (exact) or "hnsw".
func (ix *Index) Mode() string {
	switch {
	case ix.live == 0:
		return "empty"
	case ix.useGraph():
		return "hnsw"
	default:
		return "scan"
	}
}

// NeedsBuild reports whether the graph lags behind the stored vectors; the
// owner then calls BuildStep until it returns true. Search stays exact (a
// scan) meanwhile, so nothing is ever unavailable, only slower.
func (ix *Index) NeedsBuild() bool { return ix.graphOn && ix.built < len(ix.ids) }

// Progress is (slots in the graph, slots stored).
func (ix *Index) Progress() (built, total int) { return ix.built, len(ix.ids) }

func (ix *Index) useGraph() bool {
	return ix.graphOn && ix.built == len(ix.ids) && ix.live >= ix.opt.SwitchOver
}

// Add stores vec under id. vec should be L2-normalized.
func (ix *Index) Add(id int64, vec []float32) error {
	if len(vec) != ix.dim {
		return fmt.Errorf("vindex add %d: %w: got %d, index holds %d", id, ErrDim, len(vec), ix.dim)
	}
	if _, ok := ix.slotOf[id]; ok {
		return fmt.Errorf("vindex add %d: %w", id, ErrDuplicate)
	}
	slot := len(ix.ids)
	ix.codes = append(ix.codes, make([]int8, ix.dim)...)
	ix.add(id, quantize(ix.codes[slot*ix.dim:], vec), nil)
	return nil
}

// Grow makes room for n more vectors, so that loading a known number of
// them (the cache at start-up) allocates each array once instead of
// growing it, and copying it, dozens of times.
func (ix *Index) Grow(n int) {
	if n <= 0 {
		return
	}
	ix.codes = slices.Grow(ix.codes, n*ix.dim)
	ix.scales = slices.Grow(ix.scales, n)
	ix.ids = slices.Grow(ix.ids, n)
	ix.deleted = slices.Grow(ix.deleted, n)
	if len(ix.slotOf) == 0 { // a map cannot grow in place; an empty one is remade
		ix.slotOf = make(map[int64]uint32, n)
	}
}

// AddQuantized stores a vector already in Quantize form (codes, scale),
// as a store that persists it that way hands it over at start-up: no
// float round trip.
func (ix *Index) AddQuantized(id int64, codes []int8, scale float32) error {
	if len(codes) != ix.dim {
		return fmt.Errorf("vindex add %d: %w: got %d, index holds %d", id, ErrDim, len(codes), ix.dim)
	}
	if _, ok := ix.slotOf[id]; ok {
		return fmt.Errorf("vindex add %d: %w", id, ErrDuplicate)
	}
	ix.codes = append(ix.codes, codes...)
	ix.add(id, scale, nil)
	return nil
}

// AddPending is Add for the vector p was prepared from (Prepare), taking
// p's search instead of making it when the index has not changed since.
func (ix *Index) AddPending(id int64, p *Pending) error {
	if _, ok := ix.slotOf[id]; ok {
		return fmt.Errorf("vindex add %d: %w", id, ErrDuplicate)
	}
	var pre []cand
	if p.cands != nil && p.ver == ix.ver && p.slot == uint32(len(ix.ids)) {
		pre = p.cands
	}
	ix.codes = append(ix.codes, p.codes...)
	ix.add(id, p.scale, pre)
	return nil
}

// add completes Add once the codes of the new slot are appended; pre is
// insert's.
func (ix *Index) add(id int64, scale float32, pre []cand) {
	slot := uint32(len(ix.ids))
	ix.scales = append(ix.scales, scale)
	ix.ids = append(ix.ids, id)
	ix.deleted = append(ix.deleted, false)
	ix.slotOf[id] = slot
	ix.live++
	if !ix.graphOn && ix.live >= ix.opt.SwitchOver/2 {
		ix.graphOn = true
	}
	if ix.graphOn && ix.built == int(slot) {
		ix.insert(slot, pre)
		ix.built++
	}
}

// Remove drops id. Its slot stays in the graph as a tombstone (still
// traversed, never returned) until Compact; CompactDue says when.
func (ix *Index) Remove(id int64) bool {
	slot, ok := ix.slotOf[id]
	if !ok {
		return false
	}
	delete(ix.slotOf, id)
	ix.deleted[slot] = true
	ix.live--
	ix.ver++
	ix.dropAt = ix.ver
	return true
}

// CompactDue reports whether tombstones outnumber live vectors, at which
// point searches waste more work on them than a rebuild costs.
func (ix *Index) CompactDue() bool {
	dead := len(ix.ids) - ix.live
	return dead > 1024 && dead > ix.live
}

// Compact drops tombstones. The graph is reset and rebuilt through
// BuildStep; searches scan exactly until it is ready.
func (ix *Index) Compact() {
	n := ix.live
	codes := make([]int8, 0, n*ix.dim)
	scales := make([]float32, 0, n)
	ids := make([]int64, 0, n)
	slotOf := make(map[int64]uint32, n)
	for s, id := range ix.ids {
		if ix.deleted[s] {
			continue
		}
		slotOf[id] = uint32(len(ids))
		codes = append(codes, ix.codes[s*ix.dim:(s+1)*ix.dim]...)
		scales = append(scales, ix.scales[s])
		ids = append(ids, id)
	}
	ix.codes, ix.scales, ix.ids, ix.slotOf = codes, scales, ids, slotOf
	ix.deleted = make([]bool, n)
	ix.resetGraph()
	ix.graphOn = ix.live >= ix.opt.SwitchOver/2
}

func (ix *Index) resetGraph() {
	ix.built = 0
	ix.levels = ix.levels[:0]
	ix.links0 = ix.links0[:0]
	ix.count0 = ix.count0[:0]
	ix.upper = make(map[uint32][][]uint32)
	ix.entry = 0
	ix.maxLvl = 0
	ix.linkAt = ix.linkAt[:0]
	ix.ver++
	ix.dropAt = ix.ver
}

// BuildStep inserts up to n pending slots into the graph and reports whether
// the graph has caught up.
func (ix *Index) BuildStep(n int) bool {
	for ; n > 0 && ix.built < len(ix.ids); n-- {
		ix.insert(uint32(ix.built), nil)
		ix.built++
	}
	return ix.built >= len(ix.ids)
}

// Search returns up to k live vectors most similar to q, best first. ef > 0
// sets the HNSW candidate list size for this call instead of
// Options.EfSearch (the exact scan ignores it).
func (ix *Index) Search(q []float32, k, ef int) ([]Hit, error) {
	if len(q) != ix.dim {
		return nil, fmt.Errorf("vindex search: %w: got %d, index holds %d", ErrDim, len(q), ix.dim)
	}
	if k <= 0 || ix.live == 0 {
		return nil, nil
	}
	if ix.useGraph() {
		return ix.searchGraph(q, k, ef, nil), nil
	}
	return ix.Scan(q, k), nil
}

// Trace records what one graph search read: the nodes whose links it
// followed, the ef it used and the index's version. SearchUnchanged tells
// from it, without searching again, whether the search would still return
// the same hits. The zero Trace (or one of a scan) is never unchanged.
type Trace struct {
	graph bool
	k, ef int // as asked; ef 0 = the index's choice
	used  int // the ef searched with
	ver   uint64
	slots []uint32
}

// SearchTraced is Search that also records in tr (reusing its memory) what
// a graph search read.
func (ix *Index) SearchTraced(q []float32, k, ef int, tr *Trace) ([]Hit, error) {
	tr.graph, tr.slots = false, tr.slots[:0]
	if len(q) != ix.dim || k <= 0 || ix.live == 0 || !ix.useGraph() {
		return ix.Search(q, k, ef)
	}
	tr.graph, tr.k, tr.ef, tr.ver = true, k, ef, ix.ver
	return ix.searchGraph(q, k, ef, tr), nil
}

// SearchUnchanged reports whether the graph search tr traced would return
// the same hits if made now: the index has only grown since (nothing
// removed, the graph not reset, the entry point and top level the same,
// the graph still in use at the same ef) and none of the nodes whose
// links the search followed has had its links changed. A search reads
// nothing else that can change: vectors are never rewritten, and a new
// node is reachable only through links that changed. False is no answer:
// search again.
func (ix *Index) SearchUnchanged(tr *Trace) bool {
	if !tr.graph || !ix.useGraph() || ix.dropAt > tr.ver || ix.topAt > tr.ver {
		return false
	}
	ef := tr.ef
	if ef <= 0 {
		ef = ix.efSearch()
	}
	if max(ef, tr.k) != tr.used {
		return false
	}
	for _, s := range tr.slots {
		if ix.linkAt[s] > tr.ver {
			return false
		}
	}
	return true
}

// Scan is the exact search: every live vector is scored. It is the ground
// truth the graph's recall is measured against.
func (ix *Index) Scan(q []float32, k int) []Hit {
	h := make(minHeap, 0, k+1)
	offer := func(slot uint32, sim float32) {
		if len(h) < k {
			h.push(cand{slot, sim})
		} else if sim > h[0].sim {
			h[0] = cand{slot, sim}
			h.down(0)
		}
	}
	// Live slots are scored four at a time (sim4) and offered in slot
	// order, so the result is exactly that of scoring one by one.
	var batch [4]uint32
	nb := 0
	for s := range ix.ids {
		if ix.deleted[s] {
			continue
		}
		batch[nb] = uint32(s)
		if nb++; nb == 4 {
			sims := ix.sim4(q, &batch)
			for i, slot := range batch {
				offer(slot, sims[i])
			}
			nb = 0
		}
	}
	for _, slot := range batch[:nb] {
		offer(slot, ix.sim(q, slot))
	}
	return ix.hits(h, k)
}

// hits turns a min-heap of candidates into results, best first.
func (ix *Index) hits(h minHeap, k int) []Hit {
	out := make([]Hit, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		c := h.pop()
		out[i] = Hit{ID: ix.ids[c.slot], Similarity: c.sim}
	}
	if len(out) > k {
		out = out[:k]
	}
	return out
}

// Vector returns the stored (dequantized, re-normalized) vector for id.
func (ix *Index) Vector(id int64) ([]float32, bool) {
	slot, ok := ix.slotOf[id]
	if !ok {
		return nil, false
	}
	return dequantize(ix.codes[int(slot)*ix.dim:(int(slot)+1)*ix.dim], ix.scales[slot]), true
}

// MemoryBytes estimates the heap the index holds: codes, scales, ids, the
// id map and the graph links.
func (ix *Index) MemoryBytes() int {
	n := len(ix.ids)
	b := cap(ix.codes) + 4*cap(ix.scales) + 8*cap(ix.ids) + cap(ix.deleted)
	b += len(ix.slotOf) * 24 // Go map of int64->uint32: key, value and bucket overhead
	b += cap(ix.levels) + 4*cap(ix.links0) + cap(ix.count0) + 8*cap(ix.linkAt)
	for _, ls := range ix.upper {
		b += 24 * len(ls)
		for _, l := range ls {
			b += 4 * cap(l)
		}
	}
	_ = n
	return b
}

func (ix *Index) sim(q []float32, slot uint32) float32 {
	return dotQ(q, ix.codes[int(slot)*ix.dim:(int(slot)+1)*ix.dim]) * ix.scales[slot]
}

// Quantize writes round(v/scale) into dst (len(v) codes) and returns
// scale = max|v|/127, so the largest component uses the full int8 range.
// Stores may persist vectors in this form: Dequantize(Quantize(v)) loses at
// most half a step per component, and quantizing the result again gives the
// same codes, so the index sees identical vectors after a restart.
func Quantize(dst []int8, v []float32) float32 { return quantize(dst, v) }

// Dequantize is the inverse of Quantize, re-normalized to unit length.
func Dequantize(codes []int8, scale float32) []float32 { return dequantize(codes, scale) }

func quantize(dst []int8, v []float32) float32 {
	var m float32
	for _, x := range v {
		if x < 0 {
			x = -x
		}
		if x > m {
			m = x
		}
	}
	if m == 0 {
		return 0
	}
	scale := m / 127
	inv := 127 / m
	for i, x := range v {
		// Round half away from zero; |x*inv| <= 127 by construction. Plain
		// comparisons, not math.Round or the min/max builtins (which handle
		// NaN and -0): this loop runs for every vector loaded at start.
		r := x * inv
		if r >= 0 {
			r += 0.5
			if r > 127 {
				r = 127
			}
		} else {
			r -= 0.5
			if r < -127 {
				r = -127
			}
		}
		dst[i] = int8(r)
	}
	return scale
}

func dequantize(c []int8, scale float32) []float32 {
	return dequantizeTo(make([]float32, len(c)), c, scale)
}

// dequantizeTo is dequantize into out, len(c) long.
func dequantizeTo(out []float32, c []int8, scale float32) []float32 {
	out = out[:len(c)]
	var n float64
	for i, x := range c {
		out[i] = float32(x) * scale
		n += float64(out[i]) * float64(out[i])
	}
	if n > 0 {
		inv := float32(1 / math.Sqrt(n))
		for i := range out {
			out[i] *= inv
		}
	}
	return out
}

// dotQ is the dot product of a float query with int8 codes, unrolled by four
// (the compiler does not vectorize it; unrolling halves the loop overhead).
func dotQ(q []float32, c []int8) float32 {
	c = c[:len(q)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(q); i += 4 {
		s0 += q[i] * float32(c[i])
		s1 += q[i+1] * float32(c[i+1])
		s2 += q[i+2] * float32(c[i+2])
		s3 += q[i+3] * float32(c[i+3])
	}
	for ; i < len(q); i++ {
		s0 += q[i] * float32(c[i])
	}
	return s0 + s1 + s2 + s3
}

type cand struct {
	slot uint32
	sim  float32
}

// minHeap keeps the worst candidate on top (for bounded result lists). The
// heaps are typed by hand: container/heap boxes every element in an
// interface, which allocated on each push and doubled the graph build time.
//
// The sift loops move a hole instead of swapping: the moving element is
// held aside and written once where it stops. That is the same sequence of
// comparisons and the same final layout as swapping at every step, so
// equal similarities still come out in the same order, with half the
// stores.
type minHeap []cand

func (h *minHeap) push(c cand) {
	*h = append(*h, c)
	a := *h
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if a[p].sim <= c.sim {
			break
		}
		a[i] = a[p]
		i = p
	}
	a[i] = c
}

func (h *minHeap) pop() cand {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	*h = a[:n]
	h.down(0)
	return top
}

func (h minHeap) down(i int) {
	if i >= len(h) {
		return
	}
	x := h[i]
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h[r].sim < h[l].sim {
			m = r
		}
		if x.sim <= h[m].sim {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = x
}

// init orders an arbitrary slice into a heap.
func (h minHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// maxHeap keeps the best candidate on top (for the search frontier).
type maxHeap []cand

func (h *maxHeap) push(c cand) {
	*h = append(*h, c)
	a := *h
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if a[p].sim >= c.sim {
			break
		}
		a[i] = a[p]
		i = p
	}
	a[i] = c
}

func (h *maxHeap) pop() cand {
	a := *h
	top := a[0]
	n := len(a) - 1
	x := a[n]
	a = a[:n]
	*h = a
	if n == 0 {
		return top
	}
	i := 0
	for {
		l := 2*i + 1
		if l >= len(a) {
			break
		}
		m := l
		if r := l + 1; r < len(a) && a[r].sim > a[l].sim {
			m = r
		}
		if x.sim >= a[m].sim {
			break
		}
		a[i] = a[m]
		i = m
	}
	a[i] = x
	return top
}
