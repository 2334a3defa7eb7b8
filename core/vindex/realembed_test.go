//go:build realembed

// Recall on real prompt embeddings. Behind a build tag because it imports
// the traffic generator and the local embedder, which import the rest of
// core (vindex's own tests must not depend on them):
//
//	go test -tags realembed -run TestRealEmbeddingRecall -v -timeout 30m ./core/vindex
//
// PENNY_VINDEX_REAL sets the index sizes (default 100000), PENNY_VINDEX_EFC
// a list of efConstruction values to compare (default: the default).

package vindex_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/vindex"
	"github.com/pennyllm/penny/fixtures/traffic"
	pembed "github.com/pennyllm/penny/providers/embed"
)

// TestRealEmbeddingRecall indexes n distinct prompts of the replay's short
// traffic (traffic.Short), embedded by the local embedder as the cache
// embeds them, and looks up the 5,000 requests that follow them in the
// stream (repeats, rewordings and new prompts, as the replay does): recall
// of the size-aware default ef and fixed efs against the exact scan, and
// the overlap of their top-8 sets with ef 256's (the default before); and
// the CPU per search before and after this change, interleaved.
func TestRealEmbeddingRecall(t *testing.T) {
	sizes := os.Getenv("PENNY_VINDEX_REAL")
	if sizes == "" {
		sizes = "100000"
	}
	e, err := pembed.NewLocal(pembed.LocalOptions{CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatal(err)
		}
		const nq = 5000
		reqs := traffic.Short(n*3, 7) // about half the requests are distinct prompts
		var stored, queries []string
		seen := map[string]bool{}
		for _, r := range reqs {
			if len(stored) < n {
				if !seen[r.Prompt] {
					seen[r.Prompt] = true
					stored = append(stored, r.Prompt)
				}
				continue
			}
			if queries = append(queries, r.Prompt); len(queries) == nq {
				break
			}
		}
		if len(stored) < n || len(queries) < nq {
			t.Fatalf("traffic too short: %d stored, %d queries", len(stored), len(queries))
		}
		vs, err := e.Embed(context.Background(), stored)
		if err != nil {
			t.Fatal(err)
		}
		qs, err := e.Embed(context.Background(), queries)
		if err != nil {
			t.Fatal(err)
		}
		for _, efc := range vindex.EfConstr(t) {
			ix := vindex.New(e.Dim(), vindex.Options{EfConstruction: efc})
			cpu0 := cpuNow()
			for i, v := range vs {
				if err := ix.Add(int64(i), v); err != nil {
					t.Fatal(err)
				}
			}
			for !ix.BuildStep(4096) {
			}
			if ix.Mode() != "hnsw" {
				t.Fatalf("mode %s", ix.Mode())
			}
			label := "real"
			if efc > 0 {
				label = fmt.Sprintf("real efc=%d", efc)
			}
			t.Logf("%s n=%d build %.1f CPU-s", label, n, (cpuNow() - cpu0).Seconds())
			vindex.LogSweep(t, label, ix, vindex.SweepRecall(t, ix, qs, []int{0, 16, 24, 32, 48, 64, 96, 128, 192, 256}))
			if efc > 0 {
				continue
			}
			for range 2 {
				before, after := vindex.CompareSearchCPU(ix, qs, 8)
				t.Logf("real n=%d CPU per top-8 search: before (old search, ef 256) %.1f µs, after (default ef) %.1f µs: %.2fx",
					n, float64(before.Nanoseconds())/1e3, float64(after.Nanoseconds())/1e3, float64(before)/float64(after))
			}
		}
	}
}

// cpuNow is this process's user+system CPU time.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
