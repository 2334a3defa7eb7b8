package vindex

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
)

// Reference copies of the graph search and insertion as they were before
// the optimisations (searchGraph, greedy, searchLayer, insert, connect,
// selectNeighbors, simSlots and the heaps at commit 9ca42a7; only the
// size-aware ef is new), kept to prove that the optimised search returns
// exactly the same hits in the same order (TestSearchMatchesReference) and
// to compare their cost in one benchmark run (BenchmarkSearch100k).

func refSearchGraph(ix *Index, q []float32, k, ef int) []Hit {
	if ef <= 0 {
		ef = ix.efSearch()
	}
	ef = max(ef, k)
	ep := cand{ix.entry, ix.sim(q, ix.entry)}
	for l := ix.maxLvl; l > 0; l-- {
		ep = refGreedy(ix, q, ep, l)
	}
	w := refSearchLayer(ix, q, ep, ef, 0, uint32(ix.built))
	live := make(refMinHeap, 0, len(w))
	for _, c := range w {
		if !ix.deleted[c.slot] {
			live = append(live, c)
		}
	}
	live.init()
	for len(live) > k {
		live.pop()
	}
	out := make([]Hit, len(live))
	for i := len(live) - 1; i >= 0; i-- {
		c := live.pop()
		out[i] = Hit{ID: ix.ids[c.slot], Similarity: c.sim}
	}
	return out
}

func refGreedy(ix *Index, q []float32, ep cand, l int) cand {
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
		ix.simMany(q, ls, sims)
		for i, n := range ls {
			if s := sims[i]; s > ep.sim {
				ep, changed = cand{n, s}, true
			}
		}
	}
	return ep
}

func refSearchLayer(ix *Index, q []float32, ep cand, ef, l int, n uint32) refMinHeap {
	vs := refGetVisit(int(n))
	defer refVisited.Put(vs)
	vs.visit(ep.slot)
	frontier := refMaxHeap{ep}
	best := refMinHeap{ep}
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

// refVisited and refGetVisit are the visit-set pool as it was (the index's
// own pool now holds more than the set).
var refVisited sync.Pool

func refGetVisit(n int) *visitSet {
	v, _ := refVisited.Get().(*visitSet)
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

// refRebuild is a copy of ix's vectors whose graph is built by refInsert,
// the insertion as it was (search, neighbour selection and int8 similarity
// of commit 9ca42a7): a graph identical to ix's proves that the optimised
// insertion builds the same graph.
func refRebuild(ix *Index) *Index {
	r := New(ix.dim, ix.opt)
	r.codes = slices.Clone(ix.codes)
	r.scales = slices.Clone(ix.scales)
	r.ids = slices.Clone(ix.ids)
	r.deleted = slices.Clone(ix.deleted)
	r.slotOf = maps.Clone(ix.slotOf)
	r.live = ix.live
	r.graphOn = true
	for r.built < len(r.ids) {
		refInsert(r, uint32(r.built))
		r.built++
	}
	return r
}

func refInsert(ix *Index, slot uint32) {
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
	q := ix.rawVectorTo(nil, slot)
	ep := cand{ix.entry, ix.sim(q, ix.entry)}
	for l := ix.maxLvl; l > level; l-- {
		ep = refGreedy(ix, q, ep, l)
	}
	for l := min(level, ix.maxLvl); l >= 0; l-- {
		w := refSearchLayer(ix, q, ep, ix.opt.EfConstruction, l, slot+1)
		sorted := refSortDesc(w)
		neigh := refSelectNeighbors(ix, sorted, ix.opt.M)
		ix.setLinks(slot, l, neigh)
		for _, n := range neigh {
			refConnect(ix, n, slot, l)
		}
		ep = sorted[0]
	}
	if level > ix.maxLvl {
		ix.entry, ix.maxLvl = slot, level
	}
}

func refConnect(ix *Index, n, s uint32, l int) {
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
		cands = append(cands, cand{c, refSimSlots(ix, n, c)})
	}
	cands = append(cands, cand{s, refSimSlots(ix, n, s)})
	sort.Slice(cands, func(i, j int) bool { return cands[i].sim > cands[j].sim })
	ix.setLinks(n, l, refSelectNeighbors(ix, cands, limit))
}

// sameGraph reports the first difference between two graphs over the same
// slots, or "".
func sameGraph(a, b *Index) string {
	if a.built != b.built || a.entry != b.entry || a.maxLvl != b.maxLvl {
		return fmt.Sprintf("built/entry/maxLvl %d/%d/%d vs %d/%d/%d", a.built, a.entry, a.maxLvl, b.built, b.entry, b.maxLvl)
	}
	for s := 0; s < a.built; s++ {
		if a.levels[s] != b.levels[s] {
			return fmt.Sprintf("slot %d level %d vs %d", s, a.levels[s], b.levels[s])
		}
		for l := 0; l <= int(a.levels[s]); l++ {
			if x, y := a.links(uint32(s), l), b.links(uint32(s), l); !slices.Equal(x, y) {
				return fmt.Sprintf("slot %d level %d links %v vs %v", s, l, x, y)
			}
		}
	}
	return ""
}

// refSimSlots is simSlots as it was (scalar).
func refSimSlots(ix *Index, a, b uint32) float32 {
	ca := ix.codes[int(a)*ix.dim : (int(a)+1)*ix.dim]
	cb := ix.codes[int(b)*ix.dim : (int(b)+1)*ix.dim]
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

func refSelectNeighbors(ix *Index, cands []cand, m int) []uint32 {
	out := make([]uint32, 0, m)
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		good := true
		for _, r := range out {
			if refSimSlots(ix, c.slot, r) > c.sim {
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

// refSortDesc is sortDesc as it was (sort.Slice).
func refSortDesc(h refMinHeap) []cand {
	out := make([]cand, len(h))
	copy(out, h)
	sort.Slice(out, func(i, j int) bool { return out[i].sim > out[j].sim })
	return out
}

// refMinHeap and refMaxHeap are the heaps as they were (swapping sifts).
type refMinHeap []cand

func (h *refMinHeap) push(c cand) {
	*h = append(*h, c)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p].sim <= a[i].sim {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *refMinHeap) pop() cand {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	*h = a[:n]
	h.down(0)
	return top
}

func (h refMinHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].sim < h[l].sim {
			m = r
		}
		if h[i].sim <= h[m].sim {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// init orders an arbitrary slice into a heap.
func (h refMinHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// refMaxHeap keeps the best candidate on top (for the search frontier).
type refMaxHeap []cand

func (h *refMaxHeap) push(c cand) {
	*h = append(*h, c)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p].sim >= a[i].sim {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *refMaxHeap) pop() cand {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	*h = a
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(a) {
			break
		}
		m := l
		if r := l + 1; r < len(a) && a[r].sim > a[l].sim {
			m = r
		}
		if a[i].sim >= a[m].sim {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	return top
}
