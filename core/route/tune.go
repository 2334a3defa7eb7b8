package route

import (
	"context"
	"errors"
)

// Tuner previews edits of the rules while the user types them: the
// current prompt, the labelled examples (APGR, strong-call share, cost) and
// recent prompts whose route would change, all under a candidate rule set.
// Embeddings and rule-independent signals are computed once, in NewTuner,
// so a preview costs one re-score of the examples.
type Tuner struct {
	r        *Router
	prepared *Prepared // nil without labelled examples
	recent   []string
	before   []string // model of each recent prompt under the router's own rules
	counts   []int
	opt      EvalOptions
}

// NewTuner prepares labelled examples and recent prompts for previews.
// count counts prompt tokens (the same function prices both eval models).
func NewTuner(ctx context.Context, r *Router, labelled []Labelled, recent []string, opt EvalOptions, count func(string) int) (*Tuner, error) {
	t := &Tuner{r: r, recent: recent, opt: opt, counts: make([]int, len(recent)), before: make([]string, len(recent))}
	if opt.Count == nil {
		t.opt.Count = count
	}
	if len(labelled) > 0 {
		p, err := r.Prepare(ctx, labelled, count)
		if err != nil {
			return nil, err
		}
		t.prepared = p
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
	Metrics  *Report       // on the labelled examples; nil without any
	Changed  []int         // indexes of recent prompts whose model would change
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
	if t.prepared != nil {
		rep, err := r.Metrics(t.prepared, r.Rescore(t.prepared, rs), t.opt)
		if err != nil {
			return Preview{}, err
		}
		pv.Metrics = &rep
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
