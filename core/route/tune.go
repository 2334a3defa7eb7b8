package route

import (
	"context"
	"errors"
	"fmt"
)

// Tuner previews edits of the rules while the user types them: the
// current prompt, each labelled set (APGR, strong-call share, cost, next to
// the same figures under the router's own rules) and recent prompts whose
// route would change, all under a candidate rule set. Embeddings and
// rule-independent signals are computed once, in NewTuner, so a preview
// costs one re-score of the labelled prompts.
type Tuner struct {
	r      *Router
	sets   []tunerSet
	recent []string
	before []string // model of each recent prompt under the router's own rules
	counts []int
	opt    EvalOptions
}

// LabelledSet is a named set of labelled prompts for previews: the user's
// labelled history, an examples file, an embedded evaluation set.
type LabelledSet struct {
	Name string
	Data []Labelled
}

// SetMetrics is one labelled set's figures under a candidate rule set.
type SetMetrics struct {
	Name    string  `json:"name"`
	Prompts int     `json:"prompts"`
	Report  *Report `json:"report,omitempty"` // nil when Note says why there are no figures
	Before  *Report `json:"before,omitempty"` // under the router's own rules
	Note    string  `json:"note,omitempty"`
}

type tunerSet struct {
	name   string
	p      *Prepared // nil for an empty set
	before *Report
	note   string // why the set has no figures, if it has none
}

// NewTuner prepares labelled sets and recent prompts for previews. count
// counts prompt tokens (the same function prices both eval models).
func NewTuner(ctx context.Context, r *Router, sets []LabelledSet, recent []string, opt EvalOptions, count func(string) int) (*Tuner, error) {
	t := &Tuner{r: r, recent: recent, opt: opt, counts: make([]int, len(recent)), before: make([]string, len(recent))}
	if opt.Count == nil {
		t.opt.Count = count
	}
	for _, ls := range sets {
		ts := tunerSet{name: ls.Name, note: "no labels yet"}
		if len(ls.Data) > 0 {
			p, err := r.Prepare(ctx, ls.Data, count)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ls.Name, err)
			}
			ts.p = p
			if ts.before, ts.note, err = t.metrics(r, p, nil); err != nil {
				return nil, fmt.Errorf("%s: %w", ls.Name, err)
			}
		}
		t.sets = append(t.sets, ts)
	}
	for i, p := range recent {
		t.counts[i] = count(p)
		d, err := r.Route(ctx, Request{Prompt: p, PromptTokens: t.counts[i]})
		if err != nil {
			return nil, err
		}
		t.before[i] = d.Model
	}
	return t, nil
}

// Preview is a candidate rule set's effect.
type Preview struct {
	Errors   []*FieldError // non-empty: the rules are invalid; nothing else is filled
	Decision Decision      // the current prompt under the candidate rules
	Metrics  []SetMetrics  // per labelled set, in the order given to NewTuner
	Changed  []int         // indexes of recent prompts whose model would change
}

// metrics evaluates prepared prompts under rule set rs (nil: the router's
// own). A set on which the strong model does no better than the weak one
// has no APGR; that is a property of the labels, reported as a note, not a
// failure of the preview.
func (t *Tuner) metrics(r *Router, p *Prepared, rs *RuleSet) (*Report, string, error) {
	rep, err := r.Metrics(p, r.Rescore(p, rs), t.opt)
	if errors.Is(err, ErrNoGap) {
		return nil, "no quality gap: the strong model does no better on these labels", nil
	}
	if err != nil {
		return nil, "", err
	}
	return &rep, "", nil
}

// Preview validates rules and, when they compile, routes prompt and
// re-scores everything under them. The Tuner's router is not changed.
func (t *Tuner) Preview(ctx context.Context, rules []RuleConfig, prompt string, promptTokens int) (Preview, error) {
	rs, err := Compile(rules)
	if err != nil {
		var pv Preview
		for _, e := range flatten(err) {
			var fe *FieldError
			if errors.As(e, &fe) {
				pv.Errors = append(pv.Errors, fe)
			} else {
				pv.Errors = append(pv.Errors, &FieldError{Section: "rules", Index: -1, Err: e})
			}
		}
		return pv, nil
	}
	r, err := t.r.WithRules(rs)
	if err != nil {
		return Preview{}, err
	}
	var pv Preview
	if prompt != "" {
		if pv.Decision, err = r.Route(ctx, Request{Prompt: prompt, PromptTokens: promptTokens}); err != nil {
			return Preview{}, err
		}
	}
	for _, ts := range t.sets {
		m := SetMetrics{Name: ts.name, Before: ts.before, Note: ts.note}
		if ts.p != nil {
			m.Prompts = len(ts.p.Data)
			if m.Report, m.Note, err = t.metrics(r, ts.p, rs); err != nil {
				return Preview{}, fmt.Errorf("%s: %w", ts.name, err)
			}
		}
		pv.Metrics = append(pv.Metrics, m)
	}
	for i, p := range t.recent {
		d, err := r.Route(ctx, Request{Prompt: p, PromptTokens: t.counts[i]})
		if err != nil {
			return Preview{}, err
		}
		if d.Model != t.before[i] {
			pv.Changed = append(pv.Changed, i)
		}
	}
	return pv, nil
}

// flatten unpacks errors.Join trees.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
