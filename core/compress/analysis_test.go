package compress

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
)

// TestAnalysisCache checks that an analysis reusing a call's cache (line
// units, JSON validity) equals a fresh one, on every intermediate text the
// pipeline produces for the corpora.
func TestAnalysisCache(t *testing.T) {
	_, prompts := agentPrompts(t)
	prompts = append(prompts, emailPrompts(t, 12, 6000)...)
	prompts = append(prompts, prompt10k(t))
	budget := DefaultConfig()
	budget.BudgetRatio = 0.5
	budget.JSONTable = true
	c := mustNew(t, budget, nil)
	for i, p := range prompts {
		r, err := c.Compress(context.Background(), p, counter())
		if err != nil {
			t.Fatal(err)
		}
		ac := newAnalysisCache()
		for k, txt := range []string{p, r.Text, p, r.Text + "\n\nMore?"} {
			got, want := analyzeWith(txt, ac), analyze(txt)
			got.cache, want.cache = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("prompt %d text %d: cached analysis differs", i, k)
			}
		}
	}
}

// TestUnitsSorted checks the merge of code, line and question units
// against a stable sort, the order it replaces.
func TestUnitsSorted(t *testing.T) {
	_, prompts := agentPrompts(t)
	prompts = append(prompts, emailPrompts(t, 12, 6000)...)
	for i, p := range prompts {
		us := Protected(p)
		for k := 1; k < len(us); k++ {
			if us[k].Start < us[k-1].Start || us[k].Start == us[k-1].Start && us[k-1].Kind == UnitQuestion {
				t.Fatalf("prompt %d: units out of order at %d", i, k)
			}
		}
	}
}

// TestEntityStartersContextFree: a name keeps the same unit text whether
// or not the starters before it are there. Budget mode reduced "…wish To
// Be Removed From Our Mailing List…" to the residue "Be Removed From Our
// Mailing List", whose unit the next run read as "Removed From Our
// Mailing List", so it stripped "Be" and the output was not a fixed point.
func TestEntityStartersContextFree(t *testing.T) {
	want := "Removed From Our Mailing List"
	for _, in := range []string{
		"Readers who wish To Be Removed From Our Mailing List can write.",
		"Be Removed From Our Mailing List … Who Wish To Stay",
		"Removed From Our Mailing List",
	} {
		found := false
		for _, u := range Protected(in) {
			if u.Kind == UnitEntity && u.Text == want {
				found = true
			}
		}
		if !found {
			t.Errorf("%q: no entity %q in %v", in, want, Protected(in))
		}
	}
}

// TestKeptIn: a unit counts as kept by an output only where the output
// protects it too, so that compressing the output again cannot remove it.
// "RE" (from "Subject: RE: …") survived a removal only inside
// "SIGNATURE"; the next run dropped that line and the unit with it.
func TestKeptIn(t *testing.T) {
	for _, c := range []struct {
		out, unit string
		want      bool
	}{
		{"-----BEGIN PGP SIGNATURE-----\n\nWhere?", "RE", false},
		{"Subject: RE: lunch\n\nWhere?", "RE", true},
		{"It costs 340 EUR.\n\nWhy?", "4", true}, // inside the number unit "340 EUR"
		{"Data:\n\niQA/AwUBPT+eg8PxH8jf3ohaEQJaJACferw1H2dZWXUEkFKdJ3bVpSJ5QnQAoPoD\n+oIb0wFbSjKC4hdc/DSjPkvj\n\nWhy?", "4", false}, // base64 body
		{"Rooms 4 and 340.\n\nWhy?", "4", true},
		{"Version 2.4.1 is out.\n\nWhy?", "4", true}, // inside the number unit "2.4.1"
		{"See \"Acme Corp\" now.", "Acme", true},
	} {
		k := keptIn{out: c.out}
		if got := k.has(c.unit); got != c.want {
			t.Errorf("%q in %q: %v, want %v", c.unit, c.out, got, c.want)
		}
	}
}

// TestEncodedRuns: a base64 body holds no units (budget mode may drop it),
// while a single token, a hex digest or prose stays protected.
func TestEncodedRuns(t *testing.T) {
	body := "iQA/AwUBPT+eg8PxH8jf3ohaEQJaJACferw1H2dZWXUEkFKdJ3bVpSJ5QnQAoPoD\n" +
		"R0lGODlhAQABAIAAAAAAAP8AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n+oIb0wFbSjKC4hdc/DSjPkvj\n"
	for _, u := range Protected("Attachment:\n\n" + body + "\nWhat is it?") {
		if u.Kind != UnitQuestion && u.Kind != UnitEntity {
			t.Errorf("unit %q in a base64 body", u.Text)
		}
	}
	for _, in := range []string{
		"Key:\n\niQA/AwUBPT+eg8PxH8jf3ohaEQJaJACferw1H2dZWXUEkFKdJ3bVpSJ5QnQAoPoD\n\nWhat is it?",
		"Digests:\n\n9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752\n\nWhich?",
	} {
		n := 0
		for _, u := range Protected(in) {
			if u.Kind == UnitNumber {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no number unit in %q", in)
		}
	}
}

// TestMarkupNotCode: indented HTML is protected unit by unit (its URLs,
// quoted values, numbers), as the same markup at the left margin is, not
// frozen whole as code; script in the block still makes it code.
func TestMarkupNotCode(t *testing.T) {
	html := "Body:\n\n    <table width=\"600\">\n      <tr><td><a href=\"http://e.com/x\">Sale</a></td></tr>\n    </table>\n\nWhat is on sale?"
	for _, u := range Protected(html) {
		if u.Kind == UnitCode {
			t.Fatalf("indented markup protected as code: %q", u.Text)
		}
	}
	kinds := map[string]bool{}
	for _, u := range Protected(html) {
		kinds[u.Kind] = true
	}
	if !kinds[UnitURL] || !kinds[UnitQuoted] {
		t.Fatalf("markup units %v: want the URL and quoted values", kinds)
	}
	script := "Body:\n\n    <script>\n    function f() { return 1; }\n    </script>\n\nWhat does it do?"
	code := false
	for _, u := range Protected(script) {
		code = code || u.Kind == UnitCode
	}
	if !code {
		t.Fatal("indented script not protected as code")
	}
}

// TestJSONPassSeedsValid: what jsonPass records as valid JSON for the
// next analysis is valid.
func TestJSONPassSeedsValid(t *testing.T) {
	_, prompts := agentPrompts(t)
	n := 0
	for _, p := range append(prompts, prompt10k(t)) {
		ac := newAnalysisCache()
		d := analyzeWith(p, ac)
		if _, err := jsonPass(context.Background(), d, nil); err != nil {
			t.Fatal(err)
		}
		for v, ok := range ac.json {
			if ok != json.Valid([]byte(v)) {
				t.Fatalf("cache says %v for %q", ok, v)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no JSON values in the fixtures")
	}
}
