package panes

import (
	"strings"
	"testing"
)

func TestDiffWordsMarksRemovals(t *testing.T) {
	segs := diffWords("please tell me   the answer please", "tell me the answer")
	var removed strings.Builder
	for _, s := range segs {
		switch s.op {
		case '-':
			removed.WriteString(s.text)
		case '+':
			if strings.TrimSpace(s.text) != "" {
				t.Errorf("unexpected insertion %q", s.text)
			}
		}
	}
	if got := strings.Fields(removed.String()); strings.Join(got, ",") != "please,please" {
		t.Errorf("removed words %q", got)
	}
}

func TestDiffWordsRebuildsBothSides(t *testing.T) {
	a := "The quick brown fox\n\njumps over the lazy dog."
	b := "quick brown fox jumps over lazy dog!"
	var left, right strings.Builder
	for _, s := range diffWords(a, b) {
		if s.op != '+' {
			left.WriteString(s.text)
		}
		if s.op != '-' {
			right.WriteString(s.text)
		}
	}
	if left.String() != a || right.String() != b {
		t.Fatalf("diff does not rebuild its inputs:\n%q\n%q", left.String(), right.String())
	}
}

func TestDiffWordsLargeInputFallsBack(t *testing.T) {
	a, b := strings.Repeat("word ", 3000), strings.Repeat("word ", 2000)
	segs := diffWords(a, b)
	if len(segs) != 1 || segs[0].text != b || segs[0].op != '=' {
		t.Fatalf("large diff did not fall back to the compressed text: %d segments", len(segs))
	}
}

func TestStepRequests(t *testing.T) {
	n := int64(1)
	var up []string
	for i := 0; i < 10; i++ {
		up = append(up, commas(n))
		n = StepRequests(n, +1)
	}
	if got, want := strings.Join(up, " "), "1 2 5 10 20 50 100 200 500 1,000"; got != want {
		t.Errorf("steps up %s, want %s", got, want)
	}
	for i := 0; i < 40; i++ {
		n = StepRequests(n, +1)
	}
	if n != 100_000_000 {
		t.Errorf("top %d, want 100000000", n)
	}
	if StepRequests(1, -1) != 1 || StepRequests(150_000, -1) != 100_000 || StepRequests(150_000, +1) != 200_000 {
		t.Error("steps from off-grid values are wrong")
	}
}

func TestMarkPending(t *testing.T) {
	// "a b c d" kept, "x " removed before it; the pending run is "b c".
	segs := []segment{{"x ", '-'}, {"a b c d", '='}}
	got := markPending(segs, 2, 5)
	want := []segment{{"x ", '-'}, {"a ", '='}, {"b c", 'S'}, {" d", '='}}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	// A run covering everything, and an inserted segment inside it, which
	// stays marked as inserted.
	got = markPending([]segment{{"ab", '='}, {"C", '+'}, {"d", '='}}, 0, 4)
	if got[0].op != 'S' || got[1].op != '+' || got[2].op != 'S' {
		t.Fatalf("got %q", got)
	}
}
