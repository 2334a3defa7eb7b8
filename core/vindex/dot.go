package vindex

// dotQ4 is dotQ of q with four code vectors at once, bit for bit: the
// assembly kernel (where the CPU has one) keeps dotQ's four accumulators
// and their order, and the tail and the final sum are done here as dotQ
// does them. Scoring four vectors together overlaps their add chains,
// which a single dot product cannot do without changing the rounding.
func dotQ4(q []float32, c0, c1, c2, c3 []int8) [4]float32 {
	n := len(q) &^ 3
	var lanes [16]float32
	if !dotQ4Lanes(q, n, c0, c1, c2, c3, &lanes) {
		return [4]float32{dotQ(q, c0), dotQ(q, c1), dotQ(q, c2), dotQ(q, c3)}
	}
	var out [4]float32
	for v, c := range [4][]int8{c0, c1, c2, c3} {
		c = c[:len(q)]
		s0, s1, s2, s3 := lanes[4*v], lanes[4*v+1], lanes[4*v+2], lanes[4*v+3]
		for i := n; i < len(q); i++ {
			s0 += q[i] * float32(c[i])
		}
		out[v] = s0 + s1 + s2 + s3
	}
	return out
}

// sim4 is sim for four slots at once, bit for bit.
func (ix *Index) sim4(q []float32, s *[4]uint32) [4]float32 {
	d := ix.dim
	if haveDot4 && d > 0 && d%4 == 0 && len(q) == d {
		// The common case, without dotQ4's slices and tail: the same
		// arithmetic (lane sums added left to right, then the scale).
		c := ix.codes
		_, _, _, _ = c[(int(s[0])+1)*d-1], c[(int(s[1])+1)*d-1], c[(int(s[2])+1)*d-1], c[(int(s[3])+1)*d-1]
		var l [16]float32
		dotQ4SSE41(&q[0], d, &c[int(s[0])*d], &c[int(s[1])*d], &c[int(s[2])*d], &c[int(s[3])*d], &l)
		return [4]float32{
			(l[0] + l[1] + l[2] + l[3]) * ix.scales[s[0]],
			(l[4] + l[5] + l[6] + l[7]) * ix.scales[s[1]],
			(l[8] + l[9] + l[10] + l[11]) * ix.scales[s[2]],
			(l[12] + l[13] + l[14] + l[15]) * ix.scales[s[3]],
		}
	}
	r := dotQ4(q, ix.codes[int(s[0])*d:(int(s[0])+1)*d], ix.codes[int(s[1])*d:(int(s[1])+1)*d],
		ix.codes[int(s[2])*d:(int(s[2])+1)*d], ix.codes[int(s[3])*d:(int(s[3])+1)*d])
	for i := range r {
		r[i] *= ix.scales[s[i]]
	}
	return r
}

// simMany sets sims[i] = sim(q, slots[i]), four at a time.
func (ix *Index) simMany(q []float32, slots []uint32, sims []float32) {
	i := 0
	for ; i+4 <= len(slots); i += 4 {
		r := ix.sim4(q, (*[4]uint32)(slots[i:i+4]))
		copy(sims[i:i+4], r[:])
	}
	rest := len(slots) - i
	if rest > 0 && haveDot4 {
		// One to three left, as most node expansions of a graph search
		// have (their other links are visited already): the kernel on
		// four slots, the last repeated, still costs a fraction of one
		// scalar dotQ.
		var b [4]uint32
		for k := range b {
			b[k] = slots[i+min(k, rest-1)]
		}
		r := ix.sim4(q, &b)
		copy(sims[i:], r[:rest])
		return
	}
	for ; i < len(slots); i++ {
		sims[i] = ix.sim(q, slots[i])
	}
}
