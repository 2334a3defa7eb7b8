package route

import (
	"errors"
	"fmt"
)

// fitGrid are the weights FitWeights tries for each signal. The grid is
// coarse on purpose: the result is a suggestion the user reads and edits,
// and a coarse grid cannot chase noise in a few thousand labels.
var fitGrid = []float64{0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2}

// FitWeights suggests signal weights for labelled data: coordinate ascent
// on APGR, starting from the router's weights, one signal at a time over a
// fixed grid, until a pass changes nothing (at most passes passes). The
// base score, the tiers and the rules (their contributions are held fixed)
// are not changed. Learned-signal votes come from Prepare, which leaves
// each labelled prompt out of its own vote, so the learned weight is not
// flattered by memorized labels.
//
// It returns the weights and the APGR they reach on p. Fit on one set and
// evaluate on another: APGR on the fitting set itself is optimistic.
func (r *Router) FitWeights(p *Prepared, passes int) (SignalWeights, float64, error) {
	n := len(p.Data)
	if n == 0 {
		return SignalWeights{}, 0, errors.New("fit weights: no labelled prompts")
	}
	// Rule contributions do not depend on the weights: compute them once.
	ruleDelta := make([]float64, n)
	learned := make([]float64, n)
	for i, d := range p.Data {
		sc := r.sc.rules.lex.scan(d.Prompt, r.sc.rules.keywords)
		r.sc.rules.match(d.Prompt, &sc, func(_ int, cr *compiledRule) { ruleDelta[i] += cr.Weight })
		if v := p.votes[i]; v.ok {
			learned[i] = v.delta()
		}
	}
	w := r.cfg.Signals
	ws := [8]float64{w.Tokens, w.Code, w.Math, w.Reasoning, w.MultiPart, w.Format, w.Depth, w.Learned}
	scores := make([]float64, n)
	apgr := func(ws [8]float64) (float64, error) {
		for i := range scores {
			s := ruleDelta[i] + ws[7]*learned[i]
			for k := 0; k < 7; k++ {
				s += ws[k] * p.feats[i][k]
			}
			scores[i] = s
		}
		c, err := Sweep(scores, p.Data)
		if err != nil {
			return 0, err
		}
		return c.APGR()
	}
	best, err := apgr(ws)
	if err != nil {
		return w, 0, fmt.Errorf("fit weights: %w", err)
	}
	for pass := 0; pass < passes; pass++ {
		changed := false
		for k := range ws {
			for _, g := range fitGrid {
				if g == ws[k] {
					continue
				}
				try := ws
				try[k] = g
				a, err := apgr(try)
				if err != nil {
					return w, 0, fmt.Errorf("fit weights: %w", err)
				}
				// Require a real improvement so ties keep the current
				// (configured) weight.
				if a > best+1e-4 {
					best, ws, changed = a, try, true
				}
			}
		}
		if !changed {
			break
		}
	}
	out := SignalWeights{Tokens: ws[0], Code: ws[1], Math: ws[2], Reasoning: ws[3], MultiPart: ws[4], Format: ws[5], Depth: ws[6], Learned: ws[7]}
	return out, best, nil
}

// WithSignals returns a router with other signal weights.
func (r *Router) WithSignals(w SignalWeights) (*Router, error) {
	c := r.cfg
	c.Signals = w
	c.Rules = r.sc.rules.Rules()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	out := *r
	out.cfg = c
	out.sc.w = w
	return &out, nil
}
