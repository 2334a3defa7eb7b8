package route

import (
	"math/rand/v2"
	"regexp"
	"strings"
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
		var fs foldState
		if re.MatchString(text) && !passes(lits, text, &fs) {
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
	if lits := requiredLiterals(`\b(kubectl|helm)\b`, false); len(lits) != 2 || lits[0].s != "kubectl" || !lits[0].fold || lits[0].s[lits[0].pivot] != 'k' {
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

// containsFold must agree with searching a lower-cased copy, whichever
// byte of the literal is the pivot and wherever the matches sit.
func TestContainsFoldMatchesLowercasedSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "aAbBkKqQzZ .-1"
	for n := 0; n < 20000; n++ {
		text := make([]byte, rng.IntN(24))
		for i := range text {
			text[i] = alphabet[rng.IntN(len(alphabet))]
		}
		lit := make([]byte, 1+rng.IntN(4))
		for i := range lit {
			lit[i] = lowerByte[alphabet[rng.IntN(len(alphabet))]]
		}
		l := newLiteral(string(lit), true)
		want := strings.Contains(strings.ToLower(string(text)), l.s)
		if got := containsFold(string(text), l); got != want {
			t.Fatalf("containsFold(%q, %q pivot %d) = %v, want %v", text, l.s, l.pivot, got, want)
		}
	}
}
