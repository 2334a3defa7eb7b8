package cache

import (
	"strings"
	"testing"
)

func judgeNoLex(t testing.TB) *Calibrated {
	t.Helper()
	j, err := NewJudge(JudgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestGuardsReject(t *testing.T) {
	j := judgeNoLex(t)
	cases := []struct {
		q, c   string
		guard  string
		detail []string // words the detail must name
	}{
		{"What is the capital of Spain?", "What is the capital of France?", GuardEntity, []string{"Spain", "France"}},
		{"what is the capital of spain", "what is the capital of france", GuardEntity, []string{"spain", "france"}},
		{"Is it safe to fast for 30 days?", "Is it safe to fast for 3 days?", GuardNumber, []string{"30", "3"}},
		{"Set a timer for 5 hours", "Set a timer for 5 minutes", GuardNumber, []string{"h", "min"}},
		{"What is 1,000 divided by 8?", "What is 100 divided by 8?", GuardNumber, []string{"1000", "100"}},
		{"How do I disable 2FA?", "How do I enable 2FA?", GuardPolarity, []string{"disable", "enable"}},
		{"Sort by date descending", "Sort by date ascending", GuardPolarity, []string{"descending", "ascending"}},
		{"How do I turn off Bluetooth on my laptop?", "How do I turn on Bluetooth on my laptop?", GuardPolarity, []string{"turn off", "turn on"}},
		{"What are the cons of remote work?", "What are the pros of remote work?", GuardPolarity, []string{"cons", "pros"}},
		{"Why is my container not running?", "Why is my container running?", GuardNegation, []string{"not"}},
		{"Why didn't my bread rise?", "Why did my bread rise?", GuardNegation, []string{"not"}},
		{"Can I take ibuprofen without food?", "Can I take ibuprofen with food?", GuardNegation, []string{"without"}},
		{"Reply to bob@example.com", "Reply to alice@example.com", GuardEntity, []string{"bob@example.com", "alice@example.com"}},
		{"Summarize https://example.com/a", "Summarize https://example.com/b", GuardEntity, []string{"https://example.com/a"}},
		{"What does os.path.split do?", "What does os.path.join do?", GuardEntity, []string{"os.path.split", "os.path.join"}},
		{`Search the logs for "timeout"`, `Search the logs for "refused"`, GuardEntity, []string{"timeout", "refused"}},
		{"How do I reverse a list in Ruby?", "How do I reverse a list in Python?", GuardEntity, []string{"Ruby", "Python"}},
		{"Is C# faster than Java?", "Is C++ faster than Java?", GuardEntity, []string{"C#", "C++"}},
		{"Who finished 3rd in the race?", "Who finished 2nd in the race?", GuardNumber, []string{"3th", "2th"}},
	}
	for _, tc := range cases {
		jd := j.Judge(Text{Prompt: tc.q}, Text{Prompt: tc.c})
		if jd.Guard != tc.guard {
			t.Errorf("%q vs %q: guard %q (%s), want %q", tc.q, tc.c, jd.Guard, jd.Detail, tc.guard)
			continue
		}
		for _, w := range tc.detail {
			if !strings.Contains(jd.Detail, w) {
				t.Errorf("%q vs %q: detail %q lacks %q", tc.q, tc.c, jd.Detail, w)
			}
		}
	}
}

func TestGuardsPass(t *testing.T) {
	j := judgeNoLex(t)
	for _, p := range [][2]string{
		{"What's the capital city of France?", "What is the capital of France?"},
		{"How can I reverse a Python list?", "How do I reverse a list in Python?"},
		{"Is 8GB RAM enough for video editing?", "Is 8 GB of RAM enough for video editing?"},
		{"Why isn't my Docker container running?", "Why is my Docker container not running?"},
		{"Translate hello into French", "translate hello into french"},
		{"What did the U.S. announce?", "What did the US announce?"},
		{"What does the WHO recommend?", "What does the World Health Organization recommend?"},
		{"Amendment No 7 changes the references", "Amendment 7 changes the references"},
		{"How To Install Python On Windows", "how to install python on windows"},
		{"Convert two cups to ml", "Convert 2 cups to ml"},
		{"Where was Moqtada al-Sadr born?", "Where was Muqtada al-Sadr born?"},
	} {
		if jd := j.Judge(Text{Prompt: p[0]}, Text{Prompt: p[1]}); jd.Guard != "" {
			t.Errorf("%q vs %q: guard %s (%s), want none", p[0], p[1], jd.Guard, jd.Detail)
		}
	}
}

func TestGuardOptionsSwitchOff(t *testing.T) {
	j, err := NewJudge(JudgeOptions{Guards: GuardOptions{NoNumber: true, NoEntity: true, NoNegation: true, NoPolarity: true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{{"3 days", "30 days"}, {"capital of Spain", "capital of France"}, {"not running", "running"}, {"enable it", "disable it"}} {
		if jd := j.Judge(Text{Prompt: p[0]}, Text{Prompt: p[1]}); jd.Guard != "" {
			t.Errorf("%q/%q: guard %s with all guards off", p[0], p[1], jd.Guard)
		}
	}
	strict, _ := NewJudge(JudgeOptions{Guards: GuardOptions{NumberAdditions: true, EntityAdditions: true}})
	if jd := strict.Judge(Text{Prompt: "sort a list in Python"}, Text{Prompt: "sort a list"}); jd.Guard != GuardEntity {
		t.Errorf("EntityAdditions: guard %q", jd.Guard)
	}
	if jd := strict.Judge(Text{Prompt: "boil 3 eggs"}, Text{Prompt: "boil eggs"}); jd.Guard != GuardNumber {
		t.Errorf("NumberAdditions: guard %q", jd.Guard)
	}
	if jd := judgeNoLex(t).Judge(Text{Prompt: "sort a list in Python"}, Text{Prompt: "sort a list"}); jd.Guard != "" || jd.Features.EntityAdded != 1 {
		t.Errorf("default: an entity addition is a feature, not a veto: %+v", jd)
	}
}

func TestEntitySwapInLongTextNeedsSameSlot(t *testing.T) {
	j := judgeNoLex(t)
	// Long texts each adding their own name are not a substitution…
	q := "The spokesman said on Tuesday that the company would announce its quarterly results next week, according to Reuters."
	c := "The company will announce its quarterly results next week, the spokesman told Bloomberg in an interview on the phone."
	if jd := j.Judge(Text{Prompt: q}, Text{Prompt: c}); jd.Guard == GuardEntity {
		t.Errorf("long texts with different sources rejected: %s", jd.Detail)
	}
	// …but the same slot filled differently is.
	q = "Please write a detailed travel guide for a first trip to Lisbon with tips on food, transport, neighbourhoods and museums."
	c = "Please write a detailed travel guide for a first trip to Madrid with tips on food, transport, neighbourhoods and museums."
	if jd := j.Judge(Text{Prompt: q}, Text{Prompt: c}); jd.Guard != GuardEntity {
		t.Errorf("same-slot swap in a long text: guard %q", jd.Guard)
	}
}

func TestStemAndDamerau(t *testing.T) {
	for _, g := range [][2]string{{"enable", "enabled"}, {"enables", "enabling"}, {"increase", "increased"}, {"close", "closed"}} {
		if stem(g[0]) != stem(g[1]) {
			t.Errorf("stem(%s)=%s, stem(%s)=%s", g[0], stem(g[0]), g[1], stem(g[1]))
		}
	}
	for _, c := range []struct {
		a, b string
		want bool
	}{{"moqtada", "muqtada", true}, {"jeffery", "jeffrey", true}, {"abc", "abcd", true}, {"austria", "australia", false}, {"spain", "spian", true}, {"france", "greece", false}} {
		if got := damerau1(c.a, c.b); got != c.want {
			t.Errorf("damerau1(%s,%s)=%v", c.a, c.b, got)
		}
	}
}

func FuzzJudge(f *testing.F) {
	f.Add("What is the capital of France?", "What's the capital of Spain?")
	f.Add("Set a timer for 5 minutes", "Set a 5 min timer")
	f.Add(`grep "x" in os.path.join() --force`, "“quoted” U.S. WHO C++ 3rd")
	f.Add("", "")
	j := judgeNoLex(f)
	f.Fuzz(func(t *testing.T, a, b string) {
		jd := j.Judge(Text{Prompt: a}, Text{Prompt: b})
		if jd.Score < 0 || jd.Score > 1 || jd.Score != jd.Score {
			t.Fatalf("score %v", jd.Score)
		}
		if (jd.Guard == "") != (jd.Detail == "") {
			t.Fatalf("guard %q with detail %q", jd.Guard, jd.Detail)
		}
		if a == b && jd.Guard != "" {
			t.Fatalf("identical texts rejected by %s: %s", jd.Guard, jd.Detail)
		}
	})
}
