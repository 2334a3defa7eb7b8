package route

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// synthetic draws n prompts where the weak model is right with probability
// pw and the strong one with ps, independently.
func synthetic(rng *rand.Rand, n int, pw, ps float64) []Labelled {
	out := make([]Labelled, n)
	for i := range out {
		out[i] = Labelled{Prompt: "p", WeakCorrect: rng.Float64() < pw, StrongCorrect: rng.Float64() < ps}
	}
	return out
}

func TestRandomRoutingGivesHalf(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	data := synthetic(rng, 20000, 0.6, 0.8)
	// Random scores.
	scores := make([]float64, len(data))
	for i := range scores {
		scores[i] = rng.Float64()
	}
	c, err := Sweep(scores, data)
	if err != nil {
		t.Fatal(err)
	}
	apgr, _ := c.APGR()
	cpt50, _ := c.CPT(0.5)
	cpt80, _ := c.CPT(0.8)
	if math.Abs(apgr-0.5) > 0.02 || math.Abs(cpt50-50) > 3 || math.Abs(cpt80-80) > 3 {
		t.Errorf("random routing: APGR %.3f CPT50 %.1f CPT80 %.1f, want ≈ 0.5, 50, 80", apgr, cpt50, cpt80)
	}
	// Constant scores: one tie group, exactly the straight line.
	for i := range scores {
		scores[i] = 0.3
	}
	c, _ = Sweep(scores, data)
	apgr, _ = c.APGR()
	cpt50, _ = c.CPT(0.5)
	if math.Abs(apgr-0.5) > 1e-12 || math.Abs(cpt50-50) > 1e-9 {
		t.Errorf("constant scores: APGR %v CPT50 %v, want exactly 0.5 and 50", apgr, cpt50)
	}
}

func TestOracleRouting(t *testing.T) {
	// 10 prompts: 3 only the strong model gets right, 1 only the weak one,
	// 4 both, 2 neither. Weak acc 0.5, strong acc 0.7, gap 0.2.
	data := []Labelled{
		{StrongCorrect: true}, {StrongCorrect: true}, {StrongCorrect: true},
		{WeakCorrect: true},
		{WeakCorrect: true, StrongCorrect: true}, {WeakCorrect: true, StrongCorrect: true},
		{WeakCorrect: true, StrongCorrect: true}, {WeakCorrect: true, StrongCorrect: true},
		{}, {},
	}
	// Oracle: score = strong − weak gain, distinct within groups so the
	// curve is exact point by point.
	scores := make([]float64, len(data))
	for i, d := range data {
		scores[i] = float64(b2i(d.StrongCorrect)-b2i(d.WeakCorrect)) + float64(i)*1e-6
	}
	c, err := Sweep(scores, data)
	if err != nil {
		t.Fatal(err)
	}
	// The curve climbs by 0.1 per prompt for 3 prompts (to 0.8 at share
	// 0.3), stays flat to share 0.9, and drops to 0.7 at 1.0.
	// Area = 0.3·(0.5+0.8)/2 + 0.6·0.8 + 0.1·(0.8+0.7)/2 = 0.195+0.48+0.075 = 0.75.
	// APGR = (0.75 − 0.5) / 0.2 = 1.25.
	apgr, _ := c.APGR()
	if math.Abs(apgr-1.25) > 1e-9 {
		t.Errorf("oracle APGR = %v, want 1.25", apgr)
	}
	// 50% of the gap (accuracy 0.6) is reached after 1 strong call: 10%.
	cpt50, _ := c.CPT(0.5)
	if math.Abs(cpt50-10) > 1e-9 {
		t.Errorf("oracle CPT50 = %v, want 10", cpt50)
	}
	cpt80, _ := c.CPT(0.8) // accuracy 0.66: 1.6 prompts → 16%
	if math.Abs(cpt80-16) > 1e-9 {
		t.Errorf("oracle CPT80 = %v, want 16", cpt80)
	}
	// Reverse oracle is worse than random.
	for i := range scores {
		scores[i] = -scores[i]
	}
	c, _ = Sweep(scores, data)
	if a, _ := c.APGR(); a >= 0.5 {
		t.Errorf("reverse oracle APGR = %v, want < 0.5", a)
	}
}

func TestNoGap(t *testing.T) {
	data := []Labelled{{WeakCorrect: true, StrongCorrect: true}, {}}
	c, _ := Sweep([]float64{1, 0}, data)
	if _, err := c.APGR(); err != ErrNoGap {
		t.Errorf("APGR err = %v, want ErrNoGap", err)
	}
}

func TestParseCSV(t *testing.T) {
	in := "prompt,mistralai/Mixtral-8x7B-Instruct-v0.1,gpt-4-1106-preview,notes\n" +
		"\"What is 2+2?\nA. 3\",True,True,x\n" +
		"hard one,False,True,y\n"
	rows, err := ParseCSV(strings.NewReader(in), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Labelled{{Prompt: "What is 2+2?\nA. 3", WeakCorrect: true, StrongCorrect: true}, {Prompt: "hard one", StrongCorrect: true}}
	if len(rows) != 2 || rows[0] != want[0] || rows[1] != want[1] {
		t.Errorf("rows = %+v", rows)
	}
	// Override names (weak and strong swapped on purpose).
	rows, err = ParseCSV(strings.NewReader(in), CSVOptions{Weak: "gpt-4-1106-preview", Strong: "mistralai/Mixtral-8x7B-Instruct-v0.1"})
	if err != nil || rows[1].WeakCorrect != true || rows[1].StrongCorrect != false {
		t.Errorf("override: %+v %v", rows, err)
	}
	named := CSVOptions{Weak: "a", Strong: "b"}
	for name, bad := range map[string]struct {
		in  string
		opt CSVOptions
	}{
		"no prompt":    {"text,a,b\nx,True,True\n", CSVOptions{}},
		"one bool":     {"prompt,a\nx,True\n", CSVOptions{}},
		"bad bool":     {"prompt,a,b\nx,True,maybe\n", named},
		"missing weak": {"prompt,a,b\nx,True,True\n", CSVOptions{Weak: "nope"}},
		// Scores: two numeric columns are a guess only when they are the
		// only candidates, and a column must be all booleans or all numbers.
		"three number columns": {"prompt,id,a,b\nq,7,3,4\n", CSVOptions{}},
		"bool and number":      {"prompt,a,b\nq,True,7\n", CSVOptions{}},
		"number and text":      {"prompt,a,b\nq,7,good\n", named},
		"infinite score":       {"prompt,a,b\nq,7,Inf\n", named},
		"one score missing":    {"prompt,a,b\nq,7,\n", CSVOptions{}},
	} {
		if _, err := ParseCSV(strings.NewReader(bad.in), bad.opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestEvaluateCostAtThreshold(t *testing.T) {
	cat := catalog(t)
	weak, _ := cat.Lookup("gpt-4o-mini")
	strong, _ := cat.Lookup("gpt-4o")
	r := newRouter(t, DefaultConfig())
	data := []Labelled{
		{Prompt: "hi", WeakCorrect: true, StrongCorrect: true},
		{Prompt: strings.Repeat("Prove step by step and explain why; compare the two. ", 400), StrongCorrect: true},
	}
	rep, err := Evaluate(context.Background(), r, data, EvalOptions{Weak: weak, Strong: strong, Count: func(s string) int { return 1000 }, CompletionTokens: 100})
	if err != nil {
		t.Fatal(err)
	}
	// 1000 prompt + 100 completion tokens: gpt-4o $0.0035, gpt-4o-mini $0.00021.
	if rep.StrongShare != 0.5 || rep.Accuracy != 1 {
		t.Errorf("strong share %v accuracy %v, want 0.5 and 1", rep.StrongShare, rep.Accuracy)
	}
	if math.Abs(rep.CostUSD-(0.0035+0.00021)) > 1e-12 || math.Abs(rep.AllStrongCostUSD-0.007) > 1e-12 {
		t.Errorf("cost %v all-strong %v", rep.CostUSD, rep.AllStrongCostUSD)
	}
	// Perfect routing of two prompts: (0, 0.5) → (0.5, 1) → (1, 1); area
	// 0.875, APGR (0.875 − 0.5) / 0.5 = 0.75.
	if math.Abs(rep.APGR-0.75) > 1e-12 || rep.Prompts != 2 {
		t.Errorf("report %+v", rep)
	}
}

func FuzzScan(f *testing.F) {
	f.Add("Statement 1 | x. Statement 2 | y.\n1. a\n- b\n```go\nfunc(){};\n```?")
	f.Add("")
	f.Add("\xff\xfe step by step")
	rs, _ := Compile([]RuleConfig{{Name: "p", Keywords: []string{"step by step", "a b c d e f g h"}, Weight: 0.1}})
	sc := scorer{base: 0.1, w: DefaultConfig().Signals, rules: rs}
	f.Fuzz(func(t *testing.T, s string) {
		out := sc.score(s, 0, 3, vote{}, true)
		if math.IsNaN(out.raw) || math.IsInf(out.raw, 0) {
			t.Fatalf("raw score %v", out.raw)
		}
		for _, c := range out.contribs {
			if c.Value < 0 || c.Value > 1 {
				t.Fatalf("%s value %v", c.Name, c.Value)
			}
		}
	})
}

// Graded rows (judge scores, as in RouteLLM's MT-Bench evaluation) sweep
// mean scores: four prompts with gains 1, 5, 0, 0, the gain-5 one ranked
// first. Hand computation: weak mean 6.75, strong 8.25; the curve passes
// (0.25, 8.0) and (0.5, 8.25); area 8.0, so APGR (8.0−6.75)/1.5 = 5/6, and
// half the gap (7.5) is reached at 0.75/1.25 of the first quarter: 15%.
func TestSweepGraded(t *testing.T) {
	data := []Labelled{
		{Prompt: "a", Graded: true, WeakScore: 8, StrongScore: 9},
		{Prompt: "b", Graded: true, WeakScore: 4, StrongScore: 9},
		{Prompt: "c", Graded: true, WeakScore: 9, StrongScore: 9},
		{Prompt: "d", Graded: true, WeakScore: 6, StrongScore: 6},
	}
	c, err := Sweep([]float64{0.5, 0.9, 0.2, 0.1}, data)
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.APGR()
	if err != nil || math.Abs(a-5.0/6) > 1e-12 {
		t.Errorf("APGR = %v, %v; want 5/6", a, err)
	}
	if cpt, _ := c.CPT(0.5); math.Abs(cpt-15) > 1e-9 {
		t.Errorf("CPT(50%%) = %v, want 15", cpt)
	}
	if !data[1].StrongNeeded() || data[2].StrongNeeded() || data[2].weakBetter() {
		t.Error("graded labels: b needs the strong model, c does not")
	}
}

func TestParseCSVGraded(t *testing.T) {
	rows, err := ParseCSV(strings.NewReader("prompt,mixtral,gpt4,answer\nq1,8,9,x\nq2,3.5,10,y\n"), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Labelled{{Prompt: "q1", Graded: true, WeakScore: 8, StrongScore: 9}, {Prompt: "q2", Graded: true, WeakScore: 3.5, StrongScore: 10}}
	if len(rows) != 2 || rows[0] != want[0] || rows[1] != want[1] {
		t.Errorf("rows = %+v", rows)
	}
	ex, err := ParseExamplesCSV(strings.NewReader("prompt,w,s\nq1,9,8\nq2,3,10\n"), CSVOptions{})
	if err != nil || len(ex) != 2 || !ex[0].WeakBetter || ex[0].StrongNeeded || !ex[1].StrongNeeded {
		t.Errorf("graded examples: %+v %v", ex, err)
	}
	// Named columns may be numeric even when others are too.
	rows, err = ParseCSV(strings.NewReader("prompt,id,w,s\nq,7,1.5,2\n"), CSVOptions{Weak: "w", Strong: "s"})
	if err != nil || len(rows) != 1 || rows[0].WeakScore != 1.5 || rows[0].StrongScore != 2 {
		t.Errorf("named score columns: %+v %v", rows, err)
	}
}
