package vindex

import (
	"fmt"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
)

// benchIndex builds an index of n clustered 100-d vectors (200 topics, the
// shape of real prompt embeddings more than uniform noise) and reports:
// build time, p50/p99 single-query latency for top-3 over 2,000 held-out
// queries, recall@1 against the exact scan, and heap bytes per entry.
// Run with -benchtime=1x; each iteration rebuilds from scratch.
func benchIndex(b *testing.B, n, clusters int) {
	const dim, nq, nRecall = 100, 2000, 200
	all := randomUnit(n+nq, dim, clusters, 42)
	data, qs := all[:n], all[n:]
	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		cpu0 := processCPU()
		start := time.Now()
		ix := New(dim, Options{})
		for i, v := range data {
			if err := ix.Add(int64(i), v); err != nil {
				b.Fatal(err)
			}
		}
		for !ix.BuildStep(4096) {
		}
		build := time.Since(start)
		b.ReportMetric((processCPU() - cpu0).Seconds(), "build-cpu-s")
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)

		// Ground truth once (an exact scan at 1M costs ~80 ms a query).
		truth := make([]Hit, nRecall)
		for i, q := range qs[:nRecall] {
			truth[i] = ix.Scan(q, 1)[0]
		}
		b.ReportMetric(build.Seconds(), "build-s")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heapB/entry")
		b.ReportMetric(float64(ix.MemoryBytes())/float64(n), "indexB/entry")
		for _, ef := range []int{64, 128, 256} { // 256 is the default
			lat := make([]time.Duration, len(qs))
			for i, q := range qs {
				t0 := time.Now()
				if _, err := ix.Search(q, 3, ef); err != nil {
					b.Fatal(err)
				}
				lat[i] = time.Since(t0)
			}
			slices.Sort(lat)
			found := 0
			for i, q := range qs[:nRecall] {
				got, _ := ix.Search(q, 1, ef)
				if len(got) > 0 && (got[0].ID == truth[i].ID || got[0].Similarity >= truth[i].Similarity) {
					found++
				}
			}
			r := float64(found) / nRecall
			name := fmt.Sprintf("ef%d-", ef)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), name+"p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), name+"p99-µs")
			b.ReportMetric(r, name+"recall@1")
			b.Logf("mode=%s n=%d build=%s ef=%d p50=%s p99=%s recall@1=%.3f", ix.Mode(), n, build,
				ef, lat[len(lat)/2], lat[len(lat)*99/100], r)
		}
		runtime.KeepAlive(data)
	}
}

func BenchmarkIndex10k(b *testing.B)         { benchIndex(b, 10_000, 200) }
func BenchmarkIndex100k(b *testing.B)        { benchIndex(b, 100_000, 200) }
func BenchmarkIndex100kUniform(b *testing.B) { benchIndex(b, 100_000, 0) }
func BenchmarkIndex1M(b *testing.B)          { benchIndex(b, 1_000_000, 2000) }

// BenchmarkScan100k is the exact scan the index falls back to while its
// graph builds (and uses below SwitchOver).
func BenchmarkScan100k(b *testing.B) {
	all := randomUnit(100_000+1, 100, 200, 42)
	ix := New(100, Options{SwitchOver: 1 << 30})
	for i, v := range all[:100_000] {
		_ = ix.Add(int64(i), v)
	}
	b.ResetTimer()
	for range b.N {
		ix.Scan(all[100_000], 3)
	}
}

// processCPU is the user+system CPU time of this process so far; reported
// next to wall time because the benchmark machine is shared.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
