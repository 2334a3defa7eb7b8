package cache

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// Lexicon is word knowledge the judge borrows from the embedder, when it has
// any (the local GloVe embedder does; remote APIs do not).
type Lexicon interface {
	// Weight is how much a word carries, in (0,1]: near 0 for "the", 1 for
	// rare words. SIF weights a/(a+p(w)) fit.
	Weight(word string) float64
	// WordSim is a word-to-word similarity in [-1,1], 1 for identical words,
	// 0 when unknown.
	WordSim(a, b string) float64
}

// FeatureNames lists, in order, the signals the calibrated score combines.
func FeatureNames() []string {
	return []string{"cosine", "char3", "word_overlap", "align", "max_gap", "len_ratio", "number_added", "entity_added", "entity_conflict"}
}

// Features are the similarity signals of one (query, cached) pair, each in
// [0,1] (cosine in [-1,1]).
type Features struct {
	Cosine      float64 // cosine of the two embeddings
	Char3       float64 // cosine of exact character-trigram counts
	WordOverlap float64 // weighted Jaccard of the word sets
	Align       float64 // weighted share of each text's words matched (softly) in the other
	MaxGap      float64 // the weightiest word of either text with no counterpart: weight × (1 − best match)
	LenRatio    float64 // shorter / longer, in words
	NumberAdded float64 // 1 when only one text has numbers the other lacks
	EntityAdded float64 // 1 when only one text names entities the other lacks
	// EntityConflict is 1 when each text names entities the other lacks
	// (when the entity guard did not already call it a substitution).
	EntityConflict float64
}

// Vector returns the features in FeatureNames() order.
func (f Features) Vector() []float64 {
	return []float64{f.Cosine, f.Char3, f.WordOverlap, f.Align, f.MaxGap, f.LenRatio, f.NumberAdded, f.EntityAdded, f.EntityConflict}
}

// softMatch is how close a word must be (WordSim) to count as present in the
// other text; below it, similarity is scaled down linearly to 0 so that
// "berries"/"carrots" (related, not interchangeable) still leave a gap.
const softMatch = 0.75

// WordVectors is an optional extension of Lexicon that lets the judge
// compare words by id: looked up once per text, then compared pairwise
// without map lookups, and each pair's similarity computed once for both
// directions. The local embedder implements it.
type WordVectors interface {
	Lexicon
	// WordID returns the word's index; false when the lexicon has no
	// vector for it, in which case WordSim is 0 against any other word.
	WordID(word string) (int32, bool)
	// BestSims computes, for every i with needA[i], the largest of
	// bestA[i] and WordSim(a[i], b[j]) over all j, and for every j with
	// needB[j] the largest of bestB[j] and WordSim(b[j], a[i]) over all i,
	// with the exact values WordSim returns. Pairs where neither side needs
	// the comparison may be skipped.
	BestSims(a, b []int32, needA, needB []bool, bestA, bestB []float64)
}

// lexData is the part of a text's analysis that depends on the lexicon:
// computed once per text (prepare), not once per comparison.
type lexData struct {
	weight   []float64          // Weight(uniq[i])
	total    float64            // Σ weight
	ids      []int32            // WordID(uniq[i]); -1 when unknown or without WordVectors
	known    []int32            // indices i of uniq with ids[i] ≥ 0
	knownIDs []int32            // ids[known[k]]
	memo     *simMemo           // best similarity of other texts' words against this text
	tri      map[string]float64 // weighted character-trigram counts
	triKeys  []string           // tri's keys, in first-occurrence order
	triNorm  float64            // Σ tri²
}

func newLexData(a *analysis, lex Lexicon) *lexData {
	weight := func(w string) float64 {
		if lex == nil {
			return 1
		}
		return lex.Weight(w)
	}
	d := &lexData{weight: make([]float64, len(a.uniq)), ids: make([]int32, len(a.uniq)), memo: &simMemo{m: map[int32]float64{}}}
	wv, _ := lex.(WordVectors)
	for i, w := range a.uniq {
		d.weight[i] = weight(w)
		d.total += d.weight[i]
		d.ids[i] = -1
		if wv != nil {
			if id, ok := wv.WordID(w); ok {
				d.ids[i] = id
				d.known = append(d.known, int32(i))
				d.knownIDs = append(d.knownIDs, id)
			}
		}
	}
	d.tri, d.triKeys = trigrams(a.words, weight)
	for _, g := range d.triKeys {
		d.triNorm += d.tri[g] * d.tri[g]
	}
	return d
}

// simMemoMax bounds each text's memo of word similarities (about 40 bytes
// an entry): enough for every distinct word of a 2,000-token prompt.
const simMemoMax = 1024

// simMemo maps a word id to its best similarity (floored at 0) against the
// words of the text that owns the memo. Analyses are shared between
// goroutines, hence the lock.
type simMemo struct {
	mu sync.Mutex
	m  map[int32]float64
}

// store records best similarities by id, while the memo has room.
func (s *simMemo) store(ids []int32, best []float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, id := range ids {
		if len(s.m) >= simMemoMax {
			return
		}
		s.m[id] = best[k]
	}
}

// fromMemo fills best[i], for the words of d that need a soft match in
// the text other describes, from other's memo, and returns the indices
// (into d's uniq) of the known words it did not have. Words without a
// vector stay at 0.
func (d *lexData) fromMemo(other *lexData, need []bool, best []float64) (miss []int32) {
	other.memo.mu.Lock()
	defer other.memo.mu.Unlock()
	for _, i := range d.known {
		if !need[i] {
			continue
		}
		if v, ok := other.memo.m[d.ids[i]]; ok {
			best[i] = v
		} else {
			miss = append(miss, i)
		}
	}
	return miss
}

func idsOf(d *lexData, idx []int32) []int32 {
	out := make([]int32, len(idx))
	for k, i := range idx {
		out[k] = d.ids[i]
	}
	return out
}

func trues(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}

// computeFeaturesWith computes the similarity signals of a pair from the
// analyses (with their lexicon data) and each side's unmatched entities
// (the guards need them too). Sums run over words in first-occurrence
// order, so results are deterministic (the version that ranged over maps
// differed in the last bits from run to run).
func computeFeaturesWith(q, c *analysis, qv, cv []float32, lex Lexicon, onlyQ, onlyC []entity) Features {
	f := Features{Cosine: dot32(qv, cv)}
	f.Char3 = char3Dot(q.lx, c.lx)
	// Word overlap over c's words: inter is what both have, union q's
	// total plus what only c has.
	inter, union := 0.0, q.lx.total
	for j, w := range c.uniq {
		if q.wordSet[w] {
			inter += c.lx.weight[j]
		} else {
			union += c.lx.weight[j]
		}
	}
	if union > 0 {
		f.WordOverlap = inter / union
	}
	// Which words of each side need a soft match (no exact, stem, compound
	// or joined counterpart), then their best similarity in the other text.
	needQ, needC := needSoft(q, c), needSoft(c, q)
	bestQ, bestC := bestSims(q, c, needQ, needC, lex)
	a1, g1 := side(q, needQ, bestQ)
	a2, g2 := side(c, needC, bestC)
	f.Align = (a1 + a2) / 2
	f.MaxGap = math.Max(g1, g2)
	{
		n, e, x := additionsWith(q, c, onlyQ, onlyC)
		f.NumberAdded, f.EntityAdded, f.EntityConflict = b2f(n), b2f(e), b2f(x)
	}
	nq, nc := float64(len(q.words)), float64(len(c.words))
	if nq > 0 && nc > 0 {
		f.LenRatio = math.Min(nq, nc) / math.Max(nq, nc)
	}
	return f
}

// needSoft marks the words of a (a.uniq order) that o matches neither
// exactly, by stem, as a compound written apart in a ("upper case" ~
// "uppercase") nor written together in o.
func needSoft(a, o *analysis) []bool {
	compound := map[string]bool{}
	// Compounds: a's adjacent pairs written together in o. Iterate the
	// smaller of the two sets.
	if len(o.uniq) < len(a.pairJoins) {
		for _, x := range o.uniq {
			for _, i := range a.pairJoins[x] {
				compound[a.words[i]], compound[a.words[i+1]] = true, true
			}
		}
	} else {
		for j, pos := range a.pairJoins {
			if o.wordSet[j] {
				for _, i := range pos {
					compound[a.words[i]], compound[a.words[i+1]] = true, true
				}
			}
		}
	}
	need := make([]bool, len(a.uniq))
	for i, w := range a.uniq {
		need[i] = !compound[w] && !o.joins[w] && !o.wordSet[w] && !o.stems[a.uniqStems[i]]
	}
	return need
}

// bestSims returns, for each word of a and of o that needs a soft match,
// the highest WordSim against the other text's words, floored at 0.
func bestSims(a, o *analysis, needA, needO []bool, lex Lexicon) (bestA, bestO []float64) {
	bestA, bestO = make([]float64, len(a.uniq)), make([]float64, len(o.uniq))
	if lex == nil {
		return bestA, bestO
	}
	wv, ok := lex.(WordVectors)
	if !ok {
		for i, w := range a.uniq {
			if needA[i] {
				for _, x := range o.uniq {
					if s := lex.WordSim(w, x); s > bestA[i] {
						bestA[i] = s
					}
				}
			}
		}
		for j, x := range o.uniq {
			if needO[j] {
				for _, w := range a.uniq {
					if s := lex.WordSim(x, w); s > bestO[j] {
						bestO[j] = s
					}
				}
			}
		}
		return bestA, bestO
	}
	// Words without a vector have similarity 0 to every other word, which
	// never beats the floor: only known words are compared. A word needing
	// a soft match is never in the other text, so the pairs compared are
	// always distinct words.
	//
	// A word's best similarity against a text depends only on the word and
	// the text's words, so each text memoizes it by word id: a cached
	// prompt judged against query after query (a user typing, a replay)
	// compares only the query's new words. Only the misses are computed.
	missA := a.lx.fromMemo(o.lx, needA, bestA)
	missO := o.lx.fromMemo(a.lx, needO, bestO)
	if len(missA) > 0 {
		rows, out := idsOf(a.lx, missA), make([]float64, len(missA))
		wv.BestSims(rows, o.lx.knownIDs, trues(len(rows)), make([]bool, len(o.lx.knownIDs)), out, make([]float64, len(o.lx.knownIDs)))
		o.lx.memo.store(rows, out)
		for k, i := range missA {
			bestA[i] = out[k]
		}
	}
	if len(missO) > 0 {
		cols, out := idsOf(o.lx, missO), make([]float64, len(missO))
		wv.BestSims(a.lx.knownIDs, cols, make([]bool, len(a.lx.knownIDs)), trues(len(cols)), make([]float64, len(a.lx.knownIDs)), out)
		a.lx.memo.store(cols, out)
		for k, j := range missO {
			bestO[j] = out[k]
		}
	}
	return bestA, bestO
}

// side is one text's weighted alignment (share of its words matched in the
// other, softly) and its largest gap (weight × (1 − match)).
func side(a *analysis, need []bool, best []float64) (align, gap float64) {
	var sum, tot float64
	for i := range a.uniq {
		wt := a.lx.weight[i]
		b := 1.0
		if need[i] {
			b = best[i]
			if b < softMatch {
				b = b * b / softMatch * 0.5 // well below a match: counts little
			}
		}
		sum += wt * b
		tot += wt
		if g := wt * (1 - b); g > gap {
			gap = g
		}
	}
	if tot > 0 {
		align = sum / tot
	}
	return align, gap
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func dot32(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// char3Dot is the cosine of two texts' character-trigram counts
// (trigrams), computed over the smaller map.
func char3Dot(a, b *lexData) float64 {
	if a.triNorm == 0 || b.triNorm == 0 {
		return 0
	}
	small, large := a, b
	if len(large.triKeys) < len(small.triKeys) {
		small, large = large, small
	}
	var d float64
	for _, g := range small.triKeys {
		d += small.tri[g] * large.tri[g]
	}
	return d / math.Sqrt(a.triNorm*b.triNorm)
}

// trigrams counts the character trigrams of "<word>" (the same units the
// local embedder hashes), weighted by their word's weight, so "how do I"
// versus "how can I" costs little and a changed content word costs much.
// The keys are also returned in first-occurrence order, so that sums over
// them are deterministic.
func trigrams(ws []string, weight func(string) float64) (map[string]float64, []string) {
	m := map[string]float64{}
	var keys []string
	var starts []int
	for _, w := range ws {
		wt := weight(w)
		// Trigrams of runes, taken as substrings of "<w>" (words are valid
		// UTF-8: words() splits at anything that is not a letter or digit,
		// invalid bytes included), so no []rune or per-trigram string is
		// built.
		b := "<" + w + ">"
		starts = starts[:0]
		for i := range b {
			starts = append(starts, i)
		}
		starts = append(starts, len(b))
		for i := 0; i+3 < len(starts); i++ {
			g := b[starts[i]:starts[i+3]]
			if _, ok := m[g]; !ok {
				keys = append(keys, g)
			}
			m[g] += wt
		}
	}
	return m, keys
}

// ScoreModel is a logistic model over Features: Score = σ(Bias + Σ wᵢxᵢ).
// Its coefficients are fitted (see FitScoreModel and the fitting program
// named in Command), never hand-set.
type ScoreModel struct {
	Embedder string    `json:"embedder"` // embedder ID the cosine feature was fitted with
	Bias     float64   `json:"bias"`
	Weights  []float64 `json:"weights"` // in FeatureNames() order
	Fitted   string    `json:"fitted"`  // data it was fitted on
	Command  string    `json:"command"` // command that reproduces it
}

// Validate checks the model has one weight per feature and finite values.
func (m ScoreModel) Validate() error {
	if len(m.Weights) != len(FeatureNames()) {
		return fmt.Errorf("score model: %d weights for %d features", len(m.Weights), len(FeatureNames()))
	}
	for i, w := range append([]float64{m.Bias}, m.Weights...) {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("score model: coefficient %d is %v", i, w)
		}
	}
	return nil
}

// Probability is the calibrated match probability for f.
func (m ScoreModel) Probability(f Features) float64 {
	z := m.Bias
	for i, x := range f.Vector() {
		z += m.Weights[i] * x
	}
	return 1 / (1 + math.Exp(-z))
}

// FitScoreModel fits logistic regression by Newton's method with an L2
// penalty l2 on the weights (not the bias). Deterministic: the same data
// gives the same coefficients.
func FitScoreModel(x [][]float64, y []int, l2 float64) (bias float64, weights []float64, err error) {
	if len(x) == 0 || len(x) != len(y) {
		return 0, nil, errors.New("fit: need as many labels as rows, and at least one")
	}
	k := len(x[0]) + 1
	beta := make([]float64, k)
	for it := 0; it < 50; it++ {
		grad := make([]float64, k)
		hess := make([]float64, k*k)
		row := make([]float64, k)
		for i, xi := range x {
			if len(xi) != k-1 {
				return 0, nil, fmt.Errorf("fit: row %d has %d features, want %d", i, len(xi), k-1)
			}
			row[0] = 1
			copy(row[1:], xi)
			z := 0.0
			for j := range row {
				z += beta[j] * row[j]
			}
			p := 1 / (1 + math.Exp(-z))
			r := p * (1 - p)
			for j := range row {
				grad[j] += (p - float64(y[i])) * row[j]
				for l := range row {
					hess[j*k+l] += r * row[j] * row[l]
				}
			}
		}
		for j := 1; j < k; j++ {
			grad[j] += l2 * beta[j]
			hess[j*k+j] += l2
		}
		step, err := solve(hess, grad, k)
		if err != nil {
			return 0, nil, fmt.Errorf("fit: %w", err)
		}
		var size float64
		for j := range beta {
			beta[j] -= step[j]
			size += step[j] * step[j]
		}
		if size < 1e-18 {
			break
		}
	}
	return beta[0], beta[1:], nil
}

// FeatureSigns is the direction each feature may push the score: +1 may
// only raise it, -1 only lower it. FitSigned enforces them, so that a
// feature correlated with another cannot end up rewarding a gap between
// texts just because it explains residual noise on the fitting data.
func FeatureSigns() []int { return []int{+1, +1, +1, +1, -1, +1, -1, -1, -1} }

// FitSigned fits like FitScoreModel, then drops (fixes at 0) any feature
// whose weight has the wrong sign and refits, until all signs agree.
func FitSigned(x [][]float64, y []int, l2 float64, signs []int) (bias float64, weights []float64, err error) {
	if len(x) == 0 {
		return 0, nil, errors.New("fit: no rows")
	}
	k := len(x[0])
	if len(signs) != k {
		return 0, nil, fmt.Errorf("fit: %d signs for %d features", len(signs), k)
	}
	active := make([]bool, k)
	for i := range active {
		active[i] = true
	}
	for {
		var cols []int
		for i, a := range active {
			if a {
				cols = append(cols, i)
			}
		}
		sub := make([][]float64, len(x))
		for r, row := range x {
			sub[r] = make([]float64, len(cols))
			for j, c := range cols {
				sub[r][j] = row[c]
			}
		}
		b, w, err := FitScoreModel(sub, y, l2)
		if err != nil {
			return 0, nil, err
		}
		weights = make([]float64, k)
		worst, worstCol := 0.0, -1
		for j, c := range cols {
			weights[c] = w[j]
			if v := w[j] * float64(signs[c]); v < worst {
				worst, worstCol = v, c
			}
		}
		if worstCol < 0 {
			return b, weights, nil
		}
		active[worstCol] = false
	}
}

// solve solves A·x = b by Gaussian elimination with partial pivoting.
func solve(a, b []float64, n int) ([]float64, error) {
	m := make([]float64, len(a))
	copy(m, a)
	x := make([]float64, n)
	copy(x, b)
	for col := 0; col < n; col++ {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(m[r*n+col]) > math.Abs(m[piv*n+col]) {
				piv = r
			}
		}
		if math.Abs(m[piv*n+col]) < 1e-12 {
			return nil, errors.New("singular system (a feature is constant or duplicated)")
		}
		if piv != col {
			for c := 0; c < n; c++ {
				m[col*n+c], m[piv*n+c] = m[piv*n+c], m[col*n+c]
			}
			x[col], x[piv] = x[piv], x[col]
		}
		for r := col + 1; r < n; r++ {
			f := m[r*n+col] / m[col*n+col]
			for c := col; c < n; c++ {
				m[r*n+c] -= f * m[col*n+c]
			}
			x[r] -= f * x[col]
		}
	}
	for r := n - 1; r >= 0; r-- {
		for c := r + 1; c < n; c++ {
			x[r] -= m[r*n+c] * x[c]
		}
		x[r] /= m[r*n+r]
	}
	return x, nil
}
