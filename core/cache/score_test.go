package cache

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// synthetic draws rows from a known logistic model.
func synthetic(n int, bias float64, w []float64, seed uint64) ([][]float64, []int) {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([][]float64, n)
	y := make([]int, n)
	for i := range x {
		x[i] = make([]float64, len(w))
		z := bias
		for j := range w {
			x[i][j] = r.Float64()
			z += w[j] * x[i][j]
		}
		if r.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	return x, y
}

func TestFitScoreModelRecoversCoefficients(t *testing.T) {
	want := []float64{3, -2, 0.5}
	x, y := synthetic(20000, -1, want, 7)
	b, w, err := FitScoreModel(x, y, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(b+1) > 0.2 {
		t.Errorf("bias %.3f, want -1", b)
	}
	for i := range want {
		if math.Abs(w[i]-want[i]) > 0.25 {
			t.Errorf("w[%d] = %.3f, want %.1f", i, w[i], want[i])
		}
	}
	// Deterministic: same data, same model.
	b2, w2, _ := FitScoreModel(x, y, 1e-6)
	if b2 != b || w2[0] != w[0] {
		t.Error("fit is not deterministic")
	}
}

func TestFitSignedDropsWrongSigns(t *testing.T) {
	// Feature 1 truly lowers the odds but is declared "+1": it must be dropped.
	x, y := synthetic(5000, 0, []float64{2, -2}, 3)
	_, w, err := FitSigned(x, y, 1e-3, []int{+1, +1})
	if err != nil {
		t.Fatal(err)
	}
	if w[1] != 0 || w[0] <= 0 {
		t.Errorf("weights %v, want w[1] = 0 and w[0] > 0", w)
	}
	if _, _, err := FitSigned(x, y, 1, []int{1}); err == nil {
		t.Error("mismatched signs accepted")
	}
	if _, _, err := FitScoreModel(nil, nil, 1); err == nil {
		t.Error("empty fit accepted")
	}
	if _, _, err := FitScoreModel([][]float64{{1}, {1}}, []int{0, 1}, 0); err == nil {
		t.Error("singular fit (constant feature collinear with bias) accepted")
	}
}

func TestDefaultScoreModel(t *testing.T) {
	m := DefaultScoreModel()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	signs := FeatureSigns()
	for i, w := range m.Weights {
		if w*float64(signs[i]) < 0 {
			t.Errorf("fitted weight %s = %v against its sign", FeatureNames()[i], w)
		}
	}
	if m.Embedder == "" || m.Command == "" || m.Fitted == "" {
		t.Errorf("model lacks provenance: %+v", m)
	}
	if CalibratedThreshold <= 0 || CalibratedThreshold >= 1 {
		t.Errorf("threshold %v outside (0,1)", CalibratedThreshold)
	}
	// Identical texts with identical vectors score high; unrelated ones low.
	j := judgeNoLex(t)
	same := j.Judge(Text{Prompt: "How do I reverse a list in Python?", Vector: []float32{1, 0}}, Text{Prompt: "How do I reverse a list in Python?", Vector: []float32{1, 0}})
	diff := j.Judge(Text{Prompt: "Best pizza in Naples", Vector: []float32{1, 0}}, Text{Prompt: "How do I reverse a list in Python?", Vector: []float32{0, 1}})
	if same.Score < CalibratedThreshold || diff.Score >= CalibratedThreshold || same.Cosine != 1 || diff.Cosine != 0 {
		t.Errorf("same %.3f (cos %.2f), different %.3f (cos %.2f), threshold %.2f", same.Score, same.Cosine, diff.Score, diff.Cosine, CalibratedThreshold)
	}
	if j.Scale() != ScaleCalibrated || !strings.Contains(j.Scale(), "probability") {
		t.Errorf("scale %q", j.Scale())
	}
}

func TestJudgeScaleNamesUncalibratedEmbedder(t *testing.T) {
	j, _ := NewJudge(JudgeOptions{EmbedderID: DefaultScoreModel().Embedder})
	if j.Scale() != ScaleCalibrated {
		t.Errorf("matching embedder: %q", j.Scale())
	}
	j, _ = NewJudge(JudgeOptions{EmbedderID: "openai:text-embedding-3-small"})
	if !strings.Contains(j.Scale(), "uncalibrated for openai:text-embedding-3-small") {
		t.Errorf("other embedder: %q", j.Scale())
	}
}

func TestNewJudgeRejectsBadModel(t *testing.T) {
	for _, m := range []ScoreModel{{Weights: []float64{1}}, {Bias: math.NaN(), Weights: make([]float64, len(FeatureNames()))}} {
		if _, err := NewJudge(JudgeOptions{Model: &m}); err == nil {
			t.Errorf("model %+v accepted", m)
		}
	}
}

func TestAUC(t *testing.T) {
	perfect := []Scored{{Raw: 0.1}, {Raw: 0.2}, {Raw: 0.8, Label: 1}, {Raw: 0.9, Label: 1}}
	if a := AUC(perfect); a != 1 {
		t.Errorf("perfect AUC %v", a)
	}
	inverted := []Scored{{Raw: 0.9}, {Raw: 0.1, Label: 1}}
	if a := AUC(inverted); a != 0 {
		t.Errorf("inverted AUC %v", a)
	}
	ties := []Scored{{Raw: 0.5}, {Raw: 0.5, Label: 1}}
	if a := AUC(ties); a != 0.5 {
		t.Errorf("tied AUC %v", a)
	}
	// 2 positives × 2 negatives, one of four orderings wrong.
	mixed := []Scored{{Raw: 0.1}, {Raw: 0.6}, {Raw: 0.5, Label: 1}, {Raw: 0.9, Label: 1}}
	if a := AUC(mixed); a != 0.75 {
		t.Errorf("mixed AUC %v, want 0.75", a)
	}
	if a := AUC([]Scored{{Raw: 1, Label: 1}}); a != 0.5 {
		t.Errorf("one-class AUC %v", a)
	}
}

func TestEvaluate(t *testing.T) {
	pairs := []Pair{
		{A: "a1", B: "b1", Label: 1}, // served: TP
		{A: "a2", B: "b2", Label: 1}, // below threshold: FN
		{A: "a3", B: "b3", Label: 0}, // served: FP
		{A: "a4", B: "b4", Label: 0}, // guard: TN
		{A: "a5", B: "b5", Label: 0}, // below: TN
	}
	score := map[string]struct {
		raw float64
		hit bool
	}{"b1": {0.9, true}, "b2": {0.4, true}, "b3": {0.8, true}, "b4": {0.95, false}, "b5": {0.2, true}}
	lookup := func(_ context.Context, a, b string) (float64, bool, error) {
		s := score[b]
		return s.raw, s.hit, nil
	}
	r, err := Evaluate(context.Background(), pairs, 0.5, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if r.TP != 1 || r.FN != 1 || r.FP != 1 || r.TN != 2 || r.Pairs != 5 || r.Positives != 2 || r.GuardBlocked != 1 {
		t.Fatalf("report %+v", r)
	}
	if r.Precision != 0.5 || r.Recall != 0.5 || r.F1 != 0.5 || math.Abs(r.FalseHitRate-1.0/3) > 1e-12 {
		t.Errorf("precision %v recall %v f1 %v fhr %v", r.Precision, r.Recall, r.F1, r.FalseHitRate)
	}
	// AUC uses raw scores before guards: positives 0.9, 0.4 vs negatives 0.8, 0.95, 0.2 → 3 of 6 pairs ordered right.
	if r.AUC != 0.5 {
		t.Errorf("AUC %v", r.AUC)
	}
	if len(r.Sweep) != len(SweepThresholds()) {
		t.Fatalf("sweep has %d rows", len(r.Sweep))
	}
	for i, s := range r.Sweep {
		if i > 0 && s.Recall > r.Sweep[i-1].Recall {
			t.Errorf("recall rose with the threshold at %v", s.Threshold)
		}
	}
	boom := errors.New("boom")
	_, err = Evaluate(context.Background(), []Pair{{Origin: "x.tsv:3"}}, 0.5, func(context.Context, string, string) (float64, bool, error) { return 0, false, boom })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "x.tsv:3") {
		t.Errorf("error %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Evaluate(ctx, pairs, 0.5, lookup); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

type fakeEmbedder struct{ err error }

func (fakeEmbedder) ID() string { return "fake" }
func (fakeEmbedder) Dim() int   { return 2 }
func (f fakeEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	if f.err != nil {
		return nil, f.err
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if strings.Contains(t, "Python") {
			out[i] = []float32{1, 0}
		} else {
			out[i] = []float32{0, 1}
		}
	}
	return out, nil
}

func TestJudgeLookup(t *testing.T) {
	j := judgeNoLex(t)
	look := JudgeLookup(fakeEmbedder{}, j)
	raw, hit, err := look(context.Background(), "reverse a list in Python", "reverse a list in Python")
	if err != nil || !hit || raw < CalibratedThreshold {
		t.Errorf("identical: raw %v hit %v err %v", raw, hit, err)
	}
	_, hit, _ = look(context.Background(), "reverse a list in Python", "reverse a list in Ruby")
	if hit {
		t.Error("Python/Ruby passed the guards")
	}
	if _, _, err := JudgeLookup(fakeEmbedder{err: errors.New("down")}, j)(context.Background(), "a", "b"); err == nil {
		t.Error("embedder error swallowed")
	}
}

// BenchmarkJudge is the cost of judging one (query, cached) pair without a
// lexicon: text analysis of both prompts, guards and features.
func BenchmarkJudge(b *testing.B) {
	j := judgeNoLex(b)
	q := Text{Prompt: "How can I turn on two-factor authentication for my GitHub account?", Vector: []float32{0.6, 0.8}}
	c := Text{Prompt: "How do I enable two-factor authentication on my GitHub account?", Vector: []float32{0.8, 0.6}}
	for b.Loop() {
		j.Judge(q, c)
	}
}

func TestReportText(t *testing.T) {
	r := Summarize([]Scored{{Raw: 0.9, Pass: true, Label: 1}, {Raw: 0.7, Pass: false}, {Raw: 0.3, Pass: true}}, 0.64)
	out := r.Text("match probability")
	for _, want := range []string{"pairs 3 (1 positive)", "threshold 0.64 on match probability", "precision 1.000", "0.65", "←", "guards blocked 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "←") != 1 {
		t.Errorf("threshold row marked %d times", strings.Count(out, "←"))
	}
}
