package cache

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/pennyllm/penny/core/embed"
)

// LookupFunc answers one evaluation pair: a fresh cache holding only a is
// asked for b. raw is the similarity before guards (the judge's Score); hit
// says whether the cache would serve, guards included. Evaluate applies the
// threshold itself (served = hit && raw ≥ threshold), so the lookup should
// not apply a higher one of its own, or the sweep below it undercounts hits.
type LookupFunc func(ctx context.Context, a, b string) (raw float64, hit bool, err error)

// Report is the outcome of evaluating the cache on labelled pairs; the JSON
// names are the `penny eval cache --json` contract.
type Report struct {
	Pairs        int     `json:"pairs"`
	Positives    int     `json:"positives"`
	Threshold    float64 `json:"threshold"`
	Precision    float64 `json:"precision"`
	Recall       float64 `json:"recall"`
	F1           float64 `json:"f1"`
	FalseHitRate float64 `json:"false_hit_rate"` // served negatives / negatives
	AUC          float64 `json:"auc"`            // of raw, before guards
	TP           int     `json:"tp"`
	FP           int     `json:"fp"`
	FN           int     `json:"fn"`
	TN           int     `json:"tn"`
	GuardBlocked int     `json:"guard_blocked"` // pairs the guards refused at any score
	Sweep        []Sweep `json:"sweep"`
}

// Sweep is one row of the threshold sweep.
type Sweep struct {
	Threshold    float64 `json:"threshold"`
	Precision    float64 `json:"precision"`
	Recall       float64 `json:"recall"`
	F1           float64 `json:"f1"`
	FalseHitRate float64 `json:"false_hit_rate"`
}

// SweepThresholds are the thresholds a Report sweeps (on a [0,1] scale).
func SweepThresholds() []float64 {
	out := make([]float64, 0, 20)
	for t := 0.05; t < 0.999; t += 0.05 {
		out = append(out, math.Round(t*100)/100)
	}
	return out
}

// Scored is one evaluated pair.
type Scored struct {
	Raw   float64
	Pass  bool // guards passed
	Label int
}

// Evaluate runs lookup on every pair and reports precision, recall, F1 and
// the false-hit rate at threshold, AUC of the raw score, and a sweep.
func Evaluate(ctx context.Context, pairs []Pair, threshold float64, lookup LookupFunc) (Report, error) {
	scored := make([]Scored, 0, len(pairs))
	for _, p := range pairs {
		if err := ctx.Err(); err != nil {
			return Report{}, fmt.Errorf("evaluate: %w", err)
		}
		raw, hit, err := lookup(ctx, p.A, p.B)
		if err != nil {
			return Report{}, fmt.Errorf("evaluate %s: %w", p.Origin, err)
		}
		scored = append(scored, Scored{Raw: raw, Pass: hit, Label: p.Label})
	}
	return Summarize(scored, threshold), nil
}

// Summarize computes a Report from scored pairs.
func Summarize(s []Scored, threshold float64) Report {
	r := Report{Pairs: len(s), Threshold: threshold}
	for _, x := range s {
		r.Positives += x.Label
		if !x.Pass {
			r.GuardBlocked++
		}
	}
	row := confusion(s, threshold)
	r.TP, r.FP, r.FN, r.TN = row.tp, row.fp, row.fn, row.tn
	r.Precision, r.Recall, r.F1, r.FalseHitRate = row.metrics()
	r.AUC = AUC(s)
	for _, t := range SweepThresholds() {
		c := confusion(s, t)
		p, rec, f1, fhr := c.metrics()
		r.Sweep = append(r.Sweep, Sweep{Threshold: t, Precision: p, Recall: rec, F1: f1, FalseHitRate: fhr})
	}
	return r
}

type counts struct{ tp, fp, fn, tn int }

func confusion(s []Scored, t float64) counts {
	var c counts
	for _, x := range s {
		served := x.Pass && x.Raw >= t
		switch {
		case served && x.Label == 1:
			c.tp++
		case served:
			c.fp++
		case x.Label == 1:
			c.fn++
		default:
			c.tn++
		}
	}
	return c
}

// metrics returns precision (1 when nothing is served: no wrong answer was
// given), recall, F1 and the false-hit rate.
func (c counts) metrics() (precision, recall, f1, falseHit float64) {
	precision = 1
	if c.tp+c.fp > 0 {
		precision = float64(c.tp) / float64(c.tp+c.fp)
	}
	if c.tp+c.fn > 0 {
		recall = float64(c.tp) / float64(c.tp+c.fn)
	}
	if precision+recall > 0 {
		f1 = 2 * precision * recall / (precision + recall)
	}
	if c.fp+c.tn > 0 {
		falseHit = float64(c.fp) / float64(c.fp+c.tn)
	}
	return
}

// AUC is the area under the ROC curve of Raw (guards ignored): the chance a
// random positive scores above a random negative, ties counting half. It is
// 0.5 when either class is empty.
func AUC(s []Scored) float64 {
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case s[a].Raw < s[b].Raw:
			return -1
		case s[a].Raw > s[b].Raw:
			return 1
		}
		return 0
	})
	var pos, neg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && s[idx[j]].Raw == s[idx[i]].Raw {
			j++
		}
		mid := float64(i+j+1) / 2 // average 1-based rank of the tie group
		for k := i; k < j; k++ {
			if s[idx[k]].Label == 1 {
				rankSum += mid
				pos++
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return 0.5
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// JudgeLookup evaluates pairs with an embedder and a judge directly, without
// a cache: raw is the judge's Score of b (query) against a (cached), hit is
// "no guard fired". It measures the similarity function alone; the lead's
// `penny eval cache` goes through a real cache.
func JudgeLookup(e embed.Embedder, j Judge) LookupFunc {
	return func(ctx context.Context, a, b string) (float64, bool, error) {
		v, err := e.Embed(ctx, []string{a, b})
		if err != nil {
			return 0, false, fmt.Errorf("embed pair: %w", err)
		}
		if len(v) != 2 {
			return 0, false, fmt.Errorf("embed pair: %d vectors for 2 texts", len(v))
		}
		jd := j.Judge(Text{Prompt: b, Vector: v[1]}, Text{Prompt: a, Vector: v[0]})
		return jd.Score, jd.Guard == "", nil
	}
}

// Text renders the report for `penny eval cache` in text mode: the
// figures at the threshold, then the sweep, marking the row nearest the
// threshold. scale names what the threshold is on.
func (r Report) Text(scale string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pairs %d (%d positive)   threshold %.2f on %s\n", r.Pairs, r.Positives, r.Threshold, scale)
	fmt.Fprintf(&b, "precision %.3f   recall %.3f   F1 %.3f   false-hit rate %.3f   AUC %.3f (raw score, before guards)\n", r.Precision, r.Recall, r.F1, r.FalseHitRate, r.AUC)
	fmt.Fprintf(&b, "served: %d right, %d wrong; missed %d; guards blocked %d pairs\n\n", r.TP, r.FP, r.FN, r.GuardBlocked)
	fmt.Fprintf(&b, "%9s  %9s  %6s  %6s  %14s\n", "threshold", "precision", "recall", "F1", "false-hit rate")
	nearest := -1
	for i, s := range r.Sweep {
		if nearest < 0 || math.Abs(s.Threshold-r.Threshold) < math.Abs(r.Sweep[nearest].Threshold-r.Threshold) {
			nearest = i
		}
	}
	for i, s := range r.Sweep {
		mark := ""
		if i == nearest {
			mark = "  ←"
		}
		fmt.Fprintf(&b, "%9.2f  %9.3f  %6.3f  %6.3f  %14.3f%s\n", s.Threshold, s.Precision, s.Recall, s.F1, s.FalseHitRate, mark)
	}
	return b.String()
}
