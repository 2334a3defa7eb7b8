package vindex

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDotQ4MatchesDotQ: the four-at-once kernel must give dotQ's float32
// results bit for bit (same products, same summation order), for every
// length (multiples of 4 and tails) and for extreme codes and queries, or
// lookups would rank neighbours differently than before.
func TestDotQ4MatchesDotQ(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for dim := 1; dim <= 260; dim++ {
		for trial := 0; trial < 20; trial++ {
			q := make([]float32, dim)
			for i := range q {
				q[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(7)-3)))
			}
			var cs [4][]int8
			for v := range cs {
				cs[v] = make([]int8, dim)
				for i := range cs[v] {
					cs[v][i] = int8(r.IntN(256) - 128)
				}
			}
			got := dotQ4(q, cs[0], cs[1], cs[2], cs[3])
			for v := range cs {
				if want := dotQ(q, cs[v]); math.Float32bits(got[v]) != math.Float32bits(want) {
					t.Fatalf("dim %d vector %d: dotQ4 %v (%08x), dotQ %v (%08x)", dim, v, got[v],
						math.Float32bits(got[v]), want, math.Float32bits(want))
				}
			}
		}
	}
}

// TestSearchMatchesScalar: Scan and the graph search, which score
// neighbours four at a time, return exactly what scoring one slot at a
// time returns (the reference implementations below are the code before
// batching).
func TestSearchMatchesScalar(t *testing.T) {
	for _, dim := range []int{52, 50} { // the kernel's fast path, and a tail
		searchMatchesScalar(t, dim)
	}
}

func searchMatchesScalar(t *testing.T, dim int) {
	n := 3000
	if raceEnabled {
		n = 800
	}
	all := randomUnit(n+100, dim, 40, 7)
	ix := New(dim, Options{SwitchOver: n / 2})
	for i, v := range all[:n] {
		if err := ix.Add(int64(i), v); err != nil {
			t.Fatal(err)
		}
		if i%7 == 3 && i > 10 {
			ix.Remove(int64(i - 5))
		}
	}
	for !ix.BuildStep(1024) {
	}
	if ix.Mode() != "hnsw" {
		t.Fatalf("mode %s, want hnsw", ix.Mode())
	}
	for _, q := range all[n:] {
		for _, k := range []int{1, 3, 8} {
			if got, want := ix.Scan(q, k), scanScalar(ix, q, k); !equalHits(got, want) {
				t.Fatalf("Scan k=%d: %v, want %v", k, got, want)
			}
			got, err := ix.Search(q, k, 0)
			if err != nil {
				t.Fatal(err)
			}
			if want := searchGraphScalar(ix, q, k); !equalHits(got, want) {
				t.Fatalf("graph k=%d: %v, want %v", k, got, want)
			}
		}
	}
}

func equalHits(a, b []Hit) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || math.Float32bits(a[i].Similarity) != math.Float32bits(b[i].Similarity) {
			return false
		}
	}
	return true
}

func scanScalar(ix *Index, q []float32, k int) []Hit {
	h := make(minHeap, 0, k+1)
	for s := range ix.ids {
		if ix.deleted[s] {
			continue
		}
		sim := ix.sim(q, uint32(s))
		if len(h) < k {
			h.push(cand{uint32(s), sim})
		} else if sim > h[0].sim {
			h[0] = cand{uint32(s), sim}
			h.down(0)
		}
	}
	return ix.hits(h, k)
}

func searchGraphScalar(ix *Index, q []float32, k int) []Hit {
	ef := max(ix.efSearch(), k)
	ep := cand{ix.entry, ix.sim(q, ix.entry)}
	for l := ix.maxLvl; l > 0; l-- {
		for changed := true; changed; {
			changed = false
			for _, n := range ix.links(ep.slot, l) {
				if s := ix.sim(q, n); s > ep.sim {
					ep, changed = cand{n, s}, true
				}
			}
		}
	}
	vs := refGetVisit(ix.built)
	defer refVisited.Put(vs)
	vs.visit(ep.slot)
	frontier := maxHeap{ep}
	best := minHeap{ep}
	for len(frontier) > 0 {
		c := frontier.pop()
		if len(best) >= ef && c.sim < best[0].sim {
			break
		}
		for _, nb := range ix.links(c.slot, 0) {
			if !vs.visit(nb) {
				continue
			}
			s := ix.sim(q, nb)
			if len(best) < ef || s > best[0].sim {
				frontier.push(cand{nb, s})
				best.push(cand{nb, s})
				if len(best) > ef {
					best.pop()
				}
			}
		}
	}
	live := make(minHeap, 0, len(best))
	for _, c := range best {
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

// TestSearchMatchesReference: the optimised graph search (pooled scratch,
// prefetching) returns exactly what the search before it returned (the
// reference copy in ref_test.go): same ids, same similarities bit for bit,
// same order, at the size-aware ef and at fixed efs, on clustered and
// uniform data, with tombstones and repeated vectors; and insertion, which
// runs the same search, builds the identical graph.
func TestSearchMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		name          string
		n, dim, clust int
	}{
		{"clustered", 6000, 100, 30},
		{"uniform", 3000, 52, 0},
		{"tail-dim", 3000, 50, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.n
			if raceEnabled {
				n = 1000
			}
			all := randomUnit(n+200, tc.dim, tc.clust, 11)
			// Every tenth vector repeats an earlier one, as different
			// prompts with the same embedding do in the cache: equal
			// similarities, whose order only the exact sequence of heap
			// and sort operations decides, must come out the same too.
			for i := 10; i < n; i += 10 {
				all[i] = all[i*7/10]
			}
			ix := New(tc.dim, Options{SwitchOver: n / 2})
			for i, v := range all[:n] {
				if err := ix.Add(int64(i), v); err != nil {
					t.Fatal(err)
				}
				if i%5 == 2 && i > 10 {
					ix.Remove(int64(i - 7))
				}
			}
			for !ix.BuildStep(1024) {
			}
			if ix.Mode() != "hnsw" {
				t.Fatalf("mode %s, want hnsw", ix.Mode())
			}
			if d := sameGraph(ix, refRebuild(ix)); d != "" {
				t.Fatalf("graph differs from the reference insertion: %s", d)
			}
			for _, q := range all[n:] {
				for _, ef := range []int{0, 1, 8, 16, 64, 256} {
					for _, k := range []int{1, 3, 8, 20} {
						got, err := ix.Search(q, k, ef)
						if err != nil {
							t.Fatal(err)
						}
						if want := refSearchGraph(ix, q, k, ef); !equalHits(got, want) || (len(got) == 0 && (ef == 0 || ef >= 16)) {
							t.Fatalf("ef %d k %d: %v, want %v", ef, k, got, want)
						}
					}
				}
			}
		})
	}
}

// TestSimSlotsMatchesScalar: the int8 kernel gives the scalar sum bit for
// bit, for every length around its 8-wide steps and for extreme codes
// (-128 * -128 in every element included).
func TestSimSlotsMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for dim := 1; dim <= 300; dim++ {
		ix := New(dim, Options{SwitchOver: 1 << 30})
		for s := range 12 {
			c := make([]int8, dim)
			for i := range c {
				switch s {
				case 0:
					c[i] = -128
				case 1:
					c[i] = 127
				default:
					c[i] = int8(r.IntN(256) - 128)
				}
			}
			_ = ix.AddQuantized(int64(s), c, float32(r.Float64()+0.001))
		}
		for a := range uint32(12) {
			for b := range uint32(12) {
				if got, want := ix.simSlots(a, b), refSimSlots(ix, a, b); math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("dim %d slots %d,%d: %v, want %v", dim, a, b, got, want)
				}
			}
		}
	}
}
