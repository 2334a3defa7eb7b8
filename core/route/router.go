package route

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	return r, nil
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
	for _, c := range s.contribs {
		// Zero contributions are left out of the short reasons (they stay in
		// Contributions); rules and the learned signal are always named.
		if c.Delta != 0 || strings.HasPrefix(c.Name, "rule:") || c.Name == "signal:"+SignalLearned {
			d.Reasons = append(d.Reasons, contributionReason(c))
		}
	}
	if s.pin != "" {
		d.Reasons = append(d.Reasons, fmt.Sprintf("tier %s pinned by rule:%s (score %.2f)", r.tiers[ti].name, s.pinRule, score))
	} else {
		d.Reasons = append(d.Reasons, fmt.Sprintf("tier %s: score %.2f %s", r.tiers[ti].name, score, r.rangeText(ti)))
	}

	need := req.PromptTokens + req.CompletionTokens
	type cand struct {
		m     pricing.Model
		tier  int
		cost  int64
		fits  bool
		avail bool
		capOK string // "" when capable, else what is missing
	}
	nModels := 0
	for _, t := range r.tiers {
		nModels += len(t.models)
	}
	cands := make([]cand, 0, nModels)
	for i, t := range r.tiers {
		for _, m := range t.models {
			if slices.ContainsFunc(cands, func(c cand) bool { return c.m.ID == m.ID }) {
				continue
			}
			cands = append(cands, cand{
				m: m, tier: i,
				cost:  projectNanos(m, req.PromptTokens+req.OverheadTokens, req.CompletionTokens),
				fits:  fits(m, req),
				avail: r.isAvailable(m),
				capOK: missingCapability(m, req),
			})
		}
	}
	usable := func(c cand) bool { return c.fits && c.avail && c.capOK == "" }
	// A model serves every tier that lists it, so "same or higher tier"
	// checks the tiers listing it, not only the first.
	inTierAtLeast := func(c cand, lo int) bool {
		for i := lo; i < len(r.tiers); i++ {
			if slices.ContainsFunc(r.tiers[i].models, func(x pricing.Model) bool { return x.ID == c.m.ID }) {
				return true
			}
		}
		return false
	}
	cheapest := func(ok func(cand) bool) (cand, bool) {
		var best cand
		found := false
		for _, c := range cands {
			if ok(c) && (!found || c.cost < best.cost) {
				best, found = c, true
			}
		}
		return best, found
	}
	var chosen cand
	var found bool
	// The tier's preferred model: the first available and capable one.
	for _, m := range r.tiers[ti].models {
		i := slices.IndexFunc(cands, func(c cand) bool { return c.m.ID == m.ID })
		c := cands[i]
		if c.avail && c.capOK == "" {
			if c.fits {
				chosen, found = c, true
				d.Reasons = append(d.Reasons, fmt.Sprintf("model %s: first available model of tier %s", c.m.ID, r.tiers[ti].name))
			} else {
				d.Reasons = append(d.Reasons, fmt.Sprintf("%s does not fit %d prompt + %d completion tokens (window %d, max output %d)",
					c.m.ID, req.PromptTokens, req.CompletionTokens, c.m.ContextWindow, c.m.MaxOutput))
			}
			break
		}
	}
	if !found {
		if c, ok := cheapest(func(c cand) bool { return usable(c) && inTierAtLeast(c, ti) }); ok {
			chosen, found = c, true
			d.Reasons = append(d.Reasons, fmt.Sprintf("model %s: cheapest available model of tier %s or higher that fits %d tokens and the required capabilities",
				c.m.ID, r.tiers[ti].name, need))
		}
	}
	if !found {
		if c, ok := cheapest(usable); ok {
			chosen, found = c, true
			d.Reasons = append(d.Reasons, fmt.Sprintf("model %s: no model of tier %s or higher is available, capable and fits %d tokens; using the cheapest lower-tier model that does",
				c.m.ID, r.tiers[ti].name, need))
		}
	}
	if !found {
		// Nothing fits: pick the largest window among available models so
		// the caller can still see a plan, and say so.
		for _, c := range cands {
			if !c.avail {
				continue
			}
			if !found || c.m.ContextWindow > chosen.m.ContextWindow {
				chosen, found = c, true
			}
		}
		if !found {
			chosen = cands[0]
		}
		d.Reasons = append(d.Reasons, fmt.Sprintf("model %s: no configured model is available and fits %d tokens with the required capabilities; chose the largest context window",
			chosen.m.ID, need))
	}
	d.Model = chosen.m.ID
	d.Tier = r.tiers[ti].name
	d.Alternatives = make([]Alternative, 0, len(cands))
	for _, c := range cands {
		a := Alternative{Model: c.m.ID, Tier: r.tiers[c.tier].name, CostUSD: float64(c.cost) / 1e9, Fits: c.fits}
		var notes []string
		if c.m.ID == chosen.m.ID {
			notes = append(notes, "chosen")
		}
		if !c.fits {
			notes = append(notes, fmt.Sprintf("needs %d tokens, window %d", need, c.m.ContextWindow))
		}
		if !c.avail {
			notes = append(notes, "provider not configured")
		}
		if c.capOK != "" {
			notes = append(notes, "lacks "+c.capOK)
		}
		a.Note = strings.Join(notes, "; ")
		d.Alternatives = append(d.Alternatives, a)
	}
	return d
}

func (r *Router) rangeText(ti int) string {
	if ti+1 < len(r.tiers) {
		return fmt.Sprintf("in [%.2f, %.2f)", r.tiers[ti].min, r.tiers[ti+1].min)
	}
	return fmt.Sprintf("≥ %.2f", r.tiers[ti].min)
}

func contributionReason(c Contribution) string {
	s := fmt.Sprintf("%s %+.3f", c.Name, c.Delta)
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
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
