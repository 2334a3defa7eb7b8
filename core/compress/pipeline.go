package compress

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/pennyllm/penny/core/tokens"
)

// Compressor runs the configured passes. It holds no state between calls
// and is safe for concurrent use. (A memo of token counts per piece across
// calls once made re-planning an edited prompt cheaper; with penny's own
// tokenizer, looking a piece up cost as much as counting it, so it went.)
// It never calls a model: summarization is projected (see PendingSummary).
type Compressor struct {
	cfg    Config
	passes []pass
	// summaryTokens overrides the projected summary length (Option).
	summaryTokens func(regionTokens int) int
}

// Option adjusts a Compressor. A nil Option is ignored.
type Option func(*Compressor)

// WithSummaryEstimate replaces the projected summary length, summarize_ratio
// of the region, with f (given the region's tokens) — for a caller that
// has measured its summarizer. The floor for the protected units the
// summary must keep still applies.
func WithSummaryEstimate(f func(regionTokens int) int) Option {
	return func(c *Compressor) { c.summaryTokens = f }
}

// New builds a Compressor from a validated config.
func New(cfg Config, opts ...Option) (*Compressor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Compressor{cfg: cfg}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	// The order matters: cheap structural passes first so that dedupe
	// compares normalised text, lossy passes last so that they see what
	// the lossless ones could not remove.
	if cfg.Whitespace {
		c.passes = append(c.passes, pass{name: "whitespace", settles: true, whitespaceOnly: true, run: whitespacePass})
	}
	if cfg.JSON {
		c.passes = append(c.passes, pass{name: "json_minify", whitespaceOnly: true, run: jsonPass})
	}
	if cfg.JSONTable {
		c.passes = append(c.passes, pass{name: "json_table", run: tablePass})
	}
	if cfg.Dedupe {
		th := cfg.NearDupThreshold
		c.passes = append(c.passes, pass{name: "dedupe", run: func(_ context.Context, d *doc, _ *state) ([]edit, error) {
			return dedupePass(d, th), nil
		}})
	}
	if cfg.Filler {
		c.passes = append(c.passes, pass{name: "filler", lossy: true, run: fillerPass})
	}
	if cfg.Stopwords {
		c.passes = append(c.passes, pass{name: "stopwords", lossy: true, run: stopwordPass})
	}
	if cfg.BudgetTokens > 0 || cfg.BudgetRatio > 0 {
		c.passes = append(c.passes, pass{name: "budget", lossy: true, run: budgetPass})
	}
	// Summarize comes last and runs outside the loop: it is projected on
	// the final text, so that the region the send replaces is exactly the
	// one the preview marks (budget mode has already dropped what it would).
	if cfg.Summarize {
		c.passes = append(c.passes, pass{name: "summarize", lossy: true, projected: true})
	}
	return c, nil
}

// scratch is what one Compress call builds and drops: its meter and its
// analysis cache. Calls on short texts — a replay plans thousands of
// them — reuse one from scratchPool, reset, instead of allocating their
// maps and slices afresh; nothing in a Result refers to either.
type scratch struct {
	m  meter
	ac analysisCache
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxPooledText bounds the texts whose scratch goes back to the pool, so
// that the pool never keeps a long prompt's maps and buffers alive.
const maxPooledText = 4096

func getScratch(counter tokens.Counter) *scratch {
	sc := scratchPool.Get().(*scratch)
	sc.m.reset(counter)
	sc.ac.reset()
	return sc
}

// put returns sc to the pool after a call on a text of n bytes.
func (sc *scratch) put(n int) {
	if n <= maxPooledText {
		scratchPool.Put(sc)
	}
}

// budget is the token target for a prompt of before tokens.
func (c *Compressor) budget(before int) int {
	b := c.cfg.BudgetTokens
	if r := c.cfg.BudgetRatio; r > 0 {
		if t := int(math.Ceil(r * float64(before))); b == 0 || t < b {
			b = t
		}
	}
	return b
}

// withBudget is a copy of c with an absolute budget in place of a ratio.
func (c *Compressor) withBudget(tokens int) *Compressor {
	cfg := c.cfg
	cfg.BudgetTokens, cfg.BudgetRatio = tokens, 0
	out, err := New(cfg)
	if err != nil {
		return c // cannot happen: cfg was valid with a ratio
	}
	out.summaryTokens = c.summaryTokens
	return out
}

// Config returns the configuration the compressor was built from.
func (c *Compressor) Config() Config { return c.cfg }

// edit replaces text[start:end] with with. dup marks a removal that may
// cover protected units because their text also appears elsewhere (a
// duplicate, or an irrelevant sentence whose number is repeated); the guard
// verifies that claim on the output.
type edit struct {
	start, end int
	with       string
	dup        bool
}

type snapshot struct {
	text   string
	tokens int
	pass   int
}

type pass struct {
	name  string
	lossy bool
	// settles marks passes that never leave work for the passes before
	// them (only whitespace, which runs first), so a round in which only
	// settling passes changed the text is final. Removing or joining lines
	// can change how an indented block or the common indentation is
	// judged, so every other pass triggers a confirming round. The
	// idempotence fuzz target holds the claim to account.
	settles bool
	// whitespaceOnly passes only remove whitespace outside units, which
	// cannot break a unit of the original; the others are checked against
	// the original's units after every application.
	whitespaceOnly bool
	// projected passes make no edit in the loop; Compress projects them
	// on the final text (summarize).
	projected bool
	run       func(ctx context.Context, d *doc, st *state) ([]edit, error)
}

// state is what a pass may need beyond its input.
type state struct {
	cfg    Config
	meter  *meter
	tokens int // tokens of the pass input
	budget int // the token budget for this prompt, 0 when off
	note   string
}

// maxRounds bounds the fixed-point loop. One round is normally enough: the
// passes are written so that none creates work for an earlier one. A second
// round only confirms it; a third catches rare interactions (a removal that
// leaves a blank-line run at the end of the text). Budget mode can need
// more: a residue is analysed afresh on the next round and may be reduced
// again. Every applied round removes tokens, so the loop ends early; the
// bound only caps pathological inputs, and stopping before the fixed point
// would make compressing the output again save more.
const maxRounds = 8

// Compress runs the passes over text. Token figures come from counter; the
// per-pass savings add up exactly to TokensBefore − Tokens.
func (c *Compressor) Compress(ctx context.Context, text string, counter tokens.Counter) (Result, error) {
	sc := getScratch(counter)
	defer sc.put(len(text))
	m := &sc.m
	before := m.countText(text)
	ac := &sc.ac
	res := Result{TokensBefore: before, Passes: make([]PassResult, len(c.passes))}
	for i, p := range c.passes {
		res.Passes[i] = PassResult{Name: p.name, Lossy: p.lossy, Skipped: true}
		res.Lossy = res.Lossy || p.lossy
	}
	cur, curTok := text, before
	var origUnits []Unit
	var tr *tracker
	var history []snapshot
	var d *doc
	var spare []int // the tracker's next positions, reused
	var first *doc  // the original's analysis: the tracker holds its units
	// One state for every pass run, reset before each: passes keep no
	// reference to it, and allocating one per pass and round was a fifth
	// of what compressing a short prompt allocated.
	st := new(state)
	for round := 0; round < maxRounds; round++ {
		changed, unsettled := false, false
		for i, p := range c.passes {
			if err := ctx.Err(); err != nil {
				return Result{}, fmt.Errorf("compress %s: %w", p.name, err)
			}
			if d == nil || d.text != cur {
				d = analyzeWith(cur, ac)
			}
			if origUnits == nil {
				first = d
				origUnits = d.units
				if origUnits == nil {
					origUnits = []Unit{}
				}
				tr = newTracker(origUnits)
			}
			if p.projected {
				continue
			}
			*st = state{cfg: c.cfg, meter: m, tokens: curTok, budget: c.budget(before)}
			edits, err := p.run(ctx, d, st)
			pr := &res.Passes[i]
			if st.note != "" && round == 0 {
				pr.Note = st.note
			}
			if err != nil {
				return Result{}, fmt.Errorf("compress %s: %w", p.name, err)
			}
			if len(edits) == 0 {
				continue
			}
			out, kept, rejected := guard(d, edits)
			if !p.whitespaceOnly {
				var r2 int
				out, kept, r2 = enforce(cur, kept, tr)
				rejected += r2
			}
			pr.Rejected += rejected
			if out == cur {
				continue
			}
			// Only the pieces the kept edits touched are counted again.
			t := m.countEdit(out, kept)
			if t >= curTok {
				if round == 0 {
					pr.Note = fmt.Sprintf("would change %d → %d tokens", curTok, t)
				}
				continue
			}
			// An output that keeps a unit of the original but no longer
			// protects it (an edit changed how its line is judged, as
			// joining two lines into a base64 run does) is refused like
			// one that saves nothing: the next run could remove the unit,
			// so the result would be no fixed point. The analysis is the
			// one the next pass needs anyway.
			// cur's analysis is done with (its buffers go to the new one)
			// unless the new output is refused, which is rare enough to
			// analyse cur again then.
			if d != first {
				ac.release(d)
			}
			d = nil
			nd := analyzeWith(out, ac)
			npos := tr.advanced(kept, spare)
			if !tr.protectedAt(npos, nd) {
				pr.Rejected += len(kept)
				if round == 0 {
					pr.Note = "would leave a protected unit unprotected"
				}
				spare = npos
				ac.release(nd)
				continue
			}
			pr.Skipped = false
			pr.Note = st.note
			pr.TokensSaved += curTok - t
			if round == 0 {
				pr.Spans = spans(kept)
			}
			tr.pos, spare = npos, tr.pos
			m.adopt(out)
			d = nd
			cur, curTok = out, t
			history = append(history, snapshot{cur, curTok, i})
			changed = true
			unsettled = unsettled || !p.settles
		}
		if !changed || !unsettled {
			break
		}
	}
	res.Text, res.Tokens = cur, curTok
	chk := tr.check(cur)
	if chk.Kept < chk.Units {
		// A defect in a pass or in unit detection: fall back to the last
		// intermediate text that still keeps every unit, and say so.
		res = fallback(res, text, before, origUnits, history)
		chk = checkUnits(origUnits, res.Text)
	}
	res.ProtectedUnits = chk.Units
	res.ProtectedKept = chk.Ratio()
	for i, p := range c.passes {
		if p.projected {
			res.Summary = c.projectSummary(res.Text, m, &res.Passes[i])
		}
	}
	return res, nil
}

// fallback returns the last intermediate text that keeps every unit, with
// the per-pass savings recomputed from the snapshots that survive.
func fallback(res Result, orig string, before int, units []Unit, hist []snapshot) Result {
	keep := 0
	for k := len(hist); k > 0; k-- {
		if c := checkUnits(units, hist[k-1].text); c.Kept == c.Units {
			keep = k
			break
		}
	}
	res.Text, res.Tokens = orig, before
	if keep > 0 {
		res.Text, res.Tokens = hist[keep-1].text, hist[keep-1].tokens
	}
	for i := range res.Passes {
		res.Passes[i].TokensSaved = 0
	}
	applied := make([]bool, len(res.Passes))
	prev := before
	for _, h := range hist[:keep] {
		res.Passes[h.pass].TokensSaved += prev - h.tokens
		applied[h.pass] = true
		prev = h.tokens
	}
	for i := range res.Passes {
		if !applied[i] && !res.Passes[i].Skipped {
			p := &res.Passes[i]
			p.Skipped, p.Spans = true, nil
			p.Note = "reverted: its output lost a protected unit of the original prompt"
		}
	}
	return res
}

// enforce drops edits until every unit of the original prompt is still in
// the output. Unit detection depends on context (collapsing "Conry    Ph.:"
// to one space turns a phone number into part of a name), so a pass's
// guard, which sees the units of its own input, is not enough on its own.
func enforce(cur string, kept []edit, tr *tracker) (string, []edit, int) {
	out := apply(cur, kept)
	rejected := 0
	for range 4 {
		missing := tr.missing(kept, out)
		if len(missing) == 0 {
			return out, kept, rejected
		}
		bad := make([]bool, len(kept))
		for _, txt := range missing {
			for from := 0; ; {
				i := strings.Index(cur[from:], txt)
				if i < 0 {
					break
				}
				a := from + i
				b := a + len(txt)
				for k, e := range kept {
					if e.start < b && a < e.end || (e.start == e.end && a < e.start && e.start < b) {
						bad[k] = true
					}
				}
				from = a + 1
			}
		}
		next := kept[:0:0]
		for k, e := range kept {
			if bad[k] {
				rejected++
				continue
			}
			next = append(next, e)
		}
		if len(next) == len(kept) {
			break
		}
		kept = next
		out = apply(cur, kept)
	}
	if len(tr.missing(kept, out)) > 0 {
		return cur, nil, rejected + len(kept)
	}
	return out, kept, rejected
}

func spans(es []edit) []Span {
	out := make([]Span, len(es))
	for i, e := range es {
		out[i] = Span{Start: e.start, End: e.end, Kind: "removed"}
		if e.with != "" {
			out[i].Kind, out[i].With = "replaced", e.with
		}
	}
	return out
}

// normalizeEdits sorts edits and resolves overlaps: overlapping removals
// merge, any other overlap keeps the earlier edit.
func normalizeEdits(es []edit) []edit {
	slices.SortStableFunc(es, func(a, b edit) int { return cmp.Compare(a.start, b.start) })
	out := es[:0]
	for _, e := range es {
		if e.end < e.start {
			continue
		}
		if n := len(out); n > 0 && e.start < out[n-1].end {
			last := &out[n-1]
			if last.with == "" && e.with == "" {
				last.end = max(last.end, e.end)
				last.dup = last.dup || e.dup
			}
			continue
		}
		out = append(out, e)
	}
	return out
}

func apply(s string, es []edit) string {
	var b strings.Builder
	b.Grow(len(s))
	pos := 0
	for _, e := range es {
		b.WriteString(s[pos:e.start])
		b.WriteString(e.with)
		pos = e.end
	}
	b.WriteString(s[pos:])
	return b.String()
}

// guard applies edits, dropping those that would lose a protected unit:
// an ordinary edit may not touch a unit at all; a dup edit may cover units
// only if their text is still found in the output.
func guard(d *doc, es []edit) (string, []edit, int) {
	es = normalizeEdits(es)
	rejected := 0
	kept := make([]edit, 0, len(es))
	for _, e := range es {
		if !e.dup && d.overlapsProt(e.start, e.end) {
			rejected++
			continue
		}
		kept = append(kept, e)
	}
	for range 8 {
		out := apply(d.text, kept)
		inOut := keptIn{out: out}
		var bad map[int]bool
		ui := 0
		for k, e := range kept {
			if !e.dup {
				continue
			}
			for ui < len(d.units) && d.units[ui].End <= e.start && d.units[ui].Start < e.start {
				ui++
			}
			for j := ui; j < len(d.units) && d.units[j].Start < e.end; j++ {
				u := d.units[j]
				if u.End <= e.start {
					continue
				}
				if !inOut.has(u.Text) {
					if bad == nil {
						bad = map[int]bool{}
					}
					bad[k] = true
					break
				}
			}
		}
		if len(bad) == 0 {
			return out, kept, rejected
		}
		next := kept[:0:0]
		for k, e := range kept {
			if bad[k] {
				rejected++
				continue
			}
			next = append(next, e)
		}
		kept = next
	}
	// Still failing after several rounds (units whose only other copies
	// were removed too): keep only edits that touch no unit.
	next := kept[:0:0]
	for _, e := range kept {
		if d.overlapsProt(e.start, e.end) {
			rejected++
			continue
		}
		next = append(next, e)
	}
	return apply(d.text, next), next, rejected
}
