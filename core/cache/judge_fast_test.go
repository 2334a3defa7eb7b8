package cache

import (
	"math"
	"testing"
)

// refChar3 is char3Dot as it was before trigrams were packed: string
// keys, summed over the smaller map in first-occurrence order.
func refChar3(a, b *analysis, lex Lexicon) (float64, float64, float64) {
	weight := func(w string) float64 {
		if lex == nil {
			return 1
		}
		return lex.Weight(w)
	}
	ta, ka := trigrams(a.words, weight)
	tb, kb := trigrams(b.words, weight)
	var na, nb float64
	for _, g := range ka {
		na += ta[g] * ta[g]
	}
	for _, g := range kb {
		nb += tb[g] * tb[g]
	}
	if na == 0 || nb == 0 {
		return 0, na, nb
	}
	small, large, keys := ta, tb, ka
	if len(kb) < len(ka) {
		small, large, keys = tb, ta, kb
	}
	var d float64
	for _, g := range keys {
		d += small[g] * large[g]
	}
	return d / math.Sqrt(na*nb), na, nb
}

// TestChar3MatchesMaps checks the packed trigram counts (and the mixed
// path, when a text has a trigram longer than 8 bytes) against the map
// version bit for bit: norms and cosines.
func TestChar3MatchesMaps(t *testing.T) {
	e, _ := localJudge(t, -1)
	texts := append(demoPrompts(t, 60),
		"", "a", "Ünïcödé wörds and ÆØÅ", "日本語のテキスト and 中文", "naïve café 東京 x", "Ωμέγα Δέλτα λ", "emoji 🙂🙂 text",
		"repeat repeat repeat the the the", "ab ab abab", "Привет мир, как дела?", "x\xffy ½ ²³ ٣")
	bad := 0
	for _, lex := range []Lexicon{nil, e} {
		as := make([]*analysis, len(texts))
		for i, s := range texts {
			as[i] = analyze(s)
			as[i].lx = newLexData(as[i], lex)
		}
		for i := range as {
			for k := range as {
				want, na, nb := refChar3(as[i], as[k], lex)
				if na != as[i].lx.triNorm || nb != as[k].lx.triNorm {
					t.Errorf("%q: norm %v, want %v", texts[i], as[i].lx.triNorm, na)
					bad++
				}
				if got := char3Dot(as[i].lx, as[k].lx); math.Float64bits(got) != math.Float64bits(want) {
					t.Errorf("%q × %q: char3 %v, want %v", texts[i], texts[k], got, want)
					bad++
				}
				if bad > 10 {
					t.FailNow()
				}
			}
		}
	}
	packed := 0
	for _, s := range texts {
		a := analyze(s)
		a.lx = newLexData(a, nil)
		if a.lx.triPacked {
			packed++
		}
	}
	if packed == len(texts) || packed == 0 {
		t.Errorf("%d of %d texts packed: both forms must be exercised", packed, len(texts))
	}
}
