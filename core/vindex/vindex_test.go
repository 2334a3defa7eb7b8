package vindex

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// randomUnit draws n L2-normalized vectors. clusters > 0 draws them around
// that many random centres, which is closer to real embeddings (topics) and
// harder for a graph index than uniform noise.
func randomUnit(n, dim, clusters int, seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, seed^0xabcdef))
	var centres [][]float32
	for range clusters {
		centres = append(centres, gauss(r, dim, 1))
	}
	out := make([][]float32, n)
	for i := range out {
		v := gauss(r, dim, 1)
		if clusters > 0 {
			c := centres[r.IntN(clusters)]
			for j := range v {
				v[j] = c[j] + 0.35*v[j]
			}
		}
		normalize(v)
		out[i] = v
	}
	return out
}

func gauss(r *rand.Rand, dim int, sd float64) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64() * sd)
	}
	return v
}

func normalize(v []float32) {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	inv := float32(1 / math.Sqrt(n))
	for i := range v {
		v[i] *= inv
	}
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func TestQuantizationError(t *testing.T) {
	vs := randomUnit(2000, 100, 0, 1)
	ix := New(100, Options{SwitchOver: 1 << 30})
	for i, v := range vs {
		if err := ix.Add(int64(i), v); err != nil {
			t.Fatal(err)
		}
	}
	var worst float64
	for i := 0; i < 200; i++ {
		q := vs[i+1000]
		for j := 0; j < 200; j++ {
			exact := float64(dot(q, vs[j]))
			got := float64(ix.sim(q, uint32(j)))
			worst = max(worst, math.Abs(exact-got))
		}
	}
	t.Logf("max |cosine error| from int8 quantization: %.5f", worst)
	if worst > 0.01 {
		t.Fatalf("quantization error %.4f > 0.01", worst)
	}
}

func TestScanFindsExactVector(t *testing.T) {
	vs := randomUnit(500, 32, 0, 2)
	ix := New(32, Options{SwitchOver: 1 << 30})
	for i, v := range vs {
		_ = ix.Add(int64(i+100), v)
	}
	for i, v := range vs {
		h, err := ix.Search(v, 3, 0)
		if err != nil {
			t.Fatal(err)
		}
		if h[0].ID != int64(i+100) || h[0].Similarity < 0.99 {
			t.Fatalf("query %d: got %+v", i, h[0])
		}
		if h[0].Similarity < h[1].Similarity || h[1].Similarity < h[2].Similarity {
			t.Fatalf("results not sorted: %+v", h)
		}
	}
	if ix.Mode() != "scan" {
		t.Fatalf("mode %s", ix.Mode())
	}
}

func TestErrors(t *testing.T) {
	ix := New(4, Options{})
	if err := ix.Add(1, []float32{1, 0, 0}); !errors.Is(err, ErrDim) {
		t.Fatalf("want ErrDim, got %v", err)
	}
	_ = ix.Add(1, []float32{1, 0, 0, 0})
	if err := ix.Add(1, []float32{1, 0, 0, 0}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("want ErrDuplicate, got %v", err)
	}
	if _, err := ix.Search([]float32{1}, 1, 0); !errors.Is(err, ErrDim) {
		t.Fatalf("want ErrDim, got %v", err)
	}
	if h, _ := New(4, Options{}).Search([]float32{1, 0, 0, 0}, 3, 0); len(h) != 0 {
		t.Fatalf("empty index returned %v", h)
	}
}

// recall measures recall@1 of the graph against the exact scan over the
// same quantized vectors, and the share where the graph's top-1 has the
// same similarity as the scan's (ties between equal vectors count as found).
func recall(t testing.TB, ix *Index, qs [][]float32) float64 {
	found := 0
	for _, q := range qs {
		want := ix.Scan(q, 1)
		got, err := ix.Search(q, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > 0 && (got[0].ID == want[0].ID || got[0].Similarity >= want[0].Similarity) {
			found++
		}
	}
	return float64(found) / float64(len(qs))
}

func TestHNSWRecall(t *testing.T) {
	for _, tc := range []struct {
		name     string
		clusters int
		n        int
		floor    float64
	}{
		// Uniform noise in 100-d has no structure for a graph to exploit
		// (every point is nearly equidistant); it is the worst case, kept
		// as a regression floor. Clustered data is the shape of real
		// embeddings and must reach the 0.99 target.
		{"uniform", 0, 5000, 0.8},
		{"clustered", 50, 20000, 0.99},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.n
			if raceEnabled || testing.Short() {
				n = 3000
			}
			all := randomUnit(n+500, 100, tc.clusters, 3)
			vs, qs := all[:n], all[n:] // queries held out, from the same distribution
			ix := New(100, Options{SwitchOver: n / 4})
			for i, v := range vs {
				_ = ix.Add(int64(i), v)
			}
			for !ix.BuildStep(1000) {
			}
			if ix.Mode() != "hnsw" {
				t.Fatalf("mode %s, want hnsw", ix.Mode())
			}
			r := recall(t, ix, qs)
			t.Logf("recall@1 %s %d: %.3f", tc.name, n, r)
			if r < tc.floor {
				t.Fatalf("recall@1 %.3f < %.2f", r, tc.floor)
			}
		})
	}
}

func TestRemoveAndCompact(t *testing.T) {
	all := randomUnit(6300, 16, 10, 5)
	vs, qs := all[:6000], all[6000:]
	ix := New(16, Options{SwitchOver: 2000})
	for i, v := range vs {
		_ = ix.Add(int64(i), v)
	}
	for !ix.BuildStep(1000) {
	}
	// remove every odd id: they must never come back
	for i := 1; i < len(vs); i += 2 {
		if !ix.Remove(int64(i)) {
			t.Fatalf("remove %d failed", i)
		}
	}
	if ix.Remove(1) {
		t.Fatal("second remove succeeded")
	}
	check := func(stage string) {
		for i := 0; i < 300; i++ {
			h, _ := ix.Search(vs[i], 5, 0)
			for _, x := range h {
				if x.ID%2 == 1 {
					t.Fatalf("%s: removed id %d returned", stage, x.ID)
				}
			}
			if i%2 == 0 && h[0].ID != int64(i) {
				t.Fatalf("%s: query %d top is %d", stage, i, h[0].ID)
			}
		}
	}
	check("tombstones")
	if ix.Len() != 3000 {
		t.Fatalf("len %d", ix.Len())
	}
	if !ix.CompactDue() {
		// 3000 dead vs 3000 live: not yet due; remove one more to tip it
		ix.Remove(0)
		if !ix.CompactDue() {
			t.Fatal("compaction not due with more tombstones than live")
		}
	}
	ix.Compact()
	if !ix.NeedsBuild() {
		t.Fatal("graph should need a rebuild after compaction")
	}
	if ix.Mode() != "scan" {
		t.Fatalf("mode during rebuild %s, want scan", ix.Mode())
	}
	for !ix.BuildStep(100) {
	}
	if ix.Mode() != "hnsw" {
		t.Fatalf("mode after rebuild %s", ix.Mode())
	}
	ix.Add(0, vs[0])
	check("compacted")
	if r := recall(t, ix, qs); r < 0.99 {
		t.Fatalf("recall after compaction %.3f", r)
	}
}

func TestVectorRoundTrip(t *testing.T) {
	vs := randomUnit(10, 50, 0, 7)
	ix := New(50, Options{})
	_ = ix.Add(7, vs[3])
	v, ok := ix.Vector(7)
	if !ok {
		t.Fatal("missing")
	}
	if c := dot(v, vs[3]); c < 0.999 {
		t.Fatalf("dequantized cosine %.4f", c)
	}
	if _, ok := ix.Vector(8); ok {
		t.Fatal("found absent id")
	}
}

func BenchmarkQuantize100(b *testing.B) {
	v := randomUnit(1, 100, 0, 9)[0]
	dst := make([]int8, 100)
	for range b.N {
		quantize(dst, v)
	}
}

// TestAutoEf: without an EfSearch the search's ef follows the graph's size
// (192 up to 100k nodes, 256 from 300k, monotone between); an explicit
// EfSearch, or Search's ef argument, is used as given.
func TestAutoEf(t *testing.T) {
	prev := 0
	for _, n := range []int{0, 10_000, 100_000, 100_001, 200_000, 299_999, 300_000, 5_000_000} {
		ef := (&Index{built: n}).autoEf()
		switch {
		case n <= 100_000 && ef != 192, n >= 300_000 && ef != 256, ef < prev, ef < 192 || ef > 256:
			t.Fatalf("autoEf(%d) = %d (previous %d)", n, ef, prev)
		}
		prev = ef
	}
	all := randomUnit(2100, 32, 10, 9)
	fixed := New(32, Options{SwitchOver: 1000, EfSearch: 40})
	auto := New(32, Options{SwitchOver: 1000})
	for i, v := range all[:2000] {
		_ = fixed.Add(int64(i), v)
		_ = auto.Add(int64(i), v)
	}
	for !fixed.BuildStep(1000) || !auto.BuildStep(1000) {
	}
	if fixed.efSearch() != 40 || auto.efSearch() != 192 {
		t.Fatalf("efSearch fixed %d auto %d", fixed.efSearch(), auto.efSearch())
	}
	for _, q := range all[2000:] {
		for _, c := range []struct {
			ix     *Index
			ef, as int
		}{{fixed, 0, 40}, {fixed, 300, 300}, {auto, 0, 192}, {auto, 20, 20}} {
			got, _ := c.ix.Search(q, 8, c.ef)
			if want := refSearchGraph(c.ix, q, 8, c.as); !equalHits(got, want) {
				t.Fatalf("ef %d: %v, want as ef %d %v", c.ef, got, c.as, want)
			}
		}
	}
}

// TestSearchUnchanged: a traced search that SearchUnchanged vouches for
// must return exactly the same hits when searched again — checked after
// every insertion (one at a time, as a replay fills its cache), with some
// removals and a compaction mixed in — and both answers must occur, with
// "unchanged" common after insertions, or the check is worthless.
func TestSearchUnchanged(t *testing.T) {
	const dim = 32
	vecs := randomUnit(9000, dim, 60, 11)
	ix := New(dim, Options{SwitchOver: 1000, M: 8, EfConstruction: 40})
	for i := range 3000 {
		if err := ix.Add(int64(i), vecs[i]); err != nil {
			t.Fatal(err)
		}
	}
	type pending struct {
		q    []float32
		tr   Trace
		hits []Hit
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var queue []pending
	kept, dropped := 0, 0
	next := 3000
	for step := range 4000 {
		q := vecs[rng.IntN(len(vecs))]
		p := pending{q: q}
		hits, err := ix.SearchTraced(q, 8, 0, &p.tr)
		if err != nil {
			t.Fatal(err)
		}
		p.hits = hits
		queue = append(queue, p)
		switch {
		case step == 2500:
			ix.Compact()
			for !ix.BuildStep(500) {
			}
		case step%97 == 0:
			ix.Remove(int64(rng.IntN(next)))
		case next < len(vecs):
			if err := ix.Add(int64(next), vecs[next]); err != nil {
				t.Fatal(err)
			}
			next++
		}
		if len(queue) > 10 {
			queue = queue[1:]
		}
		for _, p := range queue {
			if !ix.SearchUnchanged(&p.tr) {
				dropped++
				continue
			}
			kept++
			now, err := ix.Search(p.q, 8, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(now, p.hits) {
				t.Fatalf("step %d: vouched-for search now returns %v, traced %v", step, now, p.hits)
			}
		}
	}
	t.Logf("kept %d, dropped %d", kept, dropped)
	if kept < 10*dropped/100 || dropped < 1000 {
		t.Fatalf("kept %d, dropped %d: both answers must be exercised", kept, dropped)
	}
	var scan Trace
	small := New(dim, Options{SwitchOver: 10000})
	_ = small.Add(1, vecs[0])
	if _, err := small.SearchTraced(vecs[0], 1, 0, &scan); err != nil || small.SearchUnchanged(&scan) {
		t.Fatalf("a scan's trace must never be unchanged (err %v)", err)
	}
}

// TestAddPendingBuildsTheSameGraph: adding through Prepare and AddPending
// — the search made ahead, as the cache does under its read lock — builds
// exactly the graph Add builds, whether the prepared search is still
// valid at AddPending (most adds) or went stale because another vector
// was added or removed in between (then the search is made again).
func TestAddPendingBuildsTheSameGraph(t *testing.T) {
	const dim = 24
	vecs := randomUnit(6000, dim, 40, 21)
	opt := Options{SwitchOver: 500, M: 8, EfConstruction: 40}
	plain, pend := New(dim, opt), New(dim, opt)
	used, stale := 0, 0
	for i, v := range vecs {
		p, err := pend.Prepare(v)
		if err != nil {
			t.Fatal(err)
		}
		if i%50 == 7 { // something changes between Prepare and AddPending
			x := int64(100000 + i)
			for _, ix := range []*Index{plain, pend} {
				if err := ix.Add(x, vecs[(i*7)%len(vecs)]); err != nil {
					t.Fatal(err)
				}
				if i%100 == 7 {
					ix.Remove(x)
				}
			}
			if p.cands != nil {
				stale++
			}
		} else if p.cands != nil {
			used++
		}
		if err := plain.Add(int64(i), v); err != nil {
			t.Fatal(err)
		}
		if err := pend.AddPending(int64(i), p); err != nil {
			t.Fatal(err)
		}
		for _, ix := range []*Index{plain, pend} {
			for !ix.BuildStep(1000) { // as the cache's builder does once the graph switches on
			}
		}
	}
	if used < 5000 || stale < 100 {
		t.Fatalf("prepared searches used %d, stale %d: both paths must be exercised", used, stale)
	}
	if !slices.Equal(plain.links0, pend.links0) || !slices.Equal(plain.count0, pend.count0) ||
		!slices.Equal(plain.levels, pend.levels) || !reflect.DeepEqual(plain.upper, pend.upper) ||
		plain.entry != pend.entry || plain.maxLvl != pend.maxLvl ||
		!slices.Equal(plain.codes, pend.codes) || !slices.Equal(plain.scales, pend.scales) || !slices.Equal(plain.ids, pend.ids) {
		t.Fatal("Prepare + AddPending built another graph than Add")
	}
	if _, err := pend.Prepare(make([]float32, dim+1)); err == nil {
		t.Fatal("Prepare took a vector of the wrong dimension")
	}
	p, _ := pend.Prepare(vecs[0])
	if err := pend.AddPending(0, p); err == nil {
		t.Fatal("AddPending took a duplicate id")
	}
}
