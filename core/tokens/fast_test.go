package tokens

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tiktoken-go/tokenizer"
)

// hostile is an alphabet that exercises every branch of the fast paths
// and their hand-off to the general scanners: ASCII classes next to
// letters (é, ſ, Ǆ titlecase, ʰ modifier, 中 other letter), a combining
// mark, non-ASCII digits (², ٣) and whitespace (U+0085, U+00A0, U+3000),
// and apostrophes that may start contractions.
var hostile = []string{
	"a", "b", "s", "t", "l", "e", "Z", "R", "V", "L", "D", "0", "7", " ", " ", "  ", "\t", "\n", "\r", "\r\n",
	"\v", "\f", "'", "'", "/", ".", ",", "!", "-", "{", "\"", "é", "É", "ſ", "Ǆ", "ʰ", "中", "\u0301",
	"²", "٣", "\u0085", "\u00a0", "\u3000", "👩", "’",
}

func hostileString(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(hostile[rng.IntN(len(hostile))])
	}
	return b.String()
}

// piecesOf splits s with piece and returns the piece ends.
func piecesOf(s string, piece func(string, int) int) []int {
	var ends []int
	for i := 0; i < len(s); {
		i = piece(s, i)
		ends = append(ends, i)
	}
	return ends
}

func checkFastPieces(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		return
	}
	for _, c := range []struct {
		name          string
		fast, general func(string, int) int
	}{
		{"o200k", o200kFast, o200kPiece},
		{"cl100k", cl100kFast, cl100kPiece},
	} {
		// Compare at every start position, not only the ones a left-to-right
		// split reaches.
		for i := 0; i < len(s); i++ {
			if !utf8.RuneStart(s[i]) {
				continue
			}
			if f, g := c.fast(s, i), c.general(s, i); f != g {
				t.Fatalf("%s %q at %d: fast piece ends at %d, general at %d", c.name, s, i, f, g)
			}
		}
	}
}

// The ASCII fast paths must split exactly as the general scanners, which
// TestCountsMatchTiktoken checks against tiktoken's own ports.
func TestFastPiecesMatch(t *testing.T) {
	for _, c := range append(loadCorpus(t), loadCases(t, "random.json")...) {
		checkFastPieces(t, c.Text)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for range 20000 {
		checkFastPieces(t, hostileString(rng, 1+rng.IntN(12)))
	}
	// Real text of several scripts and formats.
	n := 0
	filepath.WalkDir("../../fixtures", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && len(b) < 1<<20 {
			checkFastPieces(t, string(b))
			n++
		}
		return nil
	})
	t.Logf("%d fixture files", n)
}

func FuzzFastPieces(f *testing.F) {
	f.Add("Hello, World! It's 2024.\n\n  x = {\"a\": [1, 2]}\r\n")
	f.Add(" ABCdef'S éa Ǆx ʰ中 ²3 \u00a0\u0085a")
	f.Add("'ſ 'LL 're\t\v\f/\n//")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		checkFastPieces(t, s)
	})
}

// The open-addressing rank table must return the library's rank for every
// token and no rank for anything else.
func TestRankTableMatchesLibrary(t *testing.T) {
	r := shared()
	for _, enc := range []Encoding{O200k, Cl100k} {
		c, err := tokenizer.Get(tokenizer.Encoding(enc))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{}
		for id := range maxTokenID {
			s, err := c.Decode([]uint{uint(id)})
			if err != nil || s == "" {
				continue
			}
			want[s] = id
		}
		tb := r.table(enc)
		for s, id := range want {
			if got := tb.rank(s); got != id {
				t.Fatalf("%s %q: rank %d, want %d", enc, s, got, id)
			}
		}
		// Misses and hits among substrings of real and random text, and
		// every token with a byte appended or removed.
		probes := 0
		check := func(s string) {
			probes++
			id, ok := want[s]
			if !ok {
				id = noRank
			}
			if got := tb.rank(s); got != id {
				t.Fatalf("%s %q: rank %d, want %d", enc, s, got, id)
			}
		}
		for s := range want {
			check(s + "x")
			check(s[:len(s)-1])
			check(s + s)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for _, cs := range append(loadCorpus(t), loadCases(t, "random.json")...) {
			txt := cs.Text
			for range 200 {
				if len(txt) == 0 {
					break
				}
				a := rng.IntN(len(txt))
				b := min(len(txt), a+1+rng.IntN(24))
				check(txt[a:b])
			}
		}
		t.Logf("%s: %d tokens, %d probes", enc, len(want), probes)
	}
}
