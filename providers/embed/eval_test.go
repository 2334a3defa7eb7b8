package embed

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pennyllm/penny/core/cache"
)

var verbose = flag.Bool("eval.verbose", false, "print every fixture pair's verdict")

// repoRoot is two levels above this package.
func repoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func loadPairs(t testing.TB, path string) []cache.Pair {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, _, err := cache.ParsePairs(f, filepath.Base(path), cache.PairsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newJudgeAndEmbedder(t testing.TB) (*Local, *cache.Calibrated) {
	t.Helper()
	e, err := NewLocal(LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := cache.NewJudge(cache.JudgeOptions{Lexicon: e, EmbedderID: e.ID()})
	if err != nil {
		t.Fatal(err)
	}
	if got := j.Model().Embedder; got != e.ID() {
		t.Fatalf("default score model was fitted for embedder %q, the local embedder is %q: rerun the fitting program", got, e.ID())
	}
	return e, j
}

// TestFixturePairs is the acceptance goal on penny's own labelled
// pairs: at the default settings, false-hit rate ≤ 3% and paraphrase
// recall ≥ 80%.
func TestFixturePairs(t *testing.T) {
	pairs := loadPairs(t, filepath.Join(repoRoot(t), "fixtures", "cache", "pairs.tsv"))
	e, j := newJudgeAndEmbedder(t)
	ctx := context.Background()
	if *verbose {
		for _, p := range pairs {
			v, _ := e.Embed(ctx, []string{p.A, p.B})
			jd := j.Judge(cache.Text{Prompt: p.B, Vector: v[1]}, cache.Text{Prompt: p.A, Vector: v[0]})
			served := jd.Guard == "" && jd.Score >= cache.CalibratedThreshold
			mark := "  "
			if served != (p.Label == 1) {
				mark = "✗ "
			}
			t.Logf("%s%d score %.3f cos %.3f guard %-8s %-20s | %s | %s", mark, p.Label, jd.Score, jd.Cosine, jd.Guard, jd.Detail, p.A, p.B)
		}
	}
	r, err := cache.Evaluate(ctx, pairs, cache.CalibratedThreshold, cache.JudgeLookup(e, j))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(struct {
		Pairs, Positives                  int
		Threshold, Precision, Recall, FHR float64
		AUC                               float64
	}{r.Pairs, r.Positives, r.Threshold, r.Precision, r.Recall, r.FalseHitRate, r.AUC})
	t.Logf("fixtures: %s", out)
	if r.Positives < 40 || r.Pairs-r.Positives < 60 {
		t.Errorf("fixture set too small: %d paraphrases, %d near misses", r.Positives, r.Pairs-r.Positives)
	}
	if r.FalseHitRate > 0.03 {
		t.Errorf("false-hit rate %.3f > 0.03", r.FalseHitRate)
	}
	if r.Recall < 0.80 {
		t.Errorf("paraphrase recall %.3f < 0.80", r.Recall)
	}
}

// TestHeldOutSharedData checks the goal on real pairs never used in
// fitting (STS 2015 answers-forums — StackExchange — and MRPC val) through
// the same Evaluate path `penny eval cache` uses. Skips without the data.
func TestHeldOutSharedData(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "..", "shared", "data", "sts")
	files := []string{filepath.Join(dir, "2015", "answers-forums.test.tsv"), filepath.Join(dir, "msr", "msr-para-val.tsv")}
	if _, err := os.Stat(files[0]); err != nil {
		t.Skip("shared data not present:", err)
	}
	e, j := newJudgeAndEmbedder(t)
	ctx := context.Background()
	var all []cache.Pair
	for _, f := range files {
		p := loadPairs(t, f)
		r, err := cache.Evaluate(ctx, p, cache.CalibratedThreshold, cache.JudgeLookup(e, j))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: pairs %d pos %d AUC %.3f precision %.3f recall %.3f f1 %.3f false-hit %.3f", filepath.Base(f), r.Pairs, r.Positives, r.AUC, r.Precision, r.Recall, r.F1, r.FalseHitRate)
		all = append(all, p...)
	}
	r, err := cache.Evaluate(ctx, all, cache.CalibratedThreshold, cache.JudgeLookup(e, j))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("combined: pairs %d pos %d AUC %.3f precision %.3f recall %.3f f1 %.3f false-hit %.3f", r.Pairs, r.Positives, r.AUC, r.Precision, r.Recall, r.F1, r.FalseHitRate)
	if r.AUC < 0.85 || r.Precision < 0.80 || r.Recall < 0.30 {
		t.Errorf("held-out goal missed: AUC %.3f (≥ 0.85), precision %.3f (≥ 0.80), recall %.3f (≥ 0.30)", r.AUC, r.Precision, r.Recall)
	}
}

// BenchmarkJudgeWithLexicon is the judge's cost per pair with the local
// embedder's word weights and similarities (what the cache pays per
// neighbour it explains).
func BenchmarkJudgeWithLexicon(b *testing.B) {
	e, j := newJudgeAndEmbedder(b)
	v, _ := e.Embed(context.Background(), []string{"How can I turn on two-factor authentication for my GitHub account?", "How do I enable two-factor authentication on my GitHub account?"})
	q := cache.Text{Prompt: "How can I turn on two-factor authentication for my GitHub account?", Vector: v[0]}
	c := cache.Text{Prompt: "How do I enable two-factor authentication on my GitHub account?", Vector: v[1]}
	for b.Loop() {
		j.Judge(q, c)
	}
}

// TestRetrieval measures what the cache's index sees: with every held-out
// positive pair's first sentence in one pool, how often is its partner the
// nearest (or among the 3 nearest) by embedding cosine? Logged for
// docs/BENCHMARKS.md; it compares the hybrid embedding with GloVe alone.
func TestRetrieval(t *testing.T) {
	path := filepath.Join(repoRoot(t), "..", "shared", "data", "sts", "msr", "msr-para-val.tsv")
	if _, err := os.Stat(path); err != nil {
		t.Skip("shared data not present:", err)
	}
	var pos []cache.Pair
	for _, p := range loadPairs(t, path) {
		if p.Label == 1 {
			pos = append(pos, p)
		}
	}
	for _, o := range []struct {
		name string
		opts LocalOptions
	}{{"hybrid (default)", LocalOptions{}}, {"GloVe-SIF only", LocalOptions{LexDims: -1}}} {
		e, err := NewLocal(o.opts)
		if err != nil {
			t.Fatal(err)
		}
		pool := make([]string, len(pos))
		queries := make([]string, len(pos))
		for i, p := range pos {
			pool[i], queries[i] = p.A, p.B
		}
		pv, _ := e.Embed(context.Background(), pool)
		qv, _ := e.Embed(context.Background(), queries)
		at1, at3 := 0, 0
		for i, q := range qv {
			rank := 0
			self := cos(q, pv[i])
			for j, x := range pv {
				if j != i && cos(q, x) > self {
					rank++
				}
			}
			if rank == 0 {
				at1++
			}
			if rank < 3 {
				at3++
			}
		}
		r1, r3 := float64(at1)/float64(len(qv)), float64(at3)/float64(len(qv))
		t.Logf("%s: %d queries over %d entries, recall@1 %.3f, recall@3 %.3f", o.name, len(qv), len(pv), r1, r3)
		if r3 < 0.8 {
			t.Errorf("%s: recall@3 %.3f", o.name, r3)
		}
	}
}
