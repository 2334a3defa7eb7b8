package route

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pennyllm/penny/core/pricing"
)

// decideRef is decide as it was before its lookups moved to New and its
// text to strconv: the reference the faster decide must match exactly.
func (r *Router) decideRef(req Request, s scored) Decision {
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
			d.Reasons = append(d.Reasons, contributionReasonRef(c))
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

func contributionReasonRef(c Contribution) string {
	s := fmt.Sprintf("%s %+.3f", c.Name, c.Delta)
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
}

func signalDetailRef(i int, sc *scanResult, tokens, turns int) string {
	switch i {
	case 0:
		return fmt.Sprintf("%d prompt tokens", tokens)
	case 1:
		return fmt.Sprintf("%d code fences, %d code-like lines, %d code words", sc.fences, sc.codeLines, sc.catCount[0])
	case 2:
		return fmt.Sprintf("%d math words, %d numbers, %d operators", sc.catCount[1], sc.numbers, sc.ops)
	case 3:
		return fmt.Sprintf("%d reasoning markers", sc.catCount[2])
	case 4:
		return fmt.Sprintf("%d questions, %d list items, %d labelled sub-items, %d connectives", sc.questions, sc.listItems, sc.labelledItems(), sc.catCount[4])
	case 5:
		return fmt.Sprintf("%d format demands", sc.catCount[3])
	default:
		return fmt.Sprintf("%d turns", turns)
	}
}

// shortPrompts are replay-like requests of 10–30 words.
var shortPrompts = []string{
	"How do I reset my password on the mobile app?",
	"Can you summarize the refund policy for orders over $200 in two sentences?",
	"Translate 'where is the train station' into German and French, please.",
	"What's the difference between a mutex and a semaphore? Give an example in Go.",
	"Write a SQL query that returns the top 5 customers by revenue in 2023, joined with their region.",
	"hi, thanks for the help yesterday — is order #48213 shipped yet?",
	"Explain step by step why the derivative of x^2 is 2x, then prove it formally.",
	"1. List three causes of inflation\n2. Explain each briefly\n3. Suggest one policy response",
}

// TestDecideMatchesReference routes many prompts through decide and the
// reference under configurations that reach every branch — pinned tiers,
// shared models, unavailable providers, missing capabilities, prompts
// too large for some or every model — and requires equal Decisions.
func TestDecideMatchesReference(t *testing.T) {
	ctx := context.Background()
	cat := catalog(t)
	rng := rand.New(rand.NewPCG(5, 9))
	cfgs := []Config{DefaultConfig()}
	c2 := DefaultConfig()
	c2.Rules = benchRules()
	cfgs = append(cfgs, c2)
	c3 := DefaultConfig()
	c3.Tiers[0].Models = append([]string{"gpt-4o"}, c3.Tiers[0].Models...) // gpt-4o in all three tiers
	c3.Rules = []RuleConfig{{Name: "pin", Keywords: []string{"sql"}, Tier: TierCheap}}
	cfgs = append(cfgs, c3)
	prompts := append(slices.Clone(shortPrompts), benchPrompt(300), benchPrompt(2000))
	branches := map[string]bool{}
	for ci, cfg := range cfgs {
		base, err := New(cfg, cat, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 600; i++ {
			r := base
			switch i % 5 {
			case 4:
				r = base.WithAvailable(func(m string) bool { return m == "gpt-4o-mini" || m == "gpt-4.1-nano" })
			case 1:
				r = base.WithAvailable(func(m string) bool { return !strings.HasPrefix(m, "gpt-4o") })
			case 2:
				r = base.WithAvailable(func(m string) bool { return strings.HasPrefix(m, "claude") })
			case 3:
				r = base.WithAvailable(func(string) bool { return false })
			}
			p := prompts[rng.IntN(len(prompts))]
			req := Request{Prompt: p, PromptTokens: []int{0, 12, 900, 150_000, 250_000, 2_000_000}[rng.IntN(6)],
				CompletionTokens: []int{0, 500, 20_000, 100_000}[rng.IntN(4)], Turns: rng.IntN(12),
				OverheadTokens: rng.IntN(8), NeedsVision: rng.IntN(4) == 0, NeedsTools: rng.IntN(4) == 0, NeedsJSON: rng.IntN(5) == 0}
			if req.PromptTokens <= 0 {
				req.PromptTokens = estimateTokens(req.Prompt)
			}
			s := r.sc.score(req.Prompt, req.PromptTokens, req.Turns, vote{}, true)
			// The signals' names and details as fmt built them.
			sc := r.sc.rules.lex.scan(req.Prompt, r.sc.rules.keywords)
			for i := range signalOrder {
				c := s.contribs[i]
				if want := signalDetailRef(i, &sc, req.PromptTokens, req.Turns); c.Detail != want || c.Name != "signal:"+signalOrder[i] {
					t.Fatalf("%q: contribution %d = %q %q, want %q", req.Prompt, i, c.Name, c.Detail, want)
				}
			}
			if rng.IntN(7) == 0 {
				s.raw = []float64{-0.3, 1.7, math.NaN(), 0.4, 0.65}[rng.IntN(5)]
			}
			got, want := r.decide(req, s), r.decideRef(req, s)
			if !reflect.DeepEqual(got, want) && !(math.IsNaN(s.raw) && fmt.Sprint(got) == fmt.Sprint(want)) {
				t.Fatalf("config %d, %+v:\n got %+v\nwant %+v", ci, req, got, want)
			}
			texts := slices.Clone(want.Reasons)
			for _, a := range want.Alternatives {
				texts = append(texts, a.Note)
			}
			for _, rs := range texts {
				for _, b := range reasonBranches {
					if strings.Contains(rs, b) {
						branches[b] = true
					}
				}
			}
			if _, err := r.Route(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, b := range reasonBranches {
		if !branches[b] {
			t.Errorf("no decision took the %q branch", b)
		}
	}
}

// reasonBranches are phrases of decide's reasons, one per branch.
var reasonBranches = []string{"first available model", "does not fit", "cheapest available model",
	"cheapest lower-tier", "largest context window", "pinned by rule", "tier balanced: score", "lacks", "provider not configured", "needs "}

// TestSignalDetailMatchesReference compares the strconv detail texts with
// the fmt ones over random counts, negative and large included.
func TestSignalDetailMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := func() int {
		return []int{0, 1, -1, rng.IntN(100), rng.Int() >> uint(rng.IntN(60)), math.MinInt64}[rng.IntN(6)]
	}
	for range 5000 {
		var sc scanResult
		sc.numbers, sc.ops, sc.questions, sc.listItems, sc.fences, sc.codeLines = n(), n(), n(), n(), n(), n()
		for k := range sc.catCount {
			sc.catCount[k] = n()
		}
		tok, turns := n(), n()
		for i := 0; i < 7; i++ {
			if got, want := signalDetail(i, &sc, tok, turns), signalDetailRef(i, &sc, tok, turns); got != want {
				t.Fatalf("signal %d: %q, want %q", i, got, want)
			}
		}
	}
}

// TestContributionReasonMatchesReference covers %+.3f's corners: zero and
// negative zero, rounding to zero from below, non-finite values.
func TestContributionReasonMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	vals := []float64{0, math.Copysign(0, -1), -0.0004, 0.0004, 0.0005, -0.0005, 1e300, -1e-300,
		math.Inf(1), math.Inf(-1), math.NaN(), 0.15, -0.2, 1.2345}
	for range 2000 {
		vals = append(vals, rng.NormFloat64()*[]float64{1e-4, 1, 1e6}[rng.IntN(3)])
	}
	for i, v := range vals {
		c := Contribution{Name: "signal:code", Delta: v}
		if i%2 == 0 {
			c.Detail = "3 code fences"
		}
		if got, want := contributionReason(c), contributionReasonRef(c); got != want {
			t.Fatalf("%v: %q, want %q", v, got, want)
		}
		if got, want := string(appendFloat(nil, v, 2, false)), fmt.Sprintf("%.2f", v); got != want {
			t.Fatalf("%%.2f of %v: %q, want %q", v, got, want)
		}
	}
}

// BenchmarkRouteShort routes replay-like short prompts (no learned
// signal, as penny replay runs): "ref" is the reference decide on the same
// scores, "new" the one Route uses.
func BenchmarkRouteShort(b *testing.B) {
	r := newRouter(b, DefaultConfig())
	ctx := context.Background()
	reqs := make([]Request, len(shortPrompts))
	for i, p := range shortPrompts {
		reqs[i] = Request{Prompt: p, PromptTokens: estimateTokens(p), CompletionTokens: 500, OverheadTokens: 6}
	}
	for _, bc := range []struct {
		name   string
		decide func(Request, scored) Decision
	}{{"ref", r.decideRef}, {"new", r.decide}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			i := 0
			for b.Loop() {
				req := reqs[i%len(reqs)]
				i++
				s := r.sc.score(req.Prompt, req.PromptTokens, req.Turns, vote{}, true)
				bc.decide(req, s)
			}
			reportCPU(b, start)
		})
	}
	b.Run("Route", func(b *testing.B) {
		b.ReportAllocs()
		start := cpuTime()
		i := 0
		for b.Loop() {
			if _, err := r.Route(ctx, reqs[i%len(reqs)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		reportCPU(b, start)
	})
}
