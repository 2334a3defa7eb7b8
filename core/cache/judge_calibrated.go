package cache

import "fmt"

// ScaleCalibrated names the calibrated judge's score everywhere it is shown.
const ScaleCalibrated = "match probability (logistic over cosine, char trigrams, word overlap, alignment, length)"

// CalibratedThreshold is the default threshold for the calibrated judge's
// Score, chosen from measured precision/recall on the shared STS/SICK/MRPC
// sets by the fitting program (see docs/cache-threshold.md for the curve and
// the command). The cache's DefaultThreshold should equal it.
const CalibratedThreshold = defaultThresholdFitted

// JudgeOptions configure NewJudge. The zero value uses DefaultScoreModel,
// no lexicon (exact word matching only) and every guard.
type JudgeOptions struct {
	// Model is the logistic model; nil means DefaultScoreModel(). Its
	// coefficients only mean something for the embedder it was fitted with
	// (Model.Embedder); with another embedder, refit.
	Model *ScoreModel
	// Lexicon lends word weights and word similarity (the local embedder
	// implements it). nil weighs every word 1 and matches words exactly.
	Lexicon Lexicon
	Guards  GuardOptions
	// EmbedderID is the ID of the embedder whose vectors the judge will see.
	// When it differs from Model.Embedder the judge still works (guards and
	// lexical features do not depend on it) but its Scale says the score is
	// uncalibrated for that embedder, so explanations do not overstate it.
	EmbedderID string
}

// Calibrated is the default Judge: guards first, then a fitted logistic
// model over similarity features. Safe for concurrent use (it holds no
// mutable state).
type Calibrated struct {
	model  ScoreModel
	lex    Lexicon
	guards GuardOptions
	scale  string
}

var _ Judge = (*Calibrated)(nil)

// NewJudge returns the calibrated judge.
func NewJudge(opts JudgeOptions) (*Calibrated, error) {
	m := DefaultScoreModel()
	if opts.Model != nil {
		m = *opts.Model
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("new judge: %w", err)
	}
	scale := ScaleCalibrated
	if opts.EmbedderID != "" && opts.EmbedderID != m.Embedder {
		scale += fmt.Sprintf("; fitted for %s, uncalibrated for %s", m.Embedder, opts.EmbedderID)
	}
	return &Calibrated{model: m, lex: opts.Lexicon, guards: opts.Guards, scale: scale}, nil
}

// Scale implements Judge.
func (j *Calibrated) Scale() string { return j.scale }

// Model returns the score model in use.
func (j *Calibrated) Model() ScoreModel { return j.model }

// Judge implements Judge. Score is the calibrated probability whether or not
// a guard fired, so explanations can show how close a rejected pair was;
// the caller serves only when Guard is empty and Score reaches the
// threshold.
func (j *Calibrated) Judge(query, cached Text) Judgement {
	q, c := analyze(query.Prompt), analyze(cached.Prompt)
	f := computeFeatures(q, c, query.Vector, cached.Vector, j.lex)
	g, d := runGuards(q, c, j.guards)
	return Judgement{Score: j.model.Probability(f), Cosine: f.Cosine, Guard: g, Detail: d, Features: f}
}
