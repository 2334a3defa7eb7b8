package cache

import (
	"fmt"
	"sync"
	"sync/atomic"
)

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
	// AnalysisCache bounds how many texts' analyses (words, numbers,
	// entities, word ids, trigrams) the judge keeps, least recently used
	// evicted first: the same cached prompts are judged over and over, so
	// each is analysed once. 0 means DefaultAnalysisCache; negative
	// disables the cache.
	AnalysisCache int
	// AnalysisCacheBytes bounds the cache's estimated memory
	// (analysisCost); 0 means DefaultAnalysisCacheBytes.
	AnalysisCacheBytes int
}

// DefaultAnalysisCache is the default JudgeOptions.AnalysisCache.
const DefaultAnalysisCache = 4096

// DefaultAnalysisCacheBytes bounds the analysis cache's estimated memory.
const DefaultAnalysisCacheBytes = 64 << 20

// Calibrated is the default Judge: guards first, then a fitted logistic
// model over similarity features. Safe for concurrent use: its only mutable
// state is the analysis cache, which has its own lock and holds immutable
// analyses.
type Calibrated struct {
	model  ScoreModel
	lex    Lexicon
	guards GuardOptions
	scale  string
	cache  *analysisCache // nil when disabled
	// scratch pools the temporary slices of judgements (*scratch): no
	// state survives a judgement.
	scratch sync.Pool
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
	j := &Calibrated{model: m, lex: opts.Lexicon, guards: opts.Guards, scale: scale}
	n, bytes := opts.AnalysisCache, opts.AnalysisCacheBytes
	if n == 0 {
		n = DefaultAnalysisCache
	}
	if bytes <= 0 {
		bytes = DefaultAnalysisCacheBytes
	}
	if n > 0 {
		j.cache = newAnalysisCache(n, bytes)
	}
	return j, nil
}

// Scale implements Judge.
func (j *Calibrated) Scale() string { return j.scale }

// Model returns the score model in use.
func (j *Calibrated) Model() ScoreModel { return j.model }

// Judge implements Judge. Score is the calibrated probability whether or not
// a guard fired, so explanations can show how close a rejected pair was;
// the caller serves only when Guard is empty and Score reaches the
// threshold. Both texts' analyses come from the judge's cache, so judging
// one query against several candidates analyses the query once; JudgeMany
// with a Prepared query skips even the cache look-up.
func (j *Calibrated) Judge(query, cached Text) Judgement {
	return j.judge(j.analysis(query.Prompt), query.Vector, j.analysis(cached.Prompt), cached.Vector)
}

// PreparedJudge is a Judge that can analyse a query once and judge it
// against many candidates (a lookup judges up to 8, a what-if more).
// Judge(q, c) and JudgePrepared(Prepare(q), c) give the same Judgement.
type PreparedJudge interface {
	Judge
	Prepare(query Text) *Prepared
	JudgePrepared(q *Prepared, cached Text) Judgement
	JudgeMany(q *Prepared, cands []Text) []Judgement
}

var _ PreparedJudge = (*Calibrated)(nil)

// Prepared is a query analysed once for judging against many candidates.
// Immutable; safe to share between goroutines.
type Prepared struct {
	text Text
	a    *analysis
}

// Text returns the prepared query.
func (p *Prepared) Text() Text { return p.text }

// Prepare analyses a query once (or takes its analysis from the cache).
func (j *Calibrated) Prepare(query Text) *Prepared {
	return &Prepared{text: query, a: j.analysis(query.Prompt)}
}

// JudgeMany judges a prepared query against each candidate, in order:
// out[i] is exactly Judge(q.Text(), cands[i]).
func (j *Calibrated) JudgeMany(q *Prepared, cands []Text) []Judgement {
	out := make([]Judgement, len(cands))
	for i, c := range cands {
		out[i] = j.judge(q.a, q.text.Vector, j.analysis(c.Prompt), c.Vector)
	}
	return out
}

// JudgePrepared judges a prepared query against one candidate.
func (j *Calibrated) JudgePrepared(q *Prepared, cached Text) Judgement {
	return j.judge(q.a, q.text.Vector, j.analysis(cached.Prompt), cached.Vector)
}

func (j *Calibrated) judge(q *analysis, qv []float32, c *analysis, cv []float32) Judgement {
	sc, _ := j.scratch.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	onlyQ := unmatchedEntities(q, c, sc.onlyQ[:0])
	onlyC := unmatchedEntities(c, q, sc.onlyC[:0])
	f := computeFeaturesWith(q, c, qv, cv, j.lex, onlyQ, onlyC, sc)
	g, d := runGuardsWith(q, c, j.guards, onlyQ, onlyC)
	// The guards' verdict and detail are strings: nothing keeps the lists.
	sc.onlyQ, sc.onlyC = clearEntities(onlyQ), clearEntities(onlyC)
	j.scratch.Put(sc)
	return Judgement{Score: j.model.Probability(f), Cosine: f.Cosine, Guard: g, Detail: d, Features: f}
}

// analysis returns text's analysis, prepared with the judge's lexicon.
func (j *Calibrated) analysis(text string) *analysis {
	if j.cache != nil {
		if a, ok := j.cache.get(text); ok {
			return a
		}
	}
	a := analyze(text)
	a.lx = newLexData(a, j.lex)
	if j.cache != nil {
		j.cache.put(text, a)
	}
	return a
}

// analysisCache maps a text to its analysis, bounded by entry count and
// by estimated bytes, evicting by CLOCK (second chance): a look-up only
// sets its entry's reference bit, under a read lock, so the many
// concurrent look-ups of a replay neither serialize on one mutex nor move
// list elements; a put sweeps the clock hand past referenced entries
// (clearing their bits) and evicts the first unreferenced one. Entries
// used since the hand last passed survive, as in an LRU. Two goroutines
// may analyse the same text at once; both results are equal, the first
// put wins.
type analysisCache struct {
	mu       sync.RWMutex
	max      int
	maxBytes int
	bytes    int
	slots    []cacheSlot // the clock; a nil a marks a free slot
	free     []int32     // free slots (evicted, or never used)
	hand     int
	items    map[string]int32 // text → slot
}

type cacheSlot struct {
	text string
	a    *analysis
	cost int
	ref  atomic.Bool // used since the hand last passed
}

func newAnalysisCache(max, maxBytes int) *analysisCache {
	return &analysisCache{max: max, maxBytes: maxBytes, items: make(map[string]int32)}
}

// analysisCost bounds an analysis's memory, as measured (runtime heap,
// BenchmarkAnalysisMemory and TestAnalysisCostBounds): under 2 KB plus 60
// to 100 bytes per byte of a prompt up to 1 KB (5.8 KB for a 66-byte
// question), 33 bytes per byte beyond (0.5 MB for 2,000 tokens), plus its
// memos full: word similarities (12 bytes an entry and the slices' size
// classes, simMemoCap entries) and entity presence (an entry and the key
// it holds, under 96 bytes, presenceMemoCap entries), with some margin.
// Short prompts' memos are bounded by their length so that an analysis
// stays small: about 13 KB in all for a
// one-line prompt (the estimate was 28 KB, and the real size 16 KB, when
// its memos were maps).
func analysisCost(text string) int {
	n := len(text)
	return 2560 + 100*min(n, 1024) + 40*max(0, n-1024) + 16*simMemoCap(n) + 96*presenceMemoCap(n)
}

func (c *analysisCache) get(text string) (*analysis, bool) {
	c.mu.RLock()
	i, ok := c.items[text]
	if !ok {
		c.mu.RUnlock()
		return nil, false
	}
	e := &c.slots[i]
	if !e.ref.Load() { // a read first: no cache-line write for a hot entry
		e.ref.Store(true)
	}
	a := e.a
	c.mu.RUnlock()
	return a, true
}

func (c *analysisCache) put(text string, a *analysis) {
	cost := analysisCost(text)
	if cost > c.maxBytes {
		return // would evict everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, ok := c.items[text]; ok {
		c.slots[i].ref.Store(true)
		return
	}
	for len(c.items) >= c.max || c.bytes+cost > c.maxBytes {
		c.evict()
	}
	var i int32
	if n := len(c.free); n > 0 {
		i, c.free = c.free[n-1], c.free[:n-1]
	} else {
		c.slots = append(c.slots, cacheSlot{})
		i = int32(len(c.slots) - 1)
	}
	e := &c.slots[i]
	e.text, e.a, e.cost = text, a, cost
	e.ref.Store(false)
	c.items[text] = i
	c.bytes += cost
}

// evict removes one entry: the first unreferenced one from the hand on,
// clearing the bits it passes. The cache is not empty.
func (c *analysisCache) evict() {
	for {
		if c.hand >= len(c.slots) {
			c.hand = 0
		}
		e := &c.slots[c.hand]
		c.hand++
		if e.a == nil {
			continue
		}
		if e.ref.Load() {
			e.ref.Store(false)
			continue
		}
		delete(c.items, e.text)
		c.bytes -= e.cost
		e.text, e.a, e.cost = "", nil, 0
		c.free = append(c.free, int32(c.hand-1))
		return
	}
}

func (c *analysisCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items)
}
