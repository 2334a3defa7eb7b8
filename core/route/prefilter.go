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
type literal struct {
	s    string
	fold bool
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
		return []literal{{s, fold}}
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

// foldText lowers ASCII letters and maps the two non-ASCII runes whose case
// folds are ASCII letters (KELVIN SIGN → k, LATIN SMALL LETTER LONG S → s),
// so a case-folded ASCII literal occurs in foldText(t) whenever a
// case-insensitive match of it occurs in t.
func foldText(t string) string {
	upper, nonASCII := false, false
	for i := 0; i < len(t); i++ {
		if c := t[i]; c >= utf8.RuneSelf {
			nonASCII = true
		} else if c >= 'A' && c <= 'Z' {
			upper = true
		}
	}
	if nonASCII {
		t = strings.ReplaceAll(t, "\u212a", "k")
		t = strings.ReplaceAll(t, "\u017f", "s")
	} else if !upper {
		return t
	}
	b := []byte(t)
	for i, c := range b {
		b[i] = lowerByte[c]
	}
	return string(b)
}

// passes reports whether text (and its folded form, computed on demand)
// contains one of the literals; no literals means no prefilter.
func passes(lits []literal, text string, folded *string, haveFolded *bool) bool {
	if lits == nil {
		return true
	}
	for _, l := range lits {
		if l.fold {
			if !*haveFolded {
				*folded, *haveFolded = foldText(text), true
			}
			if strings.Contains(*folded, l.s) {
				return true
			}
		} else if strings.Contains(text, l.s) {
			return true
		}
	}
	return false
}
