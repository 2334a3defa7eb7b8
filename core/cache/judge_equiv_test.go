package cache

// The fast judge (analyses prepared once and cached, word ids, one dot
// product per word pair) must give the same verdicts as the reference in
// judge_old_test.go: guards and details exactly, scores and features within
// 1e-12 (the reference summed over maps, whose order varies from run to
// run, so it is not even bit-stable against itself).
//
// This test imports the local embedder for its real word vectors; that is
// a test-only dependency (providers/embed does not import core/cache).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	pembed "github.com/pennyllm/penny/providers/embed"
)

const equivTol = 1e-12

func localJudge(t testing.TB, cacheSize int) (*pembed.Local, *Calibrated) {
	t.Helper()
	e, err := pembed.NewLocal(pembed.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := NewJudge(JudgeOptions{Lexicon: e, EmbedderID: e.ID(), AnalysisCache: cacheSize})
	if err != nil {
		t.Fatal(err)
	}
	return e, j
}

func readPairs(t testing.TB, path string) []Pair {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, _, err := ParsePairs(f, filepath.Base(path), PairsOptions{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

// sharedPairs samples about n pairs evenly from every STS/SICK/MRPC file of
// the shared data; nil when it is absent.
func sharedPairs(t testing.TB, n int) []Pair {
	dir := filepath.Join("..", "..", "..", "shared", "data", "sts")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.t[sx][vt]"))
	var all []Pair
	for _, f := range files {
		if strings.Contains(filepath.Base(f), "readme") {
			continue
		}
		all = append(all, readPairs(t, f)...)
	}
	if len(all) <= n {
		return all
	}
	out := make([]Pair, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, all[i*len(all)/n])
	}
	return out
}

// longText is the compression fixtures joined: about 1,900 words (2,500
// tokens) of agent prompts with names, numbers, code and quotes.
func longText(t testing.TB) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "fixtures", "compress", "*.txt"))
	if len(files) == 0 {
		t.Fatal("no fixtures/compress/*.txt")
	}
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteString("\n\n")
	}
	return b.String()
}

// demoPrompts returns the first n distinct prompts of the demo traffic.
func demoPrompts(t testing.TB, n int) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "fixtures", "traffic", "demo.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	seen := map[string]bool{}
	var out []string
	for sc.Scan() && len(out) < n {
		var r struct {
			Prompt string `json:"prompt"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if !seen[r.Prompt] {
			seen[r.Prompt] = true
			out = append(out, r.Prompt)
		}
	}
	return out
}

// longVariants are long texts derived from longText by edits the guards
// and features react to.
func longVariants(t testing.TB) []string {
	l := longText(t)
	return []string{
		l,
		strings.Replace(l, "the", "a", 40),
		strings.Replace(strings.Replace(l, "1", "7", -1), "Python", "Rust", -1),
		l[:len(l)/2],
		strings.ToUpper(l[:len(l)/3]) + l[len(l)/2:],
	}
}

func embedAll(t testing.TB, e *pembed.Local, texts []string) [][]float32 {
	t.Helper()
	v, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// diffJudgement describes how two judgements differ; "" when they agree.
func diffJudgement(want, got Judgement) string {
	if want.Guard != got.Guard || want.Detail != got.Detail {
		return fmt.Sprintf("guard %q %q, want %q %q", got.Guard, got.Detail, want.Guard, want.Detail)
	}
	w, g := append([]float64{want.Score, want.Cosine}, want.Features.Vector()...), append([]float64{got.Score, got.Cosine}, got.Features.Vector()...)
	names := append([]string{"score", "cosine"}, FeatureNames()...)
	for i := range w {
		if math.Abs(w[i]-g[i]) > equivTol || math.IsNaN(g[i]) != math.IsNaN(w[i]) {
			return fmt.Sprintf("%s %.17g, want %.17g", names[i], g[i], w[i])
		}
	}
	return ""
}

type equivCase struct {
	name string
	q, c Text
}

func equivCases(t testing.TB, e *pembed.Local, pairs []Pair) []equivCase {
	texts := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		texts = append(texts, p.A, p.B)
	}
	v := embedAll(t, e, texts)
	out := make([]equivCase, 0, 2*len(pairs))
	for i, p := range pairs {
		out = append(out, equivCase{p.Origin, Text{Prompt: p.B, Vector: v[2*i+1]}, Text{Prompt: p.A, Vector: v[2*i]}})
	}
	// The same texts, each query against another pair's cached text: the
	// analysis cache must not leak anything from one pair into another.
	for i := range pairs {
		j := (i*7 + 3) % len(pairs)
		out = append(out, equivCase{pairs[i].Origin + "×" + pairs[j].Origin, Text{Prompt: pairs[i].B, Vector: v[2*i+1]}, Text{Prompt: pairs[j].A, Vector: v[2*j]}})
	}
	return out
}

// checkEquivalent judges every case with the reference, the uncached fast
// judge, the cached judge (twice: a miss, then a hit) and JudgeMany.
func checkEquivalent(t *testing.T, cases []equivCase, uncached, cached *Calibrated) {
	t.Helper()
	bad := 0
	report := func(name, how, d string) {
		if d == "" {
			return
		}
		bad++
		if bad <= 10 {
			t.Errorf("%s (%s): %s", name, how, d)
		}
	}
	for _, c := range cases {
		want := oldJudge(uncached, c.q, c.c)
		report(c.name, "uncached", diffJudgement(want, uncached.Judge(c.q, c.c)))
		report(c.name, "cached miss", diffJudgement(want, cached.Judge(c.q, c.c)))
		report(c.name, "cached hit", diffJudgement(want, cached.Judge(c.q, c.c)))
		report(c.name, "JudgePrepared", diffJudgement(want, cached.JudgePrepared(cached.Prepare(c.q), c.c)))
	}
	for i := 0; i < len(cases); i += 8 {
		group := cases[i:min(i+8, len(cases))]
		cands := make([]Text, len(group))
		for k, g := range group {
			cands[k] = g.c
		}
		q := cached.Prepare(group[0].q)
		for k, got := range cached.JudgeMany(q, cands) {
			report(group[k].name, "JudgeMany", diffJudgement(oldJudge(cached, group[0].q, cands[k]), got))
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d comparisons differ", bad, 5*len(cases))
	}
}

func TestJudgeMatchesOldPathFixture(t *testing.T) {
	e, uncached := localJudge(t, -1)
	_, cached := localJudge(t, 64) // small: evictions happen
	pairs := readPairs(t, filepath.Join("..", "..", "fixtures", "cache", "pairs.tsv"))
	checkEquivalent(t, equivCases(t, e, pairs), uncached, cached)
	// Without a lexicon too (exact word matching, weights 1).
	noLex, noLexCached := judgeNoLex(t), judgeNoLex(t)
	noLex.cache = nil
	checkEquivalent(t, equivCases(t, e, pairs), noLex, noLexCached)
}

func TestJudgeMatchesOldPathShared(t *testing.T) {
	n := 3000
	if testing.Short() || raceEnabled {
		n = 300
	}
	pairs := sharedPairs(t, n)
	if len(pairs) == 0 {
		t.Skip("shared data not present at ../shared/data")
	}
	e, uncached := localJudge(t, -1)
	_, cached := localJudge(t, 512)
	checkEquivalent(t, equivCases(t, e, pairs), uncached, cached)
}

func TestJudgeMatchesOldPathLong(t *testing.T) {
	e, uncached := localJudge(t, -1)
	_, cached := localJudge(t, 0)
	long := longVariants(t)
	short := demoPrompts(t, 8)
	if testing.Short() || raceEnabled { // the reference takes ~20 ms a long pair, ten times that under -race
		long, short = long[:2], short[:2]
	}
	texts := append(append([]string(nil), long...), short...)
	v := embedAll(t, e, texts)
	var cases []equivCase
	for i := range texts {
		for k := range texts {
			if i < len(long) || k < len(long) { // short×short is covered by the other tests
				cases = append(cases, equivCase{fmt.Sprintf("text %d × text %d", i, k), Text{texts[i], v[i]}, Text{texts[k], v[k]}})
			}
		}
	}
	checkEquivalent(t, cases, uncached, cached)
}

// Other Lexicon implementations (no WordVectors) take the generic path.
type mapLexicon struct{ inner *pembed.Local }

func (m mapLexicon) Weight(w string) float64     { return m.inner.Weight(w) }
func (m mapLexicon) WordSim(a, b string) float64 { return m.inner.WordSim(a, b) }

func TestJudgeMatchesOldPathGenericLexicon(t *testing.T) {
	e, _ := localJudge(t, -1)
	j, err := NewJudge(JudgeOptions{Lexicon: mapLexicon{e}, AnalysisCache: -1})
	if err != nil {
		t.Fatal(err)
	}
	jc, err := NewJudge(JudgeOptions{Lexicon: mapLexicon{e}})
	if err != nil {
		t.Fatal(err)
	}
	pairs := readPairs(t, filepath.Join("..", "..", "fixtures", "cache", "pairs.tsv"))
	checkEquivalent(t, equivCases(t, e, pairs[:60]), j, jc)
}

func TestAnalysisCacheBounds(t *testing.T) {
	c := newAnalysisCache(3, 1<<20)
	for i := range 5 {
		s := fmt.Sprint("text ", i)
		c.put(s, analyze(s))
	}
	if c.len() != 3 {
		t.Fatalf("len %d, want 3", c.len())
	}
	if _, ok := c.get("text 0"); ok {
		t.Error("oldest entry not evicted")
	}
	c.get("text 2") // now most recent: text 3 is the LRU
	c.put("text 5", analyze("text 5"))
	if _, ok := c.get("text 2"); !ok {
		t.Error("recently used entry evicted")
	}
	if _, ok := c.get("text 3"); ok {
		t.Error("least recently used entry kept")
	}
	// The byte bound: one big text evicts the others; a text above the
	// whole budget is not cached at all.
	b := newAnalysisCache(100, analysisCost(strings.Repeat("x", 1000)))
	b.put("a", analyze("a"))
	big := strings.Repeat("x", 1000)
	b.put(big, analyze(big))
	if _, ok := b.get("a"); ok || b.len() != 1 {
		t.Errorf("byte bound not enforced: %d entries", b.len())
	}
	huge := strings.Repeat("y", 2000)
	b.put(huge, analyze(huge))
	if _, ok := b.get(huge); ok {
		t.Error("text above the whole budget was cached")
	}
}

func TestAnalysisCacheConcurrent(t *testing.T) {
	e, j := localJudge(t, 16)
	pairs := readPairs(t, filepath.Join("..", "..", "fixtures", "cache", "pairs.tsv"))
	cases := equivCases(t, e, pairs[:40])
	want := make([]Judgement, len(cases))
	for i, c := range cases {
		want[i] = oldJudge(j, c.q, c.c)
	}
	done := make(chan string)
	for g := range 4 {
		go func() {
			msg := ""
			for r := range 3 {
				for i := range cases {
					k := (i + g*11 + r) % len(cases)
					if d := diffJudgement(want[k], j.Judge(cases[k].q, cases[k].c)); d != "" && msg == "" {
						msg = cases[k].name + ": " + d
					}
				}
			}
			done <- msg
		}()
	}
	for range 4 {
		if m := <-done; m != "" {
			t.Error(m)
		}
	}
}

func FuzzJudgeMatchesOldPath(f *testing.F) {
	f.Add("What is the capital of France?", "What's the capital of Spain?")
	f.Add("Set a timer for 5 minutes", "Set a 5 min timer")
	f.Add(`grep "x" in os.path.join() --force`, "“quoted” U.S. WHO C++ 3rd")
	f.Add("Email bob@example.com about https://x.io/a?b=1", "upper case World Health Organization vs WHO uppercase")
	f.Add("don't enable 2FA before 3rd of May, 1,000.50 USD $", "Can't disable two-factor after the third of May")
	f.Add("", "")
	e, uncached := localJudge(f, -1)
	_, cached := localJudge(f, 8)
	f.Fuzz(func(t *testing.T, a, b string) {
		v := embedAll(t, e, []string{a, b})
		q, c := Text{Prompt: b, Vector: v[1]}, Text{Prompt: a, Vector: v[0]}
		want := oldJudge(uncached, q, c)
		if d := diffJudgement(want, uncached.Judge(q, c)); d != "" {
			t.Fatalf("uncached: %s", d)
		}
		if d := diffJudgement(want, cached.Judge(q, c)); d != "" {
			t.Fatalf("cached: %s", d)
		}
	})
}

// BenchmarkJudgePath compares the reference judge ("old") with the fast
// one, uncached ("new-cold": every text analysed on every call) and with
// its analysis cache warm ("new-warm": cached prompts analysed once, as in
// a running cache). query8 judges one query against the 8 candidates a
// lookup judges; the query is new on every iteration (a keystroke), the
// candidates are the demo traffic's first prompts.
func BenchmarkJudgePath(b *testing.B) {
	e, cold := localJudge(b, -1)
	_, warm := localJudge(b, 0)
	long := longText(b)
	shortQ := "How can I turn on two-factor authentication for my GitHub account?"
	shortC := "How do I enable two-factor authentication on my GitHub account?"
	longC := strings.Replace(long, "the", "a", 40)
	cands := demoPrompts(b, 8)
	v := embedAll(b, e, append([]string{shortQ, shortC, long, longC}, cands...))
	candTexts := make([]Text, len(cands))
	for i, c := range cands {
		candTexts[i] = Text{Prompt: c, Vector: v[4+i]}
	}
	pair := func(name string, q, c Text) {
		b.Run(name+"/old", func(b *testing.B) {
			for b.Loop() {
				oldJudge(cold, q, c)
			}
		})
		b.Run(name+"/new-cold", func(b *testing.B) {
			for b.Loop() {
				cold.Judge(q, c)
			}
		})
		b.Run(name+"/new-warm", func(b *testing.B) {
			for b.Loop() {
				warm.Judge(q, c)
			}
		})
	}
	pair("pair-short", Text{shortQ, v[0]}, Text{shortC, v[1]})
	pair("pair-2000tok", Text{long, v[2]}, Text{longC, v[3]})
	query8 := func(name, prompt string, qv []float32) {
		b.Run(name+"/old", func(b *testing.B) {
			i := 0
			for b.Loop() {
				q := Text{Prompt: fmt.Sprint(prompt, " v", i), Vector: qv}
				i++
				for _, c := range candTexts {
					oldJudge(cold, q, c)
				}
			}
		})
		b.Run(name+"/new-warm", func(b *testing.B) {
			i := 0
			for b.Loop() {
				q := Text{Prompt: fmt.Sprint(prompt, " v", i), Vector: qv}
				i++
				warm.JudgeMany(warm.Prepare(q), candTexts)
			}
		})
	}
	query8("query8-short", shortQ, v[0])
	query8("query8-2000tok", long, v[2])
}

// FuzzRawTokens checks the hand-written tokenizer against the regexp it
// replaced, on arbitrary (also invalid UTF-8) input.
func FuzzRawTokens(f *testing.F) {
	for _, s := range []string{"", "U.S. and don't-stop 3.5km", "naïve café ²³ ٣ 𝔘𝔫𝔦", "a\xffb\xc3", "’x’ -y- .z. 'w'", "Ⅻ \u00ad\u0301e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := oldReRawTok.FindAllStringIndex(s, -1)
		got := rawTokens(s)
		if len(got) != len(want) {
			t.Fatalf("%q: %d tokens %v, want %d %v", s, len(got), got, len(want), want)
		}
		for i := range got {
			if got[i][0] != want[i][0] || got[i][1] != want[i][1] {
				t.Fatalf("%q: token %d at %v, want %v", s, i, got[i], want[i])
			}
		}
	})
}

// FuzzAnalyzeMatchesOld checks the fast analysis (scanners, prefilters
// that skip regexps which cannot match, split code-token matching) against
// the reference: the same words, numbers, units, negators, runs and
// entities in the same order.
func FuzzAnalyzeMatchesOld(f *testing.F) {
	for _, s := range []string{
		"", "What is the capital of France?", `grep "x" in os.path.join() --force`, "“quoted” U.S. WHO C++ 3rd",
		"Email bob@example.com about https://x.io/a?b=1 and www.Go.dev", "a->b::c() snake_case x.y.z f# .NET c++17",
		"don't 'single quoted' it's -v --dry-run x-y 1,000.50km $3 50%", "\t'x' \n-flag\r'y'", "the World Health Organization (WHO)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, n := oldAnalyze(s), analyze(s)
		if !slices.Equal(o.words, n.words) || !slices.Equal(o.numbers, n.numbers) || !slices.Equal(o.units, n.units) || !slices.Equal(o.negators, n.negators) {
			t.Fatalf("%q: words/numbers/units/negators differ:\n%v %v %v %v\n%v %v %v %v", s, o.words, o.numbers, o.units, o.negators, n.words, n.numbers, n.units, n.negators)
		}
		if len(o.runs) != len(n.runs) {
			t.Fatalf("%q: %d runs, want %d", s, len(n.runs), len(o.runs))
		}
		for i := range o.runs {
			if o.runs[i].initials != n.runs[i].initials || !slices.Equal(o.runs[i].words, n.runs[i].words) {
				t.Fatalf("%q: run %d %+v, want %+v", s, i, n.runs[i], o.runs[i])
			}
		}
		if len(o.entities) != len(n.entities) {
			t.Fatalf("%q: entities %+v, want %+v", s, n.entities, o.entities)
		}
		for i, e := range o.entities {
			g := n.entities[i]
			if e.text != g.text || e.span != g.span || !slices.Equal(e.words, g.words) {
				t.Fatalf("%q: entity %d %+v, want %+v", s, i, g, e)
			}
		}
		for w := range o.compact {
			if !n.compact.contains(w) {
				t.Fatalf("%q: compact %q missing", s, w)
			}
		}
		if len(o.compact) != len(n.compact) || len(o.wordSet) != len(n.wordSet) || len(o.stems) != len(n.stems) || len(o.joins) != len(n.joins) {
			t.Fatalf("%q: set sizes differ", s)
		}
		for _, w := range n.uniq {
			if n.isName(w) != o.oldIsName(w) {
				t.Fatalf("%q: isName(%q) = %v", s, w, n.isName(w))
			}
		}
	})
}

// FuzzSegmentedRegexps checks findInSegments and replaceSpans against the
// plain regexps they stand in for.
func FuzzSegmentedRegexps(f *testing.F) {
	for _, s := range []string{"", "see https://x.io/a?b=1, or WWW.go.dev\tand <http://a>", "bob.smith+x@mail.example.co.uk, a@b", "a->b::c() snake_case x.y.z 3_4 f(x) obj.method()", "xhttps://y 'www.q' \"https://z\" httpſ://k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			re    *regexp.Regexp
			inSeg func(byte) bool
			may   func(string) bool
		}{{oldReURL, isURLByte, mayURL}, {oldReEmail, isEmailByte, mayEmail}, {oldReCodeTok, isCodeByte, mayCode}} {
			want := c.re.FindAllStringIndex(s, -1)
			got := findInSegments(c.re, s, c.inSeg, c.may)
			if len(got) != len(want) {
				t.Fatalf("%s on %q: %v, want %v", c.re, s, got, want)
			}
			for i := range got {
				if got[i][0] != want[i][0] || got[i][1] != want[i][1] {
					t.Fatalf("%s on %q: %v, want %v", c.re, s, got, want)
				}
			}
			if r, w := replaceSpans(s, got, " "), c.re.ReplaceAllString(s, " "); r != w {
				t.Fatalf("%s replace on %q: %q, want %q", c.re, s, r, w)
			}
		}
	})
}

// FuzzFindQuoted checks findQuoted against the unanchored pattern.
func FuzzFindQuoted(f *testing.F) {
	for _, s := range []string{"", `say "hi" and “there” or ` + "`code`", "'start' it's 'x'. 'y'! \t'z'", `"unclosed 'a' "b"`, "“x\"y” '", "\n'\n' ''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := oldReQuoted.FindAllStringSubmatch(s, -1)
		got := findQuoted(s)
		if len(got) != len(want) {
			t.Fatalf("%q: %q, want %q", s, got, want)
		}
		for i := range got {
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("%q: %q, want %q", s, got, want)
			}
		}
	})
}

// BenchmarkAnalysisMemory reports the heap an analysis holds, per byte of
// text, for a short prompt and a 2,000-token one (the basis of
// analysisCost), including a word-similarity memo filled by one lookup.
func BenchmarkAnalysisMemory(b *testing.B) {
	e, j := localJudge(b, -1)
	for _, tc := range []struct{ name, text string }{
		{"short", "How can I turn on two-factor authentication for my GitHub account?"},
		{"2000tok", longText(b)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			v := embedAll(b, e, []string{tc.text})[0]
			cands := demoPrompts(b, 8)
			var ms0, ms1 runtime.MemStats
			keep := make([]*analysis, 0, b.N)
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			for i := 0; i < b.N; i++ {
				a := j.analysis(tc.text + " ")
				for _, c := range cands {
					j.judge(j.analysis(c), nil, a, v) // fills a's memo as a cached entry's
				}
				keep = append(keep, a)
			}
			runtime.GC()
			runtime.ReadMemStats(&ms1)
			per := float64(ms1.HeapAlloc-ms0.HeapAlloc) / float64(len(keep))
			b.ReportMetric(per, "B/analysis")
			b.ReportMetric(per/float64(len(tc.text)), "B/textbyte")
			runtime.KeepAlive(keep)
		})
	}
}

// FuzzFindAnchored checks findAnchored against the unanchored number and
// flag patterns.
func FuzzFindAnchored(f *testing.F) {
	for _, s := range []string{"", "5", "-5 +3.25km x3 3rd, 1,000.50% é7 .5 a.5 _9", "-v --dry-run\t-x ---y a-b -", "€3 £4 $5.00 ٣ \xff7 x\xff-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			old     *regexp.Regexp
			at0, at *regexp.Regexp
			start   func(string, int, int) bool
		}{{oldReNumber, reNumberAt0, reNumberAt, numberStart}, {oldReFlag, reFlagAt0, reFlagAt, flagStart}} {
			want := c.old.FindAllStringSubmatch(s, -1)
			got := findAnchored(s, c.at0, c.at, c.start)
			if len(got) != len(want) {
				t.Fatalf("%s on %q: %q, want %q", c.old, s, got, want)
			}
			for i := range got {
				if !slices.Equal(got[i], want[i]) {
					t.Fatalf("%s on %q: %q, want %q", c.old, s, got, want)
				}
			}
		}
	})
}
