package vindex

import (
	"math"
	"sort"
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

func (ix *Index) getVisit(n int) *visitSet {
	v, _ := ix.visited.Get().(*visitSet)
	if v == nil {
		v = &visitSet{}
	}
	words := n/64 + 1
	if cap(v.bits) < words {
		v.bits = make([]uint64, words, words+words/4)
	} else {
		v.bits = v.bits[:words]
		clear(v.bits)
	}
	return v
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

// simSlots is the cosine of two stored vectors.
func (ix *Index) simSlots(a, b uint32) float32 {
	ca := ix.codes[int(a)*ix.dim : (int(a)+1)*ix.dim]
	cb := ix.codes[int(b)*ix.dim : (int(b)+1)*ix.dim]
	cb = cb[:len(ca)]
	var s0, s1, s2, s3 int32
	i := 0
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

// insert adds slot to the graph (Algorithm 1 of the HNSW paper).
func (ix *Index) insert(slot uint32) {
	level := ix.randomLevel()
	ix.levels = append(ix.levels, uint8(level))
	ix.links0 = append(ix.links0, make([]uint32, ix.maxM0())...)
	ix.count0 = append(ix.count0, 0)
	if level > 0 {
		ls := make([][]uint32, level)
		for i := range ls {
			ls[i] = make([]uint32, 0, ix.opt.M+1)
		}
		ix.upper[slot] = ls
	}
	if slot == 0 || ix.built == 0 {
		ix.entry, ix.maxLvl = slot, level
		return
	}
	q := ix.rawVector(slot)
	ep := cand{ix.entry, ix.sim(q, ix.entry)}
	for l := ix.maxLvl; l > level; l-- {
		ep = ix.greedy(q, ep, l)
	}
	for l := min(level, ix.maxLvl); l >= 0; l-- {
		w := ix.searchLayer(q, ep, ix.opt.EfConstruction, l, slot+1)
		sorted := sortDesc(w)
		neigh := ix.selectNeighbors(sorted, ix.opt.M)
		ix.setLinks(slot, l, neigh)
		for _, n := range neigh {
			ix.connect(n, slot, l)
		}
		ep = sorted[0]
	}
	if level > ix.maxLvl {
		ix.entry, ix.maxLvl = slot, level
	}
}

// connect adds a link n -> s at level l, pruning n's list with the
// heuristic when it overflows.
func (ix *Index) connect(n, s uint32, l int) {
	limit := ix.opt.M
	if l == 0 {
		limit = ix.maxM0()
	}
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
	cands := make([]cand, 0, len(cur)+1)
	for _, c := range cur {
		cands = append(cands, cand{c, ix.simSlots(n, c)})
	}
	cands = append(cands, cand{s, ix.simSlots(n, s)})
	sort.Slice(cands, func(i, j int) bool { return cands[i].sim > cands[j].sim })
	ix.setLinks(n, l, ix.selectNeighbors(cands, limit))
}

// selectNeighbors is the paper's heuristic (Algorithm 4): keep a candidate
// only if it is closer to the base than to every neighbour already kept,
// which spreads links across clusters and keeps the graph navigable.
// cands must be sorted best first.
func (ix *Index) selectNeighbors(cands []cand, m int) []uint32 {
	out := make([]uint32, 0, m)
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

func (ix *Index) greedy(q []float32, ep cand, l int) cand {
	var buf [64]float32
	for changed := true; changed; {
		changed = false
		ls := ix.links(ep.slot, l)
		sims := buf[:0]
		if len(ls) <= len(buf) {
			sims = buf[:len(ls)]
		} else {
			sims = make([]float32, len(ls))
		}
		// The scores do not depend on ep, so scoring the links first (four
		// at a time) and walking them in order changes nothing.
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
// n bounds the slots that may be visited.
func (ix *Index) searchLayer(q []float32, ep cand, ef, l int, n uint32) minHeap {
	vs := ix.getVisit(int(n))
	defer ix.visited.Put(vs)
	vs.visit(ep.slot)
	frontier := maxHeap{ep}
	best := minHeap{ep}
	// A node's unvisited links are collected first and scored four at a
	// time; then they are taken in link order with those scores, exactly
	// as scoring each in turn would (the scores do not depend on the heaps).
	fresh := make([]uint32, 0, ix.maxM0())
	sims := make([]float32, ix.maxM0())
	for len(frontier) > 0 {
		c := frontier.pop()
		if len(best) >= ef && c.sim < best[0].sim {
			break
		}
		fresh = fresh[:0]
		for _, nb := range ix.links(c.slot, l) {
			if vs.visit(nb) {
				fresh = append(fresh, nb)
			}
		}
		if len(fresh) > len(sims) {
			sims = make([]float32, len(fresh))
		}
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
	return best
}

func (ix *Index) searchGraph(q []float32, k, ef int) []Hit {
	if ef <= 0 {
		ef = ix.opt.EfSearch
	}
	ef = max(ef, k)
	ep := cand{ix.entry, ix.sim(q, ix.entry)}
	for l := ix.maxLvl; l > 0; l-- {
		ep = ix.greedy(q, ep, l)
	}
	w := ix.searchLayer(q, ep, ef, 0, uint32(ix.built))
	live := make(minHeap, 0, len(w))
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

// rawVector is the stored vector as floats (codes times scale).
func (ix *Index) rawVector(slot uint32) []float32 {
	c := ix.codes[int(slot)*ix.dim : (int(slot)+1)*ix.dim]
	out := make([]float32, ix.dim)
	for i, x := range c {
		out[i] = float32(x) * ix.scales[slot]
	}
	return out
}

func sortDesc(h minHeap) []cand {
	out := make([]cand, len(h))
	copy(out, h)
	sort.Slice(out, func(i, j int) bool { return out[i].sim > out[j].sim })
	return out
}
