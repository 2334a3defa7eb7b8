package cache_test

// Short traffic (fixtures/traffic.Short) judged the way a replay judges it:
// each query against the 8 nearest earlier distinct prompts by the local
// embedder. The golden test pins today's exact Judgements (bit for bit) on
// these pairs; the benchmark measures a lookup's judging with a cold and a
// warm analysis cache. External test package: fixtures/traffic imports
// core/replay, which imports core/cache.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/fixtures/traffic"
	pembed "github.com/pennyllm/penny/providers/embed"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata golden files from the current judge")

// shortLookup is one query and the candidates a lookup would judge.
type shortLookup struct {
	q     cache.Text
	cands []cache.Text
}

const (
	shortRequests = 2400 // traffic generated; the "cache" is the distinct prompts before each query
	shortQueries  = 600  // the last distinct prompts become the queries
	shortK        = 8    // candidates per lookup, as the replay's index search returns
)

var shortOnce struct {
	sync.Once
	emb     *pembed.Local
	lookups []shortLookup
	err     error
}

// shortLookups builds the lookups once per test binary: the last
// shortQueries distinct prompts of traffic.Short(shortRequests, 8), each
// with its shortK nearest earlier distinct prompts by cosine (ties by
// position), found by brute force.
func shortLookups(tb testing.TB) (*pembed.Local, []shortLookup) {
	tb.Helper()
	shortOnce.Do(func() {
		e, err := pembed.NewLocal(pembed.LocalOptions{})
		if err != nil {
			shortOnce.err = err
			return
		}
		seen := map[string]bool{}
		var prompts []string
		for _, r := range traffic.Short(shortRequests, 8) {
			if !seen[r.Prompt] {
				seen[r.Prompt] = true
				prompts = append(prompts, r.Prompt)
			}
		}
		vecs, err := e.Embed(context.Background(), prompts)
		if err != nil {
			shortOnce.err = err
			return
		}
		first := max(shortK, len(prompts)-shortQueries)
		type nb struct {
			i   int
			cos float64
		}
		var out []shortLookup
		for qi := first; qi < len(prompts); qi++ {
			nbs := make([]nb, qi)
			for i := range qi {
				var s float64
				for d, x := range vecs[qi] {
					s += float64(x) * float64(vecs[i][d])
				}
				nbs[i] = nb{i, s}
			}
			slices.SortFunc(nbs, func(a, b nb) int {
				if a.cos != b.cos {
					if a.cos > b.cos {
						return -1
					}
					return 1
				}
				return a.i - b.i
			})
			l := shortLookup{q: cache.Text{Prompt: prompts[qi], Vector: vecs[qi]}}
			for _, n := range nbs[:shortK] {
				l.cands = append(l.cands, cache.Text{Prompt: prompts[n.i], Vector: vecs[n.i]})
			}
			out = append(out, l)
		}
		shortOnce.emb, shortOnce.lookups = e, out
	})
	if shortOnce.err != nil {
		tb.Fatal(shortOnce.err)
	}
	return shortOnce.emb, shortOnce.lookups
}

func newShortJudge(tb testing.TB, e *pembed.Local, analyses, bytes int) *cache.Calibrated {
	tb.Helper()
	j, err := cache.NewJudge(cache.JudgeOptions{Lexicon: e, EmbedderID: e.ID(), AnalysisCache: analyses, AnalysisCacheBytes: bytes})
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

// judgementHash is a fingerprint of every bit of a Judgement.
func judgementHash(j cache.Judgement) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, x := range append([]float64{j.Score, j.Cosine}, j.Features.Vector()...) {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
		h.Write(b[:])
	}
	h.Write([]byte(j.Guard))
	h.Write([]byte{0})
	h.Write([]byte(j.Detail))
	return h.Sum64()
}

// inputsHash fingerprints the lookups (prompts and vector bits), so that a
// change to the traffic generator or the embedder is reported as such
// rather than as a change of the judge.
func inputsHash(e *pembed.Local, ls []shortLookup) string {
	h := sha256.New()
	h.Write([]byte(e.ID()))
	var b [4]byte
	text := func(t cache.Text) {
		h.Write([]byte(t.Prompt))
		h.Write([]byte{0})
		for _, x := range t.Vector {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
			h.Write(b[:])
		}
	}
	for _, l := range ls {
		text(l.q)
		for _, c := range l.cands {
			text(c)
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

const shortGolden = "testdata/judge_short_golden.txt"

// TestJudgeShortTrafficGolden pins the judge's exact output (every bit of
// Score, Cosine and Features, Guard and Detail) on a replay's short-prompt
// lookups, through each entry point and with the analysis cache disabled,
// small (evicting) and large. The golden file was written by the judge as
// it was before its short-prompt optimisations (go test -run
// TestJudgeShortTrafficGolden -update ./core/cache/), so any change in
// behaviour, even in the last bit, fails here.
func TestJudgeShortTrafficGolden(t *testing.T) {
	e, ls := shortLookups(t)
	if testing.Short() {
		ls = ls[:100]
	}
	judge := func(j *cache.Calibrated, how string) []uint64 {
		var out []uint64
		for _, l := range ls {
			switch how {
			case "Judge":
				for _, c := range l.cands {
					out = append(out, judgementHash(j.Judge(l.q, c)))
				}
			case "JudgePrepared":
				p := j.Prepare(l.q)
				for _, c := range l.cands {
					out = append(out, judgementHash(j.JudgePrepared(p, c)))
				}
			default:
				for _, g := range j.JudgeMany(j.Prepare(l.q), l.cands) {
					out = append(out, judgementHash(g))
				}
			}
		}
		return out
	}
	inputs := inputsHash(e, ls)
	if *updateGolden {
		if testing.Short() {
			t.Fatal("-update needs the full set: run without -short")
		}
		var b strings.Builder
		fmt.Fprintf(&b, "# cache.Calibrated judgements of fixtures/traffic.Short lookups: FNV-64a of each Judgement's bits\n")
		fmt.Fprintf(&b, "inputs %s\n", inputs)
		for _, h := range judge(newShortJudge(t, e, -1, 0), "Judge") {
			fmt.Fprintf(&b, "%016x\n", h)
		}
		if err := os.WriteFile(shortGolden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(filepath.FromSlash(shortGolden))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wantInputs string
	var want []uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "inputs "):
			wantInputs = strings.TrimPrefix(line, "inputs ")
		default:
			var h uint64
			if _, err := fmt.Sscanf(line, "%x", &h); err != nil {
				t.Fatalf("golden line %q: %v", line, err)
			}
			want = append(want, h)
		}
	}
	if len(want) < len(ls)*shortK {
		t.Fatalf("golden has %d judgements, want %d", len(want), len(ls)*shortK)
	}
	if !testing.Short() && wantInputs != inputs {
		t.Fatalf("the lookups changed (traffic generator or embedder), not necessarily the judge: regenerate %s with -update from a judge known to be right", shortGolden)
	}
	for _, c := range []struct {
		name            string
		analyses, bytes int
		how             string
	}{
		{"uncached/Judge", -1, 0, "Judge"},
		{"uncached/JudgeMany", -1, 0, "JudgeMany"},
		{"small-cache/Judge", 16, 0, "Judge"},
		{"small-bytes/JudgePrepared", 1 << 20, 64 << 10, "JudgePrepared"},
		{"large-cache/JudgeMany", 1 << 20, 1 << 30, "JudgeMany"},
	} {
		j := newShortJudge(t, e, c.analyses, c.bytes)
		for pass := range 2 { // the second pass hits the memos the first filled
			got := judge(j, c.how)
			bad := 0
			for i, h := range got {
				if h != want[i] {
					if bad < 5 {
						l := ls[i/shortK]
						t.Errorf("%s pass %d: %q vs %q: %+v differs from the golden judgement", c.name, pass, l.q.Prompt, l.cands[i%shortK].Prompt, j.Judge(l.q, l.cands[i%shortK]))
					}
					bad++
				}
			}
			if bad > 0 {
				t.Fatalf("%s pass %d: %d of %d judgements differ", c.name, pass, bad, len(got))
			}
		}
	}
}

// cpuNanos is the process's user+system CPU time, so benchmarks on a
// shared machine can report CPU per operation next to wall time.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkJudgeShortLookup judges short traffic queries against their 8
// nearest neighbours, one lookup per op, as a replay does. cold: the
// analysis cache is disabled, so every text is analysed on every lookup;
// warm: every text's analysis is cached, memos filled (the same lookups
// again); newq: the candidates' analyses are cached and their memos hold
// the queries' words, but each query is new to the judge (analysed, its
// memo empty), as when a replay looks up a prompt it has not seen.
// judge8 calls Judge per candidate (the query's analysis looked up 8
// times), many calls Prepare once and JudgeMany.
func BenchmarkJudgeShortLookup(b *testing.B) {
	e, ls := shortLookups(b)
	lookup := func(j *cache.Calibrated, l shortLookup, many bool) {
		if many {
			j.JudgeMany(j.Prepare(l.q), l.cands)
			return
		}
		for _, c := range l.cands {
			j.Judge(l.q, c)
		}
	}
	// newqJudge caches the candidates' analyses with memos filled by the
	// queries' words (judged once as query+" ", another cache key).
	newqJudge := func() *cache.Calibrated {
		j := newShortJudge(b, e, 1<<20, 1<<30)
		for _, l := range ls {
			q := l.q
			q.Prompt += " "
			j.JudgeMany(j.Prepare(q), l.cands)
		}
		return j
	}
	run := func(name string, mk func() *cache.Calibrated, fresh bool, many bool) {
		b.Run(name, func(b *testing.B) {
			j := mk()
			i, cpu := 0, int64(0)
			c0 := cpuNanos()
			for b.Loop() {
				if fresh && i > 0 && i%len(ls) == 0 { // every query seen: start again
					b.StopTimer()
					cpu += cpuNanos() - c0
					j = mk()
					c0 = cpuNanos()
					b.StartTimer()
				}
				lookup(j, ls[i%len(ls)], many)
				i++
			}
			cpu += cpuNanos() - c0
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		})
	}
	cold := func() *cache.Calibrated { return newShortJudge(b, e, -1, 0) }
	warm := func() *cache.Calibrated {
		j := newShortJudge(b, e, 1<<20, 1<<30)
		for _, l := range ls {
			j.JudgeMany(j.Prepare(l.q), l.cands)
		}
		return j
	}
	run("cold/judge8", cold, false, false)
	run("cold/many", cold, false, true)
	run("newq/judge8", newqJudge, true, false)
	run("newq/many", newqJudge, true, true)
	run("warm/judge8", warm, false, false)
	run("warm/many", warm, false, true)
}
