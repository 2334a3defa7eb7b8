package route

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pennyllm/penny/core/pricing"
)

// Router routes prompts: signals and rules give a score, the score a tier,
// the tier a model that is available, capable and fits the context window.
// A Router is immutable and safe for concurrent use; WithRules and
// WithAvailable return modified copies.
type Router struct {
	cfg       Config
	cat       *pricing.Catalog
	learned   *Learned
	sc        scorer
	tiers     []tier
	available func(model string) bool
	warnings  []string

	// Derived from tiers in New (immutable, shared by copies): decide
	// runs per request, and rebuilding these there — copying catalog
	// entries and formatting constant text — was most of its cost.
	uniq     []uniqModel // every tier's models, first listing first, once each
	tierUniq [][]int     // per tier: its models as indices into uniq, in preference order
	tierText []string    // per tier: rangeText
	firstMsg [][]string  // per tier, per model: the "first available model" reason
}

// uniqModel is a model the router may choose, with the tiers listing it.
type uniqModel struct {
	m    pricing.Model
	tier int // the first tier listing it (the tier its alternative shows)
	last int // the highest tier listing it
}

type tier struct {
	name   string
	min    float64
	models []pricing.Model // known to the catalog, in preference order
}

// New builds a router from its configuration, the price catalog and an
// optional learned signal (nil: no k-NN vote). Model names the catalog does
// not know are skipped and reported by Warnings; a tier left without any
// known model is an error.
func New(cfg Config, cat *pricing.Catalog, learned *Learned) (*Router, error) {
	if cat == nil {
		return nil, errors.New("route: no price catalog")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rs, err := Compile(cfg.Rules)
	if err != nil {
		return nil, err // unreachable after Validate, kept for safety
	}
	r := &Router{cfg: cfg, cat: cat, learned: learned, sc: scorer{base: cfg.Base, w: cfg.Signals, rules: rs}}
	for i, tc := range cfg.Tiers {
		t := tier{name: tc.Name, min: tc.MinScore}
		for _, name := range tc.Models {
			m, ok := cat.Lookup(name)
			if !ok {
				r.warnings = append(r.warnings, fmt.Sprintf("route.tiers[%d] %q: model %q is not in the price catalog; skipped", i, tc.Name, name))
				continue
			}
			if !slices.ContainsFunc(t.models, func(x pricing.Model) bool { return x.ID == m.ID }) {
				t.models = append(t.models, m)
			}
		}
		if len(t.models) == 0 {
			return nil, &FieldError{Section: "tiers", Index: i, Name: tc.Name, Field: "models",
				Err: fmt.Errorf("none of %s is in the price catalog", strings.Join(tc.Models, ", "))}
		}
		r.tiers = append(r.tiers, t)
	}
	r.derive()
	return r, nil
}

// derive builds the per-request lookups from r.tiers.
func (r *Router) derive() {
	r.tierUniq = make([][]int, len(r.tiers))
	r.tierText = make([]string, len(r.tiers))
	r.firstMsg = make([][]string, len(r.tiers))
	for i, t := range r.tiers {
		r.tierText[i] = r.rangeText(i)
		for _, m := range t.models {
			k := slices.IndexFunc(r.uniq, func(u uniqModel) bool { return u.m.ID == m.ID })
			if k < 0 {
				k = len(r.uniq)
				r.uniq = append(r.uniq, uniqModel{m: m, tier: i})
			}
			r.uniq[k].last = i
			r.tierUniq[i] = append(r.tierUniq[i], k)
			r.firstMsg[i] = append(r.firstMsg[i], fmt.Sprintf("model %s: first available model of tier %s", m.ID, t.name))
		}
	}
}

// Warnings lists configuration problems that did not stop the router.
func (r *Router) Warnings() []string { return slices.Clone(r.warnings) }

// Config is the configuration the router was built from (with its current
// rules).
func (r *Router) Config() Config {
	c := r.cfg
	c.Rules = r.sc.rules.Rules()
	return c
}

// Rules is the rule set in force.
func (r *Router) Rules() *RuleSet { return r.sc.rules }

// Learned is the learned signal, or nil.
func (r *Router) Learned() *Learned { return r.learned }

// WithRules returns a router that uses rs instead of the current rules. It
// fails, leaving r untouched, when a rule pins a tier that does not exist.
func (r *Router) WithRules(rs *RuleSet) (*Router, error) {
	if rs == nil {
		return nil, errors.New("route: nil rule set")
	}
	for i, rule := range rs.rules {
		if rule.Tier != "" && r.tierIndex(rule.Tier) < 0 {
			return nil, &FieldError{Section: "rules", Index: i, Name: rule.Name, Field: "tier",
				Err: fmt.Errorf("%q is not a configured tier", rule.Tier)}
		}
	}
	c := *r
	c.sc.rules = rs
	return &c, nil
}

// WithLearned returns a router that uses l as its learned signal (nil
// removes it).
func (r *Router) WithLearned(l *Learned) *Router {
	c := *r
	c.learned = l
	return &c
}

// WithAvailable returns a router that only chooses models for which ok
// returns true (for example, models whose provider has an API key). nil
// makes every model available.
func (r *Router) WithAvailable(ok func(model string) bool) *Router {
	c := *r
	c.available = ok
	return &c
}

func (r *Router) isAvailable(m pricing.Model) bool { return r.available == nil || r.available(m.ID) }

func (r *Router) tierIndex(name string) int {
	return slices.IndexFunc(r.tiers, func(t tier) bool { return t.name == name })
}

// tierFor maps a clamped score to a tier index.
func (r *Router) tierFor(score float64) int {
	idx := 0
	for i, t := range r.tiers {
		if score >= t.min {
			idx = i
		}
	}
	return idx
}

// Route decides which model should answer req. It embeds the prompt when a
// learned signal is configured (an embedding failure only drops that signal,
// and the explanation says so); it has no other side effects.
func (r *Router) Route(ctx context.Context, req Request) (Decision, error) {
	if req.PromptTokens <= 0 {
		req.PromptTokens = estimateTokens(req.Prompt)
	}
	var v vote
	if r.learned != nil && r.learned.Len() > 0 {
		vecs, err := r.learned.emb.Embed(ctx, []string{req.Prompt})
		switch {
		case ctx.Err() != nil:
			return Decision{}, fmt.Errorf("route: %w", ctx.Err())
		case err != nil:
			v.detail = "not used: embedding failed: " + err.Error()
		case len(vecs) != 1:
			v.detail = fmt.Sprintf("not used: embedder returned %d vectors for 1 text", len(vecs))
		default:
			v = r.learned.vote(vecs[0], 0, 0)
		}
	}
	s := r.sc.score(req.Prompt, req.PromptTokens, req.Turns, v, true)
	return r.decide(req, s), nil
}

// decide turns a score into a tier and a model, with the explanation.
func (r *Router) decide(req Request, s scored) Decision {
	score := clamp01(s.raw)
	d := Decision{Score: score, RawScore: s.raw, Contributions: s.contribs, MatchedRules: s.matched, PinnedBy: s.pinRule}
	// Sized up front: growing these slices was an eighth of routing time.
	d.Reasons = make([]string, 0, len(s.contribs)+3)
	ti := r.tierFor(score)
	if s.pin != "" {
		if pi := r.tierIndex(s.pin); pi >= 0 {
			ti = pi
		}
	}
	// The reasons up to the tier's are built back to back in one buffer
	// and cut from one string: one allocation instead of one each.
	var bbuf [512]byte
	var ebuf [24]int
	b, ends := bbuf[:0], ebuf[:0]
	for _, c := range s.contribs {
		// Zero contributions are left out of the short reasons (they stay in
		// Contributions); rules and the learned signal are always named.
		if c.Delta != 0 || strings.HasPrefix(c.Name, "rule:") || c.Name == "signal:"+SignalLearned {
			b = appendContributionReason(b, c)
			ends = append(ends, len(b))
		}
	}
	if s.pin == "" {
		b = append(append(append(b, "tier "...), r.tiers[ti].name...), ": score "...)
		b = append(append(appendFloat(b, score, 2, false), ' '), r.tierText[ti]...)
		ends = append(ends, len(b))
	}
	all, start := string(b), 0
	for _, e := range ends {
		d.Reasons = append(d.Reasons, all[start:e])
		start = e
	}
	if s.pin != "" {
		d.Reasons = append(d.Reasons, fmt.Sprintf("tier %s pinned by rule:%s (score %.2f)", r.tiers[ti].name, s.pinRule, score))
	}

	need := req.PromptTokens + req.CompletionTokens
	type cand struct {
		u     *uniqModel
		cost  int64
		fits  bool
		avail bool
		capOK string // "" when capable, else what is missing
	}
	// One candidate per distinct model, in r.uniq's order (tier by tier,
	// first listing wins), on the stack for any usual configuration.
	var buf [16]cand
	cands := buf[:0]
	if len(r.uniq) > len(buf) {
		cands = make([]cand, 0, len(r.uniq))
	}
	for k := range r.uniq {
		u := &r.uniq[k]
		cands = append(cands, cand{
			u:     u,
			cost:  projectNanos(u.m, req.PromptTokens+req.OverheadTokens, req.CompletionTokens),
			fits:  fits(u.m, req),
			avail: r.isAvailable(u.m),
			capOK: missingCapability(u.m, req),
		})
	}
	usable := func(c *cand) bool { return c.fits && c.avail && c.capOK == "" }
	// cheapest is the first candidate of lowest cost among those at index
	// k with ok(k); -1 when none.
	cheapest := func(ok func(c *cand) bool) int {
		best := -1
		for k := range cands {
			if ok(&cands[k]) && (best < 0 || cands[k].cost < cands[best].cost) {
				best = k
			}
		}
		return best
	}
	chosen := -1
	// The tier's preferred model: the first available and capable one.
	for j, k := range r.tierUniq[ti] {
		c := &cands[k]
		if c.avail && c.capOK == "" {
			if c.fits {
				chosen = k
				d.Reasons = append(d.Reasons, r.firstMsg[ti][j])
			} else {
				d.Reasons = append(d.Reasons, fmt.Sprintf("%s does not fit %d prompt + %d completion tokens (window %d, max output %d)",
					c.u.m.ID, req.PromptTokens, req.CompletionTokens, c.u.m.ContextWindow, c.u.m.MaxOutput))
			}
			break
		}
	}
	if chosen < 0 {
		// A model serves every tier that lists it, so "same or higher
		// tier" checks the highest tier listing it, not only the first.
		if k := cheapest(func(c *cand) bool { return usable(c) && c.u.last >= ti }); k >= 0 {
			chosen = k
			d.Reasons = append(d.Reasons, fmt.Sprintf("model %s: cheapest available model of tier %s or higher that fits %d tokens and the required capabilities",
				cands[k].u.m.ID, r.tiers[ti].name, need))
		}
	}
	if chosen < 0 {
		if k := cheapest(usable); k >= 0 {
			chosen = k
			d.Reasons = append(d.Reasons, fmt.Sprintf("model %s: no model of tier %s or higher is available, capable and fits %d tokens; using the cheapest lower-tier model that does",
				cands[k].u.m.ID, r.tiers[ti].name, need))
		}
	}
	if chosen < 0 {
		// Nothing fits: pick the largest window among available models so
		// the caller can still see a plan, and say so.
		for k := range cands {
			if !cands[k].avail {
				continue
			}
			if chosen < 0 || cands[k].u.m.ContextWindow > cands[chosen].u.m.ContextWindow {
				chosen = k
			}
		}
		if chosen < 0 {
			chosen = 0
		}
		d.Reasons = append(d.Reasons, fmt.Sprintf("model %s: no configured model is available and fits %d tokens with the required capabilities; chose the largest context window",
			cands[chosen].u.m.ID, need))
	}
	chosenID := cands[chosen].u.m.ID
	d.Model = chosenID
	d.Tier = r.tiers[ti].name
	d.Alternatives = make([]Alternative, len(cands))
	for k := range cands {
		c := &cands[k]
		a := &d.Alternatives[k]
		*a = Alternative{Model: c.u.m.ID, Tier: r.tiers[c.u.tier].name, CostUSD: float64(c.cost) / 1e9, Fits: c.fits}
		// The notes joined by "; " (none is empty).
		if c.u.m.ID == chosenID {
			a.Note = "chosen"
		}
		if !c.fits {
			a.Note = joinNote(a.Note, fmt.Sprintf("needs %d tokens, window %d", need, c.u.m.ContextWindow))
		}
		if !c.avail {
			a.Note = joinNote(a.Note, "provider not configured")
		}
		if c.capOK != "" {
			a.Note = joinNote(a.Note, "lacks "+c.capOK)
		}
	}
	return d
}

// joinNote appends note to notes with the "; " separator.
func joinNote(notes, note string) string {
	if notes == "" {
		return note
	}
	return notes + "; " + note
}

// appendFloat appends v as fmt's %.<prec>f (with plus, %+.<prec>f) would
// print it, without fmt's per-call cost; non-finite values, which fmt
// prints its own way, go through fmt.
func appendFloat(b []byte, v float64, prec int, plus bool) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		if plus {
			return fmt.Appendf(b, "%+.*f", prec, v)
		}
		return fmt.Appendf(b, "%.*f", prec, v)
	}
	if plus && !math.Signbit(v) {
		b = append(b, '+')
	}
	return strconv.AppendFloat(b, v, 'f', prec, 64)
}

func (r *Router) rangeText(ti int) string {
	if ti+1 < len(r.tiers) {
		return fmt.Sprintf("in [%.2f, %.2f)", r.tiers[ti].min, r.tiers[ti+1].min)
	}
	return fmt.Sprintf("≥ %.2f", r.tiers[ti].min)
}

func contributionReason(c Contribution) string {
	return string(appendContributionReason(nil, c))
}

// appendContributionReason appends fmt.Sprintf("%s %+.3f", c.Name,
// c.Delta), then " (detail)" when there is one.
func appendContributionReason(b []byte, c Contribution) []byte {
	b = appendFloat(append(append(b, c.Name...), ' '), c.Delta, 3, true)
	if c.Detail != "" {
		b = append(append(append(b, " ("...), c.Detail...), ')')
	}
	return b
}

// fits reports whether prompt plus expected completion fit the model's
// context window and the completion its output limit.
func fits(m pricing.Model, req Request) bool {
	if m.ContextWindow > 0 && req.PromptTokens+req.OverheadTokens+req.CompletionTokens > m.ContextWindow {
		return false
	}
	if m.MaxOutput > 0 && req.CompletionTokens > m.MaxOutput {
		return false
	}
	return true
}

func missingCapability(m pricing.Model, req Request) string {
	var miss []string
	if req.NeedsVision && !m.Vision {
		miss = append(miss, "vision")
	}
	if req.NeedsTools && !m.Tools {
		miss = append(miss, "tools")
	}
	if req.NeedsJSON && !m.JSONMode {
		miss = append(miss, "JSON mode")
	}
	return strings.Join(miss, ", ")
}

// projectNanos is cost.Request for an uncached, non-batch request, in
// integer arithmetic: prices are micro-dollars per million tokens, so the
// cost is tokens × price / 1000 nano-dollars, rounded half up like
// money.FromRat. cost.Request builds big.Rat values (hundreds of
// allocations for the alternatives of one route); TestProjectNanosMatchesCost
// checks that both agree. Token counts up to 10⁹ at prices up to $1,000 per
// million tokens stay far below int64's range.
func projectNanos(m pricing.Model, prompt, completion int) int64 {
	x := int64(prompt)*int64(m.Input) + int64(completion)*int64(m.Output)
	return (x + 500) / 1000
}
