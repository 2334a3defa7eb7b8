package cache

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"unicode/utf8"
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
	weight   []float64 // Weight(uniq[i])
	total    float64   // Σ weight
	ids      []int32   // WordID(uniq[i]); -1 when unknown or without WordVectors
	known    []int32   // indices i of uniq with ids[i] ≥ 0
	knownIDs []int32   // ids[known[k]]
	memo     *simMemo  // best similarity of other texts' words against this text
	// Weighted character-trigram counts. When every trigram fits in 8
	// bytes (any text of Latin, Greek or Cyrillic words, most others), they
	// are packed into integers and sorted, so that two texts' counts meet
	// in one merge (char3Dot) instead of a string-keyed map look-up per
	// trigram; otherwise (triPacked false) they stay in tri.
	triPacked bool
	triS      []uint64           // packed trigrams, sorted
	triSV     []float64          // triSV[k]: weighted count of triS[k]
	triSI     []int32            // triSI[k]: rank of triS[k]'s first occurrence in the text
	tri       map[string]float64 // weighted character-trigram counts (unpacked form)
	triKeys   []string           // tri's keys, in first-occurrence order (unpacked form)
	triN      int                // number of distinct trigrams
	triNorm   float64            // Σ tri², summed in first-occurrence order
}

func newLexData(a *analysis, lex Lexicon) *lexData {
	weight := func(w string) float64 {
		if lex == nil {
			return 1
		}
		return lex.Weight(w)
	}
	d := &lexData{weight: make([]float64, len(a.uniq)), ids: make([]int32, len(a.uniq)), memo: &simMemo{max: simMemoCap(len(a.raw))}}
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
	if !d.packTrigrams(a) {
		d.tri, d.triKeys = trigrams(a.words, weight)
		d.triN = len(d.triKeys)
		for _, g := range d.triKeys {
			d.triNorm += d.tri[g] * d.tri[g]
		}
	}
	return d
}

// packTri packs a trigram of at most 8 bytes into an integer, its bytes
// zero-padded: words never hold a NUL byte (words() splits at anything
// that is not a letter or digit), so distinct trigrams get distinct keys.
func packTri(g string) (uint64, bool) {
	if len(g) > 8 {
		return 0, false
	}
	var k uint64
	for i := 0; i < len(g); i++ {
		k |= uint64(g[i]) << (8 * i)
	}
	return k, true
}

// unpackTri is packTri's inverse.
func unpackTri(k uint64) string {
	var b [8]byte
	n := 0
	for ; n < 8 && k>>(8*n)&0xff != 0; n++ {
		b[n] = byte(k >> (8 * n))
	}
	return string(b[:n])
}

// packTrigrams fills the packed form of the trigram counts with exactly
// the values trigrams() computes: each trigram's weights summed in
// occurrence order, ranks and the norm in first-occurrence order. False
// (nothing filled) when a trigram does not fit in 8 bytes. Trigrams are
// grouped with a small open-addressing table (on the stack for a short
// text) instead of a string-keyed map. Each occurrence adds its word's
// weight from d.weight, looked up once per distinct word: Lexicon.Weight
// is a function of the word.
func (d *lexData) packTrigrams(a *analysis) bool {
	nOcc := 0
	for _, w := range a.words {
		nOcc += utf8.RuneCountInString(w)
	}
	// Distinct trigrams, in first-occurrence order, and their counts.
	var keyBuf [128]uint64
	var valBuf [128]float64
	keys, vals := keyBuf[:0], valBuf[:0]
	if nOcc > len(keyBuf) {
		keys, vals = make([]uint64, 0, nOcc), make([]float64, 0, nOcc)
	}
	var slotBuf [512]int32
	size := 16
	for size < 2*nOcc {
		size *= 2
	}
	slots := slotBuf[:0]
	if size <= len(slotBuf) {
		slots = slotBuf[:size]
	} else {
		slots = make([]int32, size)
	}
	mask := uint64(size - 1)
	var starts [64]int
	for wi, w := range a.words {
		wt := d.weight[a.wordUniq[wi]]
		// The trigrams of "<w>", rune by rune, as trigrams() takes them.
		st := starts[:0]
		st = append(st, 0)
		for i := range w {
			st = append(st, 1+i)
		}
		st = append(st, 1+len(w), 2+len(w))
		for i := 0; i+3 < len(st); i++ {
			lo, hi := st[i], st[i+3]
			if hi-lo > 8 {
				return false
			}
			var k uint64
			for p := lo; p < hi; p++ {
				var c byte
				switch {
				case p == 0:
					c = '<'
				case p == len(w)+1:
					c = '>'
				default:
					c = w[p-1]
				}
				k |= uint64(c) << (8 * (p - lo))
			}
			for h := (k * 0x9e3779b97f4a7c15 >> 32) & mask; ; h = (h + 1) & mask {
				if slots[h] == 0 {
					keys, vals = append(keys, k), append(vals, 0)
					slots[h] = int32(len(keys))
					vals[len(vals)-1] += wt // 0 + wt, as trigrams() adds to an absent key
					break
				}
				if g := slots[h] - 1; keys[g] == k {
					vals[g] += wt
					break
				}
			}
		}
	}
	n := len(keys)
	for _, v := range vals {
		d.triNorm += v * v
	}
	// The sorted form for merging, with each trigram's rank.
	d.triS, d.triSV, d.triSI = make([]uint64, n), make([]float64, n), make([]int32, n)
	for r := range d.triSI {
		d.triSI[r] = int32(r)
	}
	slices.SortFunc(d.triSI, func(x, y int32) int { return cmp.Compare(keys[x], keys[y]) })
	for k, r := range d.triSI {
		d.triS[k], d.triSV[k] = keys[r], vals[r]
	}
	d.triN, d.triPacked = n, true
	return true
}

// simMemoMax bounds each text's memo of word similarities: enough for
// every distinct word of a 2,000-token prompt. A short text's memo is
// bounded by simMemoCap, so that its analysis stays small.
const simMemoMax = 1024

// simMemoCap is the memo bound for a text of n bytes: about a word's worth
// of entries per byte, which holds the words a short prompt is compared
// with across many lookups (the words of the queries that reach it).
func simMemoCap(n int) int { return min(simMemoMax, 64+2*n) }

// simMemo maps a word id to its best similarity (floored at 0) against the
// words of the text that owns the memo, as two slices sorted by id (12
// bytes an entry, a map takes several times that). Analyses are shared
// between goroutines, hence the lock.
type simMemo struct {
	mu   sync.Mutex
	max  int
	ids  []int32
	vals []float64
}

// get returns the memoized similarity of word id; the caller holds mu.
func (s *simMemo) get(id int32) (float64, bool) {
	if i, ok := slices.BinarySearch(s.ids, id); ok {
		return s.vals[i], true
	}
	return 0, false
}

// store records best similarities by id, while the memo has room.
func (s *simMemo) store(ids []int32, best []float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, id := range ids {
		if len(s.ids) >= s.max {
			return
		}
		i, ok := slices.BinarySearch(s.ids, id)
		if ok {
			s.vals[i] = best[k]
			continue
		}
		if len(s.ids) == cap(s.ids) { // grow, but never past the bound
			n := min(s.max, max(8, 2*cap(s.ids)))
			s.ids, s.vals = slices.Grow(s.ids, n-len(s.ids)), slices.Grow(s.vals, n-len(s.vals))
		}
		s.ids, s.vals = slices.Insert(s.ids, i, id), slices.Insert(s.vals, i, best[k])
	}
}

// fromMemo fills best[i], for the words of d that need a soft match in
// the text other describes, from other's memo, and appends to miss the
// indices (into d's uniq) of the known words it did not have. Words
// without a vector stay at 0.
func (d *lexData) fromMemo(other *lexData, need []bool, best []float64, miss []int32) []int32 {
	other.memo.mu.Lock()
	defer other.memo.mu.Unlock()
	for _, i := range d.known {
		if !need[i] {
			continue
		}
		if v, ok := other.memo.get(d.ids[i]); ok {
			best[i] = v
		} else {
			miss = append(miss, i)
		}
	}
	return miss
}

// scratch holds one judgement's temporary slices, reused from judgement
// to judgement (Calibrated keeps a pool) so that judging a pair of short
// texts allocates next to nothing.
type scratch struct {
	needQ, needC, compound, trueB, falseB []bool
	bestQ, bestC, out, zeros              []float64
	miss, rows                            []int32
	qInC, cInQ                            []bool
	onlyQ, onlyC                          []entity // unmatchedEntities
}

// bools returns s resized to n, all false.
func bools(s *[]bool, n int) []bool {
	if cap(*s) < n {
		*s = make([]bool, n)
	}
	*s = (*s)[:n]
	clear(*s)
	return *s
}

// floats returns s resized to n, all 0.
func floats(s *[]float64, n int) []float64 {
	if cap(*s) < n {
		*s = make([]float64, n)
	}
	*s = (*s)[:n]
	clear(*s)
	return *s
}

// computeFeaturesWith computes the similarity signals of a pair from the
// analyses (with their lexicon data) and each side's unmatched entities
// (the guards need them too). Sums run over words in first-occurrence
// order, so results are deterministic (the version that ranged over maps
// differed in the last bits from run to run). sc may be nil.
func computeFeaturesWith(q, c *analysis, qv, cv []float32, lex Lexicon, onlyQ, onlyC []entity, sc *scratch) Features {
	if sc == nil {
		sc = new(scratch)
	}
	qInC, cInQ := commonWords(q, c, sc)
	f := cheapFeatures(q, c, qv, cv, onlyQ, onlyC, cInQ)
	// Which words of each side need a soft match (no exact, stem, compound
	// or joined counterpart), then their best similarity in the other text.
	needQ, needC := needSoft(q, c, qInC, bools(&sc.needQ, len(q.uniq)), sc), needSoft(c, q, cInQ, bools(&sc.needC, len(c.uniq)), sc)
	bestQ, bestC := bestSims(q, c, needQ, needC, lex, sc)
	f.Align, f.MaxGap = alignGap(q, c, needQ, needC, bestQ, bestC)
	return f
}

// commonWords marks the words two texts share: qInC[i] when q.uniq[i] is
// among c's words, cInQ[j] when c.uniq[j] is among q's. Both word sets
// are sorted by hash, so they meet in one merge (strings compared where
// hashes are equal).
func commonWords(q, c *analysis, sc *scratch) (qInC, cInQ []bool) {
	qInC, cInQ = bools(&sc.qInC, len(q.uniq)), bools(&sc.cInQ, len(c.uniq))
	x, y := q.wordSet, c.wordSet
	for i, k := 0, 0; i < len(x) && k < len(y); {
		switch h := x[i].h; {
		case h < y[k].h:
			i++
		case h > y[k].h:
			k++
		default:
			i1, k1 := i, k
			for i1 < len(x) && x[i1].h == h {
				i1++
			}
			for k1 < len(y) && y[k1].h == h {
				k1++
			}
			for p := i; p < i1; p++ {
				for r := k; r < k1; r++ {
					if x[p].s == y[r].s {
						qInC[q.wordIdx[p]], cInQ[c.wordIdx[r]] = true, true
					}
				}
			}
			i, k = i1, k1
		}
	}
	return qInC, cInQ
}

// cheapFeatures computes every feature but Align and MaxGap, which need
// the words' similarities. cInQ marks c's words that q has.
func cheapFeatures(q, c *analysis, qv, cv []float32, onlyQ, onlyC []entity, cInQ []bool) Features {
	f := Features{Cosine: dot32(qv, cv)}
	f.Char3 = char3Dot(q.lx, c.lx)
	// Word overlap over c's words: inter is what both have, union q's
	// total plus what only c has.
	inter, union := 0.0, q.lx.total
	for j := range c.uniq {
		if cInQ[j] {
			inter += c.lx.weight[j]
		} else {
			union += c.lx.weight[j]
		}
	}
	if union > 0 {
		f.WordOverlap = inter / union
	}
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

// alignGap combines both sides' alignments and gaps into the Align and
// MaxGap features.
func alignGap(q, c *analysis, needQ, needC []bool, bestQ, bestC []float64) (align, maxGap float64) {
	a1, g1 := side(q, needQ, bestQ)
	a2, g2 := side(c, needC, bestC)
	return (a1 + a2) / 2, math.Max(g1, g2)
}

// needSoft marks in need (len(a.uniq), all false) the words of a (a.uniq
// order; inO marks those o has) that o matches neither exactly, by stem, as a compound written
// apart in a ("upper case" ~ "uppercase") nor written together in o.
func needSoft(a, o *analysis, inO, need []bool, sc *scratch) []bool {
	var compound []bool // by uniq index; nil until a compound is found
	mark := func(i int32) {
		if compound == nil {
			compound = bools(&sc.compound, len(a.uniq))
		}
		compound[a.wordUniq[i]], compound[a.wordUniq[i+1]] = true, true
	}
	// Compounds: a's adjacent pairs written together in o: both lists
	// are sorted by hash, so they meet in one merge.
	for k, m := 0, 0; k < len(a.pairJoins) && m < len(o.wordSet); {
		p, x := a.pairJoins[k], o.wordSet[m]
		switch {
		case p.h < x.h:
			k++
		case p.h > x.h:
			m++
		default:
			// Equal hashes: every pair with this hash against every word
			// with it, compared as strings.
			k1 := k
			for k1 < len(a.pairJoins) && a.pairJoins[k1].h == p.h {
				k1++
			}
			for ; m < len(o.wordSet) && o.wordSet[m].h == p.h; m++ {
				for _, q := range a.pairJoins[k:k1] {
					if isJoin(o.wordSet[m].s, a.words[q.i], a.words[q.i+1]) {
						mark(q.i)
					}
				}
			}
			k = k1
		}
	}
	for i, w := range a.uniq {
		need[i] = (compound == nil || !compound[i]) && !o.joins.has(w, a.uniqH[i]) && !inO[i] && !o.stems.has(a.uniqStems[i], a.uniqStemH[i])
	}
	return need
}

// isJoin reports whether x is a written together with b.
func isJoin(x, a, b string) bool {
	return len(x) == len(a)+len(b) && x[:len(a)] == a && x[len(a):] == b
}

// bestSims returns, for each word of a and of o that needs a soft match,
// the highest WordSim against the other text's words, floored at 0.
func bestSims(a, o *analysis, needA, needO []bool, lex Lexicon, sc *scratch) (bestA, bestO []float64) {
	bestA, bestO = floats(&sc.bestQ, len(a.uniq)), floats(&sc.bestC, len(o.uniq))
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
	sc.miss = a.lx.fromMemo(o.lx, needA, bestA, sc.miss[:0])
	if len(sc.miss) > 0 {
		bestMissing(wv, a.lx, o.lx, sc.miss, bestA, false, sc)
	}
	sc.miss = o.lx.fromMemo(a.lx, needO, bestO, sc.miss[:0])
	if len(sc.miss) > 0 {
		bestMissing(wv, o.lx, a.lx, sc.miss, bestO, true, sc)
	}
	return bestA, bestO
}

// bestMissing computes best[i] for the words miss of d against the known
// words of o with BestSims, and stores them in o's memo. The words are
// passed on the side they were passed on before memos were split in two
// calls (d's words as BestSims's a, unless swapped), so that the values
// are computed exactly as they always were.
func bestMissing(wv WordVectors, d, o *lexData, miss []int32, best []float64, swapped bool, sc *scratch) {
	rows := sc.rows[:0]
	for _, i := range miss {
		rows = append(rows, d.ids[i])
	}
	sc.rows = rows
	out := floats(&sc.out, len(rows))
	need := bools(&sc.trueB, len(rows))
	for k := range need {
		need[k] = true
	}
	none, zeros := bools(&sc.falseB, len(o.knownIDs)), floats(&sc.zeros, len(o.knownIDs))
	if swapped {
		wv.BestSims(o.knownIDs, rows, none, need, zeros, out)
	} else {
		wv.BestSims(rows, o.knownIDs, need, none, out, zeros)
	}
	o.memo.store(rows, out)
	for k, i := range miss {
		best[i] = out[k]
	}
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
// (trigrams), summed over the smaller set of trigrams in its
// first-occurrence order. Packed, the two sorted sets are merged and each
// product is summed at its trigram's rank: the same terms in the same
// order as a walk over the smaller text's trigrams (the trigrams the other
// lacks add +0, which leaves a sum unchanged), so the same bits.
func char3Dot(a, b *lexData) float64 {
	if a.triNorm == 0 || b.triNorm == 0 {
		return 0
	}
	small, large := a, b
	if large.triN < small.triN {
		small, large = large, small
	}
	if !small.triPacked || !large.triPacked {
		return char3DotMixed(small, large) / math.Sqrt(a.triNorm*b.triNorm)
	}
	var buf [128]float64
	var prod []float64
	if small.triN <= len(buf) {
		prod = buf[:small.triN]
	} else {
		prod = make([]float64, small.triN)
	}
	s, l := small.triS, large.triS
	for i, k := 0, 0; i < len(s) && k < len(l); {
		switch {
		case s[i] < l[k]:
			i++
		case s[i] > l[k]:
			k++
		default:
			prod[small.triSI[i]] = small.triSV[i] * large.triSV[k]
			i, k = i+1, k+1
		}
	}
	var d float64
	for _, p := range prod {
		d += p
	}
	return d / math.Sqrt(a.triNorm*b.triNorm)
}

// char3DotMixed is char3Dot's sum when a text's trigrams are not packed.
func char3DotMixed(small, large *lexData) float64 {
	var d float64
	for _, t := range small.triOrdered() {
		d += t.v * large.triValue(t.g)
	}
	return d
}

type triCount struct {
	g string
	v float64
}

// triOrdered lists the trigram counts in first-occurrence order.
func (d *lexData) triOrdered() []triCount {
	out := make([]triCount, d.triN)
	if !d.triPacked {
		for i, g := range d.triKeys {
			out[i] = triCount{g, d.tri[g]}
		}
		return out
	}
	for k, r := range d.triSI {
		out[r] = triCount{unpackTri(d.triS[k]), d.triSV[k]}
	}
	return out
}

// triValue is the weighted count of trigram g (0 when absent).
func (d *lexData) triValue(g string) float64 {
	if !d.triPacked {
		return d.tri[g]
	}
	k, ok := packTri(g)
	if !ok {
		return 0
	}
	if i, found := slices.BinarySearch(d.triS, k); found {
		return d.triSV[i]
	}
	return 0
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
