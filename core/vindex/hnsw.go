package vindex

import (
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// maxLevel caps the layer count; with M=16 a level above 6 needs ~16^6
// nodes, so the cap only guards against a pathological random draw.
const maxLevel = 16

func (ix *Index) maxM0() int { return 2 * ix.opt.M }

// visitSet marks nodes seen in one search: one bit per slot, cleared at
// the start of each search. At 100,000 slots that is 12.5 KB, which stays
// in the L1/L2 cache while a search probes it thousands of times in
// random order (a generation counter per slot, 400 KB, did not).
type visitSet struct {
	bits []uint64
}

// reset sizes the set for n slots, all unvisited.
func (v *visitSet) reset(n int) {
	words := n/64 + 1
	if cap(v.bits) < words {
		v.bits = make([]uint64, words, words+words/4)
	} else {
		v.bits = v.bits[:words]
		clear(v.bits)
	}
}

// scratch is what one search or insert works in, pooled (Index.scratch)
// so that a search allocates nothing but its result and an insert nothing
// but the node's own links: before, the heaps grew by appending (a dozen
// allocations a search) and the candidate lists were made afresh, all
// garbage right after.
type scratch struct {
	vs       visitSet
	frontier maxHeap
	best     minHeap
	fresh    []uint32
	sims     []float32

	// insert's and connect's lists
	q          []float32
	sorted     []cand
	neigh, sel []uint32
	cands      []cand
}

func (ix *Index) getScratch() *scratch {
	sc, _ := ix.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{fresh: make([]uint32, 0, ix.maxM0()), sims: make([]float32, ix.maxM0())}
	}
	return sc
}

func (v *visitSet) visit(s uint32) bool {
	w, m := s>>6, uint64(1)<<(s&63)
	if v.bits[w]&m != 0 {
		return false
	}
	v.bits[w] |= m
	return true
}

func (ix *Index) links(slot uint32, level int) []uint32 {
	if level == 0 {
		base := int(slot) * ix.maxM0()
		return ix.links0[base : base+int(ix.count0[slot])]
	}
	return ix.upper[slot][level-1]
}

func (ix *Index) setLinks(slot uint32, level int, ls []uint32) {
	if level == 0 {
		base := int(slot) * ix.maxM0()
		n := copy(ix.links0[base:base+ix.maxM0()], ls)
		ix.count0[slot] = uint8(n)
		return
	}
	ix.upper[slot][level-1] = append(ix.upper[slot][level-1][:0], ls...)
}

// simSlots is the cosine of two stored vectors: an exact integer dot
// product of their codes (by the SSE4.1 kernel where there is one, which
// gives the same int32), times both scales.
func (ix *Index) simSlots(a, b uint32) float32 {
	ca := ix.codes[int(a)*ix.dim : (int(a)+1)*ix.dim]
	cb := ix.codes[int(b)*ix.dim : (int(b)+1)*ix.dim]
	cb = cb[:len(ca)]
	var s0, s1, s2, s3 int32
	i := 0
	if n8 := len(ca) &^ 7; haveSSE41 && n8 > 0 {
		s0 = dotI8SSE41(&ca[0], &cb[0], n8)
		i = n8
	}
	for ; i+4 <= len(ca); i += 4 {
		s0 += int32(ca[i]) * int32(cb[i])
		s1 += int32(ca[i+1]) * int32(cb[i+1])
		s2 += int32(ca[i+2]) * int32(cb[i+2])
		s3 += int32(ca[i+3]) * int32(cb[i+3])
	}
	for ; i < len(ca); i++ {
		s0 += int32(ca[i]) * int32(cb[i])
	}
	return float32(s0+s1+s2+s3) * ix.scales[a] * ix.scales[b]
}

func (ix *Index) randomLevel() int {
	u := ix.rng.Float64()
	if u == 0 {
		u = math.SmallestNonzeroFloat64
	}
	l := int(-math.Log(u) * ix.mult)
	if l > maxLevel {
		l = maxLevel
	}
	return l
}

// insert adds slot to the graph (Algorithm 1 of the HNSW paper). pre,
// when not nil, is the layer-0 search Prepare made for slot on the graph
// as it still is; it stands for the search when slot is a level-0 node.
func (ix *Index) insert(slot uint32, pre []cand) {
	level := ix.randomLevel()
	ix.ver++
	ix.levels = append(ix.levels, uint8(level))
	ix.links0 = append(ix.links0, make([]uint32, ix.maxM0())...)
	ix.count0 = append(ix.count0, 0)
	ix.linkAt = append(ix.linkAt, ix.ver)
	if level > 0 {
		ls := make([][]uint32, level)
		for i := range ls {
			ls[i] = make([]uint32, 0, ix.opt.M+1)
		}
		ix.upper[slot] = ls
	}
	if slot == 0 || ix.built == 0 {
		ix.entry, ix.maxLvl, ix.topAt = slot, level, ix.ver
		return
	}
	sc := ix.getScratch()
	defer ix.scratch.Put(sc)
	if pre != nil && level == 0 {
		ix.linkLayer(slot, 0, pre, sc)
		return
	}
	sc.q = ix.rawVectorTo(sc.q, slot)
	q := sc.q
	ep := cand{ix.entry, ix.sim(q, ix.entry)}
	for l := ix.maxLvl; l > level; l-- {
		ep = ix.greedy(q, ep, l, nil)
	}
	for l := min(level, ix.maxLvl); l >= 0; l-- {
		w := ix.searchLayer(q, ep, ix.opt.EfConstruction, l, slot+1, sc, nil)
		sorted := append(sc.sorted[:0], w...)
		sortDescInPlace(sorted)
		ix.linkLayer(slot, l, sorted, sc)
		ep = sorted[0]
		sc.sorted = sorted
	}
	if level > ix.maxLvl {
		ix.entry, ix.maxLvl, ix.topAt = slot, level, ix.ver
	}
}

// linkLayer links slot at layer l to the best of its candidates (sorted
// best first) and them back to it.
func (ix *Index) linkLayer(slot uint32, l int, sorted []cand, sc *scratch) {
	neigh := ix.selectNeighbors(sc.neigh, sorted, ix.opt.M)
	ix.setLinks(slot, l, neigh)
	for _, n := range neigh {
		ix.connect(n, slot, l, sc)
	}
	sc.neigh = neigh
}

// Pending is the costly half of adding a vector to the graph, finding its
// neighbours, made by Prepare while searches go on (under the owner's
// read lock) and completed by AddPending (under its write lock), so that
// searches wait for the linking only.
type Pending struct {
	codes []int8
	scale float32
	ver   uint64 // the index Prepare searched
	slot  uint32 // the slot the vector takes if nothing is added first
	cands []cand // its layer-0 candidates, best first; nil when not searched
}

// Prepare quantizes vec and, when the index would insert it into the graph
// as it is, searches the graph for its neighbours as a level-0 node, which
// most nodes are (a node reaches level 1 with probability 1/M). It only
// reads the index: it may run concurrently with searches and other
// Prepares, not with changes.
func (ix *Index) Prepare(vec []float32) (*Pending, error) {
	if len(vec) != ix.dim {
		return nil, fmt.Errorf("vindex prepare: %w: got %d, index holds %d", ErrDim, len(vec), ix.dim)
	}
	p := &Pending{codes: make([]int8, ix.dim), ver: ix.ver, slot: uint32(len(ix.ids))}
	p.scale = quantize(p.codes, vec)
	if !ix.graphOn || ix.built != len(ix.ids) || ix.built == 0 {
		return p, nil
	}
	sc := ix.getScratch()
	defer ix.scratch.Put(sc)
	q := sc.q[:0]
	for _, x := range p.codes { // as rawVectorTo will read it
		q = append(q, float32(x)*p.scale)
	}
	sc.q = q
	ep := cand{ix.entry, ix.sim(q, ix.entry)}
	for l := ix.maxLvl; l > 0; l-- {
		ep = ix.greedy(q, ep, l, nil)
	}
	w := ix.searchLayer(q, ep, ix.opt.EfConstruction, 0, p.slot+1, sc, nil)
	p.cands = append([]cand(nil), w...)
	sortDescInPlace(p.cands)
	return p, nil
}

// connect adds a link n -> s at level l, pruning n's list with the
// heuristic when it overflows. Its lists are sc's cands and sel (not the
// sorted and neigh that insert is iterating).
func (ix *Index) connect(n, s uint32, l int, sc *scratch) {
	limit := ix.opt.M
	if l == 0 {
		limit = ix.maxM0()
	}
	ix.linkAt[n] = ix.ver
	cur := ix.links(n, l)
	if len(cur) < limit {
		if l == 0 {
			base := int(n) * ix.maxM0()
			ix.links0[base+len(cur)] = s
			ix.count0[n]++
		} else {
			ix.upper[n][l-1] = append(ix.upper[n][l-1], s)
		}
		return
	}
	cands := sc.cands[:0]
	for _, c := range cur {
		cands = append(cands, cand{c, ix.simSlots(n, c)})
	}
	cands = append(cands, cand{s, ix.simSlots(n, s)})
	sortDescInPlace(cands)
	sel := ix.selectNeighbors(sc.sel, cands, limit)
	ix.setLinks(n, l, sel)
	sc.cands, sc.sel = cands, sel
}

// selectNeighbors is the paper's heuristic (Algorithm 4): keep a candidate
// only if it is closer to the base than to every neighbour already kept,
// which spreads links across clusters and keeps the graph navigable.
// cands must be sorted best first. The result is appended to dst[:0].
func (ix *Index) selectNeighbors(dst []uint32, cands []cand, m int) []uint32 {
	out := dst[:0]
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		good := true
		for _, r := range out {
			if ix.simSlots(c.slot, r) > c.sim {
				good = false
				break
			}
		}
		if good {
			out = append(out, c.slot)
		}
	}
	return out
}

// greedy walks layer l from ep to a local best, recording the nodes whose
// links it reads in tr (when not nil).
func (ix *Index) greedy(q []float32, ep cand, l int, tr *Trace) cand {
	var buf [64]float32
	for changed := true; changed; {
		changed = false
		if tr != nil {
			tr.slots = append(tr.slots, ep.slot)
		}
		ls := ix.links(ep.slot, l)
		sims := buf[:0]
		if len(ls) <= len(buf) {
			sims = buf[:len(ls)]
		} else {
			sims = make([]float32, len(ls))
		}
		// The scores do not depend on ep, so scoring the links first (four
		// at a time) and walking them in order changes nothing.
		ix.prefetchCodes(ls)
		ix.simMany(q, ls, sims)
		for i, n := range ls {
			if s := sims[i]; s > ep.sim {
				ep, changed = cand{n, s}, true
			}
		}
	}
	return ep
}

// searchLayer is Algorithm 2: a best-first search keeping the ef most
// similar nodes seen. Tombstones are traversed and returned; callers filter.
// n bounds the slots that may be visited. The result lives in sc (valid
// until sc is reused). The nodes whose links it reads are recorded in tr
// (when not nil).
func (ix *Index) searchLayer(q []float32, ep cand, ef, l int, n uint32, sc *scratch, tr *Trace) minHeap {
	vs := &sc.vs
	vs.reset(int(n))
	vs.visit(ep.slot)
	frontier := append(sc.frontier[:0], ep)
	best := append(sc.best[:0], ep)
	// A node's unvisited links are collected first and scored four at a
	// time; then they are taken in link order with those scores, exactly
	// as scoring each in turn would (the scores do not depend on the heaps).
	fresh := sc.fresh
	sims := sc.sims
	for len(frontier) > 0 {
		c := frontier.pop()
		if len(best) >= ef && c.sim < best[0].sim {
			break
		}
		if tr != nil {
			tr.slots = append(tr.slots, c.slot)
		}
		ls := ix.links(c.slot, l)
		if len(frontier) > 0 && l == 0 {
			// The next node to expand is most often the frontier's best:
			// fetch its links while this node's neighbours are scored.
			ix.prefetchLinks0(frontier[0].slot)
		}
		fresh = fresh[:0]
		for _, nb := range ls {
			if vs.visit(nb) {
				fresh = append(fresh, nb)
			}
		}
		if len(fresh) == 0 {
			continue
		}
		if len(fresh) > len(sims) {
			sims = make([]float32, len(fresh))
		}
		// The neighbours' vectors are scattered over the codes array (a
		// cache miss each): request them all before scoring the first.
		ix.prefetchCodes(fresh)
		ix.simMany(q, fresh, sims[:len(fresh)])
		for i, nb := range fresh {
			s := sims[i]
			if len(best) < ef || s > best[0].sim {
				frontier.push(cand{nb, s})
				best.push(cand{nb, s})
				if len(best) > ef {
					best.pop()
				}
			}
		}
	}
	sc.frontier, sc.best, sc.fresh, sc.sims = frontier, best, fresh, sims
	return best
}

func (ix *Index) searchGraph(q []float32, k, ef int, tr *Trace) []Hit {
	if ef <= 0 {
		ef = ix.efSearch()
	}
	ef = max(ef, k)
	if tr != nil {
		tr.used = ef
		if cap(tr.slots) < ef {
			// A search expands about ef nodes, a few more on upper layers.
			tr.slots = make([]uint32, 0, ef+ef/2)
		}
	}
	ep := cand{ix.entry, ix.sim(q, ix.entry)}
	for l := ix.maxLvl; l > 0; l-- {
		ep = ix.greedy(q, ep, l, tr)
	}
	sc := ix.getScratch()
	defer ix.scratch.Put(sc)
	w := ix.searchLayer(q, ep, ef, 0, uint32(ix.built), sc, tr)
	// The live candidates are taken out of w in place (w is the scratch's
	// and not used after), keeping their order, as copying them did.
	live := w[:0]
	for _, c := range w {
		if !ix.deleted[c.slot] {
			live = append(live, c)
		}
	}
	live.init()
	for len(live) > k {
		live.pop()
	}
	return ix.hits(live, k)
}

// rawVectorTo is the stored vector as floats (codes times scale), in
// dst's array when it has room.
func (ix *Index) rawVectorTo(dst []float32, slot uint32) []float32 {
	c := ix.codes[int(slot)*ix.dim : (int(slot)+1)*ix.dim]
	if cap(dst) < ix.dim {
		dst = make([]float32, ix.dim)
	}
	out := dst[:ix.dim]
	for i, x := range c {
		out[i] = float32(x) * ix.scales[slot]
	}
	return out
}

// sortDescInPlace sorts best first. slices.SortFunc runs the same pdqsort
// as the sort.Slice it replaces (both are generated from one template in
// the standard library), with cmp(a, b) < 0 exactly when the old less(a, b)
// held, so equal similarities end up in the same order (the graph depends
// on it; TestSearchMatchesReference checks it on repeated vectors); it
// only saves the closure's indexing and indirect calls.
func sortDescInPlace(cs []cand) {
	slices.SortFunc(cs, func(a, b cand) int {
		switch {
		case a.sim > b.sim:
			return -1
		case a.sim < b.sim:
			return 1
		}
		return 0
	})
}

// efSearch is the candidate list size of a search that does not set one:
// Options.EfSearch when the owner set it, else autoEf.
func (ix *Index) efSearch() int {
	if ix.opt.EfSearch > 0 {
		return ix.opt.EfSearch
	}
	return ix.autoEf()
}

// autoEf is the size-aware default ef: 192 up to 100,000 graph nodes
// (tombstones included: a search walks them too), 256 from 300,000,
// growing with log(n) in between. Before it, every search used 256.
//
// Chosen from recall against the exact scan of Search(q, 8, ef) (the
// cache's call) at each ef: clustered 100-d vectors (TestEfSweep, 2,000
// held-out queries, 1,000 at 1M) and the local embedder's 228-d vectors of
// the replay's short prompts (realembed_test.go, 5,000 lookups). recall@1 /
// recall@8 at ef 128, 192 and 256:
//
//	clustered 10k    1.0000/0.9998  1.0000/0.9998  1.0000/0.9999
//	clustered 30k    0.9995/0.9997  1.0000/0.9998  1.0000/0.9999
//	clustered 100k   1.0000/0.9998  1.0000/0.9998  1.0000/0.9998
//	clustered 300k   0.9965/0.9974  0.9985/0.9991  0.9990/0.9996
//	clustered 1M     0.9850/0.9856  0.9910/0.9916  0.9930/0.9936
//	real 30k         0.9982/0.9981  0.9996/0.9996  1.0000/1.0000
//	real 100k        0.9974/0.9972  0.9978/0.9977  0.9982/0.9982
//	real 300k        0.9762/0.9777  0.9862/0.9881  0.9884/0.9903
//
// Recall still creeps up from 192 to 256 at every size, so no smaller ef
// keeps it bit for bit; up to 100k, 192 stays within 0.0005 of 256 (one or
// two lookups in 5,000) at about three quarters of the work, while 128
// loses up to 0.002 on real prompts. At 300k real prompts lose 0.002 at
// 192, so the rule is back at 256 there, and stays at 256, the old default,
// above (nothing larger was measured).
func (ix *Index) autoEf() int {
	const lo, hi, nLo, nHi = 192, 256, 100_000, 300_000
	n := ix.built
	switch {
	case n <= nLo:
		return lo
	case n >= nHi:
		return hi
	}
	f := math.Log(float64(n)/nLo) / math.Log(float64(nHi)/nLo)
	return lo + int(math.Round(f*(hi-lo)))
}

// prefetchCodes hints the code vectors of slots into the cache.
func (ix *Index) prefetchCodes(slots []uint32) {
	if len(slots) > 0 && len(ix.codes) > 0 {
		prefetchRows(unsafe.Pointer(&ix.codes[0]), ix.dim, &slots[0], len(slots))
	}
}

// prefetchLinks0 hints slot's layer-0 link row into the cache.
func (ix *Index) prefetchLinks0(slot uint32) {
	if int(slot) < len(ix.count0) {
		prefetchRows(unsafe.Pointer(&ix.links0[0]), 4*ix.maxM0(), &slot, 1)
	}
}
