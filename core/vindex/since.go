package vindex

// Slots is the number of slots used so far: vectors added since Slots
// returned n occupy slots n and up, until Compact renumbers them.
func (ix *Index) Slots() int { return len(ix.ids) }

// MaxSimFrom is the highest similarity of q with the live vectors in
// slots from and up (those added since Slots returned from), computed as
// Scan computes it; false when there are none. A caller that kept the
// k-th best similarity of an earlier Scan can tell from it whether the
// vectors added since would change that Scan's result.
func (ix *Index) MaxSimFrom(q []float32, from int) (float32, bool) {
	var best float32
	found := false
	for s := max(from, 0); s < len(ix.ids); s++ {
		if ix.deleted[s] {
			continue
		}
		if sim := ix.sim(q, uint32(s)); !found || sim > best {
			best, found = sim, true
		}
	}
	return best, found
}

// VectorTo is Vector written into dst's array when it has room, so a
// caller going through many vectors allocates once.
func (ix *Index) VectorTo(dst []float32, id int64) ([]float32, bool) {
	slot, ok := ix.slotOf[id]
	if !ok {
		return dst[:0], false
	}
	if cap(dst) < ix.dim {
		dst = make([]float32, ix.dim)
	}
	return dequantizeTo(dst, ix.codes[int(slot)*ix.dim:(int(slot)+1)*ix.dim], ix.scales[slot]), true
}
