package vindex

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// efRecall is the graph's recall at one ef against the exact scan, and its
// CPU cost per search.
type efRecall struct {
	ef       int // 0: the size-aware default
	r1, r8   float64
	over256  float64 // share of the top 8 also in ef 256's top 8 (ties by similarity count as equal)
	cpuPerQ  time.Duration
	searched int
}

// sweepRecall measures, for each ef, recall@1 and recall@8 of Search(q, 8,
// ef) against Scan(q, 8) over qs. A hit counts when its similarity reaches
// the exact answer's (the k-th best for recall@8), so equal vectors under
// other ids are not counted as misses. over256 is the overlap of the top 8
// with ef 256's (see sameSims), the cache's view of "same candidates as
// before".
func sweepRecall(tb testing.TB, ix *Index, qs [][]float32, efs []int) []efRecall {
	const k = 8
	truth := make([][]Hit, len(qs))
	for i, q := range qs {
		truth[i] = ix.Scan(q, k)
	}
	ref := make([][]Hit, len(qs))
	for i, q := range qs {
		h, err := ix.Search(q, k, 256)
		if err != nil {
			tb.Fatal(err)
		}
		ref[i] = h
	}
	var out []efRecall
	for _, ef := range efs {
		res := make([][]Hit, len(qs))
		cpu0 := processCPU()
		for i, q := range qs {
			h, err := ix.Search(q, k, ef)
			if err != nil {
				tb.Fatal(err)
			}
			res[i] = h
		}
		r := efRecall{ef: ef, cpuPerQ: (processCPU() - cpu0) / time.Duration(len(qs)), searched: len(qs)}
		var f1, f8, o int
		n8 := 0
		for i, got := range res {
			want := truth[i]
			if len(got) > 0 && (got[0].ID == want[0].ID || got[0].Similarity >= want[0].Similarity) {
				f1++
			}
			kth := want[len(want)-1].Similarity
			for _, h := range got {
				if h.Similarity >= kth {
					f8++
				}
			}
			n8 += len(want)
			// Equal similarities are counted as the same candidate: real
			// prompts include different texts with identical embeddings,
			// among which the two searches may return different ids.
			o += sameSims(got, ref[i])
		}
		r.r1 = float64(f1) / float64(len(qs))
		r.r8 = float64(f8) / float64(n8)
		r.over256 = float64(o) / float64(n8)
		out = append(out, r)
	}
	return out
}

func logSweep(tb testing.TB, label string, ix *Index, rs []efRecall) {
	for _, r := range rs {
		name := strconv.Itoa(r.ef)
		if r.ef == 0 {
			name = fmt.Sprintf("auto(%d)", ix.autoEf())
		}
		tb.Logf("%s n=%d ef=%-9s recall@1 %.4f recall@8 %.4f top8-overlap-ef256 %.4f cpu/search %6.1f µs (%d queries)",
			label, ix.built, name, r.r1, r.r8, r.over256, float64(r.cpuPerQ.Nanoseconds())/1e3, r.searched)
	}
}

// TestEfSweep measures recall against ef on clustered 100-d vectors (the
// data of BenchmarkIndex*, 500 vectors per cluster) at the sizes listed in
// PENNY_VINDEX_SWEEP (e.g. "100000,300000,1000000"): the measurements the
// size-aware default ef (autoEf) is chosen from. Skipped without it.
func TestEfSweep(t *testing.T) {
	sizes := os.Getenv("PENNY_VINDEX_SWEEP")
	if sizes == "" {
		t.Skip("set PENNY_VINDEX_SWEEP=100000,300000,1000000")
	}
	efs := []int{0, 16, 24, 32, 48, 64, 96, 128, 192, 256}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatal(err)
		}
		nq := 2000
		if n > 500_000 {
			nq = 1000 // the exact scan for ground truth costs ~80 ms a query at 1M
		}
		all := randomUnit(n+nq, 100, n/500, 42)
		for _, efc := range efConstructions(t) {
			ix := New(100, Options{EfConstruction: efc})
			cpu0 := processCPU()
			for i, v := range all[:n] {
				if err := ix.Add(int64(i), v); err != nil {
					t.Fatal(err)
				}
			}
			for !ix.BuildStep(4096) {
			}
			t.Logf("clustered n=%d efConstruction %d build %.1f CPU-s", n, ix.opt.EfConstruction, (processCPU() - cpu0).Seconds())
			logSweep(t, fmt.Sprintf("clustered efc=%d", ix.opt.EfConstruction), ix, sweepRecall(t, ix, all[n:], efs))
		}
	}
}

// efConstructions is PENNY_VINDEX_EFC as a list (e.g. "64,100,160"), for
// measuring the build-cost / recall trade-off; the default (0) without it.
func efConstructions(tb testing.TB) []int {
	v := os.Getenv("PENNY_VINDEX_EFC")
	if v == "" {
		return []int{0}
	}
	var out []int
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// sameSims is the size of the multiset intersection of the two hit lists'
// similarities (bit for bit).
func sameSims(a, b []Hit) int {
	n := 0
	used := make([]bool, len(b))
	for _, x := range a {
		for j, y := range b {
			if !used[j] && x.Similarity == y.Similarity {
				used[j] = true
				n++
				break
			}
		}
	}
	return n
}
