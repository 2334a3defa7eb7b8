package route

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// A regular expression scans an 8 KB prompt at well under 100 MB/s once it
// has no literal prefix (case-insensitive patterns never do), so one rule
// could cost the whole scoring budget. Most rules do not match most prompts:
// a prefilter of literals that every match must contain rejects those with
// strings.Contains, which runs at memory speed, and the regexp runs only on
// prompts that pass.

// literal is a string every match contains, compared case-folded or exactly.
// pivot is the position of its rarest byte in English text: the search
// jumps between occurrences of that byte with strings.IndexByte (vectorized)
// and compares the literal around each, so a case-insensitive test needs
// neither a lower-cased copy of the prompt nor a byte-by-byte loop.
type literal struct {
	s     string
	fold  bool
	pivot int
}

func newLiteral(s string, fold bool) literal {
	l := literal{s: s, fold: fold}
	for i := 1; i < len(s); i++ {
		if byteRank(s[i]) < byteRank(s[l.pivot]) {
			l.pivot = i
		}
	}
	return l
}

// englishByFrequency orders lower-case letters and the space from most to
// least frequent in English prose.
const englishByFrequency = " etaoinshrdlcumwfgypbvkjxqz"

// byteRank is lower for rarer bytes. Letters rank by English frequency;
// digits and punctuation are rarer in prose than most letters, so they
// rank below all but the rarest five.
func byteRank(c byte) int {
	if i := strings.IndexByte(englishByFrequency, lowerByte[c]); i >= 0 {
		return 100 + len(englishByFrequency) - i
	}
	return 105
}

// requiredLiterals returns literals of which at least one occurs in every
// match of pattern (as compiled with the given case sensitivity), or nil
// when no such set is known.
func requiredLiterals(pattern string, caseSensitive bool) []literal {
	flags := syntax.Perl
	if !caseSensitive {
		flags |= syntax.FoldCase
	}
	re, err := syntax.Parse(pattern, flags)
	if err != nil {
		return nil
	}
	return required(re.Simplify())
}

func required(re *syntax.Regexp) []literal {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if s == "" || !ascii(s) {
			// Non-ASCII letters have case folds that ASCII lowering would
			// miss; leave such patterns to the regexp alone.
			return nil
		}
		fold := re.Flags&syntax.FoldCase != 0
		if fold {
			s = strings.ToLower(s)
		}
		return []literal{newLiteral(s, fold)}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
		return nil
	case syntax.OpConcat:
		// Any child's set will do; take the one whose shortest literal is
		// longest, as it rejects the most prompts.
		var best []literal
		bestLen := 0
		for _, sub := range re.Sub {
			ls := required(sub)
			if ls == nil {
				continue
			}
			m := len(ls[0].s)
			for _, l := range ls {
				m = min(m, len(l.s))
			}
			if m > bestLen {
				best, bestLen = ls, m
			}
		}
		return best
	case syntax.OpAlternate:
		var all []literal
		for _, sub := range re.Sub {
			ls := required(sub)
			if ls == nil {
				return nil
			}
			all = append(all, ls...)
		}
		return all
	}
	return nil
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldState is what the case-insensitive prefilter learns about one
// prompt, computed on first need and shared by all rules.
type foldState struct {
	checked bool
	// special: the prompt holds KELVIN SIGN or LATIN SMALL LETTER LONG S,
	// the two non-ASCII runes whose case folds are ASCII letters (k, s).
	// Literals containing k or s are then matched against a folded copy.
	special bool
	folded  string
}

func (f *foldState) check(text string) {
	if f.checked {
		return
	}
	f.checked = true
	if strings.Contains(text, "\u212a") || strings.Contains(text, "\u017f") {
		f.special = true
		f.folded = foldText(text)
	}
}

// foldText lowers ASCII letters and maps KELVIN SIGN → k and LATIN SMALL
// LETTER LONG S → s, so a case-folded ASCII literal occurs in foldText(t)
// whenever a case-insensitive match of it occurs in t.
func foldText(t string) string {
	t = strings.ReplaceAll(t, "\u212a", "k")
	t = strings.ReplaceAll(t, "\u017f", "s")
	b := []byte(t)
	for i, c := range b {
		b[i] = lowerByte[c]
	}
	return string(b)
}

// passes reports whether text contains one of the literals; no literals
// means no prefilter.
func passes(lits []literal, text string, fs *foldState) bool {
	if lits == nil {
		return true
	}
	for _, l := range lits {
		if !l.fold {
			if strings.Contains(text, l.s) {
				return true
			}
			continue
		}
		if strings.ContainsAny(l.s, "ks") {
			if fs.check(text); fs.special {
				if strings.Contains(fs.folded, l.s) {
					return true
				}
				continue
			}
		}
		if containsFold(text, l) {
			return true
		}
	}
	return false
}

// containsFold reports whether text contains l.s ignoring ASCII case; l.s
// is lower-case ASCII.
func containsFold(text string, l literal) bool {
	c := l.s[l.pivot]
	if c >= 'a' && c <= 'z' {
		return containsAt(text, l, c) || containsAt(text, l, c-'a'+'A')
	}
	return containsAt(text, l, c)
}

// containsAt tries every occurrence of c in text as the literal's pivot.
func containsAt(text string, l literal, c byte) bool {
	n := len(l.s)
	for off := l.pivot; off < len(text); {
		j := strings.IndexByte(text[off:], c)
		if j < 0 {
			return false
		}
		start := off + j - l.pivot
		if start+n > len(text) {
			return false
		}
		if equalFoldASCII(text[start:start+n], l.s) {
			return true
		}
		off += j + 1
	}
	return false
}

// equalFoldASCII compares s with the lower-case ASCII lit, folding s.
func equalFoldASCII(s, lit string) bool {
	for i := 0; i < len(lit); i++ {
		if lowerByte[s[i]] != lit[i] {
			return false
		}
	}
	return true
}
