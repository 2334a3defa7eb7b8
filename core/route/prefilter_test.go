package route

import (
	"regexp"
	"testing"
)

var prefilterPatterns = []struct {
	pat string
	cs  bool
}{
	{`\b(kubectl|helm|kubernetes)\b`, false},
	{`^\s*(hi|hello|thanks)\b`, false},
	{`foo(bar)+baz`, false},
	{`URGENT`, true},
	{`(?-i:Exact)|other`, false},
	{`a*`, false},
	{`x{2,}y`, false},
	{`straße`, false},
	{`(sql|select .* from)`, false},
}

func checkPrefilter(t *testing.T, text string) {
	for _, p := range prefilterPatterns {
		expr := p.pat
		if !p.cs {
			expr = "(?i)" + expr
		}
		re := regexp.MustCompile(expr)
		lits := requiredLiterals(p.pat, p.cs)
		var folded string
		var have bool
		if re.MatchString(text) && !passes(lits, text, &folded, &have) {
			t.Errorf("pattern %q matches %q but the prefilter %v rejects it", p.pat, text, lits)
		}
	}
}

func TestPrefilterNeverRejectsAMatch(t *testing.T) {
	for _, text := range []string{
		"run KUBECTL get pods", "Hello there", "FOOBARBARBAZ", "this is URGENT", "Exact", "EXACT other",
		"xxY", "STRASSE straße", "SELECT a FROM b", "\u212aubectl apply", "thank\u017f",
	} {
		checkPrefilter(t, text)
	}
	if lits := requiredLiterals(`\b(kubectl|helm)\b`, false); len(lits) != 2 || lits[0].s != "kubectl" || !lits[0].fold {
		t.Errorf("literals = %+v", lits)
	}
	if lits := requiredLiterals(`a*`, false); lits != nil {
		t.Errorf("a* has no required literal, got %+v", lits)
	}
}

func FuzzPrefilter(f *testing.F) {
	f.Add("kubectl HELM hi")
	f.Add("\u212aUBECTL")
	f.Fuzz(func(t *testing.T, text string) { checkPrefilter(t, text) })
}
