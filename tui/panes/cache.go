package panes

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/tui/common"
)

// Cache shows whether penny's cache would answer and why not: the outcome,
// similarity against the threshold on a gauge that names its scale, the
// reason, the nearest entries with their own reasons, and TTL left.
type Cache struct {
	c      *common.Common
	plan   *plan.Plan
	scroll scroller
}

// NewCache returns the cache pane.
func NewCache(c *common.Common) *Cache { return &Cache{c: c, scroll: newScroller()} }

func (p *Cache) Title() string         { return "Cache" }
func (p *Cache) SetPlan(pl *plan.Plan) { p.plan = pl }
func (p *Cache) Update(msg tea.KeyPressMsg) tea.Cmd {
	p.scroll.handle(msg)
	return nil
}

// OutcomeText names an outcome for people.
func OutcomeText(o cache.Outcome) string {
	switch o {
	case cache.ExactHit:
		return "HIT (exact)"
	case cache.SemanticHit:
		return "HIT (semantic)"
	case cache.Miss:
		return "MISS"
	case cache.Bypass:
		return "BYPASS"
	default:
		return strings.ToUpper(string(o))
	}
}

func (p *Cache) Body(w, h int) string {
	if p.plan == nil {
		return placeholder(p.c, w)
	}
	st := p.c.Styles
	r := p.plan.Cache
	var b strings.Builder
	out := OutcomeText(r.Outcome)
	switch r.Outcome {
	case cache.ExactHit, cache.SemanticHit:
		out = st.Good.Render(out)
	case cache.Miss:
		out = st.Warn.Render(out)
	default:
		out = st.Muted.Render(out)
	}
	if r.Reason != "" {
		out += " " + st.Bold.Render(string(r.Reason))
	}
	b.WriteString(out + "\n")
	// A gauge needs something to measure: an empty cache has no neighbour.
	if r.Similarity > 0 || len(r.Neighbors) > 0 {
		scale := r.Scale
		if scale == "" {
			scale = "similarity"
		}
		gw := max(3, min(24, w-12))
		g := p.c.Gauge(r.Similarity, r.Threshold, gw)
		if r.Outcome == cache.Miss && r.Reason == cache.ReasonBelowThreshold {
			g += st.Muted.Render(fmt.Sprintf(" gap %.3f", r.Threshold-r.Similarity))
		}
		b.WriteString(g + "\n")
		b.WriteString(common.Wrap(fmt.Sprintf("%.3f %s vs %.3f threshold", r.Similarity, common.OneLine(scale), r.Threshold), w) + "\n")
	}
	if r.Detail != "" {
		b.WriteString(common.Wrap(st.Muted.Render(common.OneLine(r.Detail)), w) + "\n")
	}
	if r.TTLLeft > 0 {
		b.WriteString(p.c.KV("TTL left", 9, r.TTLLeft.Round(time.Second).String()) + "\n")
	}
	if len(r.Neighbors) > 0 {
		b.WriteString(st.Muted.Render("nearest entries") + "\n")
		for _, n := range r.Neighbors {
			head := fmt.Sprintf(" %.3f ", n.Similarity)
			why := string(n.Reason)
			if why == "" {
				why = "served"
			}
			if n.Detail != "" {
				why += ": " + common.OneLine(n.Detail)
			}
			b.WriteString(head + st.Warn.Render(why) + "\n")
			prompt := common.OneLine(n.Prompt)
			b.WriteString(st.Muted.Render(common.Fit("   “"+prompt+"”", w, 1)[0]) + "\n")
		}
	} else if r.Outcome != cache.Bypass {
		b.WriteString(st.Subtle.Render("no neighbours") + "\n")
	}
	return p.scroll.window(p.c, b.String(), h)
}

func (p *Cache) ShortHelp() []key.Binding  { return p.scroll.bindings() }
func (p *Cache) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }
