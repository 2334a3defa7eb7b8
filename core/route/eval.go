package route

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pennyllm/penny/core/cost"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/pricing"
)

// Labelled is one evaluation prompt: whether the weak and the strong model
// answered it correctly (RouteLLM's response CSV format), or, for graded
// rows, how well each answered.
type Labelled struct {
	Prompt        string `json:"prompt"`
	WeakCorrect   bool   `json:"weak_correct"`
	StrongCorrect bool   `json:"strong_correct"`
	// Graded rows carry quality scores instead of correctness, such as a
	// judge's 1–10 ratings (RouteLLM evaluates MT-Bench that way); the
	// metrics then average scores where they would count correct answers,
	// and the correctness fields are unused.
	Graded      bool    `json:"graded,omitempty"`
	WeakScore   float64 `json:"weak_score,omitempty"`
	StrongScore float64 `json:"strong_score,omitempty"`
	Group       string  `json:"group,omitempty"` // source file or subject; see Example.Group
}

// quality is what each model's answer is worth to the metrics: 1 or 0 for
// correctness, the score itself for graded rows.
func (l Labelled) quality() (weak, strong float64) {
	if l.Graded {
		return l.WeakScore, l.StrongScore
	}
	return float64(b2i(l.WeakCorrect)), float64(b2i(l.StrongCorrect))
}

// StrongNeeded is the learned signal's label for an evaluation prompt: only
// the strong model got it right (graded: the strong model scored higher).
func (l Labelled) StrongNeeded() bool {
	w, s := l.quality()
	return s > w
}

// weakBetter is the opposite case: the weak model did better.
func (l Labelled) weakBetter() bool {
	w, s := l.quality()
	return w > s
}

// ExamplesFromLabelled turns evaluation rows into learned-signal examples
// (`penny eval route --train`).
func ExamplesFromLabelled(data []Labelled) []Example {
	out := make([]Example, len(data))
	for i, d := range data {
		out[i] = Example{Prompt: d.Prompt, StrongNeeded: d.StrongNeeded(), WeakBetter: d.weakBetter(), Group: d.Group}
	}
	return out
}

// LabelledFromExamples turns user labels into evaluation rows for live
// metrics: "weak ok" means both models are right, "strong needed" means
// only the strong one is. Evaluation is binary (the cheapest tier's model
// against the strongest's), so a tier label counts as "weak ok" for the
// first of tiers and as "strong needed" for any higher tier: the cheapest
// model was not enough. Tier-labelled examples are left out when tiers are
// not given or do not name their tier.
func LabelledFromExamples(ex []Example, tiers ...TierConfig) []Labelled {
	out := make([]Labelled, 0, len(ex))
	for _, e := range ex {
		weakOK := !e.StrongNeeded
		if e.Tier != "" {
			i := slices.IndexFunc(tiers, func(t TierConfig) bool { return t.Name == e.Tier })
			if i < 0 {
				continue
			}
			weakOK = i == 0
		}
		out = append(out, Labelled{Prompt: e.Prompt, WeakCorrect: weakOK, StrongCorrect: true, Group: e.Group})
	}
	return out
}

// CSVOptions names the columns of a response CSV. Empty names use the
// defaults: "prompt", then the first and second other columns whose values
// are booleans, weak first.
type CSVOptions struct {
	Prompt string
	Weak   string
	Strong string
	Group  string // set as every row's Group (e.g. the file name)
	// Tier names the optional tier-label column of an examples file
	// (ParseExamplesCSV; default "tier"). ParseCSV ignores it.
	Tier string
}

// csvTable is a parsed CSV with a header row.
type csvTable struct {
	header []string
	rows   [][]string
}

func readCSV(r io.Reader) (csvTable, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return csvTable{}, fmt.Errorf("read csv header: %w", err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	rows, err := cr.ReadAll()
	if err != nil {
		return csvTable{}, fmt.Errorf("read csv: %w", err)
	}
	return csvTable{header, rows}, nil
}

// col is the index of the column named name (case-insensitive), or -1.
func (t csvTable) col(name string) int {
	return slices.IndexFunc(t.header, func(h string) bool { return strings.EqualFold(h, name) })
}

// cell is row n's value in column c ("" when the row is short).
func (t csvTable) cell(n, c int) string {
	if c < 0 || c >= len(t.rows[n]) {
		return ""
	}
	return t.rows[n][c]
}

// outcomeCols are the columns a labelled row is read from: the prompt and
// the weak and the strong model's outcome, which are correctness (booleans)
// or, when graded, quality scores (numbers).
type outcomeCols struct {
	prompt, weak, strong int
	graded               bool
}

// outcomeColumns finds the prompt and the weak and strong outcome columns.
// Unnamed outcome columns default to the first two other columns holding
// only booleans or, when there are none, the only two holding only numbers
// (scores; more than two would make the choice a guess). With allowEmpty,
// empty cells do not disqualify a column (rows labelled with a tier need no
// outcome); the columns may then be absent, and weak and strong are -1.
func (t csvTable) outcomeColumns(opt CSVOptions, skip int, allowEmpty bool) (outcomeCols, error) {
	none := outcomeCols{-1, -1, -1, false}
	promptName := cmpOr(opt.Prompt, "prompt")
	pi := t.col(promptName)
	if pi < 0 {
		return none, fmt.Errorf("csv has no %q column (columns: %s)", promptName, strings.Join(t.header, ", "))
	}
	c := outcomeCols{pi, -1, -1, false}
	if opt.Weak != "" {
		if c.weak = t.col(opt.Weak); c.weak < 0 {
			return none, fmt.Errorf("csv has no weak column %q", opt.Weak)
		}
	}
	if opt.Strong != "" {
		if c.strong = t.col(opt.Strong); c.strong < 0 {
			return none, fmt.Errorf("csv has no strong column %q", opt.Strong)
		}
	}
	isBool := func(col int) bool { return boolColumn(t.rows, col, allowEmpty) }
	isNumber := func(col int) bool { return numberColumn(t.rows, col, allowEmpty) }
	if c.weak < 0 || c.strong < 0 {
		others := func(keep func(int) bool) []int {
			var out []int
			for col := range t.header {
				if col != pi && col != c.weak && col != c.strong && col != skip && keep(col) {
					out = append(out, col)
				}
			}
			return out
		}
		cands := others(isBool)
		if nums := others(isNumber); c.weak < 0 && c.strong < 0 && len(cands) == 0 && len(nums) == 2 {
			cands = nums
		}
		if c.weak < 0 && len(cands) > 0 {
			c.weak, cands = cands[0], cands[1:]
		}
		if c.strong < 0 && len(cands) > 0 {
			c.strong = cands[0]
		}
		if c.weak < 0 || c.strong < 0 {
			if allowEmpty {
				return outcomeCols{pi, -1, -1, false}, nil
			}
			return none, fmt.Errorf("csv needs two correctness columns besides %q (booleans or numeric scores; weak, then strong); name them with --weak and --strong", promptName)
		}
	}
	if isBool(c.weak) && isBool(c.strong) {
		return c, nil
	}
	for _, col := range []int{c.weak, c.strong} {
		if !isNumber(col) {
			return none, fmt.Errorf("csv column %q holds neither only booleans nor only numbers", t.header[col])
		}
	}
	c.graded = true
	return c, nil
}

// ParseCSV reads a RouteLLM response CSV (header row required). Extra
// columns (model responses, ids) are ignored.
func ParseCSV(r io.Reader, opt CSVOptions) ([]Labelled, error) {
	t, err := readCSV(r)
	if err != nil {
		return nil, err
	}
	c, err := t.outcomeColumns(opt, -1, false)
	if err != nil {
		return nil, err
	}
	out := make([]Labelled, 0, len(t.rows))
	for n, rec := range t.rows {
		line := n + 2
		if need := max(c.prompt, c.weak, c.strong); need >= len(rec) {
			return nil, fmt.Errorf("csv row %d: %d fields, want at least %d", line, len(rec), need+1)
		}
		l, err := t.outcome(n, c)
		if err != nil {
			return nil, err
		}
		l.Prompt, l.Group = rec[c.prompt], opt.Group
		out = append(out, l)
	}
	return out, nil
}

// outcome parses row n's weak and strong outcome into a Labelled without
// its prompt.
func (t csvTable) outcome(n int, c outcomeCols) (Labelled, error) {
	parse := func(col int) (float64, error) {
		v := t.cell(n, col)
		if c.graded {
			if f, ok := parseScore(v); ok {
				return f, nil
			}
			return 0, fmt.Errorf("csv row %d: column %q: %q is not a number", n+2, t.header[col], v)
		}
		if b, ok := parseBool(v); ok {
			return float64(b2i(b)), nil
		}
		return 0, fmt.Errorf("csv row %d: column %q: %q is not a boolean", n+2, t.header[col], v)
	}
	w, err := parse(c.weak)
	if err != nil {
		return Labelled{}, err
	}
	s, err := parse(c.strong)
	if err != nil {
		return Labelled{}, err
	}
	if c.graded {
		return Labelled{Graded: true, WeakScore: w, StrongScore: s}, nil
	}
	return Labelled{WeakCorrect: w == 1, StrongCorrect: s == 1}, nil
}

// ParseExamplesCSV reads labelled examples for the learned signal:
// RouteLLM's response CSV (a prompt column, then the weak and the strong
// model's correctness) with an optional tier column. A row with a tier
// names the tier that should serve its prompt and needs no correctness
// values; every other row needs both. A file may also hold only prompt and
// tier columns. With scores instead of correctness, a row says "strong
// needed" when the strong model scored higher.
func ParseExamplesCSV(r io.Reader, opt CSVOptions) ([]Example, error) {
	t, err := readCSV(r)
	if err != nil {
		return nil, err
	}
	tierName := cmpOr(opt.Tier, "tier")
	ti := t.col(tierName)
	if opt.Tier != "" && ti < 0 {
		return nil, fmt.Errorf("csv has no tier column %q", opt.Tier)
	}
	c, err := t.outcomeColumns(opt, ti, ti >= 0)
	if err != nil {
		return nil, err
	}
	out := make([]Example, 0, len(t.rows))
	for n, rec := range t.rows {
		line := n + 2
		if c.prompt >= len(rec) {
			return nil, fmt.Errorf("csv row %d: %d fields, want at least %d", line, len(rec), c.prompt+1)
		}
		if tier := strings.TrimSpace(t.cell(n, ti)); tier != "" {
			out = append(out, Example{Prompt: rec[c.prompt], Tier: tier, Group: opt.Group})
			continue
		}
		if c.weak < 0 {
			return nil, fmt.Errorf("csv row %d: no %q value and no boolean correctness (or score) columns (weak, then strong) to label it", line, tierName)
		}
		l, err := t.outcome(n, c)
		if err != nil {
			return nil, fmt.Errorf("%w (or give the row a %q)", err, tierName)
		}
		out = append(out, Example{Prompt: rec[c.prompt], StrongNeeded: l.StrongNeeded(), WeakBetter: l.weakBetter(), Group: opt.Group})
	}
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// boolColumn reports whether every cell of column c is a boolean; with
// allowEmpty, empty cells are accepted as long as one cell is a boolean.
func boolColumn(rows [][]string, c int, allowEmpty bool) bool {
	return typedColumn(rows, c, allowEmpty, func(s string) bool { _, ok := parseBool(s); return ok })
}

// numberColumn is boolColumn for scores.
func numberColumn(rows [][]string, c int, allowEmpty bool) bool {
	return typedColumn(rows, c, allowEmpty, func(s string) bool { _, ok := parseScore(s); return ok })
}

func typedColumn(rows [][]string, c int, allowEmpty bool, ok func(string) bool) bool {
	seen := false
	for _, r := range rows {
		if c >= len(r) || strings.TrimSpace(r[c]) == "" {
			if allowEmpty {
				continue
			}
			return false
		}
		if !ok(r[c]) {
			return false
		}
		seen = true
	}
	return seen
}

// parseScore parses a finite number.
func parseScore(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "y", "t", "1.0":
		return true, true
	case "false", "0", "no", "n", "f", "0.0":
		return false, true
	}
	return false, false
}

// Point is one point of the quality curve: with the top Share of prompts
// (by score) sent to the strong model, Accuracy is the overall accuracy.
type Point struct {
	Share    float64 `json:"share"`
	Accuracy float64 `json:"accuracy"`
}

// Curve is the quality-vs-strong-share curve of a router's scores.
type Curve struct {
	Points []Point // from (0, weak accuracy) to (1, strong accuracy)
	Weak   float64
	Strong float64
}

// ErrNoGap is returned when the strong model is not more accurate than the
// weak one, so the gap that APGR and CPT normalize by does not exist.
var ErrNoGap = errors.New("strong model is not more accurate than weak model on this data; APGR is undefined")

// Sweep computes the curve for scores (higher = more in need of the strong
// model). Prompts with equal scores cannot be separated by a threshold, so a
// tie group is one straight segment, which is also the expected curve under
// random tie-breaking: that is why constant scores give APGR exactly 0.5.
func Sweep(scores []float64, data []Labelled) (Curve, error) {
	if len(scores) != len(data) {
		return Curve{}, fmt.Errorf("sweep: %d scores for %d prompts", len(scores), len(data))
	}
	n := len(data)
	if n == 0 {
		return Curve{}, errors.New("sweep: no prompts")
	}
	var weak, strong float64
	for _, d := range data {
		w, s := d.quality()
		weak += w
		strong += s
	}
	c := Curve{Weak: weak / float64(n), Strong: strong / float64(n)}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	c.Points = append(c.Points, Point{0, c.Weak})
	correct := weak // correct answers (graded: total score) with the current split
	for i := 0; i < n; {
		j := i
		for j < n && scores[order[j]] == scores[order[i]] {
			w, s := data[order[j]].quality()
			correct += s - w
			j++
		}
		c.Points = append(c.Points, Point{float64(j) / float64(n), correct / float64(n)})
		i = j
	}
	return c, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// APGR is the average performance gap recovered: the area under the
// quality curve over strong-call share in [0, 1], normalized so that the
// weak model alone scores 0 and the strong model alone 1.
func (c Curve) APGR() (float64, error) {
	gap := c.Strong - c.Weak
	if gap <= 0 {
		return 0, ErrNoGap
	}
	var area float64
	for i := 1; i < len(c.Points); i++ {
		p, q := c.Points[i-1], c.Points[i]
		area += (q.Share - p.Share) * (p.Accuracy + q.Accuracy) / 2
	}
	return (area - c.Weak) / gap, nil
}

// CPT is the call-performance threshold: the smallest strong-call share (in
// percent) at which the curve recovers frac (0.5 for CPT(50%)) of the
// quality gap, interpolating linearly within a segment.
func (c Curve) CPT(frac float64) (float64, error) {
	gap := c.Strong - c.Weak
	if gap <= 0 {
		return 0, ErrNoGap
	}
	target := c.Weak + frac*gap
	const eps = 1e-12
	for i, q := range c.Points {
		if q.Accuracy+eps < target {
			continue
		}
		if i == 0 {
			return 0, nil
		}
		p := c.Points[i-1]
		t := (target - p.Accuracy) / (q.Accuracy - p.Accuracy)
		return 100 * (p.Share + t*(q.Share-p.Share)), nil
	}
	return 100, nil
}

// Prepared holds what re-scoring needs and rule edits cannot change: the
// prompts, their token counts and their learned-signal votes (embeddings are
// computed once here). Rescore then costs one scan per prompt.
type Prepared struct {
	Data   []Labelled
	tokens []int
	votes  []vote
	feats  [][7]float64 // built-in signal values (rule-independent)
}

// Prepare embeds the prompts (when the router has a learned signal), runs
// their k-NN votes and counts tokens with count (nil: a bytes/4 estimate).
// A prompt that is itself one of the labelled examples is left out of its
// own vote, so live metrics over the user's labels are not flattered, and
// a prompt with a Group gets no votes from examples of the same group.
func (r *Router) Prepare(ctx context.Context, data []Labelled, count func(string) int) (*Prepared, error) {
	p := &Prepared{Data: data, tokens: make([]int, len(data)), votes: make([]vote, len(data)), feats: make([][7]float64, len(data))}
	for i, d := range data {
		if count != nil {
			p.tokens[i] = count(d.Prompt)
		} else {
			p.tokens[i] = estimateTokens(d.Prompt)
		}
		sc := r.sc.rules.lex.scan(d.Prompt, r.sc.rules.keywords)
		p.feats[i] = signalValues(&sc, p.tokens[i], 0)
	}
	if r.learned == nil || r.learned.Len() == 0 {
		return p, nil
	}
	texts := make([]string, len(data))
	for i, d := range data {
		texts[i] = d.Prompt
	}
	vecs, err := r.learned.Embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	for i, v := range vecs {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		vt := r.learned.vote(v, textHash(data[i].Prompt), groupHash(data[i].Group))
		vt.detail = "" // not shown in metrics; saves memory on large sets
		p.votes[i] = vt
	}
	return p, nil
}

// Rescore computes the raw score of every prepared prompt with rule set rs
// (nil: the router's own rules). It is the path behind the TUI's live
// metrics while the user edits a rule.
func (r *Router) Rescore(p *Prepared, rs *RuleSet) []float64 {
	sc := r.sc
	if rs != nil {
		sc.rules = rs
	}
	out := make([]float64, len(p.Data))
	for i, d := range p.Data {
		s := sc.score(d.Prompt, p.tokens[i], 0, p.votes[i], false)
		out[i] = r.effectiveScore(s)
	}
	return out
}

// effectiveScore is the score as routing acts on it: a prompt pinned to a
// tier by a rule counts as scoring within that tier's range (its lower
// bound when the raw score lies outside), so that live metrics and
// evaluations see pins the way Route does.
func (r *Router) effectiveScore(s scored) float64 {
	score := clamp01(s.raw)
	if s.pin == "" {
		return score
	}
	ti := r.tierIndex(s.pin)
	if ti < 0 {
		return score
	}
	if r.tierFor(score) != ti {
		return r.tiers[ti].min
	}
	return score
}

// EvalOptions configure Evaluate.
type EvalOptions struct {
	Weak, Strong pricing.Model // priced at the default threshold
	// Threshold is the clamped score at or above which a prompt goes to the
	// strong model; 0 uses the router's configured eval threshold.
	Threshold float64
	// CompletionTokens is the completion length assumed for cost; 0 = 256.
	CompletionTokens int
	// Count counts prompt tokens (nil: a bytes/4 estimate). The same count
	// prices both models.
	Count func(string) int
}

// DefaultEvalCompletionTokens is the completion length assumed when the
// options do not say.
const DefaultEvalCompletionTokens = 256

// Report is the result of `penny eval route`.
type Report struct {
	Prompts          int     `json:"prompts"`
	APGR             float64 `json:"apgr"`
	CPT50            float64 `json:"cpt50"` // percent of strong calls for 50% of the quality gap
	CPT80            float64 `json:"cpt80"`
	WeakAccuracy     float64 `json:"weak_accuracy"`
	StrongAccuracy   float64 `json:"strong_accuracy"`
	Threshold        float64 `json:"threshold"`
	StrongShare      float64 `json:"strong_share"` // at Threshold
	Accuracy         float64 `json:"accuracy"`     // at Threshold
	CostUSD          float64 `json:"cost_usd"`     // at Threshold
	AllStrongCostUSD float64 `json:"all_strong_cost_usd"`
	AllWeakCostUSD   float64 `json:"all_weak_cost_usd"`
	WeakModel        string  `json:"weak_model"`
	StrongModel      string  `json:"strong_model"`
	CompletionTokens int     `json:"completion_tokens_assumed"`
	LearnedExamples  int     `json:"learned_examples"`
	// Graded says the data holds scores, not correctness: the accuracies
	// above are then mean scores.
	Graded bool `json:"graded,omitempty"`
}

// Evaluate scores data with the router, sweeps the threshold and prices the
// default threshold.
func Evaluate(ctx context.Context, r *Router, data []Labelled, opt EvalOptions) (Report, error) {
	p, err := r.Prepare(ctx, data, opt.Count)
	if err != nil {
		return Report{}, fmt.Errorf("evaluate: %w", err)
	}
	return r.Metrics(p, r.Rescore(p, nil), opt)
}

// Metrics computes the report for prepared prompts and their raw scores
// (from Rescore). It is cheap enough to run after every rule edit.
func (r *Router) Metrics(p *Prepared, scores []float64, opt EvalOptions) (Report, error) {
	c, err := Sweep(scores, p.Data)
	if err != nil {
		return Report{}, fmt.Errorf("evaluate: %w", err)
	}
	rep := Report{
		Prompts: len(p.Data), WeakAccuracy: c.Weak, StrongAccuracy: c.Strong,
		WeakModel: opt.Weak.ID, StrongModel: opt.Strong.ID,
		CompletionTokens: cmpOrInt(opt.CompletionTokens, DefaultEvalCompletionTokens),
		Threshold:        opt.Threshold,
		Graded:           slices.ContainsFunc(p.Data, func(d Labelled) bool { return d.Graded }),
	}
	if r.learned != nil {
		rep.LearnedExamples = r.learned.Len()
	}
	if rep.Threshold == 0 {
		rep.Threshold = r.cfg.evalThreshold()
	}
	if rep.APGR, err = c.APGR(); err != nil {
		return rep, fmt.Errorf("evaluate: %w", err)
	}
	if rep.CPT50, err = c.CPT(0.5); err != nil {
		return rep, fmt.Errorf("evaluate: %w", err)
	}
	if rep.CPT80, err = c.CPT(0.8); err != nil {
		return rep, fmt.Errorf("evaluate: %w", err)
	}
	var strongN int
	var correct float64
	var total, allStrong, allWeak money.Nanos
	for i, d := range p.Data {
		u := cost.Usage{PromptTokens: int64(p.tokens[i]), CompletionTokens: int64(rep.CompletionTokens)}
		sc, wc := cost.Request(opt.Strong, u), cost.Request(opt.Weak, u)
		allStrong += sc
		allWeak += wc
		w, s := d.quality()
		if clamp01(scores[i]) >= rep.Threshold {
			strongN++
			total += sc
			correct += s
		} else {
			total += wc
			correct += w
		}
	}
	rep.StrongShare = float64(strongN) / float64(len(p.Data))
	rep.Accuracy = correct / float64(len(p.Data))
	rep.CostUSD, rep.AllStrongCostUSD, rep.AllWeakCostUSD = total.USD(), allStrong.USD(), allWeak.USD()
	for _, f := range []float64{rep.APGR, rep.CPT50, rep.CPT80} {
		if math.IsNaN(f) {
			return rep, errors.New("evaluate: metric is NaN")
		}
	}
	return rep, nil
}

func cmpOrInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// EvalModels resolves the --weak-model / --strong-model names against the
// catalog. An empty name falls back to the first known of the defaults
// (RouteLLM's Mixtral-8x7B / GPT-4-1106-preview pair when the catalog has
// them), then to the router's cheapest and strongest tier models.
func (r *Router) EvalModels(weak, strong string) (pricing.Model, pricing.Model, error) {
	pick := func(name string, defaults []string, fallback pricing.Model) (pricing.Model, error) {
		if name != "" {
			m, ok := r.cat.Lookup(name)
			if !ok {
				return pricing.Model{}, fmt.Errorf("model %q is not in the price catalog", name)
			}
			return m, nil
		}
		for _, d := range defaults {
			if m, ok := r.cat.Lookup(d); ok {
				return m, nil
			}
		}
		return fallback, nil
	}
	w, err := pick(weak, []string{"mixtral-8x7b-instruct", "mixtral-8x7b", "mistralai/mixtral-8x7b-instruct-v0.1"}, r.tiers[0].models[0])
	if err != nil {
		return w, w, fmt.Errorf("weak model: %w", err)
	}
	s, err := pick(strong, []string{"gpt-4-1106-preview", "gpt-4-turbo"}, r.tiers[len(r.tiers)-1].models[0])
	if err != nil {
		return w, s, fmt.Errorf("strong model: %w", err)
	}
	return w, s, nil
}
