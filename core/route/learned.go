package route

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"

	"github.com/pennyllm/penny/core/embed"
)

// Example is one labelled prompt for the learned signal: did the weak
// (cheap) model suffice, or was the strong model needed?
type Example struct {
	Prompt       string `json:"prompt"`
	StrongNeeded bool   `json:"strong_needed"`
	// WeakBetter marks examples where the weak model was right and the
	// strong one wrong (known from evaluation data, not from user labels).
	// They vote against the strong model, so the vote estimates the
	// expected gain of the strong model, which is what routing trades
	// against cost.
	WeakBetter bool `json:"weak_better,omitempty"`
	// Group names where the example came from (a file, a subject). A
	// prepared prompt never gets votes from examples of its own group, so
	// weights fitted on grouped data measure how well labels transfer to
	// unseen groups, not how well they memorize their own.
	Group string `json:"group,omitempty"`
}

// target is the example's vote: 1 strong needed, 0 weak better, ½ when the
// strong model makes no difference.
func (e Example) target() float32 {
	switch {
	case e.StrongNeeded:
		return 1
	case e.WeakBetter:
		return 0
	}
	return 0.5
}

// History labels as stored in the history table's label column.
const (
	LabelWeakOK       = "weak_ok"
	LabelStrongNeeded = "strong_needed"
)

// ParseLabel maps a stored history label to an example label. ok is false
// for unlabelled ("") or unknown values.
func ParseLabel(label string) (strongNeeded, ok bool) {
	switch label {
	case LabelWeakOK:
		return false, true
	case LabelStrongNeeded:
		return true, true
	}
	return false, false
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
	strong    []float32 // vote target per example: 1 strong needed, ½ no difference, 0 weak better
	hashes    []uint64  // of each example's prompt, to leave an example out of its own vote
	groups    []uint64  // hash of each example's group; 0 = none
	prior     float64
	k         int
	smoothing float64
}

// NewLearned embeds the examples with emb and builds the vote. Examples are
// embedded in batches; ctx cancels between batches.
func NewLearned(ctx context.Context, emb embed.Embedder, examples []Example, cfg LearnedConfig) (*Learned, error) {
	texts := make([]string, len(examples))
	for i, e := range examples {
		texts[i] = e.Prompt
	}
	vecs, err := embedAll(ctx, emb, texts)
	if err != nil {
		return nil, fmt.Errorf("learned signal: %w", err)
	}
	return NewLearnedFromVectors(emb, examples, vecs, cfg)
}

// NewLearnedFromVectors builds the vote from precomputed vectors (for
// example, vectors cached next to the labels); vecs[i] belongs to examples[i]
// and must come from emb.
func NewLearnedFromVectors(emb embed.Embedder, examples []Example, vecs [][]float32, cfg LearnedConfig) (*Learned, error) {
	if emb == nil {
		return nil, errors.New("learned signal: no embedder")
	}
	if len(vecs) != len(examples) {
		return nil, fmt.Errorf("learned signal: %d vectors for %d examples", len(vecs), len(examples))
	}
	if cfg.K < 1 {
		return nil, fmt.Errorf("learned signal: k = %d, want ≥ 1", cfg.K)
	}
	dim := emb.Dim()
	l := &Learned{
		emb: emb, dim: dim, k: cfg.K, smoothing: cfg.Smoothing,
		vecs:   make([]float32, 0, len(examples)*dim),
		strong: make([]float32, len(examples)),
		hashes: make([]uint64, len(examples)),
		groups: make([]uint64, len(examples)),
	}
	var sum float64
	for i, e := range examples {
		if len(vecs[i]) != dim {
			return nil, fmt.Errorf("learned signal: example %d has a %d-dim vector, embedder %s has %d", i, len(vecs[i]), emb.ID(), dim)
		}
		l.vecs = append(l.vecs, vecs[i]...)
		l.strong[i] = e.target()
		sum += float64(l.strong[i])
		l.hashes[i] = textHash(e.Prompt)
		l.groups[i] = groupHash(e.Group)
	}
	if len(examples) > 0 {
		l.prior = sum / float64(len(examples))
	}
	return l, nil
}

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
	k := min(l.k, len(l.strong))
	// top holds the k most similar so far as a min-heap on sim.
	top := make([]neighbour, 0, k)
	for i := range l.strong {
		if exclude != 0 && l.hashes[i] == exclude || excludeGroup != 0 && l.groups[i] == excludeGroup {
			continue
		}
		row := l.vecs[i*l.dim : (i+1)*l.dim]
		var s float32
		for j, x := range row {
			s += x * q[j]
		}
		if len(top) < k {
			top = append(top, neighbour{s, i})
			siftUp(top, len(top)-1)
		} else if s > top[0].sim {
			top[0] = neighbour{s, i}
			siftDown(top, 0)
		}
	}
	var sw, swy, best float64
	var strongN, weakN int
	for _, n := range top {
		w := math.Max(float64(n.sim), 0)
		sw += w
		swy += w * float64(l.strong[n.i])
		switch l.strong[n.i] {
		case 1:
			strongN++
		case 0:
			weakN++
		}
		best = math.Max(best, float64(n.sim))
	}
	v := (swy + l.smoothing*l.prior) / (sw + l.smoothing)
	if sw+l.smoothing == 0 {
		v = l.prior
	}
	return vote{
		ok: true, value: v, prior: l.prior,
		detail: fmt.Sprintf("of %d nearest labelled examples %d needed the strong model, %d did better on the weak one (nearest similarity %.2f; vote %.2f vs prior %.2f)",
			len(top), strongN, weakN, best, v, l.prior),
	}
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
