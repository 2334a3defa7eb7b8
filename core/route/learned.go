package route

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/pennyllm/penny/core/embed"
)

// Example is one labelled prompt for the learned signal: did the weak
// (cheap) model suffice, was the strong model needed, or which tier should
// serve it?
type Example struct {
	Prompt       string `json:"prompt"`
	StrongNeeded bool   `json:"strong_needed"`
	// WeakBetter marks examples where the weak model was right and the
	// strong one wrong (known from evaluation data, not from user labels).
	// They vote against the strong model, so the vote estimates the
	// expected gain of the strong model, which is what routing trades
	// against cost.
	WeakBetter bool `json:"weak_better,omitempty"`
	// Tier, when set, names the tier that should serve the prompt, and the
	// example votes a score inside that tier's range (its midpoint, see
	// TierTargets) instead of the weak/strong outcome. A model outcome says
	// only "weak enough" or not; a tier label lets a user say "the middle
	// tier was right" for prompts the cheapest model fumbles but the
	// strongest would be wasted on.
	Tier string `json:"tier,omitempty"`
	// Group names where the example came from (a file, a subject). A
	// prepared prompt never gets votes from examples of its own group, so
	// weights fitted on grouped data measure how well labels transfer to
	// unseen groups, not how well they memorize their own.
	Group string `json:"group,omitempty"`
}

// target is an outcome example's vote: 1 strong needed, 0 weak better, ½
// when the strong model makes no difference. Tier examples vote their
// tier's target instead (see TierTargets).
func (e Example) target() float32 {
	switch {
	case e.StrongNeeded:
		return 1
	case e.WeakBetter:
		return 0
	}
	return 0.5
}

// TierTargets maps each tier to the vote of an example labelled with it:
// the midpoint of the tier's score range, [min_score, next tier's
// min_score), the last tier ending at 1. The midpoint is the value that
// stays inside the range however the neighbours' votes mix at its edges.
func TierTargets(tiers []TierConfig) map[string]float64 {
	out := make(map[string]float64, len(tiers))
	for i, t := range tiers {
		hi := 1.0
		if i+1 < len(tiers) {
			hi = tiers[i+1].MinScore
		}
		out[t.Name] = (t.MinScore + hi) / 2
	}
	return out
}

// History labels as stored in the history table's label column.
const (
	LabelWeakOK       = "weak_ok"
	LabelStrongNeeded = "strong_needed"
	// LabelTierPrefix starts a tier label: "tier:balanced" says the
	// balanced tier should serve the prompt.
	LabelTierPrefix = "tier:"
)

// ParseLabel maps a stored outcome label to an example label. ok is false
// for unlabelled (""), tier and unknown values; ExampleFromLabel handles
// every kind.
func ParseLabel(label string) (strongNeeded, ok bool) {
	switch label {
	case LabelWeakOK:
		return false, true
	case LabelStrongNeeded:
		return true, true
	}
	return false, false
}

// ExampleFromLabel turns a labelled history prompt into an example: weak_ok,
// strong_needed or "tier:" followed by a tier name. ok is false for
// unlabelled and unknown labels.
func ExampleFromLabel(prompt, label string) (Example, bool) {
	if strong, ok := ParseLabel(label); ok {
		return Example{Prompt: prompt, StrongNeeded: strong}, true
	}
	if name, ok := strings.CutPrefix(label, LabelTierPrefix); ok && strings.TrimSpace(name) != "" {
		return Example{Prompt: prompt, Tier: name}, true
	}
	return Example{}, false
}

// embedBatch bounds one Embed call, so a remote embedder never receives an
// unbounded request.
const embedBatch = 256

// Learned is the k-nearest-neighbour vote over labelled examples. It is
// immutable and safe for concurrent use.
type Learned struct {
	emb       embed.Embedder
	dim       int
	vecs      []float32 // len(examples) × dim, row-major
	strong    []float32 // vote target per example: 1 strong needed, ½ no difference, 0 weak better, or a tier's target
	tiered    []bool    // the example carries a tier label
	hashes    []uint64  // of each example's prompt, to leave an example out of its own vote
	groups    []uint64  // hash of each example's group; 0 = none
	prior     float64
	k         int
	smoothing float64
	warnings  []string
	// reliability scales the vote's contribution (see calibrate), and
	// calibration says how it was found.
	reliability float64
	calibration string
}

// NewLearned embeds the examples with emb and builds the vote. Examples are
// embedded in batches; ctx cancels between batches. tiers are the router's
// tiers, which give tier-labelled examples their vote (see TierTargets);
// they are required when an example has a Tier, and an example naming a
// tier that is not among them is left out and reported by Warnings (a
// history label can outlive a renamed tier).
func NewLearned(ctx context.Context, emb embed.Embedder, examples []Example, cfg LearnedConfig, tiers ...TierConfig) (*Learned, error) {
	texts := make([]string, len(examples))
	for i, e := range examples {
		texts[i] = e.Prompt
	}
	vecs, err := embedAll(ctx, emb, texts)
	if err != nil {
		return nil, fmt.Errorf("learned signal: %w", err)
	}
	return NewLearnedFromVectors(emb, examples, vecs, cfg, tiers...)
}

// NewLearnedFromVectors builds the vote from precomputed vectors (for
// example, vectors cached next to the labels); vecs[i] belongs to examples[i]
// and must come from emb. tiers are as for NewLearned.
func NewLearnedFromVectors(emb embed.Embedder, examples []Example, vecs [][]float32, cfg LearnedConfig, tiers ...TierConfig) (*Learned, error) {
	if emb == nil {
		return nil, errors.New("learned signal: no embedder")
	}
	if len(vecs) != len(examples) {
		return nil, fmt.Errorf("learned signal: %d vectors for %d examples", len(vecs), len(examples))
	}
	if cfg.K < 1 {
		return nil, fmt.Errorf("learned signal: k = %d, want ≥ 1", cfg.K)
	}
	targets := TierTargets(tiers)
	dim := emb.Dim()
	l := &Learned{
		emb: emb, dim: dim, k: cfg.K, smoothing: cfg.Smoothing,
		vecs:   make([]float32, 0, len(examples)*dim),
		strong: make([]float32, 0, len(examples)),
		tiered: make([]bool, 0, len(examples)),
		hashes: make([]uint64, 0, len(examples)),
		groups: make([]uint64, 0, len(examples)),
	}
	unknown := map[string]int{}
	var sum float64
	for i, e := range examples {
		if len(vecs[i]) != dim {
			return nil, fmt.Errorf("learned signal: example %d has a %d-dim vector, embedder %s has %d", i, len(vecs[i]), emb.ID(), dim)
		}
		t := e.target()
		if e.Tier != "" {
			if len(tiers) == 0 {
				return nil, fmt.Errorf("learned signal: example %d is labelled with tier %q, but no tiers were given to place it", i, e.Tier)
			}
			v, ok := targets[e.Tier]
			if !ok {
				unknown[e.Tier]++
				continue
			}
			t = float32(v)
		}
		l.vecs = append(l.vecs, vecs[i]...)
		l.strong = append(l.strong, t)
		l.tiered = append(l.tiered, e.Tier != "")
		sum += float64(t)
		l.hashes = append(l.hashes, textHash(e.Prompt))
		l.groups = append(l.groups, groupHash(e.Group))
	}
	for _, name := range slices.Sorted(maps.Keys(unknown)) {
		l.warnings = append(l.warnings, fmt.Sprintf("learned signal: %d examples labelled with tier %q left out: no such tier is configured", unknown[name], name))
	}
	if len(l.strong) > 0 {
		l.prior = sum / float64(len(l.strong))
	}
	l.calibrate()
	return l, nil
}

// Calibration bounds. Below minCalibration examples the slope of held-out
// votes is too noisy to act on, so the vote counts in full (a user's first
// labels take effect at once). calibrationSample bounds the examples whose
// held-out votes are computed: each costs one pass over all examples
// (BenchmarkNewLearned), and the slope's standard error falls only with the
// square root of the sample.
const (
	minCalibration    = 50
	calibrationSample = 256
)

// calibrate measures how far the vote can be trusted on prompts it has not
// seen. It computes the vote of a sample of the examples with each left out
// of its own vote — and with its whole group left out when examples carry
// groups, the way an unseen source of prompts would be scored — and fits
// the least-squares slope of their labels on those votes. A slope of 1
// means held-out votes are calibrated rates; near 0, that they carry no
// information (labels that do not transfer beyond their own group). The
// slope is shrunk towards 0 by its own noise (positive-part James–Stein:
// slope × (1 − se²/slope²)), so a vote counts only as far as the evidence
// for it goes, and clamped to [0, 1]; the result multiplies the vote's
// contribution.
func (l *Learned) calibrate() {
	n := len(l.strong)
	if n < minCalibration {
		l.reliability = 1
		l.calibration = fmt.Sprintf("uncalibrated: %d labelled examples, calibration needs %d", n, minCalibration)
		return
	}
	m := min(n, calibrationSample)
	votes := make([]float64, m)
	// The held-out votes are independent: split them over the CPUs. Each
	// worker writes its own indexes, and the sums below run in order, so
	// the result does not depend on scheduling.
	workers := max(1, min(runtime.GOMAXPROCS(0), 4, m/32))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for j := w; j < m; j += workers {
				i := j * n / m // evenly spread, deterministic
				votes[j], _ = l.voteValue(l.vecs[i*l.dim:(i+1)*l.dim], l.hashes[i], l.groups[i], nil)
			}
		}(w)
	}
	wg.Wait()
	var sx, sy, sxx, sxy, syy float64
	for j, v := range votes {
		y := float64(l.strong[j*n/m])
		sx += v
		sy += y
		sxx += v * v
		sxy += v * y
		syy += y * y
	}
	fm := float64(m)
	vxx := sxx - sx*sx/fm
	vxy := sxy - sx*sy/fm
	vyy := syy - sy*sy/fm
	held := "its own"
	if slices.ContainsFunc(l.groups, func(g uint64) bool { return g != 0 }) {
		held = "its own group's"
	}
	if vxx <= 1e-12 {
		l.reliability = 0
		l.calibration = fmt.Sprintf("reliability 0: votes of %d examples without %s labels do not vary", m, held)
		return
	}
	slope := vxy / vxx
	se := math.Sqrt(math.Max(vyy-slope*vxy, 0) / math.Max(fm-2, 1) / vxx)
	if slope > 0 {
		l.reliability = clamp01(slope - se*se/slope)
	}
	l.calibration = fmt.Sprintf("reliability %.2f: votes of %d examples without %s labels follow them with slope %.2f ± %.2f",
		l.reliability, m, held, slope, se)
}

// Reliability is the factor that scales the vote's contribution: the slope
// of labels on held-out votes, shrunk by its noise (1 below the calibration
// minimum of examples).
func (l *Learned) Reliability() float64 { return l.reliability }

// Calibration says how the reliability was found.
func (l *Learned) Calibration() string { return l.calibration }

// Warnings lists examples that were left out and why.
func (l *Learned) Warnings() []string { return slices.Clone(l.warnings) }

// Len is the number of examples.
func (l *Learned) Len() int { return len(l.strong) }

// Prior is the mean vote target of all examples (the vote with no
// information about the prompt).
func (l *Learned) Prior() float64 { return l.prior }

// EmbedderID names the embedder the examples were embedded with.
func (l *Learned) EmbedderID() string { return l.emb.ID() }

// Embed embeds texts with the learned signal's embedder.
func (l *Learned) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return embedAll(ctx, l.emb, texts)
}

func embedAll(ctx context.Context, emb embed.Embedder, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += embedBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(start+embedBatch, len(texts))
		vs, err := emb.Embed(ctx, texts[start:end])
		if err != nil {
			return nil, fmt.Errorf("embed with %s: %w", emb.ID(), err)
		}
		if len(vs) != end-start {
			return nil, fmt.Errorf("embed with %s: %d vectors for %d texts", emb.ID(), len(vs), end-start)
		}
		out = append(out, vs...)
	}
	return out, nil
}

// groupHash is 0 for no group.
func groupHash(g string) uint64 {
	if g == "" {
		return 0
	}
	return nonZero(textHash(g))
}

func textHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// neighbour is one candidate in the top-k selection.
type neighbour struct {
	sim float32
	i   int
}

// vote runs the k-NN vote for a query vector. Examples whose prompt hashes
// to exclude are skipped (leave-one-out when the query is itself labelled),
// and so are examples of group excludeGroup; pass 0 to keep every example.
func (l *Learned) vote(q []float32, exclude, excludeGroup uint64) vote {
	if len(l.strong) == 0 {
		return vote{detail: "no labelled examples"}
	}
	if len(q) != l.dim {
		return vote{detail: fmt.Sprintf("query vector has %d dims, examples %d", len(q), l.dim)}
	}
	var st voteStats
	v, top := l.voteValue(q, exclude, excludeGroup, &st)
	tiers := ""
	if st.tierN > 0 {
		tiers = fmt.Sprintf(", %d are labelled with a tier", st.tierN)
	}
	return vote{
		ok: true, value: v, prior: l.prior, scale: l.reliability,
		detail: fmt.Sprintf("of %d nearest labelled examples %d needed the strong model, %d did better on the weak one%s (nearest similarity %.2f; vote %.2f vs prior %.2f; %s)",
			top, st.strongN, st.weakN, tiers, st.best, v, l.prior, l.calibration),
	}
}

// voteStats describes the neighbours of one vote, for the explanation.
type voteStats struct {
	strongN, weakN, tierN int
	best                  float64
}

// voteValue is the vote without the explanation: the smoothed,
// similarity-weighted mean target of the k nearest examples (skipping as
// vote does), and how many voted. st, when not nil, receives the counts.
func (l *Learned) voteValue(q []float32, exclude, excludeGroup uint64, st *voteStats) (float64, int) {
	k := min(l.k, len(l.strong))
	// top holds the k most similar so far as a min-heap on sim.
	top := make([]neighbour, 0, k)
	for i := range l.strong {
		if exclude != 0 && l.hashes[i] == exclude || excludeGroup != 0 && l.groups[i] == excludeGroup {
			continue
		}
		s := dot32(l.vecs[i*l.dim:(i+1)*l.dim], q)
		if len(top) < k {
			top = append(top, neighbour{s, i})
			siftUp(top, len(top)-1)
		} else if s > top[0].sim {
			top[0] = neighbour{s, i}
			siftDown(top, 0)
		}
	}
	var sw, swy float64
	for _, n := range top {
		w := math.Max(float64(n.sim), 0)
		sw += w
		swy += w * float64(l.strong[n.i])
		if st == nil {
			continue
		}
		switch {
		case l.tiered[n.i]:
			st.tierN++
		case l.strong[n.i] == 1:
			st.strongN++
		case l.strong[n.i] == 0:
			st.weakN++
		}
		st.best = math.Max(st.best, float64(n.sim))
	}
	if sw+l.smoothing == 0 {
		return l.prior, len(top)
	}
	return (swy + l.smoothing*l.prior) / (sw + l.smoothing), len(top)
}

// dot32 is the dot product of two equally long vectors. Four independent
// sums let the CPU overlap the multiply-adds (building the signal from
// 1,000 examples: 48 → 35 ms in BenchmarkNewLearned); the vote and its
// calibration spend their time here.
func dot32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	j := 0
	for ; j+4 <= len(a); j += 4 {
		s0 += a[j] * b[j]
		s1 += a[j+1] * b[j+1]
		s2 += a[j+2] * b[j+2]
		s3 += a[j+3] * b[j+3]
	}
	for ; j < len(a); j++ {
		s0 += a[j] * b[j]
	}
	return (s0 + s1) + (s2 + s3)
}

func siftUp(h []neighbour, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p].sim <= h[i].sim {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func siftDown(h []neighbour, i int) {
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].sim < h[m].sim {
			m = l
		}
		if r < len(h) && h[r].sim < h[m].sim {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
