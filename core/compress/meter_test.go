package compress

import (
	"context"
	"math/rand"
	"strings"
	"testing"

	"github.com/pennyllm/penny/core/tokens"
)

// TestCountEditExact checks countEdit, which re-counts only the pieces
// that edits touch, against a whole count of the output: random edits
// (removals, replacements and insertions of text that makes and breaks
// piece boundaries) over every corpus at hand, for both exact encodings,
// several edits in a row as the pipeline applies them.
func TestCountEditExact(t *testing.T) {
	_, prompts := agentPrompts(t)
	prompts = append(prompts, emailPrompts(t, 12, 6000)...)
	prompts = append(prompts, prompt10k(t), longContext(), "a\nb\n\n1\n\nx\r\ny  \n\t\nz", "}\n/path\n{x\n", "", "\n", "x")
	withs := []string{"", "", " ", "\n", "\nA", "a\n", "/", "\n/", "  ", "\r\n", "é", "1", "'s", "\n\n", "…"}
	reg := tokens.NewRegistry()
	rnd := rand.New(rand.NewSource(1))
	for _, enc := range []tokens.Encoding{tokens.O200k, tokens.Cl100k} {
		cnt := reg.Encoding(enc)
		for i, p := range prompts {
			m := newMeter(cnt)
			cur := p
			m.countText(cur)
			for step := 0; step < 6; step++ {
				var es []edit
				for pos := 0; pos <= len(cur); {
					pos += rnd.Intn(max(1, len(cur)/(1+rnd.Intn(40))))
					if pos > len(cur) {
						break
					}
					end := min(len(cur), pos+rnd.Intn(8))
					if rnd.Intn(3) == 0 {
						end = pos
					}
					es = append(es, edit{start: pos, end: end, with: withs[rnd.Intn(len(withs))]})
					pos = end + 1
				}
				out := apply(cur, es)
				got, want := m.countEdit(out, es), cnt.Count(out).Tokens
				if got != want {
					t.Fatalf("%s prompt %d step %d: countEdit %d, whole %d (%d edits)", enc, i, step, got, want, len(es))
				}
				if rnd.Intn(4) > 0 {
					m.adopt(out)
					cur = out
				}
			}
		}
	}
}

// TestPipelineCountsExact checks the pipeline's own figures against whole
// counts on the corpora, budget mode included (it applies the most edits).
func TestPipelineCountsExact(t *testing.T) {
	_, prompts := agentPrompts(t)
	prompts = append(prompts, emailPrompts(t, 30, 6000)...)
	prompts = append(prompts, mmluPrompts(t, 1)[:20]...)
	budget := DefaultConfig()
	budget.BudgetRatio = 0.5
	cnt := counter()
	for _, cfg := range []Config{DefaultConfig(), budget} {
		c := mustNew(t, cfg, nil)
		for i, p := range prompts {
			r, err := c.Compress(context.Background(), p, cnt)
			if err != nil {
				t.Fatal(err)
			}
			if b, a := cnt.Count(p).Tokens, cnt.Count(r.Text).Tokens; b != r.TokensBefore || a != r.Tokens {
				t.Fatalf("prompt %d: whole counts %d → %d, reported %d → %d", i, b, a, r.TokensBefore, r.Tokens)
			}
		}
	}
}

// normKey is the reference for normHash and normEqual: the normalised
// copy they avoid building.
func normKey(s string) string {
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r', '\v', '\f':
			space = len(b) > 0
			continue
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		b = append(b, c)
	}
	return string(b)
}

func TestNormHashEqual(t *testing.T) {
	texts := []string{"", " ", "a", " A  b\n", "a b", "a\tb ", "ab", "A B C d", "  x\n\ny  ", "x y", "X Y", "xy "}
	_, agents := agentPrompts(t)
	for _, p := range agents {
		texts = append(texts, strings.Split(p, "\n")...)
	}
	for _, a := range texts {
		ka := normKey(a)
		h, n, w := normHash(a)
		words := 0
		if ka != "" {
			words = strings.Count(ka, " ") + 1
		}
		if n != len(ka) || w != words {
			t.Fatalf("%q: normHash n=%d words=%d, want %d %d", a, n, w, len(ka), words)
		}
		for _, b := range texts[:12] {
			kb := normKey(b)
			hb, _, _ := normHash(b)
			if normEqual(a, b) != (ka == kb) || (ka == kb) != (h == hb) && ka == kb {
				t.Fatalf("%q vs %q: normEqual %v, keys %q %q", a, b, normEqual(a, b), ka, kb)
			}
		}
	}
}
