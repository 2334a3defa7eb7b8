package tokens

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/tiktoken-go/tokenizer"
)

// shared is one registry for the tests that do not test loading itself:
// each load decodes ~300,000 token ids.
var shared = sync.OnceValue(NewRegistry)

type corpusCase struct {
	Name   string `json:"name"`
	Text   string `json:"text"`
	O200k  int    `json:"o200k_base"`
	Cl100k int    `json:"cl100k_base"`
}

// loadCorpus reads testdata/corpus.json: texts with counts produced by two
// independent JavaScript tiktoken ports (see testdata/gen_expected.mjs).
func loadCorpus(t testing.TB) []corpusCase { return loadCases(t, "corpus.json") }

func loadCases(t testing.TB, file string) []corpusCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []corpusCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(doc.Cases) < 15 {
		t.Fatalf("corpus has %d cases", len(doc.Cases))
	}
	return doc.Cases
}

func TestCountsMatchTiktoken(t *testing.T) {
	r := shared()
	// random.json: 600 random strings over a pre-tokenizer-hostile alphabet
	// and six long single pieces (see its "about").
	for _, c := range append(loadCorpus(t), loadCases(t, "random.json")...) {
		for _, tc := range []struct {
			model string
			enc   Encoding
			want  int
		}{
			{"gpt-4o", O200k, c.O200k},
			{"gpt-4-turbo", Cl100k, c.Cl100k},
		} {
			got := r.ForModel(tc.model).Count(c.Text)
			if got.Tokens != tc.want || !got.Exact || got.Tokenizer != string(tc.enc) {
				t.Errorf("%s/%s: got %+v, want %d tokens (exact)", c.Name, tc.enc, got, tc.want)
			}
		}
	}
}

// tiktoken-go v0.10.0, whose regex engine splits whitespace runs
// differently, gets this corpus case wrong; penny's own splitter must not.
func TestWhitespaceRunIsOnePiece(t *testing.T) {
	r := shared()
	for enc, want := range map[Encoding]int{Cl100k: 2, O200k: 2} {
		// One piece "\n \n  \n\n" (\s*[\r\n]+ backtracks to the last
		// newline), which BPE splits into "\n \n" and "  \n\n".
		if got := r.Encoding(enc).Count("\n \n  \n\n").Tokens; got != want {
			t.Errorf("%s: %d tokens, want %d", enc, got, want)
		}
	}
}

// The heap merge used for long pieces must agree with the simple scan.
func TestMergeHeapEqualsScan(t *testing.T) {
	r := shared()
	pieces := []string{"", "a", "ab", "aaaa", "hello", "Donaudampfschifffahrt", "     ", "\n\n\n", "中文字符", "👩🏽‍💻"}
	for _, c := range loadCases(t, "random.json") {
		pieces = append(pieces, c.Text)
		if len(c.Text) > 100 {
			pieces = append(pieces, c.Text[:100])
		}
	}
	for _, enc := range []Encoding{O200k, Cl100k} {
		tb := r.table(enc)
		for _, p := range pieces {
			if !utf8.ValidString(p) {
				continue
			}
			if p == "" {
				continue
			}
			if s, h := tb.mergeScan(p, nil, nil), tb.mergeHeap(p); s != h {
				t.Errorf("%s %q: scan %d, heap %d", enc, p, s, h)
			}
		}
	}
}

func BenchmarkLoadTable(b *testing.B) {
	for _, enc := range []Encoding{O200k, Cl100k} {
		b.Run(string(enc), func(b *testing.B) {
			for b.Loop() {
				if _, err := loadTable(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestFamily(t *testing.T) {
	for _, tc := range []struct {
		model string
		enc   Encoding
		exact bool
		name  string
	}{
		{"gpt-4o", O200k, true, "openai-o200k"},
		{"gpt-4o-mini-2024-07-18", O200k, true, "openai-o200k"},
		{"gpt-4.1", O200k, true, "openai-o200k"},
		{"gpt-4.1-nano", O200k, true, "openai-o200k"},
		{"gpt-5", O200k, true, "openai-o200k"},
		{"gpt-5-mini", O200k, true, "openai-o200k"},
		{"o1", O200k, true, "openai-o200k"},
		{"o1-mini", O200k, true, "openai-o200k"},
		{"o3", O200k, true, "openai-o200k"},
		{"o3-mini-2025-01-31", O200k, true, "openai-o200k"},
		{"o4-mini", O200k, true, "openai-o200k"},
		{"openai/gpt-4o", O200k, true, "openai-o200k"},
		{"openrouter/openai/o3", O200k, true, "openai-o200k"},
		{"ft:gpt-4o-mini:acme::abc123", O200k, true, "openai-o200k"},
		{"GPT-4O", O200k, true, "openai-o200k"},
		{"gpt-4", Cl100k, true, "openai-cl100k"},
		{"gpt-4-turbo", Cl100k, true, "openai-cl100k"},
		{"gpt-4-0613", Cl100k, true, "openai-cl100k"},
		{"gpt-3.5-turbo", Cl100k, true, "openai-cl100k"},
		{"azure/gpt-35-turbo", Cl100k, true, "openai-cl100k"},
		{"text-embedding-3-small", Cl100k, true, "openai-cl100k"},
		{"text-embedding-3-large", Cl100k, true, "openai-cl100k"},
		{"text-embedding-ada-002", Cl100k, true, "openai-cl100k"},
		{"claude-3-haiku", Cl100k, false, "claude"},
		{"claude-sonnet-4-5-20250929", Cl100k, false, "claude"},
		{"gemini-2.5-pro", O200k, false, "gemini"},
		{"gemini/gemini-2.0-flash", O200k, false, "gemini"},
		{"llama-3-70b", Cl100k, false, "llama"},
		{"groq/llama-3.3-70b-versatile", Cl100k, false, "llama"},
		{"mistral-large-2411", Cl100k, false, "other"},
		{"deepseek-chat", Cl100k, false, "other"},
		{"o", Cl100k, false, "other"},
		{"omni-model", Cl100k, false, "other"},
		{"", Cl100k, false, "other"},
	} {
		f := Family(tc.model)
		if f.Encoding != tc.enc || f.Exact != tc.exact || f.Name != tc.name {
			t.Errorf("Family(%q) = %+v, want %s exact=%v %s", tc.model, f, tc.enc, tc.exact, tc.name)
		}
	}
}

func TestEstimatesAreLabelled(t *testing.T) {
	r := shared()
	text := loadCorpus(t)[2].Text // English prose
	base := r.Encoding(Cl100k).Count(text).Tokens
	for _, model := range []string{"claude-3-haiku", "gemini-2.5-flash", "llama-3-70b", "mistral-small-latest"} {
		c := r.ForModel(model).Count(text)
		if c.Exact || !strings.HasPrefix(c.Tokenizer, "estimate:") {
			t.Errorf("%s: %+v is not labelled as an estimate", model, c)
		}
		fam := Family(model)
		want := int(float64(r.Encoding(fam.Encoding).Count(text).Tokens)*fam.Factor + 0.5)
		if c.Tokens != want {
			t.Errorf("%s: %d tokens, want %d (factor %.2f)", model, c.Tokens, want, fam.Factor)
		}
	}
	if c := r.ForModel("claude-3-haiku").Count(text); c.Tokens <= base {
		t.Errorf("claude estimate %d not above cl100k %d", c.Tokens, base)
	}
}

// Counters are shared by the TUI, the CLI and SSH sessions; run with -race.
func TestConcurrentCount(t *testing.T) {
	r := NewRegistry()
	cases := loadCorpus(t)
	big := strings.Repeat(cases[2].Text+"\n", 200) // a long text, counted concurrently below
	wantBig := shared().Encoding(O200k).(bpe).countOne(big)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, c := range cases {
				if (i+g)%2 == 0 {
					if n := r.ForModel("gpt-4o").Count(c.Text).Tokens; n != c.O200k {
						errs <- fmt.Sprintf("%s o200k: %d want %d", c.Name, n, c.O200k)
					}
				} else if n := r.ForModel("gpt-3.5-turbo").Count(c.Text).Tokens; n != c.Cl100k {
					errs <- fmt.Sprintf("%s cl100k: %d want %d", c.Name, n, c.Cl100k)
				}
			}
			if n := r.ForModel("o3").Count(big).Tokens; n != wantBig {
				errs <- fmt.Sprintf("big: %d want %d", n, wantBig)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// countParallel is what a caller of SplitSafe would do: count chunks of
// about target bytes on GOMAXPROCS goroutines.
func countParallel(c Counter, text string, target int) int {
	chunks := SplitSafe(text, target)
	var (
		next  atomic.Int64
		total atomic.Int64
		wg    sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), len(chunks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(chunks) {
					return
				}
				total.Add(int64(c.Count(chunks[i]).Tokens))
			}
		}()
	}
	wg.Wait()
	return int(total.Load())
}

// sumChunks counts each chunk of SplitSafe(text, target) on its own.
func sumChunks(b bpe, text string, target int) (int, int) {
	chunks := SplitSafe(text, target)
	n := 0
	for _, c := range chunks {
		n += b.countOne(c)
	}
	return n, len(chunks)
}

func codecs() []bpe {
	r := shared()
	return []bpe{r.Encoding(O200k).(bpe), r.Encoding(Cl100k).(bpe)}
}

func TestSplitSafeCorpus(t *testing.T) {
	for _, c := range loadCorpus(t) {
		chunks := SplitSafe(c.Text, 1) // cut at every safe boundary
		if strings.Join(chunks, "") != c.Text {
			t.Fatalf("%s: chunks do not reassemble the text", c.Name)
		}
		for _, b := range codecs() {
			if n, k := sumChunks(b, c.Text, 1); n != b.countOne(c.Text) {
				t.Errorf("%s %s: %d chunks sum to %d, whole text %d", c.Name, b.name, k, n, b.countOne(c.Text))
			}
		}
	}
	// The cut rule itself.
	for in, want := range map[string]string{
		"a\nb":       "a\n|b",
		"a\n\nB c":   "a\n\n|B c",
		"a.\n7 x":    "a.\n|7 x",
		"a\n b\n-c":  "a\n b\n-c", // space, punctuation: no cut
		"a\r\nÉ\n日本": "a\r\n|É\n|日本",
		"no newline": "no newline",
		"trailing\n": "trailing\n",
	} {
		if got := strings.Join(SplitSafe(in, 1), "|"); got != want {
			t.Errorf("SplitSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// sharedData returns ../shared/data relative to the repository root, or
// skips the test when it is absent.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data %s not available: %v", rel, err)
	}
	return p
}

// realText concatenates the STS sentence files: about 4 MB of English
// news, forum posts, image captions and tweets, one pair per line.
func realText(t testing.TB, limit int) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sharedData(t, "sts"), "*", "*.t[sx][vt]"))
	if err != nil || len(files) == 0 {
		t.Skipf("no STS files: %v", err)
	}
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		if b.Len() >= limit {
			break
		}
	}
	s := b.String()
	if len(s) > limit {
		s = s[:limit]
		for !utf8.ValidString(s) { // do not cut inside a rune
			s = s[:len(s)-1]
		}
	}
	return s
}

func TestSplitSafeRealText(t *testing.T) {
	if testing.Short() {
		t.Skip("counts several MB of text")
	}
	text := realText(t, 2<<20)
	for _, b := range codecs() {
		whole := b.countOne(text)
		n, k := sumChunks(b, text, 1)
		par := countParallel(b, text, 32<<10)
		t.Logf("%s: %d bytes, %d tokens whole, %d chunks sum %d, parallel %d", b.name, len(text), whole, k, n, par)
		if n != whole || par != whole {
			t.Errorf("%s: whole %d, every-boundary chunks %d, parallel %d", b.name, whole, n, par)
		}
		if k < 1000 {
			t.Errorf("%s: only %d chunks: the equality above proves little", b.name, k)
		}
	}
}

func FuzzSplitSafe(f *testing.F) {
	for _, c := range loadCorpus(f) {
		f.Add(c.Text)
	}
	f.Add("x\n\n\ny\r\n\r\nz\n 1\n2\n'\ns\n/\nq")
	cs := codecs()
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) || len(text) > 4096 {
			return
		}
		for _, b := range cs {
			if n, _ := sumChunks(b, text, 1); n != b.countOne(text) {
				t.Fatalf("%s: chunks sum to %d, whole %d for %q (chunks %q)", b.name, n, b.countOne(text), text, SplitSafe(text, 1))
			}
		}
	})
}

// benchText is 1 MiB of real English (the STS files) when the shared data
// is present, else the corpus's English prose repeated.
func benchText(b *testing.B) string {
	const size = 1 << 20
	p := filepath.Join("..", "..", "..", "shared", "data", "sts")
	if _, err := os.Stat(p); err == nil {
		return realText(b, size)
	}
	prose := loadCorpus(b)[2].Text + "\n\n"
	return strings.Repeat(prose, size/len(prose)+1)[:size]
}

// BenchmarkCount1MiB: "serial" is penny's splitter and merge on the whole
// text in one goroutine, "parallel" is what Counter.Count does (chunks at
// safe boundaries on GOMAXPROCS goroutines), "tiktoken-go" is the
// library's own Count, for comparison (its counts differ on some
// whitespace runs, see bpe.go).
func BenchmarkCount1MiB(b *testing.B) {
	text := benchText(b)
	for _, c := range codecs() {
		b.Run(c.name+"/tiktoken-go", func(b *testing.B) {
			lib, err := tokenizer.Get(tokenizer.Encoding(c.name))
			if err != nil {
				b.Fatal(err)
			}
			lib.Count("warm up")
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := lib.Count(text); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/serial", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				c.countOne(text)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				countParallel(c, text, 32<<10)
			}
		})
	}
}

// BenchmarkCount2000Tokens is the playground's per-keystroke case.
func BenchmarkCount2000Tokens(b *testing.B) {
	text := benchText(b)[:8600] // ≈2,000 o200k tokens of English
	c := shared().ForModel("gpt-4o")
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		c.Count(text)
	}
}

// FuzzMerge checks the heap merge against the quadratic scan on arbitrary
// pieces (the counter uses the heap only from heapMin bytes on).
func FuzzMerge(f *testing.F) {
	f.Add("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Add("Donaudampfschifffahrtsgesellschaftskapitän")
	f.Add(" \n \n  \t\t\r\n")
	f.Add("中文字符👩🏽‍💻")
	cs := codecs()
	f.Fuzz(func(t *testing.T, p string) {
		if p == "" || len(p) > 2048 {
			return
		}
		for _, b := range cs {
			if s, h := b.table.mergeScan(p, nil, nil), b.table.mergeHeap(p); s != h {
				t.Fatalf("%s %q: scan %d, heap %d", b.name, p, s, h)
			}
		}
	})
}
